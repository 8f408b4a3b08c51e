"""nbgrader's own flow on one chapter, with the guide's configuration (docs/nbgrader_config.py).

In a temporary course folder, with the explicit course id and the course-local exchange of that
configuration, this runs the commands docs/instructors.md gives, as nbgrader's command line:
generate_assignment, release_assignment; a student's fetch_assignment and submit (--course);
collect; zip_collect on a downloaded archive (with a renamed upload, "... (1).ipynb");
autograde (CI profile) and a regrade with --force; generate_feedback; export.
Three submissions: solved (through the exchange), untouched, and one wrong answer taken from
the chapter's misconception tests (tests/wrong_answers/chNN.py), written in the student
edition's copy of the notebook and also carrying one edited check cell. It asserts full
marks, zero, and exactly one check short of full; that only the really edited check cell is
reported as edited; that the gradebook is where the guide says; that the release carries no
# NBVAL_ markers; and that no line of any hidden test appears in any feedback file (while the
autograded notebooks, as a control, do contain them).

The chapter is 01: it is cheap and has hidden tests. About 80 s of CPU time (11 nbgrader
commands, 4 notebook runs in the CI profile); on a loaded shared machine the wall time is longer.
"""

from __future__ import annotations

import csv
import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from tools.exercises import student_version

ROOT = Path(__file__).resolve().parent.parent
GUIDE_CONFIG = ROOT / "docs" / "nbgrader_config.py"
CHAPTER = "01_rnn_from_the_formula"
ASSIGNMENT = "ch01"
COURSE_ID = "rnn-course"
BIN = Path(sys.executable).parent
WRONG_EXERCISE = 1  # the exercise whose wrong answer the third student hands in
EDITED_EXERCISE = 2  # the third student also edits this exercise's check cell

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nbgrader") is None,
                                reason="nbgrader is not installed (the instructor extra)")


def guide_config():
    """The guide's configuration as nbgrader reads it (executes docs/nbgrader_config.py)."""
    return PyFileConfigLoader(GUIDE_CONFIG.name, str(GUIDE_CONFIG.parent)).load_config()


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", RNN_PROFILE="ci", RNN_PROGRESS="0",
               OMP_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"))
    return env


def nbgrader(args: list[str], cwd: Path, env: dict[str, str], *, fails: bool = False) -> str:
    """Run one nbgrader command; return its log (stdout and stderr).

    Fails the test with the log if the command fails (or, with ``fails=True``, if it succeeds).
    """
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    log = done.stdout + done.stderr
    print(f"{time.perf_counter() - start:5.1f} s  nbgrader {' '.join(args[:1])}", flush=True)
    assert (done.returncode != 0) == fails, f"nbgrader {' '.join(args)} returned {done.returncode}:\n{log}"
    return log


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def wrong_answer() -> tuple[str, str]:
    """(misconception, source): the first wrong answer to WRONG_EXERCISE in tests/wrong_answers/."""
    path = ROOT / "tests" / "wrong_answers" / f"ch{CHAPTER[:2]}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_ch{CHAPTER[:2]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    label, source = next(iter(module.WRONG_ANSWERS[WRONG_EXERCISE].items()))
    return label, source


def hidden_lines(source_nb) -> list[str]:
    """Every non-trivial line inside a hidden-test region of the source notebook."""
    lines = []
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text == "### BEGIN HIDDEN TESTS":
                inside = True
            elif text == "### END HIDDEN TESTS":
                inside = False
            elif inside and len(text) >= 8:
                lines.append(text)
    return lines


