"""The student edition (tools/edition.py) and what students see when they run it.

(a) No solution and no hidden test reaches students: every line of every solution region and
    hidden-test block of the source notebooks (less lines that are public anyway: teaching
    cells, statements, visible asserts, the helpers library) is searched for in every file of
    the edition, the zip included (whole lines, stripped: a fragment of a public line, such as a
    statement quoting `taus = [...]`, is not a leak); the scanner is shown to find a planted line.
(b) The edition's own test command works from a fresh copy: the zip is unpacked into an empty
    folder and ``python tasks.py test notebooks/03_gru.ipynb`` is run there. It reuses the
    environment this test runs in through RNN_VENV (tasks.py honours it): a second full
    install would cost minutes and blow the 15-minute budget of the whole test command, so
    the set-up step is exercised through its stamp check ("environment up to date"), and the
    test refuses to run if that check would install into the shared environment.
(c) Student polish: the profile hint is true in each profile; the runner's verdicts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import edition, student_run
from tools.notebooks import NOTEBOOKS_DIR, ROOT, chapter_notebooks

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nbgrader") is None,
                                reason="nbgrader is not installed (the instructor extra)")
MARKERS = {"solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
           "hidden": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")}
MIN_LENGTH = 8  # shorter lines ("else:", "return h") say nothing about an answer
CHEAP_CHAPTER = "03_gru.ipynb"


def split_regions(source: str) -> tuple[list[str], list[str]]:
    """(lines inside solution / hidden regions, lines outside them), stripped, markers left out."""
    inside, secret, public = None, [], []
    for line in source.splitlines():
        text = line.strip()
        begins = [kind for kind, (begin, _) in MARKERS.items() if text == begin]
        if begins:
            inside = begins[0]
        elif inside and text == MARKERS[inside][1]:
            inside = None
        else:
            (secret if inside else public).append(text)
    return secret, public


def secret_lines(paths: list[Path]) -> dict[str, set[str]]:
    """Per notebook, the lines only its solutions and hidden tests contain."""
    public = {text for path in (ROOT / "helpers").glob("*.py") for text in
              (line.strip() for line in path.read_text().splitlines())}
    secrets = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        found = set()
        for cell in nb.cells:
            inside, outside = split_regions(cell.source)
            found.update(inside)
            public.update(outside)
        secrets[path.name] = found
    return {name: {t for t in found if len(t) >= MIN_LENGTH and t not in public}
            for name, found in secrets.items()}


def readable_texts(folder: Path) -> dict[str, str]:
    """Every file of the edition as text; notebooks also as their decoded cell sources and outputs."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            text += "\n" + "\n".join("".join(c.get("source", "")) for c in nb["cells"])
            text += "\n" + "\n".join("".join(o.get("text", "")) + "\n".join(o.get("traceback", []))
                                     for c in nb["cells"] for o in c.get("outputs", []))
        texts[str(path.relative_to(folder))] = text
    return texts


def leaks(texts: dict[str, str], secrets: dict[str, set[str]]) -> list[str]:
    """Each secret line that is a line of some file (compared stripped, whole lines)."""
    found = []
    for where, text in texts.items():
        lines = {line.strip() for line in text.splitlines()}
        found += [f"{where}: {line!r} (from {name})" for name, secret in secrets.items()
                  for line in sorted(secret & lines)]
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition")
    folder = edition.build(out=out, name="course-edition")
    return folder, out / "course-edition.zip"


def test_no_solution_and_no_hidden_test_in_any_file_of_the_edition(built, tmp_path):
    folder, archive = built
    sources = chapter_notebooks(NOTEBOOKS_DIR)
    secrets = secret_lines(sources)
    with_exercises = [p.name for p in sources if "### BEGIN SOLUTION" in p.read_text()]
    assert with_exercises and all(secrets[name] for name in with_exercises), (
        "control: every chapter with exercises should have solution lines to look for, got "
        f"{ {name: len(secrets[name]) for name in with_exercises} }")
    texts = readable_texts(folder)  # the edition folder, and the zip that is handed out
    with zipfile.ZipFile(archive) as zf:
        texts.update({f"zip:{m}": zf.read(m).decode("utf-8", errors="replace") for m in zf.namelist()})
    found = leaks(texts, secrets)
    assert not found, "solution or hidden-test text in the edition:\n" + "\n".join(found[:20])
    # The scanner bites: a solution line planted in a copy of one notebook is found.
    name = with_exercises[0]
    planted = dict(texts, planted=texts[f"notebooks/{name}"] + "\n" + sorted(secrets[name])[0])
    assert leaks(planted, secrets), "control failed: a planted solution line was not found"


