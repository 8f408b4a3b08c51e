"""Model throughput, each number a ratio of two sides measured in one run.

    python benchmarks/throughput.py [--quick] [--repeats 6] [--threads N] [--out results/throughput.json]

Three comparisons, on the CPU and, when present, on the accelerator (then also the CPU/GPU ratio):

1. ``lstm``: the scratch LSTM (``ScratchSequence(LSTMCellScratch)``) versus ``nn.LSTM``,
   forward plus backward, tokens per second at hidden 32, 128 and 512; ``lstm_ch07``: the same
   at notebook 07's setting (input width 28, hidden 32) at batch 16 and 1024, the measurement
   that notebook's sweep makes and the README quotes.
2. ``loop``: ``helpers.train.fit`` versus a plain hand-written loop, same model, data,
   initial weights and batch order (an LSTM classifier on the digit-sum task).
3. ``charlm``: the character language model of d2l (``d2l.RNNLM`` over an ``nn.LSTM``,
   batch 1024, 32 steps, hidden 32, SGD lr 4, clipping 1) trained by ``helpers.train.fit``
   versus ``d2l.Trainer`` (its live plot switched off through ``model.board.display``).

Every pair is timed interleaved (A then B, then B then A, ...) so that load drift hits
both sides; the reported ratio is the median of the per-repeat ratios. No number here is
asserted anywhere: the benchmark reports, a person judges.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from helpers.speed import lstm_pair, timed

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "throughput.json"


# ---------------------------------------------------------------- machine and timing


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS has none."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info() -> dict:
    """What the numbers were measured on: CPU, cores, torch, accelerator, date."""
    from helpers.config import device

    accel = device()
    info = {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(accel),
        "gpu": torch.cuda.get_device_name(0) if accel.type == "cuda" else None,
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return info


def interleaved(a: Callable[[], object], b: Callable[[], object], repeats: int,
                device: torch.device) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` ``repeats`` times each, alternating which goes first."""
    times_a, times_b = [], []
    for r in range(repeats):
        if r % 2 == 0:
            times_a.append(timed(a, device))
            times_b.append(timed(b, device))
        else:
            times_b.append(timed(b, device))
            times_a.append(timed(a, device))
    return times_a, times_b


def paired_summary(name_a: str, name_b: str, times_a: list[float], times_b: list[float],
                   work: float, unit: str) -> dict:
    """Medians of both sides as rates (``work`` per call) and the median per-repeat ratio b/a."""
    ratios = [ta / tb for ta, tb in zip(times_a, times_b, strict=True)]  # rate_b / rate_a
    return {
        f"{name_a}_{unit}": work / statistics.median(times_a),
        f"{name_b}_{unit}": work / statistics.median(times_b),
        f"ratio_{name_b}_over_{name_a}": statistics.median(ratios),
        "ratio_min_max": [min(ratios), max(ratios)],
        f"{name_a}_seconds": times_a,
        f"{name_b}_seconds": times_b,
    }


# ---------------------------------------------------------------- 1. scratch LSTM versus nn.LSTM


# ``lstm_pair`` (imported above) lives in helpers.speed, so notebook 07's sweep calls the same function.


# ---------------------------------------------------------------- 2. fit versus a plain loop


class DigitSumLSTM(nn.Module):
    """Embedding, one LSTM layer, and a linear read-out of the last hidden state (19 sums)."""

    def __init__(self, hidden: int = 64, embed: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 19)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.embed(x))  # (batch, steps, hidden)
        return self.out(outputs[:, -1])        # (batch, 19)


def plain_loop(model: nn.Module, train_loader, dev_loader, optimizer, epochs: int, clip_norm: float,
               device: torch.device) -> list[float]:
    """The loop a student writes by hand: train, clip, step; dev loss and accuracy per epoch."""
    loss_fn, losses = nn.CrossEntropyLoss(), []
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            correct = total = 0
            for x, y in dev_loader:
                x, y = x.to(device), y.to(device)
                correct += (model(x).argmax(-1) == y).sum().item()
                total += len(y)
        losses.append(correct / total)
    return losses