def _plain_text(path: Path) -> str:
    """A feedback file as the student reads it: HTML tags dropped and entities decoded."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(re.sub(r"<[^>]+>", "", text)) if path.suffix == ".html" else text


def test_guide_config_strips_hidden_tests_from_feedback_and_keeps_a_course_local_exchange():
    config = guide_config()
    names = [p.__name__ for p in config.GenerateFeedback.preprocessors]
    assert "ClearHiddenTests" in names and names.index("RedactHiddenTestErrors") < names.index(
        "ClearHiddenTests"), f"feedback preprocessors: {names}"
    assert config.CourseDirectory.course_id == COURSE_ID
    exchange = Path(config.Exchange.root)
    assert exchange.parent == GUIDE_CONFIG.parent and not str(exchange).startswith("/usr/local")


def test_feedback_redaction_keeps_the_error_but_no_hidden_line():
    redact = next(p for p in guide_config().GenerateFeedback.preprocessors
                  if p.__name__ == "RedactHiddenTestErrors")()
    source = ("# Check for exercise 1\nassert answer > 0, 'visible'\n### BEGIN HIDDEN TESTS\n"
              "assert answer == 42, f'expected 42, got {answer}'\n### END HIDDEN TESTS\nprint('ok')")
    frame = ("Cell In[7], line {n}\n      1 # Check for exercise 1\n{a2} 2 assert answer > 0, 'visible'\n"
             "      3 ### BEGIN HIDDEN TESTS\n{a4} 4 assert answer == 42, f'expected 42, got {{answer}}'\n"
             "      5 ### END HIDDEN TESTS\n")
    arrow, blank = "----> ", "      "
    for failing, evalue in ((2, "visible"), (4, "expected 42, got 41")):
        cell = nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output(
            "error", ename="AssertionError", evalue=evalue, traceback=[
                "------", frame.format(n=failing, a2=arrow if failing == 2 else blank,
                                       a4=arrow if failing == 4 else blank),
                f"AssertionError: {evalue}"])])
        redact.preprocess_cell(cell, {}, 0)
        error = cell.outputs[0]
        shown = "\n".join(error.traceback) + error.evalue
        assert "answer == 42" not in shown and "HIDDEN" not in shown and "42" not in shown, shown
        if failing == 2:
            assert "assert answer > 0, 'visible'" in shown and error.evalue == "visible", shown
        else:
            assert "hidden test" in error.evalue, error.evalue


def test_nbgrader_flow_on_one_chapter(tmp_path):
    env = _env(tmp_path)
    course, student_home = tmp_path / "course", tmp_path / "student"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    student_home.mkdir()
    shutil.copy(GUIDE_CONFIG, course / "nbgrader_config.py")
    notebook = f"{CHAPTER}.ipynb"
    shutil.copy(ROOT / "notebooks" / notebook, course / "source" / ASSIGNMENT / notebook)
    source_nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    solutions = {_grade_id(c): c.source for c in source_nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    n_checks = sum(1 for c in source_nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    hidden_anywhere = hidden_lines(source_nb)
    assert hidden_anywhere, f"{CHAPTER} has no hidden tests: pick a chapter that has some for this test"

    # Instructor: build and release.
    nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course, env)
    assert (course / "gradebook.db").exists(), "the gradebook is course/gradebook.db"
    nbgrader(["release_assignment", ASSIGNMENT, "--force"], course, env)
    exchange = ["--course", COURSE_ID, f"--Exchange.root={course / 'exchange'}"]

    # Student 1 fetches, solves and submits through the exchange (student id: the OS user).
    nbgrader(["fetch_assignment", ASSIGNMENT, *exchange], student_home, env)
    fetched = student_home / ASSIGNMENT / notebook
    released = nbformat.read(fetched, as_version=4)
    assert "NBVAL_" in nbformat.writes(source_nb) and "NBVAL_" not in nbformat.writes(released), (
        "the released notebook must not carry the test suite's # NBVAL_ markers")
    # Lines that also occur in what students received (e.g. "with torch.no_grad():") are no secret.
    visible = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
    hidden = [line for line in hidden_anywhere if line not in visible]
    assert hidden, "every hidden-test line also occurs in the student version: nothing to look for"
    solved = nbformat.from_dict(released)
    for cell in solved.cells:
        if _grade_id(cell) in solutions:
            cell.source = _without_markers(solutions[_grade_id(cell)])
    nbformat.write(solved, fetched)
    nbgrader(["submit", ASSIGNMENT, *exchange], student_home, env)
    nbgrader(["collect", ASSIGNMENT], course, env)
    solver = next(p.name for p in (course / "submitted").iterdir())

    # Students 2 and 3 hand in through a learning platform: one downloaded zip archive.
    # Student 3 worked on the student edition's copy (tools/edition.py), not the released file.
    label, wrong_source = wrong_answer()
    wrong = student_version(source_nb)
    for cell in wrong.cells:
        if _grade_id(cell) in solutions:
            cell.source = _without_markers(solutions[_grade_id(cell)])
        if _grade_id(cell) == f"ch{CHAPTER[:2]}-ex{WRONG_EXERCISE}-solution":
            cell.source = wrong_source
        if _grade_id(cell) == f"ch{CHAPTER[:2]}-ex{EDITED_EXERCISE}-check":
            cell.source = cell.source.replace("assert ", "pass  # assert ", 1)
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "platform-download.zip", "w") as zf:
        zf.writestr(f"s0002_{notebook}", nbformat.writes(released))
        zf.writestr(f"s0003_{CHAPTER} (1).ipynb", nbformat.writes(wrong))  # a renamed upload
    nbgrader(["zip_collect", ASSIGNMENT], course, env)
    for student in ("s0002", "s0003"):
        assert (course / "submitted" / student / ASSIGNMENT / notebook).exists(), (
            f"zip_collect did not store {student}'s notebook under the released name")

    # Grade (CI profile), regrade one student with --force, feedback, export.
    log = nbgrader(["autograde", ASSIGNMENT], course, env)
    # nbgrader #1961: every check cell with hidden tests "changed", in every submission.
    with_hidden = sum(1 for c in source_nb.cells if "### BEGIN HIDDEN TESTS" in c.source)
    assert log.count("Attribute 'checksum' for cell") >= 3 * with_hidden, (
        f"expected nbgrader's checksum warning for each of the {with_hidden} check cells with hidden "
        "tests in each of the 3 submissions (docs/instructors.md explains it); has nbgrader changed?")
    edited = [line for line in log.splitlines() if "EDITED by the student" in line]
    assert len(edited) == 1 and f"ex{EDITED_EXERCISE}-check" in edited[0] and "s0003" in edited[0], (
        "expected exactly one real edit reported (s0003's check of exercise "
        f"{EDITED_EXERCISE}), got:\n" + "\n".join(edited))
    skipped = nbgrader(["autograde", ASSIGNMENT, "--student", "s0002"], course, env)
    assert "Skipping existing assignment" in skipped, "autograde without --force must skip"
    nbgrader(["autograde", ASSIGNMENT, "--student", "s0002", "--force"], course, env)
    # A renamed file placed by hand is not graded, with nbgrader's misleading message.
    (course / "submitted" / "s0004" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(fetched, course / "submitted" / "s0004" / ASSIGNMENT / f"{CHAPTER} (1).ipynb")
    renamed = nbgrader(["autograde", ASSIGNMENT, "--student", "s0004"], course, env, fails=True)
    assert "Skipping unknown notebook" in renamed and "No notebooks found" in renamed, renamed
    shutil.rmtree(course / "submitted" / "s0004")
    nbgrader(["generate_feedback", ASSIGNMENT], course, env)
    nbgrader(["export"], course, env)

    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}
    scores = {student: float(row["raw_score"]) for student, row in rows.items()}
    full = float(rows[solver]["max_score"])
    assert full == n_checks, f"expected {n_checks} points in all, got {full}"
    assert scores[solver] == full, f"solved: expected {full}, got {scores[solver]}"
    assert scores["s0002"] == 0, f"untouched: expected 0, got {scores['s0002']}"
    assert scores["s0003"] == full - 1, (
        f"wrong answer to exercise {WRONG_EXERCISE} ({label}): expected {full - 1}, got {scores['s0003']}")

    # No hidden test in any feedback file; the autograded notebooks (the control) hold them.
    feedback = sorted((course / "feedback").rglob("*.*"))
    assert {p.parts[-3] for p in feedback if p.suffix == ".html"} == {solver, "s0002", "s0003"}
    for path in feedback:
        text = _plain_text(path)
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{path.relative_to(course)} shows hidden tests: {leaked[:3]}"
    autograded = nbformat.read(course / "autograded" / "s0003" / ASSIGNMENT / notebook, as_version=4)
    autograded_text = "\n".join(cell.source for cell in autograded.cells)
    assert all(line in autograded_text for line in hidden), (
        "control failed: the autograded notebook should hold every hidden test")
    assert (course / "exchange" / COURSE_ID / "outbound" / ASSIGNMENT / notebook).exists(), (
        "release_assignment should have used the course-local exchange")