def test_edition_contents(built):
    folder, archive = built
    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    with zipfile.ZipFile(archive) as zf:
        assert {m.split("/", 1)[1] for m in zf.namelist()} == files, "the zip must hold the folder"
    chapters = {p.name for p in chapter_notebooks(NOTEBOOKS_DIR)}
    assert {f.split("/", 1)[1] for f in files if f.startswith("notebooks/")} == chapters
    assert {f for f in files if f.startswith("tools/")} == {
        "tools/__init__.py", "tools/notebooks.py", "tools/student_run.py"}, "only the runner's tools"
    for present in ("README.md", "data/README.md", "tasks.py", "pyproject.toml", "constraints.txt",
                    "edition.json", "helpers/__init__.py"):
        assert present in files, f"{present} missing from the edition"
    for absent in ("tests", "docs", "benchmarks", "data/timemachine.txt"):
        assert not any(f == absent or f.startswith(absent + "/") for f in files), f"{absent} in the edition"
    for name in chapters:
        nb = nbformat.read(folder / "notebooks" / name, as_version=4)
        text = nbformat.writes(nb)
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "NBVAL_", "BEGIN MARK SCHEME"):
            assert marker not in text, f"{name}: {marker!r} reached the student version"
        for cell in nb.cells:
            assert not cell.get("outputs"), f"{name}: outputs must be cleared"
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                assert "raise NotImplementedError()" in cell.source, f"{name}: a solution cell without stub"
    readme = (folder / "README.md").read_text()
    assert "python3 tasks.py lab" in readme and "python3 tasks.py test" in readme
    for name in chapters:
        assert f"notebooks/{name}" in readme, f"README does not list {name}"


def _edition_tasks(folder: Path, venv: Path):
    """The edition's tasks.py as a module, read with RNN_VENV pointing at ``venv``."""
    old = os.environ.get("RNN_VENV")
    os.environ["RNN_VENV"] = str(venv)
    try:
        spec = importlib.util.spec_from_file_location("edition_tasks", folder / "tasks.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if old is None:
            os.environ.pop("RNN_VENV")
        else:
            os.environ["RNN_VENV"] = old
    return module


def test_edition_test_command_runs_from_a_fresh_copy(built, tmp_path):
    _, archive = built
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
    fresh = tmp_path / "course-edition"
    venv = Path(sys.prefix)
    tasks = _edition_tasks(fresh, venv)
    assert set(tasks.TASKS) == {"setup", "lab", "test"}, f"edition tasks: {sorted(tasks.TASKS)}"
    if not tasks.STAMP.exists():
        pytest.skip(f"{venv} was not made by `tasks.py setup` (no stamp), so the edition would install")
    assert tasks.STAMP.read_text().strip() == tasks._wanted_stamp(), (
        "the edition's set-up would reinstall into the shared environment: its pyproject.toml, "
        "constraints.txt or install steps differ from the repository's (or run `python3 tasks.py setup`)")
    notebook = fresh / "notebooks" / CHEAP_CHAPTER
    before = notebook.read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in ("RNN_PROFILE", "PYTHONPATH")}
    env.update(RNN_VENV=str(venv), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "tasks.py", "test", f"notebooks/{CHEAP_CHAPTER}"], cwd=fresh,
                          env=env, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"the edition's test command failed ({done.returncode}):\n{log}"
    assert "environment up to date" in log, log
    assert f"helpers from {fresh / 'helpers'}" in log, f"the edition's own helpers must be used:\n{log}"
    n_exercises = sum(1 for c in nbformat.read(notebook, as_version=4).cells
                      if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    assert log.count(": not answered yet") == n_exercises >= 3, log
    assert "teaching cells ran" in log and "0 with problems" in log, log
    assert "running over TCP without encryption" not in log, "headless kernels should be encrypted:\n" + log
    assert notebook.read_bytes() == before, "the test command must not change the student's notebook"


def _executed(cells):
    return new_notebook(cells=cells)


def _code(source, error=None, role=None):
    meta = {"nbgrader": {"solution": role == "solution", "grade": role == "check"}} if role else {}
    outputs = [new_output("error", ename=error, evalue="msg", traceback=[])] if error else []
    return new_code_cell(source, metadata=meta, outputs=outputs)


@pytest.mark.parametrize(("solution_error", "check_error", "state"), [
    ("NotImplementedError", "NameError", "not answered yet"),
    (None, "NotImplementedError", "not answered yet"),  # stub inside a function body
    (None, None, "passed"),
    (None, "AssertionError", "check failed: AssertionError: msg"),
    ("TypeError", "NameError", "your answer raised TypeError"),
])
def test_runner_says_where_each_exercise_stands(solution_error, check_error, state):
    nb = _executed([_code("x = 1"), new_markdown_cell("### Exercise 1 (easy): t"),
                    _code("y = x", solution_error, "solution"),
                    _code("# Check for exercise 1\nassert y", check_error, "check")])
    report = student_run.classify(nb, "sample.ipynb")
    assert report.exercises == {"exercise 1": state} and report.teaching_cells == 1
    assert report.ok == (state in ("passed", "not answered yet"))


def test_runner_fails_when_a_teaching_cell_fails():
    report = student_run.classify(_executed([_code("import missing_package", "ModuleNotFoundError")]), "s")
    assert not report.ok and "ModuleNotFoundError" in report.broken[0]


@pytest.mark.parametrize("profile", ["full", "ci"])
def test_profile_hint_is_true_in_each_profile(profile, monkeypatch, capsys):
    import helpers

    monkeypatch.setenv("RNN_PROFILE", profile)
    helpers.setup(seed=0)
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"profile : {profile}"), first
    if profile == "ci":
        assert "set RNN_PROFILE=ci" not in first and "differ" in first, first
    else:
        assert "RNN_PROFILE=ci" in first and "quick" in first, first


