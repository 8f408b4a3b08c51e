"""Time every chapter notebook headless, then the model throughputs and the digit-sum sweep.

    python benchmarks/run.py [--profile full|ci] [--only 03 05] [--skip-throughput] [--quick]
    python tasks.py bench ...            (the same, inside the project's environment)

Each notebook ``notebooks/NN_*.ipynb`` is executed top to bottom in a fresh kernel of this
environment (nbclient, working folder ``notebooks/``, the chosen ``RNN_PROFILE``); the
notebook files are not modified. Wall time per notebook (kernel start included), its three
slowest cells and the machine go to ``benchmarks/results/notebooks.json``; entries of
earlier runs on the same machine are kept for the notebooks and profiles not re-run. Then
``benchmarks/throughput.py`` runs (unless ``--skip-throughput``) and so does
``benchmarks/digit_sum_sweep.py`` when it exists. A markdown summary is printed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from throughput import load_average, machine_info

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tools/ is repository tooling, run from the root, not installed
    sys.path.insert(0, str(ROOT))
from tools.notebooks import chapter_notebooks, execute  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results" / "notebooks.json"
SWEEP = ROOT / "benchmarks" / "digit_sum_sweep.py"
THROUGHPUT = ROOT / "benchmarks" / "throughput.py"
MACHINE_KEYS = ("cpu_model", "cpu_cores", "torch", "device")  # a change of these starts a new file


def fmt_seconds(seconds: float | None) -> str:
    """'42 s' below two minutes, else '3.4 min'."""
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def cell_seconds(cell: nbformat.NotebookNode) -> float | None:
    """How long an executed cell ran, from nbclient's timing metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (begin and end):
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (parse(end) - parse(begin)).total_seconds()


def source_sha1(nb: nbformat.NotebookNode) -> str:
    """SHA-1 of the cell sources (not outputs): tells whether a timing is for today's notebook."""
    digest = hashlib.sha1()
    for cell in nb.cells:
        digest.update(cell.cell_type.encode() + b"\0" + cell.source.encode() + b"\0")
    return digest.hexdigest()[:12]


def time_notebook(path: Path, profile: str, timeout: int) -> dict:
    """Execute one notebook (a copy in memory) and return its timing record."""
    nb = nbformat.read(path, as_version=4)
    sha1 = source_sha1(nb)
    load_before = load_average()
    start = time.perf_counter()
    error = None
    try:
        execute(nb, NOTEBOOKS, timeout=timeout, allow_errors=False)
    except Exception as err:  # a failing notebook is recorded, the others still run
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:200] if str(err).strip() else ''}"
    wall = time.perf_counter() - start
    cells = [(cell_seconds(c), c.source.strip().splitlines()[0][:70] if c.source.strip() else "")
             for c in nb.cells if c.cell_type == "code"]
    slowest = sorted(((s, head) for s, head in cells if s is not None), reverse=True)[:3]
    return {"notebook": path.name, "profile": profile, "source_sha1": sha1, "wall_s": round(wall, 1),
            "ok": error is None,
            "error": error, "slowest_cells": [{"seconds": round(s, 1), "first_line": h} for s, h in slowest],
            "measured_at": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "load_before": load_before, "load_after": load_average()}


def merge_results(new: list[dict], machine: dict, path: Path = RESULTS) -> dict:
    """Old entries of the same machine, with the re-measured (notebook, profile) pairs replaced."""
    old = json.loads(path.read_text()) if path.exists() else {}
    same_machine = all(old.get("machine", {}).get(k) == machine.get(k) for k in MACHINE_KEYS)
    keep = old.get("notebooks", []) if same_machine else []
    fresh = {(e["notebook"], e["profile"]) for e in new}
    entries = [e for e in keep if (e["notebook"], e["profile"]) not in fresh] + new
    entries.sort(key=lambda e: (e["profile"], e["notebook"]))
    scripts = old.get("scripts", {}) if same_machine else {}
    return {"machine": machine, "notebooks": entries, "scripts": scripts}


