"""The exercise format and the student-version builder (tools/exercises.py).

(a) every chapter notebook present passes the exercise format check (house rules plus
    nbgrader's own validation);
(b) the builder, on a small sample notebook: solutions stubbed, hidden tests and mark
    schemes gone, NBVAL markers gone, outputs cleared, teaching cells unchanged; the format
    check rejects broken samples;
(c) the parts of a check cell the wrong-answer harness runs (visible, hidden only);
(d) every name a check cell reads is defined by a teaching cell above it or named (in backticks)
    in the exercise statement, and every assert in a check cell has a message.
Executing the student versions is the wrong-answer harness's job (tests/test_wrong_answers.py);
the source notebooks with their solutions are executed by nbval.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import exercises
from tools.exercises import bare_asserts, check_file, check_notebook, find_exercises, undefined_check_names
from tools.notebooks import NOTEBOOKS_DIR, chapter_notebooks, chapter_number

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
    (lambda nb: nb.cells[8].metadata["nbgrader"].update(grade_id="ch99-ex1-check"), "Duplicate grade id"),
    (lambda nb: setattr(nb.cells[6], "source", "### Exercise 4 (medium): squares"), "numbered 1..n"),
    (lambda nb: setattr(nb.cells[6], "source", "### Exercise 2: squares"), "does not read"),
    (lambda nb: nb.cells.insert(5, new_code_cell("pass")), "first code cell after its solution"),
    (lambda nb: setattr(nb.cells[7], "source", "squares = [0, 1, 4, 9, 16]"), "BEGIN SOLUTION"),
    (lambda nb: setattr(nb.cells[2], "source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
     "Solution region detected in a non-solution cell"),
    (lambda nb: setattr(nb.cells[11], "source", "assert area"), "first line"),
    (lambda nb: nb.cells.__delitem__(slice(9, 12)), "at least 3"),
    (lambda nb: setattr(nb.cells[3], "source", "### Exercise 1 (hard): double"), "must not fall"),
    (lambda nb: setattr(nb.cells[8], "source", "# Check for exercise 2\n### BEGIN HIDDEN TESTS\nassert 1"),
     "No end hidden tests"),
    (lambda nb: setattr(nb.cells[2], "source", "### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"),
     "Hidden test region detected in a non-grade cell"),
], ids=["no-solution-meta", "no-points", "duplicate-id", "numbering", "heading", "check-not-next",
        "no-markers", "stray-solution", "check-first-line", "too-few", "difficulty", "unclosed-hidden",
        "stray-hidden"])
def test_format_check_rejects(mutate, expected):
    problems = _break(mutate)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------- (b) the builder


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


def test_build_refuses_a_solution_outside_a_solution_cell(tmp_path):
    nb = sample_notebook()
    nb.cells[2].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(RuntimeError, match="non-solution cell"):
        exercises.student_version(nb)


def test_student_preprocessors_come_from_nbgrader():
    from nbgrader.converters import GenerateAssignment

    names = [p.__name__ for p in exercises.student_preprocessors()]
    theirs = [p.__name__ for p in GenerateAssignment.class_traits()["preprocessors"].default()]
    assert names == ["StripNbvalMarkers", *(n for n in theirs if n != "SaveCells")]
    assert "ClearMarkScheme" in names and "ClearHiddenTests" in names


def test_student_version_drops_mark_schemes_and_nbval_markers():
    nb = sample_notebook()
    nb.cells[2].source = "# NBVAL_CHECK_OUTPUT\nx = 3\ny = 2 * x\nprint(y)"
    nb.cells.insert(12, new_markdown_cell(
        "Explain why.\n=== BEGIN MARK SCHEME ===\nthe secret answer\n=== END MARK SCHEME ===",
        metadata={"nbgrader": {"task": True, "grade": False, "solution": False, "locked": True, "points": 1,
                               "grade_id": "ch99-task", "schema_version": 3}}))
    student = exercises.student_version(nb)
    text = "\n".join(cell.source for cell in student.cells)
    assert "secret" not in text and "MARK SCHEME" not in text
    assert "NBVAL" not in text and student.cells[2].source == "x = 3\ny = 2 * x\nprint(y)"


# ---------------------------------------------------------------- (c) the parts of a check cell

CHECK = """# Check for exercise 2
got = squares[:3]
assert len(squares) == 5, f"expected 5 squares, got {len(squares)}"
for value in got:
    assert value >= 0, f"squares are not negative, got {value}"