QUESTIONS_HEADING = "### Questions to think about (self-study, not graded)"


@pytest.mark.parametrize("path", chapter_notebooks(NOTEBOOKS_DIR), ids=lambda p: p.name[:2])
def test_checks_print_the_same_line_and_questions_are_marked_ungraded(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        lines = cell.source.strip().splitlines()
        if meta.get("grade"):
            number = lines[0].removeprefix("# Check for exercise ")
            assert lines[-1] == f'print("exercise {number} passed")', (
                f"{path.name} {meta.get('grade_id')}: expected the last line "
                f'print("exercise {number} passed"), got {lines[-1]!r}')
        headings = [line for line in lines if line.startswith("#") and "question" in line.lower()
                    and "think" in line.lower()]
        for heading in headings:
            assert heading == QUESTIONS_HEADING and not meta, (
                f"{path.name}: written questions go under {QUESTIONS_HEADING!r} in a cell without "
                f"nbgrader metadata, got {heading!r} with {meta}")


def test_edition_command_line(tmp_path, capsys):
    chapter = str(NOTEBOOKS_DIR / CHEAP_CHAPTER)
    assert edition.main(["--out", str(tmp_path), "--name", "one", chapter]) == 0
    assert sorted(p.name for p in (tmp_path / "one" / "notebooks").iterdir()) == [CHEAP_CHAPTER]
    assert (tmp_path / "one.zip").is_file()
    assert edition.main(["--out", str(tmp_path), "--name", "../escape", chapter]) == 1
    assert "edition name" in capsys.readouterr().err
    assert edition.main(["--out", str(tmp_path), str(NOTEBOOKS_DIR / "99_missing.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_edition_never_reinstalls_a_shared_environment(built, tmp_path, monkeypatch):
    folder, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with open(copy / "constraints.txt", "a") as f:
        f.write("# a pin changed since the environment was made\n")
    tasks = _edition_tasks(copy, Path(sys.prefix))
    monkeypatch.setenv("RNN_VENV", str(Path(sys.prefix)))

    def no_install(cmd, **kwargs):
        raise AssertionError(f"the edition tried to install into the shared environment: {cmd}")

    monkeypatch.setattr(tasks, "_run", no_install)
    with pytest.raises(SystemExit, match="refusing to reinstall"):
        tasks.setup()
