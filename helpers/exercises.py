"""Student versions of the chapter notebooks, built with nbgrader from one source.

Each chapter notebook holds its exercises with the solutions inside (the format is
described in ``docs/instructors.md``). This module

* ``check``: validates that format (headings, nbgrader metadata, markers, grade ids);
* ``build``: writes the student versions into ``build/student/``: solution regions
  replaced by ``raise NotImplementedError()``, hidden tests removed, outputs cleared,
  graded cells locked; done by nbgrader's own preprocessors run through nbconvert;
* ``verify``: builds and executes the student versions and reports any cell that
  misbehaves: a teaching cell that fails, a stub that does not raise
  ``NotImplementedError``, or a check cell that passes without its solution.

Command line (from the repository root)::

    python -m helpers.exercises build  [--out build/student] [notebooks...]
    python -m helpers.exercises check  [notebooks...]
    python -m helpers.exercises verify [--profile ci] [notebooks...]

Without notebook arguments every ``notebooks/[0-9][0-9]_*.ipynb`` is used.
nbgrader is imported only when a student version is built, so ``check`` works without it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "student"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: Chapters that must carry at least MIN_EXERCISES exercises.
CHAPTERS_WITH_EXERCISES = range(1, 9)
MIN_EXERCISES = 3

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
DIFFICULTIES = ("easy", "medium", "hard")
HEADING_RE = re.compile(r"^### Exercise (\d+) \((easy|medium|hard)\): \S")
CHECK_FIRST_LINE = "# Check for exercise {n}"
STUB_RAISE = "raise NotImplementedError()"  # the last line of nbgrader's Python stub


# ---------------------------------------------------------------- the format check


@dataclass(frozen=True)
class Exercise:
    """Where one exercise's three cells sit in a notebook (cell indices)."""

    number: int
    difficulty: str
    heading: int
    solution: int | None = None
    check: int | None = None


def chapter_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in ``folder``, sorted by name."""
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


def chapter_number(path: Path) -> int | None:
    """The chapter number from a ``NN_name.ipynb`` file name, or None."""
    match = re.match(r"^(\d\d)_", Path(path).name)
    return int(match.group(1)) if match else None


def _nbgrader_meta(cell: NotebookNode) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _lines(cell: NotebookNode) -> list[str]:
    return [line.strip() for line in cell.source.splitlines()]


def _marker_problems(where: str, lines: list[str], begin: str, end: str) -> list[str]:
    """Markers must be alone on their line, paired, in order and not nested."""
    problems, inside = [], False
    for line in lines:
        if begin.removeprefix("### ") in line and line != begin:
            problems.append(f"{where}: write the marker as a line of its own: {begin!r}")
        if end.removeprefix("### ") in line and line != end:
            problems.append(f"{where}: write the marker as a line of its own: {end!r}")
        if line == begin:
            if inside:
                problems.append(f"{where}: nested {begin!r}")
            inside = True
        elif line == end:
            if not inside:
                problems.append(f"{where}: {end!r} without {begin!r}")
            inside = False
    if inside:
        problems.append(f"{where}: {begin!r} without {end!r}")
    return problems


def _find_exercises(nb: NotebookNode) -> tuple[list[Exercise], list[str]]:
    """Exercise headings in order, with a problem for every malformed heading line."""
    found, problems = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if not re.match(r"^#+\s*Exercise\b", line.strip(), flags=re.IGNORECASE):
                continue
            match = HEADING_RE.match(line.strip())
            if match is None:
                problems.append(f"cell {index}: exercise heading {line.strip()!r} does not read "
                                "'### Exercise N (easy|medium|hard): title'")
            else:
                found.append(Exercise(int(match.group(1)), match.group(2), index))
    return found, problems


def _check_solution_cell(cell: NotebookNode, where: str, grade_id: str) -> list[str]:
    meta, problems = _nbgrader_meta(cell), []
    if cell.cell_type != "code":
        problems.append(f"{where}: the solution cell must be a code cell")
    wanted = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id, "schema_version": 3}
    for key, value in wanted.items():
        if meta.get(key) != value:
            problems.append(f"{where}: nbgrader metadata {key!r} is {meta.get(key)!r}, expected {value!r}")
    lines = _lines(cell)
    if BEGIN_SOLUTION not in lines or END_SOLUTION not in lines:
        problems.append(f"{where}: the solution must sit between {BEGIN_SOLUTION!r} and "
                        f"{END_SOLUTION!r} lines")
    return problems


def _check_check_cell(cell: NotebookNode, where: str, grade_id: str, number: int) -> list[str]:
    meta, problems = _nbgrader_meta(cell), []
    wanted = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id, "schema_version": 3}
    for key, value in wanted.items():
        if meta.get(key) != value:
            problems.append(f"{where}: nbgrader metadata {key!r} is {meta.get(key)!r}, expected {value!r}")
    points = meta.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        problems.append(f"{where}: nbgrader 'points' must be a positive number, got {points!r}")
    first = cell.source.splitlines()[0].strip() if cell.source.strip() else ""
    if first != CHECK_FIRST_LINE.format(n=number):
        problems.append(f"{where}: the first line must be {CHECK_FIRST_LINE.format(n=number)!r}, "
                        f"got {first!r}")
    if "assert" not in cell.source:
        problems.append(f"{where}: the check has no assertion")
    return problems


def _next_code_cell(nb: NotebookNode, after: int) -> int | None:
    for index in range(after + 1, len(nb.cells)):
        if nb.cells[index].cell_type == "code":
            return index
    return None


def _locate_exercise_cells(nb: NotebookNode, exercises: list[Exercise], chapter: str) -> list[Exercise]:
    """Fill in where each exercise's solution and check cells are (by grade id)."""
    by_id = {_nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells) if _nbgrader_meta(c)}
    located = []
    for ex in exercises:
        solution = by_id.get(f"ch{chapter}-ex{ex.number}-solution")
        check = by_id.get(f"ch{chapter}-ex{ex.number}-check")
        located.append(Exercise(ex.number, ex.difficulty, ex.heading, solution, check))
    return located


