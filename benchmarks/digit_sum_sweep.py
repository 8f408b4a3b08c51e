"""Time chapter 08's digit-sum training: the batched engines versus one model at a time.

    python benchmarks/digit_sum_sweep.py            # the headline per-step speed-up (about a minute)
    python benchmarks/digit_sum_sweep.py --sweep    # also the chapter's whole sweep, end to end (minutes)

THE speed-up (the one number the notebook and the README quote, defined here once): the time of
one training step (forward, backward, Adam) for the chapter's 15 LSTMs (lengths 10, 20, 35 x seeds
0-4, the book's init, batch 8), in one process with one thread, for (a) the plain loop: each model
with torch's nn.LSTM and Adam, one after another; (b) the stacked autograd engine
(``engine="autograd"``, :func:`helpers.digitsum.stacked_forward`); (c) the hand-written backward
pass (``engine="bptt"``, the default). speedup = (a) / (c): per core, since (a) and (c) both use one
thread. Each is the median over ``--repeats`` timed blocks of ``--steps`` steps after a warm-up.

With ``--sweep`` the chapter's sweep (the notebook's section-4 call: 5 configurations x 3 lengths
x 5 seeds plus the rho runs, in one process per core) is also timed end to end. The JSON records
the machine, torch version, device and load averages: a shared machine inflates every time.
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
import torch.nn.functional as F

from helpers.config import device as best_device
from helpers.digitsum import BatchedDigitSum, TrainConfig, make_model, sweep

LENGTHS = [10, 20, 35]
SEEDS = [0, 1, 2, 3, 4]
CONFIGS = {"RNN torch": ("RNN", "torch"), "RNN nndl": ("RNN", "nndl"), "LSTM torch": ("LSTM", "torch"),
           "LSTM nndl": ("LSTM", "nndl"), "GRU nndl": ("GRU", "nndl")}
RHOS, LSTM_RHOS = [0.5, 0.8, 1.0, 1.15, 1.3], [0.5, 1.0, 1.3]
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


def chapter_jobs() -> dict[str, dict]:
    """The notebook's section-4 sweep: five configurations plus the rho runs at length 35."""
    jobs = {name: {"cell": cell, "init": init} for name, (cell, init) in CONFIGS.items()}
    jobs["RNN rho"] = {"cell": "RNN", "init": "nndl", "lengths": [max(LENGTHS)], "rhos": RHOS}
    jobs["LSTM rho"] = {"cell": "LSTM", "init": "nndl", "lengths": [max(LENGTHS)], "seeds": SEEDS[:3],
                        "rhos": LSTM_RHOS}
    return jobs


def time_sweep(config: TrainConfig, device: torch.device) -> dict:
    """Wall time of the chapter's whole sweep and each job's training time in its worker."""
    start = time.perf_counter()
    results = sweep(chapter_jobs(), LENGTHS, SEEDS, config=config, data="book", device=device)
    return {"wall_s": round(time.perf_counter() - start, 2),
            "train_s_per_job_in_workers": {k: round(r.wall_time, 2) for k, r in results.items()},
            "models": sum(len(r.lengths) for r in results.values()),
            "steps_per_model": int(results["LSTM nndl"].train_loss.shape[0])}


def _median_ms(step, steps: int, repeats: int) -> float:
    """Median over ``repeats`` blocks of the milliseconds per call of ``step`` (after 5 warm-up calls)."""
    for _ in range(5):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps * 1000)
    return statistics.median(times)


def time_per_step(steps: int, repeats: int, cell: str = "LSTM") -> dict:
    """Milliseconds per training step for the chapter's 15 models of one cell: plain loop, autograd, BPTT."""
    torch.set_num_threads(1)
    lengths = [n for n in sorted(LENGTHS, reverse=True) for _ in SEEDS]
    seeds = [s for _ in LENGTHS for s in SEEDS]
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 10, (len(lengths), 8, max(lengths)), generator=gen)   # (M, batch, steps)
    y = torch.randint(0, 19, (len(lengths), 8), generator=gen)
    models = [make_model(cell, s, init="nndl") for s in seeds]
    optimizers = [torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3) for m in models]

    def plain() -> None:
        for m, (model, opt) in enumerate(zip(models, optimizers, strict=True)):
            loss = F.cross_entropy(model(x[m, :, :lengths[m]]), y[m])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def batched(engine: str):
        net = BatchedDigitSum([make_model(cell, s, init="nndl") for s in seeds], lengths, engine)
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3, fused=True)

        def step() -> None:
            losses = F.cross_entropy(net(x).flatten(0, 1), y.flatten(), reduction="none")
            loss = losses.view(y.shape).mean(1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    result = {"cell": cell, "models": len(lengths), "lengths": LENGTHS, "seeds": SEEDS, "batch_size": 8,
              "threads": 1, "steps": steps, "repeats": repeats}
    for name, step in (("plain_loop", plain), ("autograd", batched("autograd")), ("bptt", batched("bptt"))):
        result[name] = round(_median_ms(step, steps, repeats), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per engine (median)")
    parser.add_argument("--sweep", action="store_true", help="also time the chapter's whole sweep")
    parser.add_argument("--epochs", type=int, default=500, help="epochs per model in --sweep (the book: 500)")
    parser.add_argument("--note", default="", help="free text stored with the result (e.g. the load)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    device = best_device()
    record = {"benchmark": "digit-sum training, chapter 08",
              "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                          "python": platform.python_version(), "device": str(device)},
              "load_average_before": load_average(), "note": args.note,
              "definition": "speedup = plain-loop ms per training step / hand-written-BPTT ms per training "
                            "step, the chapter's 15 LSTMs, one process, one thread (per core)"}
    print(json.dumps(record["machine"]), flush=True)
    record["per_step_ms"] = time_per_step(args.steps, args.repeats)
    step = record["per_step_ms"]
    record["speedup"] = round(step["plain_loop"] / step["bptt"], 1)
    record["speedup_autograd"] = round(step["plain_loop"] / step["autograd"], 1)
    record["bptt_over_autograd"] = round(step["autograd"] / step["bptt"], 1)
    print("per step:", json.dumps(step), flush=True)
    record["load_average_after_steps"] = load_average()
    if args.sweep:
        record["sweep"] = time_sweep(TrainConfig(epochs=args.epochs, shuffle=False), device)
        record["load_average_after_sweep"] = load_average()
        print("sweep:", json.dumps(record["sweep"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"speed-up per core {record['speedup']}x (autograd {record['speedup_autograd']}x, "
          f"BPTT over autograd {record['bptt_over_autograd']}x); written {args.out}")


if __name__ == "__main__":
    main()
