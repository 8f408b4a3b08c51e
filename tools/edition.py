"""The student edition: one folder, and a zip of it, that an instructor hands out.

The repository itself must not go to students: ``notebooks/`` holds every solution and
hidden test under the names the handed-out files carry. The edition holds

* ``notebooks/``: the student version of every chapter (tools.exercises.student_version:
  nbgrader's generate_assignment preprocessors: solutions stubbed, hidden tests and mark
  schemes removed, outputs cleared, check cells locked, ``# NBVAL_*`` markers dropped);
* ``helpers/``: the library the notebooks import;
* the set-up: ``tasks.py``, ``pyproject.toml``, ``constraints.txt``, ``environment.yml``;
* ``tools/notebooks.py`` and ``tools/student_run.py``: what the edition's own ``tasks.py test``
  runs (the student notebooks, CI profile, up to their stubs);
* ``README.md`` (the two commands), ``data/README.md`` (what the loaders download) and
  ``edition.json`` (the source commit; its presence puts ``tasks.py`` in edition mode).

It holds no solution, no hidden test, no instructor notebook, no ``tests/``, no ``docs/``, no
nbgrader tooling (tests/test_edition.py checks all of this on every build).

Command line (from the repository root; ``python3 tasks.py edition`` runs it)::

    python -m tools.edition [--out build/edition] [--name rnn-notebooks-student] [notebooks...]

writes ``<out>/<name>/`` and ``<out>/<name>.zip``; without notebook arguments every chapter.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

from tools.exercises import check_file, student_version
from tools.notebooks import NOTEBOOKS_DIR, ROOT, chapter_notebooks

DEFAULT_OUT = ROOT / "build" / "edition"
DEFAULT_NAME = "rnn-notebooks-student"
#: Set-up files copied as they are (byte for byte: the edition's environment stamp then matches).
SETUP_FILES = ("tasks.py", "pyproject.toml", "constraints.txt", "environment.yml")
#: The tooling the edition's test command needs, and nothing else from tools/.
EDITION_TOOLS = ("notebooks.py", "student_run.py")
MARKER = "edition.json"

TOOLS_INIT = '''"""What the student edition's `python3 tasks.py test` runs (tools/student_run.py)."""
'''

GITIGNORE = """.venv/
__pycache__/
*.pyc
.ipynb_checkpoints/
*.egg-info/
build/
/data/*
!/data/README.md
"""

README = """# Recurrent networks, step by step: student edition

A collection of Jupyter notebooks (Python, PyTorch) from the one-line RNN formula, through
the gates of the LSTM and the GRU, to the digit-sum memory experiment. Each chapter ends with
exercises that check themselves.

## Two commands

Everything needs only Python >= 3.10 and pip. From this folder:

```bash
python3 tasks.py lab     # set up .venv if needed, then open JupyterLab on notebooks/
python3 tasks.py test    # set up .venv if needed, then run every notebook (quick profile) and
                         # report each exercise: not answered yet, passed, or what went wrong
```

The first run creates `.venv/` and installs the pinned versions from `constraints.txt`
(a few minutes; PyTorch is the large part). After that, either command starts in seconds.
`python3 tasks.py test notebooks/03_gru.ipynb` checks one chapter. It runs a copy: your
notebook file is not changed. A fresh edition reports every exercise as "not answered yet":
each solution cell holds `raise NotImplementedError()` until you replace it with your answer.
With conda instead: `conda env create -f environment.yml`, then `conda activate rnn-notebooks`
and `jupyter lab notebooks/`.

## Chapters

{chapters}

## Exercises

Each exercise has a solution cell (replace `raise NotImplementedError()` with your answer)
and, below it, a check cell (locked) that prints `exercise N passed` when your answer is
right. Your instructor may grade with further tests that are not shown here, so read the
statement, not only the visible asserts. Keep the notebook's file name when you hand it in.
"Questions to think about" are for self-study and are not graded.

## Profiles

The notebooks run in the full profile by default (the sizes the text describes). The test
command uses the quick CI profile (`RNN_PROFILE=ci`): fewer epochs and smaller sweeps, so its
numbers differ from those quoted in the text. Each notebook's first cell prints the profile.

## Data

See `data/README.md`: the loaders download what they need on first use.

Built from {source} on {date}.
"""

DATA_README = """# data/: the download cache

The notebooks read every dataset from this folder. The first time a chapter needs one, its
loader downloads it here (you need internet access once); after that it works offline.

| file | chapter | downloaded by | from |
|---|---|---|---|
| `MNIST/raw/*-ubyte` (about 55 MB) | 04 | `helpers.data.mnist` (torchvision) | torchvision's MNIST mirrors |
| `flights.csv` (2 KB) | 05 | `helpers.data.flights_series` (seaborn) | github.com/mwaskom/seaborn-data |
| `timemachine.txt` (about 180 KB) | 07 | `helpers.data.time_machine` (SHA-1 checked) | d2l's data hub |

The other chapters generate their data and download nothing.

No internet where you work? Copy the files here by hand with exactly these names (MNIST's
four raw IDX files uncompressed under `data/MNIST/raw/`); the loaders then do not touch the
network. A loader that can neither find nor download its file stops with a message that
names the file, this folder and where the file comes from.
"""


def _title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _source_commit() -> str:
    """The repository's commit (with "+ local changes" when the work tree differs), or "unknown"."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "notebooks", "helpers"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"commit {commit}" + (" + local changes" if dirty else "")


def _copy_package(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.py")):
        shutil.copy2(path, target / path.name)


def build(paths: Iterable[Path] | None = None, out: Path = DEFAULT_OUT, name: str = DEFAULT_NAME) -> Path:
    """Write the edition folder ``out/name`` and ``out/name.zip``; return the folder.

    The notebooks must pass the exercise format check first (tools.exercises.check_file).
    An earlier edition of the same name is replaced.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"edition name {name!r}: use letters, digits, '.', '_' or '-' (it names a folder)")
    paths = [Path(p) for p in (paths if paths is not None else chapter_notebooks(NOTEBOOKS_DIR))]
    if not paths:
        raise ValueError(f"no notebooks to put in the edition (none match NN_*.ipynb in {NOTEBOOKS_DIR})")
    problems = [problem for path in paths for problem in check_file(path)]
    if problems:
        raise ValueError("fix the exercise format first (docs/instructors.md):\n" + "\n".join(problems))
    out = Path(out)
    folder, archive = out / name, out / f"{name}.zip"
    shutil.rmtree(folder, ignore_errors=True)
    archive.unlink(missing_ok=True)
    (folder / "notebooks").mkdir(parents=True)
    chapters = []
    for path in paths:
        student = student_version(nbformat.read(path, as_version=4))
        nbformat.write(student, folder / "notebooks" / path.name)
        chapters.append(f"- `notebooks/{path.name}`: {_title(student, path.stem)}")
    _copy_package(ROOT / "helpers", folder / "helpers")
    (folder / "tools").mkdir()
    (folder / "tools" / "__init__.py").write_text(TOOLS_INIT)
    for tool in EDITION_TOOLS:
        shutil.copy2(ROOT / "tools" / tool, folder / "tools" / tool)
    for setup_file in SETUP_FILES:
        shutil.copy2(ROOT / setup_file, folder / setup_file)
    (folder / "data").mkdir()
    (folder / "data" / "README.md").write_text(DATA_README)
    (folder / ".gitignore").write_text(GITIGNORE)
    source = _source_commit()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    (folder / "README.md").write_text(README.format(chapters="\n".join(chapters), source=source, date=date))
    (folder / MARKER).write_text(json.dumps({"name": name, "source": source, "built": date,
                                             "notebooks": [p.name for p in paths]}, indent=1) + "\n")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path(name) / path.relative_to(folder))
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.edition", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/edition)")
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"edition name (default {DEFAULT_NAME})")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        folder = build(args.notebooks or None, args.out, args.name)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"wrote {folder}/ and {folder}.zip ({len(list((folder / 'notebooks').glob('*.ipynb')))} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
