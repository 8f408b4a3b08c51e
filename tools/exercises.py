"""The exercise format and the student versions, built with nbgrader from one source.

Each chapter notebook holds its exercises with the solutions inside (the format is
described in ``docs/instructors.md``). This module

* ``check``: validates the house format (headings, numbering, difficulty order, grade ids,
  a check cell right after its solution) and lets nbgrader validate its own rules (its
  metadata validator and its preprocessors), reporting nbgrader's message;
* ``build``: writes the student versions into ``build/student/`` with the preprocessors of
  ``nbgrader generate_assignment`` (taken from nbgrader itself, less the gradebook step):
  solution regions stubbed, hidden tests and mark schemes removed, outputs cleared, graded
  cells locked, and our ``# NBVAL_*`` test markers dropped;
* ``verify``: runs the wrong-answer harness (:mod:`tools.wrong_answers`) on notebooks.

Command line (from the repository root)::

    python -m tools.exercises build  [--out build/student] [notebooks...]
    python -m tools.exercises check  [notebooks...]
    python -m tools.exercises verify [notebooks...]

Without notebook arguments every ``notebooks/[0-9][0-9]_*.ipynb`` is used.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbformat.v4
from nbformat import NotebookNode

from tools.notebooks import NOTEBOOK_GLOB, NOTEBOOKS_DIR, ROOT, chapter_notebooks, chapter_number

DEFAULT_OUT = ROOT / "build" / "student"
#: Every chapter after 00 (the environment check) must carry at least MIN_EXERCISES exercises.
FIRST_CHAPTER_WITH_EXERCISES = 1
MIN_EXERCISES = 3

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # nbgrader's delimiters
DIFFICULTIES = ("easy", "medium", "hard")
HEADING_RE = re.compile(r"^### Exercise (\d+) \((easy|medium|hard)\): \S")
CHECK_FIRST_LINE = "# Check for exercise {n}"
STUB_RAISE = "raise NotImplementedError()"  # the last line of nbgrader's Python stub
NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")


# ---------------------------------------------------------------- finding the exercises


@dataclass(frozen=True)
class Exercise:
    """Where one exercise's cells sit in a notebook (cell indices)."""

    number: int
    difficulty: str
    heading: int
    solution: int | None = None
    check: int | None = None


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata (empty dict when it has none)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _headings(nb: NotebookNode) -> tuple[list[Exercise], list[str]]:
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


def find_exercises(nb: NotebookNode, chapter: int | None) -> tuple[list[Exercise], list[str]]:
    """The exercises of ``nb`` with their solution and check cells (found by grade id)."""
    headings, problems = _headings(nb)
    tag = f"{chapter:02d}" if chapter is not None else "NN"
    by_id = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells) if nbgrader_meta(c)}
    located = [Exercise(ex.number, ex.difficulty, ex.heading, by_id.get(f"ch{tag}-ex{ex.number}-solution"),
                        by_id.get(f"ch{tag}-ex{ex.number}-check")) for ex in headings]
    return located, problems


# ---------------------------------------------------------------- the format check


def _next_code_cell(nb: NotebookNode, after: int) -> int | None:
    for index in range(after + 1, len(nb.cells)):
        if nb.cells[index].cell_type == "code":
            return index
    return None


def _role_problems(cell: NotebookNode, where: str, role: str) -> list[str]:
    """Solution cells are editable answers, check cells locked and graded (house roles)."""
    meta, problems = nbgrader_meta(cell), []
    wanted = ({"grade": False, "solution": True, "locked": False} if role == "solution"
              else {"grade": True, "solution": False, "locked": True})
    for key, value in wanted.items():
        if meta.get(key) != value:
            problems.append(f"{where}: nbgrader metadata {key!r} is {meta.get(key)!r}, expected {value!r}")
    if cell.cell_type != "code":
        problems.append(f"{where}: the {role} cell must be a code cell")
    return problems