def loop_pair(device: torch.device, *, epochs: int = 3, repeats: int = 5, length: int = 10,
              batch: int = 64, hidden: int = 64) -> dict:
    """Samples/s of helpers.train.fit and of ``plain_loop`` on the same model, data and batches."""
    from torch.utils.data import DataLoader, TensorDataset

    from helpers.data import digit_sum_splits
    from helpers.train import fit

    splits = digit_sum_splits(length, copies=(30, 10, 10), seed=0)
    train_set, dev_set = TensorDataset(*splits["train"]), TensorDataset(*splits["dev"])
    torch.manual_seed(0)
    initial = DigitSumLSTM(hidden).to(device)

    def loaders():
        generator = torch.Generator().manual_seed(0)  # the same batch order on both sides
        return (DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator),
                DataLoader(dev_set, batch_size=256))

    def make():
        model = copy.deepcopy(initial)
        return model, torch.optim.Adam(model.parameters(), lr=1e-2)

    def run_fit() -> None:
        model, optimizer = make()
        train_loader, dev_loader = loaders()
        fit(model, train_loader, loss_fn=nn.CrossEntropyLoss(), optimizer=optimizer, epochs=epochs,
            dev_loader=dev_loader, metric="accuracy", clip_norm=1.0, device=device, progress=False)

    def run_plain() -> None:
        model, optimizer = make()
        train_loader, dev_loader = loaders()
        plain_loop(model, train_loader, dev_loader, optimizer, epochs, 1.0, device)

    run_fit(), run_plain()  # warm-up
    times_plain, times_fit = interleaved(run_plain, run_fit, repeats, device)
    n_samples = len(train_set) * epochs
    result = {"task": f"digit sum, length {length}", "train_samples": len(train_set), "epochs": epochs,
              "batch": batch, "hidden": hidden, "optimizer": "Adam lr 1e-2, clip 1.0, dev eval per epoch"}
    result.update(paired_summary("plain", "fit", times_plain, times_fit, work=n_samples,
                                 unit="samples_per_s"))
    return result


# ---------------------------------------------------------------- 3. char LM: fit versus d2l.Trainer


def d2l_char_lm(vocab_size: int, hidden: int):
    """d2l's concise RNNLM over an nn.LSTM (as in d2l's LSTM chapter), live plot off."""
    import d2l.torch as d2l

    class LSTM(d2l.RNN):
        """d2l.RNN with an nn.LSTM inside (d2l 1.0.3 defines this class only in its notebook)."""

        def __init__(self, num_inputs: int, num_hiddens: int) -> None:
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.LSTM(num_inputs, num_hiddens)

        def forward(self, inputs, H_C=None):
            return self.rnn(inputs, H_C)

    model = d2l.RNNLM(LSTM(num_inputs=vocab_size, num_hiddens=hidden), vocab_size=vocab_size, lr=4)
    model.board.display = False  # d2l's ProgressBoard option: keep the points, draw nothing
    return model


def charlm_pair(device: torch.device, *, epochs: int = 3, repeats: int = 3, batch: int = 1024,
                steps: int = 32, hidden: int = 32) -> dict:
    """Training tokens/s of d2l.Trainer and helpers.train.fit on d2l's char-LM setting."""
    import d2l.torch as d2l

    from helpers.data import time_machine
    from helpers.train import evaluate, fit, sequence_cross_entropy

    data = time_machine(batch_size=batch, num_steps=steps)
    vocab_size = len(data.vocab)
    perplexity = {}

    def make():
        """The same initial weights every time (d2l modules do not deep-copy)."""
        torch.manual_seed(0)
        model = d2l_char_lm(vocab_size, hidden)
        model(data.X[:2])  # materialise d2l's LazyLinear
        return model.to(device)

    def run_d2l() -> None:
        model = make()
        trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1,
                              num_gpus=1 if device.type == "cuda" else 0)
        torch.manual_seed(1)  # the same shuffling on both sides
        trainer.fit(model, data)
        perplexity["d2l"] = evaluate(model, data.val_dataloader(), loss_fn=sequence_cross_entropy,
                                     metric="perplexity", device=device)[1]

    def run_fit() -> None:
        model = make()
        optimizer = torch.optim.SGD(model.parameters(), lr=4)
        fit(model, data.train_dataloader(), loss_fn=sequence_cross_entropy, optimizer=optimizer,
            epochs=epochs, dev_loader=data.val_dataloader(), metric="perplexity", clip_norm=1.0,
            device=device, seed=1, keep_best=False, progress=False)
        perplexity["fit"] = evaluate(model, data.val_dataloader(), loss_fn=sequence_cross_entropy,
                                     metric="perplexity", device=device)[1]

    warm = make()  # warm-up: one forward and backward pass on one training batch
    x, y = (t.to(device) for t in next(iter(data.train_dataloader())))
    sequence_cross_entropy(warm(x), y).backward()
    times_d2l, times_fit = interleaved(run_d2l, run_fit, repeats, device)
    tokens = data.num_train * steps * epochs
    result = {"setting": f"d2l RNNLM + nn.LSTM, batch {batch}, {steps} steps, hidden {hidden}, "
                         f"SGD lr 4, clip 1, {epochs} epochs, val each epoch",
              "train_tokens_per_epoch": data.num_train * steps, "epochs": epochs,
              "val_perplexity_after": {k: round(v, 3) for k, v in perplexity.items()}}
    result.update(paired_summary("d2l", "fit", times_d2l, times_fit, work=tokens, unit="tokens_per_s"))
    return result


# ---------------------------------------------------------------- the report


