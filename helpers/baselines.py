"""The strongest simple baselines that the trained networks are compared with.

Every trained result in the collection stands beside one of these: a model that needs
no gradient descent through time, or none at all. Each function is small, seeded where
it draws anything, and tested in ``tests/test_baselines.py``.

Sections: forecasting (last value, linear AR(k), seasonal naive), images (logistic
regression on pixels), text (most-frequent tag, character n-grams).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

# ---------------------------------------------------------------- forecasting (chapter 05)

def _as_windows(windows: np.ndarray | Tensor) -> np.ndarray:
    """Windows as a float64 array (n, k): accepts (n, k) or (n, k, 1), numpy or torch."""
    arr = np.asarray(windows.detach().cpu() if isinstance(windows, Tensor) else windows, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"expected windows of shape (n, k) or (n, k, 1), got {tuple(arr.shape)}")
    return arr


def last_value_forecast(windows: np.ndarray | Tensor) -> np.ndarray:
    """Persistence: predict each window's next value by its last value; returns (n,)."""
    return _as_windows(windows)[:, -1].copy()


@dataclass
class LinearAR:
    """A least-squares AR(order) model: next = intercept + sum_j coef[j] * x_{t-order+1+j}."""

    order: int
    coef: np.ndarray      # (order,), oldest lag first
    intercept: float

    def predict(self, windows: np.ndarray | Tensor) -> np.ndarray:
        """One-step predictions from the last ``order`` values of each window: (n,)."""
        arr = _as_windows(windows)
        if arr.shape[1] < self.order:
            raise ValueError(f"AR({self.order}) needs windows of at least {self.order} values, "
                             f"got {arr.shape[1]}")
        return arr[:, -self.order:] @ self.coef + self.intercept


def fit_linear_ar(windows: np.ndarray | Tensor, targets: np.ndarray | Tensor, order: int) -> LinearAR:
    """Fit next value = intercept + linear function of the last ``order`` values, by least squares."""
    arr = _as_windows(windows)
    y = np.asarray(targets.detach().cpu() if isinstance(targets, Tensor) else targets,
                   dtype=np.float64).reshape(-1)
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= arr.shape[1]:
        raise ValueError(f"order must be an int between 1 and the window length {arr.shape[1]}, "
                         f"got {order!r}")
    if len(y) != len(arr):
        raise ValueError(f"got {len(arr)} windows but {len(y)} targets; pass one target per window")
    design = np.column_stack([arr[:, -order:], np.ones(len(arr))])   # (n, order + 1)
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return LinearAR(order=order, coef=solution[:order], intercept=float(solution[order]))


def _history(history: np.ndarray | Tensor, season: int, n_seasons: int) -> np.ndarray:
    arr = np.asarray(history.detach().cpu() if isinstance(history, Tensor) else history,
                     dtype=np.float64).reshape(-1)
    if isinstance(season, bool) or not isinstance(season, int) or season < 1:
        raise ValueError(f"season must be a positive int (12 for monthly data), got {season!r}")
    if len(arr) < n_seasons * season:
        raise ValueError(f"need at least {n_seasons} seasons ({n_seasons * season} values) of history, "
                         f"got {len(arr)}")
    return arr


def seasonal_naive(history: np.ndarray | Tensor, horizon: int, season: int = 12) -> np.ndarray:
    """Forecast ``horizon`` values by repeating the last season of ``history``: (horizon,)."""
    arr = _history(history, season, 1)
    last = arr[-season:]
    return np.resize(last, horizon).astype(np.float64)


def seasonal_naive_growth(history: np.ndarray | Tensor, horizon: int, season: int = 12) -> np.ndarray:
    """Seasonal naive times last season's growth: last season * (its total / the total before).

    For monthly data: each month of the last year, scaled by that year's total over the
    previous year's total. Uses only ``history``; returns (horizon,).
    """
    arr = _history(history, season, 2)
    last, before = arr[-season:], arr[-2 * season:-season]
    if before.sum() <= 0:
        raise ValueError("the growth factor needs a positive total in the season before the last")
    growth = last.sum() / before.sum()
    return seasonal_naive(last * growth, horizon, season)


# ---------------------------------------------------------------- images (chapter 04)

def binomial_standard_error(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test items: sqrt(p(1-p)/n)."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1] (not percent), got {accuracy!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (the number of test items), got {n!r}")
    return math.sqrt(accuracy * (1.0 - accuracy) / n)


def _flat_pixels(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor) or images.ndim < 2:
        raise ValueError("images must be a tensor (n, ...) such as (n, 28, 28); "
                         f"got {type(images).__name__} {getattr(images, 'shape', '')}")
    return images.reshape(len(images), -1).to(torch.float32)


def fit_logistic_regression(images: Tensor, labels: Tensor, *, n_classes: int = 10,
                            weight_decay: float = 1e-4, max_iter: int = 100, seed: int = 0) -> nn.Linear:
    """Multinomial logistic regression on raw pixels (full-batch L-BFGS); returns an ``nn.Linear``.

    ``images`` (n, ...) are flattened to (n, pixels); the loss is the mean cross-entropy plus
    ``weight_decay / 2`` times the squared weights (not the bias). Deterministic for a seed.
    """
    x = _flat_pixels(images)                                # (n, pixels)
    y = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"got {len(x)} images but {len(y)} labels")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    torch.manual_seed(seed)
    model = nn.Linear(x.shape[1], n_classes)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=max_iter,
                                  line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) + 0.5 * weight_decay * model.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def classifier_accuracy(model: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Fraction of ``images`` whose argmax prediction equals the label (pixels flattened)."""
    with torch.no_grad():
        predicted = model(_flat_pixels(images)).argmax(dim=-1)
    return (predicted == torch.as_tensor(labels).reshape(-1)).float().mean().item()


# ---------------------------------------------------------------- text (chapters 06, 07, 09)