def _exercise_problems(nb: NotebookNode, exercises: list[Exercise], tag: str) -> list[str]:
    """Heading, then its solution, then its check as the next code cell, before the next heading."""
    problems = []
    for k, ex in enumerate(exercises):
        name = f"exercise {ex.number}"
        next_heading = exercises[k + 1].heading if k + 1 < len(exercises) else len(nb.cells)
        if ex.solution is None:
            problems.append(f"{name}: no solution cell with grade_id 'ch{tag}-ex{ex.number}-solution'")
        else:
            if not ex.heading < ex.solution < next_heading:
                problems.append(f"{name}: the solution cell (cell {ex.solution}) is not under its heading "
                                f"(cell {ex.heading})")
            problems += _role_problems(nb.cells[ex.solution], f"{name} solution", "solution")
            if BEGIN_SOLUTION not in [line.strip() for line in nb.cells[ex.solution].source.splitlines()]:
                problems.append(f"{name} solution: the solution must sit between {BEGIN_SOLUTION!r} and "
                                f"{END_SOLUTION!r} lines")
        if ex.check is None:
            problems.append(f"{name}: no check cell with grade_id 'ch{tag}-ex{ex.number}-check'")
            continue
        if ex.solution is not None and ex.check != _next_code_cell(nb, ex.solution):
            problems.append(f"{name}: the check cell (cell {ex.check}) must be the first code cell "
                            f"after its solution (cell {ex.solution})")
        cell = nb.cells[ex.check]
        problems += _role_problems(cell, f"{name} check", "check")
        points = nbgrader_meta(cell).get("points")
        if points is not None and (isinstance(points, bool) or not isinstance(points, (int, float))
                                   or points <= 0):
            problems.append(f"{name} check: nbgrader 'points' must be a positive number, got {points!r}")
        first = cell.source.strip().splitlines()[0].strip() if cell.source.strip() else ""
        if first != CHECK_FIRST_LINE.format(n=ex.number):
            problems.append(f"{name} check: the first line must be {CHECK_FIRST_LINE.format(n=ex.number)!r}, "
                            f"got {first!r}")
    return problems


def _stray_problems(nb: NotebookNode, exercises: list[Exercise]) -> list[str]:
    """nbgrader cells that belong to no exercise heading."""
    ours = {i for ex in exercises for i in (ex.solution, ex.check) if i is not None}
    problems = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if index not in ours and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            problems.append(f"cell {index}: nbgrader cell {meta.get('grade_id')!r} belongs to no exercise "
                            "heading (grade ids read chNN-exN-solution / chNN-exN-check)")
    return problems


def nbgrader_problems(nb: NotebookNode) -> list[str]:
    """What nbgrader itself refuses in ``nb``: its metadata validator, then its preprocessors."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    try:
        MetadataValidator().validate_nb(copy.deepcopy(nb))
    except (ValidationError, KeyError) as err:
        return [f"nbgrader refuses the metadata: {err}"]
    try:
        student_version(nb)
    except (RuntimeError, ValueError) as err:
        return [f"nbgrader cannot build the student version: {err}"]
    return []


def check_notebook(nb: NotebookNode, chapter: int | None, *, min_exercises: int | None = None) -> list[str]:
    """Every way ``nb`` breaks the exercise format (empty list when it is fine).

    ``chapter`` is the NN of the file name (grade ids read ``chNN-exN-...``);
    ``min_exercises`` defaults to 3 for every chapter from 01 on and 0 for 00 (or no chapter).
    """
    if min_exercises is None:
        min_exercises = (MIN_EXERCISES if chapter is not None and chapter >= FIRST_CHAPTER_WITH_EXERCISES
                         else 0)
    tag = f"{chapter:02d}" if chapter is not None else "NN"
    exercises, problems = find_exercises(nb, chapter)
    numbers = [ex.number for ex in exercises]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"exercise headings must be numbered 1..n in order, found {numbers}")
    if len(exercises) < min_exercises:
        problems.append(f"{len(exercises)} exercise(s); this chapter needs at least {min_exercises}")
    ranks = [DIFFICULTIES.index(ex.difficulty) for ex in exercises]
    if ranks != sorted(ranks):
        problems.append(f"difficulty must not fall: {[ex.difficulty for ex in exercises]}")
    problems += _exercise_problems(nb, exercises, tag)
    problems += _stray_problems(nb, exercises)
    return problems + nbgrader_problems(nb)


def check_file(path: Path) -> list[str]:
    """Format problems of one notebook file, each prefixed with the file name."""
    nb = nbformat.read(path, as_version=4)
    return [f"{Path(path).name}: {p}" for p in check_notebook(nb, chapter_number(path))]


# ---------------------------------------------------------------- the student version


def _strip_nbval_markers():
    """An nbconvert preprocessor that drops the ``# NBVAL_*`` lines (test-suite markers)."""
    from nbconvert.preprocessors import Preprocessor

    class StripNbvalMarkers(Preprocessor):
        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code":
                cell.source = "\n".join(line for line in cell.source.split("\n")
                                        if not NBVAL_MARKER.match(line))
            return cell, resources

    return StripNbvalMarkers


