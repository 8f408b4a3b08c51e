"""Every exercise rejects its wrong answers; every student version fails only at its stubs.

The harness is tools/wrong_answers.py (its module docstring says exactly what runs). Per chapter
with exercises, one kernel (CI profile) runs the teaching cells once and, at each exercise, the
wrong answers of tests/wrong_answers/chNN.py, the reference solution and the student stub, each
followed by the visible check and by the hidden tests alone. The tests below only read that run:

* ``test_wrong_answers_are_listed[chNN]``: the module exists, >= 2 wrong answers per exercise;
* ``test_student_teaching_cells_run[chNN]``: the student version's teaching cells raise nothing;
* ``test_stub_fails_only_with_not_implemented[chNN-exN]``;
* ``test_reference_passes[chNN-exN]``: the visible check and the hidden tests alone;
* ``test_wrong_answer_rejected[chNN-exN-<misconception>]``: it runs, and the visible check and the
  hidden tests alone each raise AssertionError.

``pytest tests/test_wrong_answers.py -k ch05`` runs one chapter (one kernel). The last test runs
the harness on a tiny sample chapter to show that it catches a check that lets a wrong answer pass.
"""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.exercises import find_exercises
from tools.notebooks import NOTEBOOKS_DIR, chapter_notebooks, chapter_number
from tools.wrong_answers import (
    REFERENCE,
    STUB,
    exercise_problems,
    listing_problems,
    load_wrong_answers,
    run_chapter,
    variant_problems,
    wrong_answers_path,
)


def _chapters() -> list[tuple[str, Path, list[int]]]:
    """(tag, path, exercise numbers) of every chapter notebook that has exercises."""
    found = []
    for path in chapter_notebooks(NOTEBOOKS_DIR):
        chapter = chapter_number(path)
        numbers = [ex.number for ex in find_exercises(nbformat.read(path, as_version=4), chapter)[0]]
        if numbers:
            found.append((f"ch{chapter:02d}", path, numbers))
    return found


def _load(path: Path) -> tuple[dict | None, str | None]:
    try:
        return load_wrong_answers(path), None
    except Exception as err:  # noqa: BLE001 (reported by the listing test, not at collection)
        return None, f"{type(err).__name__}: {err}"


CHAPTERS = _chapters()
MODULES = {tag: _load(wrong_answers_path(int(tag[2:]))) for tag, _, _ in CHAPTERS}
EXERCISES = [(tag, path, n) for tag, path, numbers in CHAPTERS for n in numbers]
WRONG = [(tag, path, n, label) for tag, path, n in EXERCISES
         for label in (MODULES[tag][0] or {}).get(n, {})]


@functools.cache
def _chapter_run(path: Path):
    tag = f"ch{chapter_number(path):02d}"
    try:
        return run_chapter(path, MODULES[tag][0]), None
    except Exception as err:  # noqa: BLE001 (a dead kernel fails every test of the chapter, once)
        return None, f"{type(err).__name__}: {err}"


def chapter_run(path: Path):
    """The harness run of one chapter, shared by all of its tests (one kernel per chapter)."""
    run, error = _chapter_run(path)
    if error is not None:
        pytest.fail(f"{path.name}: the harness could not run the chapter: {error}")
    return run


def _judge(path: Path, number: int, label: str, tag: str) -> None:
    """Fail with every problem of one variant; mention failed teaching cells, a likely cause."""
    run = chapter_run(path)
    problems = variant_problems(run.exercises[number], label, tag)
    if problems and run.teaching_errors:
        problems.append(f"note: {len(run.teaching_errors)} teaching cell(s) of {path.name} failed "
                        "(see test_student_teaching_cells_run), the first: " + run.teaching_errors[0][:300])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tag, path, numbers", CHAPTERS, ids=[c[0] for c in CHAPTERS])
def test_wrong_answers_are_listed(tag, path, numbers):
    wrong, error = MODULES[tag]
    module = f"tests/wrong_answers/{tag}.py"
    assert error is None, f"{module} cannot be loaded: {error}"
    problems = listing_problems(numbers, wrong, module)
    assert not problems, f"{tag}:\n" + "\n".join(problems)


@pytest.mark.parametrize("tag, path, numbers", CHAPTERS, ids=[c[0] for c in CHAPTERS])
def test_student_teaching_cells_run(tag, path, numbers):
    errors = chapter_run(path).teaching_errors
    assert not errors, f"{tag}, student version (solutions stubbed):\n" + "\n\n".join(errors)


@pytest.mark.parametrize("tag, path, number", EXERCISES, ids=[f"{t}-ex{n}" for t, _, n in EXERCISES])
def test_stub_fails_only_with_not_implemented(tag, path, number):
    _judge(path, number, STUB, tag)


@pytest.mark.parametrize("tag, path, number", EXERCISES, ids=[f"{t}-ex{n}" for t, _, n in EXERCISES])
def test_reference_passes(tag, path, number):
    _judge(path, number, REFERENCE, tag)


