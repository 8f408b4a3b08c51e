"""Tests for helpers.speed.lstm_pair, the speed measurement shared by chapter 07 and the benchmark."""

from __future__ import annotations

import pytest
import torch

from helpers.speed import lstm_pair


def test_lstm_pair_reports_rates_and_a_consistent_ratio():
    r = lstm_pair(8, "cpu", batch=4, steps=5, features=6, repeats=3, min_seconds=0.005)
    assert (r["hidden"], r["batch"], r["steps"], r["features"]) == (8, 4, 5, 6)
    assert len(r["scratch_seconds"]) == len(r["torch_seconds"]) == 3 and r["calls_per_sample"] >= 1
    work = r["calls_per_sample"] * 4 * 5
    ratios = sorted(s / t for s, t in zip(r["scratch_seconds"], r["torch_seconds"], strict=True))
    assert r["ratio_torch_over_scratch"] == pytest.approx(ratios[1])
    assert r["ratio_min_max"] == pytest.approx([ratios[0], ratios[-1]])
    assert r["scratch_tokens_per_s"] == pytest.approx(work / sorted(r["scratch_seconds"])[1])
    assert r["torch_tokens_per_s"] == pytest.approx(work / sorted(r["torch_seconds"])[1])


def test_lstm_pair_times_the_same_function_on_both_sides(monkeypatch):
    # the two sides must be the same function: compare their outputs on the benchmark's own input
    import helpers.speed as speed

    seen = []
    original = torch.Tensor.backward

    def record(self, *args, **kwargs):
        seen.append(float(self.detach()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", record)
    speed.lstm_pair(8, "cpu", batch=3, steps=4, features=5, repeats=2, min_seconds=1e-9)
    assert len(seen) >= 4 and max(seen) - min(seen) < 1e-5   # the same loss on both sides every call


def test_lstm_pair_errors():
    with pytest.raises(ValueError, match="repeats >= 1"):
        lstm_pair(8, "cpu", repeats=0)
