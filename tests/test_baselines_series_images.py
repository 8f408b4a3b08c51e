"""Tests for the forecasting and image baselines in helpers.baselines (chapters 04 and 05)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import baselines as B

# ----------------------------------------------------------------------------- forecasting

def _sine_windows(k: int, n: int = 300, period: float = 50.0):
    t = np.arange(n + k, dtype=np.float64)
    series = np.sin(2 * np.pi * t / period)
    windows = np.lib.stride_tricks.sliding_window_view(series[:-1], k)   # (n, k)
    return windows, series[k:]                                           # targets (n,)


def test_last_value_is_the_last_column_for_both_layouts():
    windows = torch.arange(12, dtype=torch.float32).reshape(4, 3, 1)
    assert B.last_value_forecast(windows).tolist() == [2, 5, 8, 11]
    assert B.last_value_forecast(windows[..., 0].numpy()).tolist() == [2, 5, 8, 11]
    with pytest.raises(ValueError, match="shape"):
        B.last_value_forecast(np.zeros(5))


def test_persistence_rmse_on_a_sine_is_sqrt2_sin_half_omega():
    windows, targets = _sine_windows(1, n=500)               # 10 whole periods
    rmse = math.sqrt(np.mean((B.last_value_forecast(windows) - targets) ** 2))
    assert rmse == pytest.approx(math.sqrt(2) * math.sin(math.pi / 50), rel=1e-9)


def test_ar2_is_exact_on_a_sine_and_ar1_reaches_the_k1_floor():
    windows, targets = _sine_windows(4)
    ar2 = B.fit_linear_ar(windows, targets, order=2)
    omega = 2 * np.pi / 50
    assert ar2.coef == pytest.approx([-1.0, 2 * math.cos(omega)], abs=1e-8)  # oldest lag first
    assert np.max(np.abs(ar2.predict(windows) - targets)) < 1e-9
    ar1 = B.fit_linear_ar(windows[:250], targets[:250], order=1)  # 5 whole periods
    rmse = math.sqrt(np.mean((ar1.predict(windows[:250]) - targets[:250]) ** 2))
    assert rmse == pytest.approx(math.sin(omega) / math.sqrt(2), rel=1e-3)


def test_ar_recovers_known_coefficients_and_intercept():
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(200, 5))
    targets = 0.5 * windows[:, -1] - 0.25 * windows[:, -3] + 3.0
    model = B.fit_linear_ar(windows, targets, order=3)
    assert model.coef == pytest.approx([-0.25, 0.0, 0.5], abs=1e-10)
    assert model.intercept == pytest.approx(3.0)


@pytest.mark.parametrize("order", [0, 6, 2.0, True])
def test_ar_rejects_bad_order(order):
    with pytest.raises(ValueError, match="order"):
        B.fit_linear_ar(np.zeros((10, 5)), np.zeros(10), order=order)


def test_ar_rejects_mismatched_targets():
    with pytest.raises(ValueError, match="targets"):
        B.fit_linear_ar(np.zeros((10, 5)), np.zeros(9), order=2)


def test_seasonal_naive_repeats_the_last_season():
    history = np.arange(24, dtype=np.float64)
    assert B.seasonal_naive(history, 12).tolist() == list(range(12, 24))
    assert B.seasonal_naive(history, 5, season=4).tolist() == [20, 21, 22, 23, 20]
    with pytest.raises(ValueError, match="season"):
        B.seasonal_naive(history[:3], 12)


def test_seasonal_naive_growth_scales_by_the_yearly_ratio():
    shape = np.array([1.0, 2.0, 3.0, 4.0])
    history = np.concatenate([10 * shape, 11 * shape, 12.1 * shape])   # 10 % growth per season
    forecast = B.seasonal_naive_growth(history, 4, season=4)
    assert forecast == pytest.approx(13.31 * shape)
    # the plain version is too low by exactly the growth
    assert B.seasonal_naive(history, 4, season=4) == pytest.approx(12.1 * shape)
    with pytest.raises(ValueError, match="2 seasons"):
        B.seasonal_naive_growth(history[:6], 4, season=4)


def test_seasonal_naive_mean_growth_uses_the_mean_log_growth_of_the_whole_history():
    shape = np.array([1.0, 2.0, 3.0, 4.0])
    history = np.concatenate([10 * shape, 11 * shape, 13.2 * shape])   # growth 10 %, then 20 %
    mean_growth = np.exp((np.log(1.1) + np.log(1.2)) / 2)               # geometric mean of 1.1 and 1.2
    forecast = B.seasonal_naive_mean_growth(history, 6, season=4)
    assert forecast[:4] == pytest.approx(13.2 * mean_growth * shape)
    assert forecast[4:] == pytest.approx(forecast[:2])                   # repeats, no compounding
    # it differs from the last-year ratio, which uses the 20 % of the last season only
    assert not np.allclose(forecast[:4], B.seasonal_naive_growth(history, 4, season=4))
    with pytest.raises(ValueError, match="2 seasons"):
        B.seasonal_naive_mean_growth(history[:6], 4, season=4)
    with pytest.raises(ValueError, match="positive"):
        B.seasonal_naive_mean_growth(np.concatenate([[0.0], history[1:]]), 4, season=4)


# ----------------------------------------------------------------------------- images

def test_binomial_standard_error():
    assert B.binomial_standard_error(0.9, 2000) == pytest.approx(math.sqrt(0.09 / 2000))
    assert B.binomial_standard_error(1.0, 10) == 0.0
    with pytest.raises(ValueError, match="fraction"):
        B.binomial_standard_error(97.5, 2000)
    with pytest.raises(ValueError, match="positive int"):
        B.binomial_standard_error(0.5, 0)


def _blobs(n: int, seed: int):
    """Three classes of 4x4 'images', each bright in a different quadrant, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = 0.3 * torch.rand(n, 4, 4, generator=g)
    for c, (r, s) in enumerate(((0, 0), (0, 2), (2, 0))):
        images[labels == c, r:r + 2, s:s + 2] += 1.0
    return images, labels