def _order_problems(nb: NotebookNode, exercises: list[Exercise], chapter: str) -> list[str]:
    """Heading, then its solution, then its check as the next code cell, before the next heading."""
    problems = []
    for k, ex in enumerate(exercises):
        name = f"exercise {ex.number}"
        next_heading = exercises[k + 1].heading if k + 1 < len(exercises) else len(nb.cells)
        if ex.solution is None:
            problems.append(f"{name}: no solution cell with grade_id 'ch{chapter}-ex{ex.number}-solution'")
        elif not ex.heading < ex.solution < next_heading:
            problems.append(f"{name}: the solution cell (cell {ex.solution}) is not under its heading "
                            f"(cell {ex.heading})")
        if ex.check is None:
            problems.append(f"{name}: no check cell with grade_id 'ch{chapter}-ex{ex.number}-check'")
        elif ex.solution is not None and ex.check != _next_code_cell(nb, ex.solution):
            problems.append(f"{name}: the check cell (cell {ex.check}) must be the first code cell "
                            f"after its solution (cell {ex.solution})")
    return problems


def _stray_cell_problems(nb: NotebookNode, exercises: list[Exercise]) -> list[str]:
    """nbgrader cells that belong to no exercise, markers outside their cells, duplicate ids."""
    ours = {i for ex in exercises for i in (ex.solution, ex.check) if i is not None}
    problems, seen = [], {}
    for index, cell in enumerate(nb.cells):
        meta, where = _nbgrader_meta(cell), f"cell {index}"
        grade_id = meta.get("grade_id")
        if grade_id is not None:
            if grade_id in seen:
                problems.append(f"{where}: grade_id {grade_id!r} already used by cell {seen[grade_id]}")
            seen.setdefault(grade_id, index)
        if meta and index not in ours and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            problems.append(f"{where}: nbgrader cell {grade_id!r} belongs to no exercise heading")
        lines = _lines(cell)
        problems += _marker_problems(where, lines, BEGIN_SOLUTION, END_SOLUTION)
        problems += _marker_problems(where, lines, BEGIN_HIDDEN, END_HIDDEN)
        if BEGIN_SOLUTION in lines and not meta.get("solution"):
            problems.append(f"{where}: a solution region in a cell without nbgrader solution metadata")
        if BEGIN_HIDDEN in lines and not meta.get("grade"):
            problems.append(f"{where}: a hidden-tests region in a cell without nbgrader grade metadata")
    return problems


def check_notebook(nb: NotebookNode, chapter: int | None, *, min_exercises: int | None = None) -> list[str]:
    """Every way ``nb`` breaks the exercise format (empty list when it is fine).

    ``chapter`` is the NN of the file name (grade ids read ``chNN-exN-...``);
    ``min_exercises`` defaults to 3 for chapters 01..08 and 0 otherwise.
    """
    if min_exercises is None:
        min_exercises = MIN_EXERCISES if chapter in CHAPTERS_WITH_EXERCISES else 0
    tag = f"{chapter:02d}" if chapter is not None else "NN"
    exercises, problems = _find_exercises(nb)
    numbers = [ex.number for ex in exercises]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"exercise headings must be numbered 1..n in order, found {numbers}")
    if len(exercises) < min_exercises:
        problems.append(f"{len(exercises)} exercise(s); this chapter needs at least {min_exercises}")
    ranks = [DIFFICULTIES.index(ex.difficulty) for ex in exercises]
    if ranks != sorted(ranks):
        problems.append(f"difficulty must not fall: {[ex.difficulty for ex in exercises]}")
    exercises = _locate_exercise_cells(nb, exercises, tag)
    problems += _order_problems(nb, exercises, tag)
    for ex in exercises:
        if ex.solution is not None:
            problems += _check_solution_cell(nb.cells[ex.solution], f"exercise {ex.number} solution",
                                             f"ch{tag}-ex{ex.number}-solution")
        if ex.check is not None:
            problems += _check_check_cell(nb.cells[ex.check], f"exercise {ex.number} check",
                                          f"ch{tag}-ex{ex.number}-check", ex.number)
    problems += _stray_cell_problems(nb, exercises)
    return problems


