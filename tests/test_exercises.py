"""The exercise format, the student-version builder, and the student versions themselves.

(a) every chapter notebook present passes the exercise format check;
(b) the builder, on a small sample notebook: solutions stubbed, hidden tests gone,
    outputs cleared, teaching cells unchanged; the format check rejects broken samples;
(c) every generated student notebook executes (CI profile) with errors only in exercise
    cells: teaching cells run, stubs raise NotImplementedError, every check cell fails.
The source notebooks with their solutions are executed by nbval, not here.
"""

from __future__ import annotations

import copy
import importlib.util

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import exercises
from helpers.exercises import NOTEBOOKS_DIR, chapter_notebooks, check_file, check_notebook

NBGRADER = importlib.util.find_spec("nbgrader") is not None
needs_nbgrader = pytest.mark.skipif(not NBGRADER, reason="nbgrader is not installed (pip install nbgrader)")
CHAPTERS = chapter_notebooks(NOTEBOOKS_DIR)


def _solution(n: int, source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "solution": True, "locked": False, "grade_id": f"ch99-ex{n}-solution",
        "schema_version": 3}})


def _check(n: int, source: str) -> nbformat.NotebookNode:
    return new_code_cell(f"# Check for exercise {n}\n{source}", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": f"ch99-ex{n}-check",
        "schema_version": 3}})