def test_logistic_regression_separates_separable_classes_and_is_deterministic():
    images, labels = _blobs(300, seed=0)
    model = B.fit_logistic_regression(images, labels, n_classes=3, weight_decay=1e-3)
    test_images, test_labels = _blobs(150, seed=1)
    assert B.classifier_accuracy(model, test_images, test_labels) == 1.0
    again = B.fit_logistic_regression(images, labels, n_classes=3, weight_decay=1e-3)
    assert torch.equal(model.weight, again.weight)


def test_logistic_regression_weight_decay_shrinks_the_weights():
    images, labels = _blobs(300, seed=0)
    small = B.fit_logistic_regression(images, labels, n_classes=3, weight_decay=1e-4)
    large = B.fit_logistic_regression(images, labels, n_classes=3, weight_decay=1e-1)
    assert large.weight.norm() < 0.5 * small.weight.norm()


def test_logistic_regression_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        B.fit_logistic_regression(torch.zeros(5, 4, 4), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="images must be a tensor"):
        B.fit_logistic_regression(np.zeros((5, 16)), torch.zeros(5, dtype=torch.int64))


# ------------------------------------------------------------------- exercise reference (chapter 04)

def test_accuracy_on_first_steps_reads_only_the_first_k_steps():
    from helpers.checks import accuracy_on_first_steps

    class LastStepSign(torch.nn.Module):
        """Class 1 when the last step it reads is positive, else class 0."""
        def forward(self, X):
            return torch.stack([-X[:, -1, 0], X[:, -1, 0]], dim=-1)

    X = torch.tensor([[[1.0], [-1.0]], [[-1.0], [1.0]], [[1.0], [1.0]]])  # (3 sequences, 2 steps, 1)
    y = torch.tensor([1, 0, 1])
    assert accuracy_on_first_steps(LastStepSign(), X, y, 1) == pytest.approx(1.0)
    assert accuracy_on_first_steps(LastStepSign(), X, y, 2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="k must be"):
        accuracy_on_first_steps(LastStepSign(), X, y, 3)
    with pytest.raises(ValueError, match="one label"):
        accuracy_on_first_steps(LastStepSign(), X, y[:2], 1)
