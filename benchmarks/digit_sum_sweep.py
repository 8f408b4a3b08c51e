"""Time the chapter-08 digit-sum sweep: batched (helpers.digitsum.sweep) versus one model at a time.

    python benchmarks/digit_sum_sweep.py    # the full protocol: 6 lengths x 3 cells x 3 seeds x 500 epochs
    python benchmarks/digit_sum_sweep.py --epochs 20 --out /tmp/quick.json   # a quick smoke run

The batched sweep is timed end to end (data, models, training, dev checks, test scores), once by
default (``--repeats`` for more; the median is reported). One model at a time is the plain loop
:func:`helpers.digitsum.train_one` (torch's nn.RNN/LSTM/GRU and Adam), timed on a SAMPLE: every cell
at the shortest and the longest length, seed 0, for ``--sample-epochs`` epochs, median of
``--sample-repeats`` repeats; the per-epoch time is interpolated linearly in the length and
extrapolated to all lengths, seeds and epochs. The JSON records the machine, torch version,
device and the load average before and after, because a shared machine inflates every time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from helpers.config import device as best_device
from helpers.data import digit_sum_splits
from helpers.digitsum import CELLS, TrainConfig, sweep, train_one

LENGTHS = [10, 15, 20, 25, 30, 35]
SEEDS = [0, 1, 2]
OUT = Path(__file__).resolve().parent / "results" / "digit_sum_sweep.json"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def time_batched(config: TrainConfig, repeats: int, device: torch.device) -> dict:
    """Wall time of the whole batched sweep (median of ``repeats``) and each cell's training time."""
    walls, per_cell = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        results = sweep(CELLS, LENGTHS, SEEDS, config=config, device=device)
        walls.append(time.perf_counter() - start)
        per_cell.append({c: round(r.wall_time, 2) for c, r in results.items()})
    return {"wall_s": round(statistics.median(walls), 2), "wall_s_all": [round(w, 2) for w in walls],
            "train_s_per_cell_in_workers": per_cell,
            "steps_per_model": int(results["lstm"].train_loss.shape[0])}


def time_one_at_a_time(config: TrainConfig, sample_epochs: int, repeats: int) -> dict:
    """Plain-loop seconds per epoch on sampled configurations, extrapolated to the whole sweep."""
    torch.set_num_threads(1)
    sample = {}
    short, long = min(LENGTHS), max(LENGTHS)
    for cell in CELLS:
        for length in (short, long):
            split = digit_sum_splits(length, (3, 1, 1), 0)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                train_one(cell, 0, split, TrainConfig(epochs=sample_epochs))
                times.append((time.perf_counter() - start) / sample_epochs)
            sample[f"{cell}@{length}"] = round(statistics.median(times), 4)
    total = 0.0
    for cell in CELLS:
        a, b = sample[f"{cell}@{short}"], sample[f"{cell}@{long}"]
        for length in LENGTHS:   # linear in the length between the two measured ends
            per_epoch = a + (b - a) * (length - short) / (long - short)
            total += per_epoch * config.epochs * len(SEEDS)
    return {"sample_seconds_per_epoch": sample, "sample_epochs": sample_epochs, "sample_repeats": repeats,
            "extrapolated_sweep_s_one_process": round(total, 1),
            "extrapolated_sweep_s_two_cores_ideal": round(total / 2, 1),
            "method": "plain loop (helpers.digitsum.train_one), seed 0, shortest and longest length per "
                      "cell, median seconds per epoch, linear in length, x 3 seeds x epochs"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=500, help="epochs per model (the book: 500)")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the whole batched sweep")
    parser.add_argument("--sample-epochs", type=int, default=2, help="epochs per one-at-a-time sample")
    parser.add_argument("--sample-repeats", type=int, default=3, help="repeats per one-at-a-time sample")
    parser.add_argument("--note", default="", help="free text stored with the result (e.g. the load)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    device = best_device()
    config = TrainConfig(epochs=args.epochs)
    record = {"benchmark": "digit-sum sweep, chapter 08",
              "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                          "python": platform.python_version(), "device": str(device)},
              "sweep": {"cells": list(CELLS), "lengths": LENGTHS, "seeds": SEEDS, "epochs": args.epochs,
                        "batch_size": config.batch_size, "models": len(CELLS) * len(LENGTHS) * len(SEEDS)},
              "load_average_before": load_average(), "note": args.note}
    print(json.dumps(record["machine"]), flush=True)
    record["batched"] = time_batched(config, args.repeats, device)
    print("batched:", json.dumps(record["batched"]), flush=True)
    record["load_average_between"] = load_average()
    record["one_at_a_time"] = time_one_at_a_time(config, args.sample_epochs, args.sample_repeats)
    print("one at a time:", json.dumps(record["one_at_a_time"]), flush=True)
    record["load_average_after"] = load_average()
    one = record["one_at_a_time"]["extrapolated_sweep_s_one_process"]
    record["speedup_vs_one_at_a_time_one_process"] = round(one / record["batched"]["wall_s"], 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"batched {record['batched']['wall_s']:.0f} s vs one at a time ~{one:.0f} s "
          f"(x{record['speedup_vs_one_at_a_time_one_process']}); written {args.out}")


if __name__ == "__main__":
    main()