def check_file(path: Path) -> list[str]:
    """Format problems of one notebook file, each prefixed with the file name."""
    nb = nbformat.read(path, as_version=4)
    return [f"{Path(path).name}: {p}" for p in check_notebook(nb, chapter_number(path))]


# ---------------------------------------------------------------- the student version


def _student_exporter():
    """An nbconvert exporter running nbgrader's generate_assignment preprocessors (no database)."""
    from nbconvert.exporters import NotebookExporter
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    exporter = NotebookExporter()
    # The order of `nbgrader generate_assignment`, less the database and header steps:
    # checksums are computed before and again after the hidden tests are removed.
    for preprocessor in (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                         ClearHiddenTests, ComputeChecksums, CheckCellMetadata):
        exporter.register_preprocessor(preprocessor(), enabled=True)
    return exporter


def student_version(nb: NotebookNode) -> NotebookNode:
    """The student version of a source notebook (the source is left untouched)."""
    student, _ = _student_exporter().from_notebook_node(nbformat.from_dict(nb), resources={})
    return nbformat.reads(student, as_version=4)


def build(paths: Iterable[Path], out: Path = DEFAULT_OUT) -> list[Path]:
    """Write the student version of each notebook into ``out``; return the written paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = out / Path(path).name
        nbformat.write(student_version(nb), target)
        written.append(target)
    return written


# ---------------------------------------------------------------- running a student version


def current_env_kernel_manager():
    """A Jupyter kernel manager for a kernel in this very Python environment."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    class CurrentEnvKernelSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return KernelManager(kernel_name="current-env", kernel_spec_manager=CurrentEnvKernelSpecs())


def execute(nb: NotebookNode, cwd: Path, *, timeout: int = 900, allow_errors: bool = False) -> NotebookNode:
    """Execute ``nb`` in place with a kernel of this environment, working in ``cwd``."""
    from nbclient import NotebookClient

    km = current_env_kernel_manager()
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    finally:  # the client leaves a kernel it did not create running: stop it here
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def cell_error(cell: NotebookNode) -> str | None:
    """The exception name an executed code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "error")
    return None


def student_run_problems(executed: NotebookNode) -> list[str]:
    """What went wrong in an executed student version (empty list when all is as it must be).

    Teaching cells must run without error, every solution stub must raise
    NotImplementedError, and every check cell must fail (no check passes vacuously).
    """
    problems = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        meta, error = _nbgrader_meta(cell), cell_error(cell)
        head = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        where = f"cell {index} ({meta.get('grade_id') or head!r})"
        if meta.get("solution"):
            # A stub inside a function body raises only when the function is called.
            in_body = any(line.startswith((" ", "\t")) and line.strip() == STUB_RAISE
                          for line in cell.source.splitlines())
            if error != "NotImplementedError" and not (in_body and error is None):
                problems.append(f"{where}: the solution stub raised {error}, not NotImplementedError")
        elif meta.get("grade"):
            if error is None:
                problems.append(f"{where}: the check passed without its solution")
        elif error is not None:
            problems.append(f"{where}: teaching cell raised {error}")
    return problems


def verify(paths: Iterable[Path], profile: str = "ci", timeout: int = 900) -> list[str]:
    """Build and execute each student version; return every problem found."""
    os.environ["RNN_PROFILE"] = profile
    problems = []
    for path in paths:
        path = Path(path).resolve()
        nb = execute(student_version(nbformat.read(path, as_version=4)), path.parent,
                     timeout=timeout, allow_errors=True)
        found = [f"{path.name}: {p}" for p in student_run_problems(nb)]
        print(f"{path.name}: {len(found)} problem(s)", flush=True)
        problems += found
    return problems


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``build``, ``check`` or ``verify``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.exercises", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="write student versions (nbgrader) into --out")
    p_build.add_argument("--out", type=Path, default=DEFAULT_OUT,
                         help="output folder (default build/student)")
    p_check = sub.add_parser("check", help="validate the exercise format of the source notebooks")
    p_verify = sub.add_parser("verify",
                              help="build and execute the student versions, report misbehaving cells")
    p_verify.add_argument("--profile", choices=("ci", "full"), default="ci")
    for p in (p_build, p_check, p_verify):
        p.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or chapter_notebooks()
    if not paths:
        print(f"no notebooks matching {NOTEBOOK_GLOB} in {NOTEBOOKS_DIR}", file=sys.stderr)
        return 1
    problems = [p for path in paths for p in check_file(path)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.command == "check":
        print(f"checked {len(paths)} notebook(s): {len(problems)} problem(s)")
        return 1 if problems else 0
    if problems:
        print("fix the exercise format first (see docs/instructors.md)", file=sys.stderr)
        return 1
    if args.command == "build":
        for target in build(paths, args.out):
            print(f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
        return 0
    problems = verify(paths, profile=args.profile)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