@pytest.mark.parametrize("tag, path, number, label", WRONG,
                         ids=[f"{t}-ex{n}-{label}" for t, _, n, label in WRONG])
def test_wrong_answer_rejected(tag, path, number, label):
    _judge(path, number, label, tag)


# ---------------------------------------------------------------- the harness bites


def _sample_chapter(check_body: str) -> nbformat.NotebookNode:
    """A one-exercise chapter: `double(v)` with a check whose body is given."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return new_notebook(metadata=meta, cells=[
        new_markdown_cell("# Sample"),
        new_code_cell("factor = 2"),
        new_markdown_cell("### Exercise 1 (easy): double\nWrite `double(v)`, returning `factor * v`."),
        new_code_cell("def double(v):\n    ### BEGIN SOLUTION\n    return factor * v\n    ### END SOLUTION",
                      metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                                             "grade_id": "ch99-ex1-solution", "schema_version": 3}}),
        new_code_cell("# Check for exercise 1\n" + check_body + '\nprint("exercise 1 passed")',
                      metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                                             "grade_id": "ch99-ex1-check", "schema_version": 3}}),
        new_code_cell("print(factor)"),
    ])


SAMPLE_WRONG = {1: {
    "adds instead of multiplying": "def double(v):\n    return v + 2",
    # Also checks the reset between variants: what the previous variant and its checks bound is gone.
    "hard-coded the example": 'assert "double" not in globals() and "seven" not in globals(), "no reset"\n'
                              "def double(v):\n    return 8",
}}
GOOD_CHECK = """assert double(4) == 8, f"expected double(4) == 8, got {double(4)}"
assert double(0) == 0, f"expected double(0) == 0, got {double(0)}"
### BEGIN HIDDEN TESTS
seven = 7
assert double(seven) == 14, f"expected double(7) == 14, got {double(seven)}"
### END HIDDEN TESTS"""


def test_the_harness_bites_on_a_sample_chapter(tmp_path):
    """A sound check rejects both wrong answers; with one assert deleted, the harness says so."""
    deleted = 'assert double(0) == 0, f"expected double(0) == 0, got {double(0)}"\n'
    weak_check = GOOD_CHECK.replace(deleted, "")
    assert weak_check != GOOD_CHECK
    runs = {}
    for name, body in (("good", GOOD_CHECK), ("weak", weak_check)):
        path = tmp_path / name / "99_sample.ipynb"
        path.parent.mkdir()
        nbformat.write(_sample_chapter(body), path)
        runs[name] = run_chapter(path, SAMPLE_WRONG)
    good, weak = runs["good"], runs["weak"]
    assert good.teaching_errors == [] and weak.teaching_errors == []
    assert exercise_problems(good.exercises[1], "ch99") == []
    problems = exercise_problems(weak.exercises[1], "ch99")
    assert len(problems) == 1, problems
    assert problems[0].startswith("ch99 exercise 1, 'hard-coded the example': the visible check passed it; "
                                  "it must raise AssertionError"), problems
    assert "exercise 1 passed" in problems[0]  # the check's own output is shown
    # The stub: the function body raises, so the check fails with NotImplementedError.
    assert good.exercises[1].variants[STUB].visible.ename == "NotImplementedError"


def test_listing_problems_name_what_is_missing():
    assert listing_problems([1, 2], None, "tests/wrong_answers/ch99.py") == [
        "tests/wrong_answers/ch99.py is missing: the chapter has exercises [1, 2]; write at least 2 wrong "
        "answers for each (format: tests/wrong_answers/__init__.py)"]
    wrong = {1: {"a": "x = 1", "b": "x = 2"}, 2: {"a": "y = 1"}, 3: {"a": "z = 1", "b": "z = 2"}}
    assert listing_problems([1, 2], wrong, "ch99.py") == [
        "exercise 2: 1 wrong answer(s) in ch99.py, at least 2 are needed",
        "ch99.py has wrong answers for exercise 3, which the notebook does not have"]
    assert listing_problems([], None, "ch00.py") == []  # a chapter without exercises needs no module


@pytest.mark.parametrize("text, expected", [
    ("WRONG = {}", "must define WRONG_ANSWERS"),
    ("WRONG_ANSWERS = {'1': {'a': 'x = 1'}}", r"exercise numbers \(int\)"),
    ("WRONG_ANSWERS = {1: ['x = 1']}", "must map a misconception"),
])
def test_load_wrong_answers_explains_a_malformed_module(tmp_path, text, expected):
    path = tmp_path / "ch99.py"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected):
        load_wrong_answers(path)


def test_load_wrong_answers_dedents_and_reports_a_missing_file(tmp_path):
    assert load_wrong_answers(tmp_path / "ch99.py") is None
    path = tmp_path / "ch99.py"
    path.write_text("WRONG_ANSWERS = {1: {'indented': '''\n    x = 1\n    y = 2\n'''}}")
    assert load_wrong_answers(path) == {1: {"indented": "x = 1\ny = 2"}}