def save(results: dict, path: Path = RESULTS) -> None:
    """Write the notebook timings as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def run_sweep(profile: str) -> dict:
    """Invoke benchmarks/digit_sum_sweep.py (chapter 08's script) and time it.

    The full profile runs it as it is (it writes its own results file); the CI profile
    runs its documented smoke form (20 epochs) into a temporary file.
    """
    env = dict(os.environ, RNN_PROFILE=profile)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        extra = [] if profile == "full" else ["--epochs", "20", "--out", str(Path(tmp) / "sweep.json")]
        done = subprocess.run([sys.executable, str(SWEEP), *extra], cwd=ROOT, env=env)
    return {"profile": profile, "wall_s": round(time.perf_counter() - start, 1),
            "returncode": done.returncode,
            "measured_at": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}


def summary(results: dict) -> str:
    """The markdown table the README's chapter table takes its run times from."""
    m = results["machine"]
    lines = [f"Machine: {m['cpu_model']}, {m['cpu_cores']} cores, torch {m['torch']}, device {m['device']}.",
             "", "| notebook | profile | wall time | slowest cell | load before | status |",
             "|---|---|---|---|---|---|"]
    for e in results["notebooks"]:
        slow = e["slowest_cells"][0] if e["slowest_cells"] else None
        slow_text = f"{fmt_seconds(slow['seconds'])}: `{slow['first_line']}`" if slow else "-"
        load = e["load_before"][0] if e.get("load_before") else "-"
        status = "ok" if e["ok"] else f"FAILED: {e['error']}"
        path = NOTEBOOKS / e["notebook"]
        if not path.exists():
            status += " (notebook gone)"
        elif e.get("source_sha1") != source_sha1(nbformat.read(path, as_version=4)):
            status += " (notebook changed since)"
        lines.append(f"| {e['notebook']} | {e['profile']} | {fmt_seconds(e['wall_s'])} | {slow_text} "
                     f"| {load} | {status} |")
    for name, s in results.get("scripts", {}).items():
        status = "ok" if s["returncode"] == 0 else f"exit {s['returncode']}"
        lines.append(f"| {name} (script) | {s['profile']} | {fmt_seconds(s['wall_s'])} | - | - | {status} |")
    return "\n".join(lines)


def pick_notebooks(only: list[str] | None) -> list[Path]:
    """Every numbered notebook, or those whose NN prefix is listed in ``only``."""
    paths = chapter_notebooks(NOTEBOOKS)
    if only:
        wanted = {n.zfill(2) for n in only}
        paths = [p for p in paths if p.name[:2] in wanted]
        missing = wanted - {p.name[:2] for p in paths}
        if missing:
            print(f"no notebook for chapter(s) {sorted(missing)} in {NOTEBOOKS}", file=sys.stderr)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Time the notebooks, then the throughputs and the sweep; print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("full", "ci"), default="full",
                        help="RNN_PROFILE (default full)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="chapter numbers to time, e.g. --only 03 05")
    parser.add_argument("--skip-notebooks", action="store_true", help="only the scripts")
    parser.add_argument("--skip-throughput", action="store_true", help="do not run benchmarks/throughput.py")
    parser.add_argument("--skip-sweep", action="store_true", help="do not run benchmarks/digit_sum_sweep.py")
    parser.add_argument("--quick", action="store_true", help="pass --quick to throughput.py (smoke run)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell before giving up")
    args = parser.parse_args(argv)

    os.environ["RNN_PROFILE"] = args.profile
    os.environ.pop("MPLBACKEND", None)  # figures render inline, as students see them
    machine = machine_info()
    new = []
    for path in [] if args.skip_notebooks else pick_notebooks(args.only):
        print(f"executing {path.name} ({args.profile}) ...", flush=True)
        record = time_notebook(path, args.profile, args.timeout)
        print(f"  {fmt_seconds(record['wall_s'])}{'' if record['ok'] else '  FAILED: ' + record['error']}",
              flush=True)
        new.append(record)
        save(merge_results(new, machine))  # after each notebook, so an interrupted run keeps its timings
    results = merge_results(new, machine)
    failed = [e["notebook"] for e in new if not e["ok"]]

    if not args.skip_sweep and SWEEP.exists():
        print(f"running {SWEEP.relative_to(ROOT)} ({args.profile}) ...", flush=True)
        results["scripts"]["digit_sum_sweep.py"] = run_sweep(args.profile)
        if results["scripts"]["digit_sum_sweep.py"]["returncode"]:
            failed.append("digit_sum_sweep.py")
    save(results)
    if not args.skip_throughput:
        print("running benchmarks/throughput.py ...", flush=True)
        extra = ["--quick"] if args.quick else []
        code = subprocess.call([sys.executable, str(THROUGHPUT), *extra], cwd=ROOT)
        if code:
            failed.append("throughput.py")
    print("\n" + summary(results))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
