"""One speed measurement shared by chapter 07 and ``benchmarks/throughput.py``.

``lstm_pair`` times chapter 02's scratch LSTM against ``nn.LSTM`` (same weights, same input),
forward plus backward, interleaved; the notebook's sweep and the benchmark's ``lstm`` and
``lstm_ch07`` rows all call it, so the definition is literally the same.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (so a timer measures it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds one call of ``fn`` takes, the device's queued work included."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def lstm_pair(hidden: int, device: torch.device | str, *, batch: int = 64, steps: int = 32,
              features: int = 64, repeats: int = 5, min_seconds: float = 0.3) -> dict:
    """Forward plus backward tokens/s of the scratch LSTM and ``nn.LSTM`` with the same weights.

    The input is Gaussian noise ``(batch, steps, features)`` (seed 0). One timed sample repeats
    forward + backward ``calls_per_sample`` times, enough for about ``min_seconds`` on the slower
    side; the two sides alternate which goes first over ``repeats`` samples. Returns both median
    rates, ``ratio_torch_over_scratch`` (median of the per-sample ratios), its ``ratio_min_max``
    and the raw seconds.
    """
    from helpers.cells import LSTMCellScratch, ScratchSequence

    if repeats < 1 or min_seconds <= 0:
        raise ValueError(f"need repeats >= 1 and min_seconds > 0, got {repeats} and {min_seconds}")
    device = torch.device(device)
    torch.manual_seed(0)
    reference = nn.LSTM(features, hidden, batch_first=True).to(device)
    scratch = ScratchSequence(LSTMCellScratch(features, hidden)).to(device)
    scratch.cell.load_state_dict({k.removesuffix("_l0"): v for k, v in reference.state_dict().items()})
    x = torch.randn(batch, steps, features, device=device)  # (batch, steps, features)

    def step(model: nn.Module) -> None:
        model.zero_grad(set_to_none=True)
        outputs, _ = model(x)  # (batch, steps, hidden)
        outputs.square().mean().backward()

    def calls_for(model: nn.Module) -> int:
        """How many steps make one timed sample last about ``min_seconds``."""
        step(model)  # warm-up (allocations, kernel choice)
        return max(1, math.ceil(min_seconds / max(timed(lambda: step(model), device), 1e-6)))

    n = max(calls_for(scratch), calls_for(reference))
    times_scratch, times_torch = [], []
    for r in range(repeats):
        sides = [(scratch, times_scratch), (reference, times_torch)]
        for model, times in (sides if r % 2 == 0 else sides[::-1]):
            times.append(timed(lambda model=model: [step(model) for _ in range(n)], device))
    ratios = [ts / tt for ts, tt in zip(times_scratch, times_torch, strict=True)]  # rate_torch / rate_scratch
    work = n * batch * steps
    return {"hidden": hidden, "batch": batch, "steps": steps, "features": features,
            "calls_per_sample": n, "scratch_tokens_per_s": work / statistics.median(times_scratch),
            "torch_tokens_per_s": work / statistics.median(times_torch),
            "ratio_torch_over_scratch": statistics.median(ratios),
            "ratio_min_max": [min(ratios), max(ratios)],
            "scratch_seconds": times_scratch, "torch_seconds": times_torch}