def student_preprocessors() -> list[type]:
    """``nbgrader generate_assignment``'s preprocessors, in its order, less the gradebook step.

    The list is read from nbgrader (``GenerateAssignment.preprocessors``), so a step added
    by nbgrader reaches our student versions too. ``SaveCells`` is dropped: it writes
    the gradebook database, which a practice copy does not need. Our marker stripper runs
    first, so nbgrader's checksums are computed on what students see.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    theirs = GenerateAssignment.class_traits()["preprocessors"].default()
    return [_strip_nbval_markers(), *(p for p in theirs if p is not SaveCells)]


def student_version(nb: NotebookNode) -> NotebookNode:
    """The student version of a source notebook (the source is left untouched)."""
    from nbconvert.exporters import NotebookExporter

    exporter = NotebookExporter()
    for preprocessor in student_preprocessors():
        exporter.register_preprocessor(preprocessor(), enabled=True)
    student, _ = exporter.from_notebook_node(copy.deepcopy(nbformat.from_dict(nb)), resources={})
    return nbformat.reads(student, as_version=4)


def build(paths: Iterable[Path], out: Path = DEFAULT_OUT) -> list[Path]:
    """Write the student version of each notebook into ``out``; return the written paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        target = out / Path(path).name
        nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


# ---------------------------------------------------------------- the parts of a check cell


def hidden_line_ranges(source: str) -> list[tuple[int, int]]:
    """1-based line ranges (inclusive, markers included) of the hidden-test regions."""
    ranges, start = [], None
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_HIDDEN in line:
            start = number
        elif END_HIDDEN in line and start is not None:
            ranges.append((start, number))
            start = None
    return ranges


def visible_check(source: str) -> str:
    """The check as students see it: the hidden-test regions removed (as nbgrader does)."""
    hidden = hidden_line_ranges(source)
    return "\n".join(line for number, line in enumerate(source.split("\n"), start=1)
                     if not any(a <= number <= b for a, b in hidden))


class _SilenceVisibleAsserts(ast.NodeTransformer):
    """Turn every ``assert`` outside the hidden regions into ``pass``."""

    def __init__(self, hidden: list[tuple[int, int]]):
        self.hidden = hidden

    def inside(self, node: ast.AST) -> bool:
        return any(a <= node.lineno <= b for a, b in self.hidden)

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        return node if self.inside(node) else ast.copy_location(ast.Pass(), node)


def hidden_only_check(source: str) -> str:
    """The check with its visible tests switched off, so that only the hidden tests can reject.

    Every ``assert`` statement outside the hidden regions becomes ``pass``, and every
    top-level statement that lies wholly outside them runs inside ``try: ... except
    AssertionError: pass`` (so a visible call such as ``torch.testing.assert_close``
    cannot reject either). All other statements, the set-up lines the hidden tests
    need, run as written. An ``AssertionError`` can then come only from a hidden region.
    """
    hidden = hidden_line_ranges(source)
    tree = _SilenceVisibleAsserts(hidden).visit(ast.parse(_python(source)))
    body = []
    for node in tree.body:
        end = node.end_lineno or node.lineno
        if any(not (end < a or node.lineno > b) for a, b in hidden):
            body.append(node)  # holds hidden tests: its own visible asserts are already silenced
        else:
            handler = ast.ExceptHandler(type=ast.Name("AssertionError", ast.Load()), name=None,
                                        body=[ast.Pass()])
            body.append(ast.copy_location(ast.Try(body=[node], handlers=[handler], orelse=[],
                                                  finalbody=[]), node))
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree))