### BEGIN HIDDEN TESTS
assert squares[4] == 16, f"expected squares[4] == 16, got {squares[4]}"
### END HIDDEN TESTS
print("exercise 2 passed")"""


def _run(source: str, **names) -> str:
    """'passed', or the name of the exception ``source`` raised with ``names`` bound."""
    try:
        exec(source, {**names, "print": lambda *a: None})
    except Exception as err:  # noqa: BLE001 (the test wants the kind of failure)
        return type(err).__name__
    return "passed"


def test_visible_check_is_what_students_see():
    visible = exercises.visible_check(CHECK)
    assert "HIDDEN" not in visible and "squares[4]" not in visible and "got = squares[:3]" in visible
    assert visible == exercises.student_version(_one_check(CHECK)).cells[0].source


def _one_check(source: str) -> nbformat.NotebookNode:
    cell = _check(2, source.split("\n", 1)[1])
    return new_notebook(cells=[cell], metadata=sample_notebook().metadata)


@pytest.mark.parametrize("squares, visible, hidden", [
    ([0, 1, 4, 9, 16], "passed", "passed"),
    ([0, 1, 4, 9], "AssertionError", "IndexError"),       # the visible length check rejects
    ([0, 1, 4, 9, 25], "passed", "AssertionError"),       # only the hidden test rejects
    ([0, -1, 4, 9, 16], "AssertionError", "passed"),      # only a visible assert in a loop rejects
])
def test_hidden_only_check_rejects_by_hidden_tests_alone(squares, visible, hidden):
    assert _run(exercises.visible_check(CHECK), squares=squares) == visible
    assert _run(exercises.hidden_only_check(CHECK), squares=squares) == hidden


def test_hidden_only_check_silences_visible_assert_calls():
    source = ("# Check for exercise 1\nimport math\nmath.isclose(area, 1) or _fail()\nn = 2\n"
              "### BEGIN HIDDEN TESTS\nassert n == 2, f'n is {n}'\n### END HIDDEN TESTS")

    def _fail():
        raise AssertionError("a helper's check")

    assert _run(exercises.visible_check(source), area=3.0, _fail=_fail) == "AssertionError"
    assert _run(exercises.hidden_only_check(source), area=3.0, _fail=_fail) == "passed"


# ---------------------------------------------------------------- (d) what a check cell reads and says

WITH_EXERCISES = [p for p in CHAPTERS if find_exercises(nbformat.read(p, as_version=4), chapter_number(p))[0]]


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.name[:2] for p in WITH_EXERCISES])
def test_check_cells_read_only_what_students_have(path):
    problems = undefined_check_names(nbformat.read(path, as_version=4), chapter_number(path))
    assert not problems, f"ch{path.name[:2]}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.name[:2] for p in WITH_EXERCISES])
def test_check_asserts_have_messages(path):
    problems = bare_asserts(nbformat.read(path, as_version=4), chapter_number(path))
    assert not problems, f"ch{path.name[:2]}:\n" + "\n".join(problems)


def test_undefined_check_names_on_the_sample():
    nb = sample_notebook()
    assert undefined_check_names(nb, 99) == []  # double: the stub's def; squares, area: in backticks
    nb.cells[9].source = "### Exercise 3 (hard): a circle\nSet the area of a unit circle."
    nb.cells[10].source = "### BEGIN SOLUTION\nradius = 1\narea = math.pi * radius ** 2\n### END SOLUTION"
    nb.cells[11].source = "# Check for exercise 3\nassert abs(area - math.pi * radius) < 1e-12, f'got {area}'"
    assert undefined_check_names(nb, 99) == [
        "exercise 3: the check reads area, radius, which no teaching cell above defines and the statement "
        "does not name in backticks"]
    nb.cells[9].source = "### Exercise 3 (hard): a circle\nSet `area` for a circle of `radius` 1."
    assert undefined_check_names(nb, 99) == []


def test_bare_asserts_on_the_sample():
    problems = bare_asserts(sample_notebook(), 99)
    assert [p.split(",")[0] for p in problems] == ["exercise 1", "exercise 2", "exercise 2", "exercise 3"]
    nb = sample_notebook()
    nb.cells[5].source = '# Check for exercise 1\nassert double(4) == 8, f"expected 8, got {double(4)}"'
    assert not [p for p in bare_asserts(nb, 99) if p.startswith("exercise 1")]
