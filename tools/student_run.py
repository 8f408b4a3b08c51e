"""Run student notebooks up to their exercise stubs and say where each exercise stands.

This is the test command of the student edition (``python3 tasks.py test`` there runs
``python -m tools.student_run``, in the quick CI profile). For each notebook it executes a
copy (your file is not changed) and reports:

* every teaching cell (a cell that is not part of an exercise) must run: if one fails, the
  set-up is broken (a missing package, missing data) and the command fails;
* each exercise is "not answered yet" while its solution cell still raises the stub's
  ``NotImplementedError`` (expected in a fresh edition, not a failure), "passed" when its check
  cell ran, or "check failed" / "your answer raised ..." (then the command fails).

Command line (from the edition's root)::

    python -m tools.student_run [notebooks...]      # default: notebooks/NN_*.ipynb
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools.notebooks import NOTEBOOKS_DIR, cell_error, chapter_notebooks, execute

STUB_ERROR = "NotImplementedError"


@dataclass
class Report:
    """What one executed student notebook showed."""

    name: str
    teaching_cells: int = 0
    broken: list[str] = field(default_factory=list)  # teaching cells that raised
    exercises: dict[str, str] = field(default_factory=dict)  # grade id of the check -> state

    @property
    def ok(self) -> bool:
        return not self.broken and all(state in ("passed", "not answered yet")
                                       for state in self.exercises.values())


def _error_text(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}".strip()
    return ""


def _first_line(cell) -> str:
    lines = cell.source.strip().splitlines()
    return lines[0][:70] if lines else ""


def classify(executed: nbformat.NotebookNode, name: str) -> Report:
    """Sort the cells of an executed student notebook into teaching cells and exercises."""
    report, pending = Report(name), None  # pending: the solution cell's error, before its check
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        meta, error = cell.get("metadata", {}).get("nbgrader", {}), cell_error(cell)
        if meta.get("solution"):
            pending = error
        elif meta.get("grade"):
            exercise = _first_line(cell).removeprefix("# Check for ") or meta.get("grade_id", f"cell {index}")
            if STUB_ERROR in (pending, error):
                state = "not answered yet"
            elif pending is not None:
                state = f"your answer raised {pending}"
            elif error is not None:
                state = f"check failed: {_error_text(cell)}"
            else:
                state = "passed"
            report.exercises[exercise] = state
            pending = None
        else:
            report.teaching_cells += 1
            if error is not None:
                report.broken.append(f"cell {index} ({_first_line(cell)!r}) raised {_error_text(cell)}")
    return report


def run(path: Path, timeout: int = 900) -> Report:
    """Execute a copy of the notebook at ``path`` (working folder: its own) and classify it."""
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    return classify(execute(nb, path.parent, timeout=timeout, allow_errors=True), path.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.student_run", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or chapter_notebooks(NOTEBOOKS_DIR)
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing or not paths:
        print(f"no such notebook: {', '.join(missing) or NOTEBOOKS_DIR}; give paths like "
              "notebooks/03_gru.ipynb", file=sys.stderr)
        return 2
    import helpers

    print(f"helpers from {Path(helpers.__file__).parent}", flush=True)
    failed = 0
    for path in paths:
        report = run(path)
        print(f"{report.name}: {report.teaching_cells} teaching cells "
              f"{'ran' if not report.broken else 'with errors'}", flush=True)
        for problem in report.broken:
            print(f"  SET-UP PROBLEM: {problem}", flush=True)
        for exercise, state in report.exercises.items():
            print(f"  {exercise}: {state}", flush=True)
        failed += not report.ok
    print(f"{len(paths)} notebook(s), {failed} with problems", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