# ---------------------------------------------------------------- what a check cell reads

_EXTRA_BUILTINS = {"display", "get_ipython", "In", "Out", "exit", "quit", "__name__", "__file__"}
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics and shell escapes translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _symbols(source: str):
    import symtable

    return symtable.symtable(_python(source), "<cell>", "exec")


def bound_names(source: str) -> set[str]:
    """Names a cell binds at the top level (assignments, imports, def, class, for, with, ...)."""
    return {s.get_name() for s in _symbols(source).get_symbols() if s.is_assigned() or s.is_imported()}


def free_names(source: str) -> set[str]:
    """Names a cell reads but does not bind (nested functions and comprehensions included), less builtins."""
    import builtins

    top = _symbols(source)
    read = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    stack = list(top.get_children())
    while stack:
        table = stack.pop()
        read |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        stack.extend(table.get_children())
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    return read - bound - set(dir(builtins)) - _EXTRA_BUILTINS


def statement_names(markdown: str) -> set[str]:
    """Identifiers written inside backticks in an exercise statement."""
    return {name for _, span in _CODE_SPAN.findall(markdown) for name in re.findall(r"[A-Za-z_]\w*", span)}


def undefined_check_names(nb: NotebookNode, chapter: int | None) -> list[str]:
    """Names each check cell reads that neither a teaching cell above it nor its statement provides.

    Provided are: names bound by a code cell before the check that is not a solution or a
    check cell, names bound by the exercise's own student stub (e.g. the ``def`` line around
    a solution region), and names in backticks in the markdown between the exercise heading
    and the check (the statement). Everything else exists only in some student's solution.
    """
    exercises, _ = find_exercises(nb, chapter)
    exercise_cells = {i for ex in exercises for i in (ex.solution, ex.check) if i is not None}
    problems = []
    for ex in exercises:
        if ex.check is None or ex.solution is None:
            continue
        provided = set()
        for index in range(ex.check):
            cell = nb.cells[index]
            if cell.cell_type == "code" and index not in exercise_cells:
                provided |= bound_names(cell.source)
            elif cell.cell_type == "markdown" and ex.heading <= index:
                provided |= statement_names(cell.source)
        stub = student_version(new_notebook_like(nb, [nb.cells[ex.solution]])).cells[0].source
        provided |= bound_names(stub)
        missing = sorted(free_names(nb.cells[ex.check].source) - provided)
        if missing:
            problems.append(f"exercise {ex.number}: the check reads {', '.join(missing)}, which no teaching "
                            "cell above defines and the statement does not name in backticks")
    return problems


def new_notebook_like(nb: NotebookNode, cells: list[NotebookNode]) -> NotebookNode:
    """A notebook with ``nb``'s metadata (kernel, language) and copies of ``cells``."""
    return nbformat.v4.new_notebook(cells=copy.deepcopy(cells), metadata=copy.deepcopy(nb.metadata))


def bare_asserts(nb: NotebookNode, chapter: int | None) -> list[str]:
    """Every ``assert`` in a check cell (hidden tests included) that has no message."""
    exercises, _ = find_exercises(nb, chapter)
    problems = []
    for ex in exercises:
        if ex.check is None:
            continue
        source = nb.cells[ex.check].source
        for node in ast.walk(ast.parse(_python(source))):
            if isinstance(node, ast.Assert) and node.msg is None:
                line = source.split("\n")[node.lineno - 1].strip()
                problems.append(f"exercise {ex.number}, line {node.lineno}: `{line[:80]}` has no message; "
                                'write `assert cond, f"expected ..., got {...}"`')
    return problems


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``build``, ``check`` or ``verify``."""
    parser = argparse.ArgumentParser(prog="python -m tools.exercises", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="write student versions (nbgrader) into --out")
    p_build.add_argument("--out", type=Path, default=DEFAULT_OUT,
                         help="output folder (default build/student)")
    p_check = sub.add_parser("check", help="validate the exercise format of the source notebooks")
    p_verify = sub.add_parser("verify", help="run the wrong-answer harness (CI profile) and report")
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
    from tools.wrong_answers import verify

    return verify(paths)


if __name__ == "__main__":
    sys.exit(main())