def run_device(device: torch.device, *, quick: bool, repeats: int) -> dict:
    """All three comparisons on one device."""
    hiddens = (32, 128) if quick else (32, 128, 512)
    out = {"lstm": []}
    for hidden in hiddens:
        out["lstm"].append(lstm_pair(hidden, device, repeats=repeats, min_seconds=0.1 if quick else 0.3))
        print(f"[{device}] lstm hidden {hidden}: done", flush=True)
    # notebook 07's setting (one-hot width 28, hidden 32): the same definition at its smallest and
    # largest batch, so the notebook's sweep, this report and the README quote one measurement
    out["lstm_ch07"] = [lstm_pair(32, device, batch=b, features=28, repeats=repeats,
                                  min_seconds=0.1 if quick else 0.3) for b in (16, 1024)]
    print(f"[{device}] lstm, chapter 07 setting: done", flush=True)
    out["loop"] = loop_pair(device, epochs=1 if quick else 3, repeats=repeats)
    print(f"[{device}] loop: done", flush=True)
    if device.type in ("cpu", "cuda"):  # d2l.Trainer moves batches to CUDA devices only
        # An even number of repeats, so each side goes first equally often.
        out["charlm"] = charlm_pair(device, epochs=1 if quick else 3, repeats=2 * max(1, repeats // 3))
        print(f"[{device}] charlm: done", flush=True)
    return out


def gpu_over_cpu(cpu: dict, gpu: dict) -> dict:
    """GPU speed-up (GPU rate / CPU rate) for every rate measured on both."""
    ratios = {}
    for c, g in zip(cpu["lstm"], gpu["lstm"], strict=True):
        for side in ("scratch", "torch"):
            ratios[f"lstm_h{c['hidden']}_{side}"] = g[f"{side}_tokens_per_s"] / c[f"{side}_tokens_per_s"]
    for side in ("plain", "fit"):
        ratios[f"loop_{side}"] = gpu["loop"][f"{side}_samples_per_s"] / cpu["loop"][f"{side}_samples_per_s"]
    for side in ("d2l", "fit") if "charlm" in gpu else ():
        rate = f"{side}_tokens_per_s"
        ratios[f"charlm_{side}"] = gpu["charlm"][rate] / cpu["charlm"][rate]
    return ratios


def _row(label: str, r: dict, a: str, b: str, a_name: str, b_name: str, unit: str) -> str:
    """One markdown table row: both rates and the median ratio with its range."""
    low, high = r["ratio_min_max"]
    return (f"| {label} | {a_name} {r[f'{a}_{unit}']:,.0f} | {b_name} {r[f'{b}_{unit}']:,.0f} "
            f"| {r[f'ratio_{b}_over_{a}']:.2f} ({low:.2f}..{high:.2f}) |")


def markdown(report: dict) -> str:
    """A readable summary of a throughput report."""
    lines = []
    for name, res in report["results"].items():
        lines += [f"\n**{name}**\n", "| comparison | A | B | B/A (median, min..max) |", "|---|---|---|---|"]
        for r in res["lstm"]:
            lines.append(_row(f"LSTM forward+backward, hidden {r['hidden']} (tokens/s)", r,
                              "scratch", "torch", "scratch", "nn.LSTM", "tokens_per_s"))
        for r in res.get("lstm_ch07", []):
            lines.append(_row(f"LSTM forward+backward, chapter 07 setting, batch {r['batch']} (tokens/s)", r,
                              "scratch", "torch", "scratch", "nn.LSTM", "tokens_per_s"))
        r = res["loop"]
        lines.append(_row(f"training loop, {r['task']} (samples/s)", r, "plain", "fit", "plain loop", "fit",
                          "samples_per_s"))
        if "charlm" in res:
            lines.append(_row("char LM, d2l setting (training tokens/s)", res["charlm"], "d2l", "fit",
                              "d2l.Trainer", "fit", "tokens_per_s"))
    if report.get("gpu_over_cpu"):
        lines += ["\n**GPU speed-up (GPU rate / CPU rate)**\n", "| measurement | ratio |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in report["gpu_over_cpu"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons, write the JSON report, print the markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 1 epoch (a smoke run)")
    parser.add_argument("--repeats", type=int, default=6,
                        help="timed repeats per side (default 6; the char LM runs 2 * (repeats // 3))")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON report path")
    parser.add_argument("--cpu-only", action="store_true", help="skip the accelerator even when present")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 is steadier on a shared machine")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    from helpers.config import device

    devices = [torch.device("cpu")]
    if not args.cpu_only and device().type != "cpu":
        devices.append(device())
    report = {"machine": machine_info(), "load_before": load_average(),
              "settings": {"quick": args.quick, "repeats": args.repeats, "threads": torch.get_num_threads()},
              "results": {}}
    start = time.perf_counter()
    for dev in devices:
        report["results"][dev.type] = run_device(dev, quick=args.quick, repeats=args.repeats)
    if len(devices) > 1:
        report["gpu_over_cpu"] = gpu_over_cpu(report["results"]["cpu"], report["results"][devices[1].type])
    report["load_after"] = load_average()
    report["wall_s"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    print(f"\nload average before {report['load_before']}, after {report['load_after']}; "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