def sample_notebook() -> nbformat.NotebookNode:
    """A tiny chapter in the house format: two teaching cells and three exercises."""
    teaching = new_code_cell("x = 3\ny = 2 * x\nprint(y)", execution_count=2,
                             outputs=[new_output("stream", name="stdout", text="6\n")])
    return new_notebook(cells=[
        new_markdown_cell("# Sample chapter\nWhat the student will be able to do."),
        new_code_cell("import math", execution_count=1),
        teaching,
        new_markdown_cell("### Exercise 1 (easy): double a number\nWrite `double(v)`."),
        _solution(1, "def double(v):\n    ### BEGIN SOLUTION\n    return 2 * v\n    ### END SOLUTION"),
        _check(1, "assert double(4) == 8"),
        new_markdown_cell("### Exercise 2 (medium): squares\nBuild `squares`, the first five squares."),
        _solution(2, "### BEGIN SOLUTION\nsquares = [i * i for i in range(5)]\n### END SOLUTION"),
        _check(2, "assert len(squares) == 5\n### BEGIN HIDDEN TESTS\nassert squares[4] == 16\n"
                  "### END HIDDEN TESTS"),
        new_markdown_cell("### Exercise 3 (hard): a circle\nSet `area` to the area of a unit circle."),
        _solution(3, "### BEGIN SOLUTION\narea = math.pi\n### END SOLUTION"),
        _check(3, "assert abs(area - math.pi) < 1e-12"),
        new_markdown_cell("That is all."),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


# ---------------------------------------------------------------- (a) the format check


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_exercise_format(path):
    problems = check_file(path)
    assert not problems, "exercise format problems:\n" + "\n".join(problems)


def test_format_check_accepts_the_sample():
    assert check_notebook(sample_notebook(), chapter=99, min_exercises=3) == []


def _break(mutate):
    nb = sample_notebook()
    mutate(nb)
    return check_notebook(nb, chapter=99, min_exercises=3)


@pytest.mark.parametrize("mutate, expected", [
    (lambda nb: nb.cells[4].metadata["nbgrader"].update(solution=False), "'solution'"),
    (lambda nb: nb.cells[5].metadata["nbgrader"].pop("points"), "points"),
    (lambda nb: nb.cells[8].metadata["nbgrader"].update(grade_id="ch99-ex1-check"), "already used"),
    (lambda nb: setattr(nb.cells[6], "source", "### Exercise 4 (medium): squares"), "numbered 1..n"),
    (lambda nb: setattr(nb.cells[6], "source", "### Exercise 2: squares"), "does not read"),
    (lambda nb: nb.cells.insert(5, new_code_cell("pass")), "first code cell after its solution"),
    (lambda nb: setattr(nb.cells[7], "source", "squares = [0, 1, 4, 9, 16]"), "BEGIN SOLUTION"),
    (lambda nb: setattr(nb.cells[2], "source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
     "without nbgrader solution metadata"),
    (lambda nb: setattr(nb.cells[11], "source", "assert area"), "first line"),
    (lambda nb: nb.cells.__delitem__(slice(9, 12)), "at least 3"),
    (lambda nb: setattr(nb.cells[3], "source", "### Exercise 1 (hard): double"), "must not fall"),
], ids=["no-solution-meta", "no-points", "duplicate-id", "numbering", "heading", "check-not-next",
        "no-markers", "stray-solution", "check-first-line", "too-few", "difficulty"])
def test_format_check_rejects(mutate, expected):
    problems = _break(mutate)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------- (b) the builder


@needs_nbgrader
def test_student_version_of_the_sample(tmp_path):
    source = sample_notebook()
    path = tmp_path / "99_sample.ipynb"
    nbformat.write(source, path)
    [written] = exercises.build([path], tmp_path / "student")
    student = nbformat.read(written, as_version=4)
    assert nbformat.read(path, as_version=4) == source  # the source is untouched
    assert len(student.cells) == len(source.cells)
    text = "\n".join(cell.source for cell in student.cells)
    for leaked in ("BEGIN SOLUTION", "return 2 * v", "i * i", "area = math.pi", "HIDDEN TESTS", "squares[4]"):
        assert leaked not in text
    for index in (4, 7, 10):  # solution cells: the region became the stub
        assert "raise NotImplementedError()" in student.cells[index].source
    assert student.cells[4].source.startswith("def double(v):\n    # YOUR CODE HERE")
    assert student.cells[8].source == "# Check for exercise 2\nassert len(squares) == 5"
    for index in (0, 1, 2, 3, 5, 6, 9, 11, 12):  # teaching cells and visible checks unchanged
        assert student.cells[index].source == source.cells[index].source
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert student.cells[5].metadata["editable"] is False  # checks are locked
    assert "checksum" in student.cells[5].metadata["nbgrader"]


@needs_nbgrader
def test_build_refuses_a_solution_outside_a_solution_cell(tmp_path):
    nb = sample_notebook()
    nb.cells[2].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(RuntimeError, match="non-solution cell"):
        exercises.student_version(nb)


@needs_nbgrader
def test_student_run_checks_catch_a_vacuous_check(tmp_path):
    """One execution of the sample student version: all is fine, then a vacuous check is caught."""
    nb = sample_notebook()
    nb.cells.insert(12, new_markdown_cell("### Exercise 4 (hard): nothing\nA check that cannot fail."))
    nb.cells.insert(13, _solution(4, "### BEGIN SOLUTION\nanswer = 1\n### END SOLUTION"))
    nb.cells.insert(14, _check(4, "assert True"))
    student = exercises.execute(exercises.student_version(nb), tmp_path, timeout=120, allow_errors=True)
    problems = exercises.student_run_problems(student)
    assert problems == ["cell 14 ('ch99-ex4-check'): the check passed without its solution"]
    broken = copy.deepcopy(student)
    broken.cells[2].outputs = [new_output("error", ename="NameError", evalue="x", traceback=[])]
    assert exercises.student_run_problems(broken)[0] == "cell 2 ('x = 3'): teaching cell raised NameError"
    broken.cells[10].outputs = []  # exercise 3's stub ran without raising
    assert "not NotImplementedError" in exercises.student_run_problems(broken)[1]


# ---------------------------------------------------------------- (c) every student version runs


@needs_nbgrader
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_student_version_executes(path, monkeypatch):
    """Errors only where they must be: each stub raises, each check fails, teaching cells run."""
    if check_file(path):
        pytest.skip("the exercise format check fails for this notebook (see its own test)")
    monkeypatch.setenv("RNN_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "agg")
    student = exercises.student_version(nbformat.read(path, as_version=4))
    executed = exercises.execute(student, NOTEBOOKS_DIR, timeout=900, allow_errors=True)
    problems = exercises.student_run_problems(executed)
    assert not problems, f"{path.name}, student version:\n" + "\n".join(problems)
