"""Build the read-only HTML book (Jupyter Book 1.x) from the committed, executed notebooks, offline.

    python -m tools.book build              stage the notebooks, then build build/book/
    python -m tools.book build --if-stale   the same, unless build/book/ is already up to date

Nothing is executed and nothing is fetched: the build runs with outbound connections refused
(``offline()``), so a theme, extension or MathJax that tried to reach the network would fail it.
The notebooks are never modified. They are copied into a staging folder (build/book-src/) where

* hidden tests (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) and mark schemes are removed
  from every cell, and so are the test suite's ``# NBVAL_*`` marker lines,
* solution cells are tagged ``hide-cell``: MyST-NB collapses them behind a "Show the solution" toggle,
* check cells stay as they are, and
* the index page is book/index.md with the README's chapter table inserted.

MathJax 3 comes from the ``sphinx-mathjax-offline`` package and is served from the book's own
``mathjax/`` folder (not ``_static/``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import nbformat

from tools.notebooks import NOTEBOOKS_DIR as NOTEBOOKS
from tools.notebooks import chapter_notebooks

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
README = ROOT / "README.md"
STAGE = ROOT / "build" / "book-src"
OUT = ROOT / "build" / "book"
DOCTREES = ROOT / "build" / "book-doctrees"
STAMP_NAME = ".book-stamp.json"
MATHJAX_DIR = "mathjax"  # the folder of the book that serves MathJax
MATHJAX_PACKAGE = "sphinx-mathjax-offline"

# Regions that must not reach a published page, as nbgrader delimits them (a line containing
# the marker opens or closes the region): hidden tests in check cells, mark schemes in task cells.
GRADING_REGIONS = (("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"), ("BEGIN MARK SCHEME", "END MARK SCHEME"))
NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")  # the test suite's markers, noise to a reader
TABLE_START, TABLE_END = "<!-- chapter-table:start -->", "<!-- chapter-table:end -->"
TABLE_SLOT = "<!-- chapter-table -->"
ONLINE_ONLY = ("sphinx_thebe", "sphinx.ext.intersphinx")
SHOW_SOLUTION, HIDE_SOLUTION = "Show the solution", "Hide the solution"


class BookError(RuntimeError):
    """A problem with the book's inputs, with what to do about it."""


# --- preparing the notebooks ----------------------------------------------------------------------

def strip_grading(source: str, where: str = "a cell") -> str:
    """``source`` without its hidden-test and mark-scheme regions (marker lines included)."""
    for begin, end in GRADING_REGIONS:
        kept, inside = [], False
        for line in source.splitlines(keepends=True):
            if begin in line:
                if inside:
                    raise BookError(f"{where}: {begin!r} twice without {end!r} between")
                inside = True
            elif end in line:
                if not inside:
                    raise BookError(f"{where}: {end!r} without a {begin!r} before it")
                inside = False
            elif not inside:
                kept.append(line)
        if inside:
            raise BookError(f"{where}: {begin!r} is never closed by {end!r}")
        source = "".join(kept)
    return source.rstrip("\n")


def _without_nbval_markers(source: str) -> str:
    return "".join(line for line in source.splitlines(keepends=True) if not NBVAL_MARKER.match(line))


def _is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def publishable(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``nb`` for the book: grading regions removed, solutions collapsed, nbgrader metadata gone."""
    nb = nbformat.from_dict(copy.deepcopy(nb))  # the input is left alone
    for index, cell in enumerate(nb.cells):
        cell.source = strip_grading(_without_nbval_markers(cell.source), f"{name}, cell {index}")
        meta = cell.setdefault("metadata", {})
        if _is_solution(cell) and cell.cell_type == "code":
            tags = meta.setdefault("tags", [])
            if "hide-cell" not in tags:
                tags.append("hide-cell")  # MyST-NB: the cell and its outputs behind one toggle
            meta["mystnb"] = {"code_prompt_show": SHOW_SOLUTION, "code_prompt_hide": HIDE_SOLUTION}
        elif _is_solution(cell) and cell.cell_type == "markdown":  # a written answer
            cell.source = f"::::{{dropdown}} {SHOW_SOLUTION}\n{cell.source}\n::::"
        meta.pop("nbgrader", None)
    return nb


def index_page(readme: str, template: str) -> str:
    """book/index.md with the README's chapter table in place of its slot."""
    if TABLE_SLOT not in template:
        raise BookError(f"book/index.md has no {TABLE_SLOT!r} line where the chapter table goes")
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        raise BookError(f"README.md must hold the chapter table between {TABLE_START!r} and {TABLE_END!r}")
    table = readme[start + len(TABLE_START):end].strip()
    return template.replace(TABLE_SLOT, table)


def mathjax_folder() -> Path:
    """The folder of MathJax 3 (es5 components) that the mathjax package installs."""
    try:
        files = metadata.files(MATHJAX_PACKAGE) or []
    except metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if str(entry).endswith("static/mathjax/tex-chtml.js"):
            return Path(entry.locate()).parent
    raise BookError(f"MathJax is missing: the package {MATHJAX_PACKAGE!r} is not installed. "
                    "Run `python3 tasks.py setup` (it installs the pinned versions).")


def stage(stage_dir: Path = STAGE) -> list[str]:
    """Write the book's sources into ``stage_dir``; return the chapters' document names."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    (stage_dir / "notebooks").mkdir(parents=True)
    notebooks = chapter_notebooks()
    if not notebooks:
        raise BookError(f"no chapter notebooks (NN_*.ipynb) in {NOTEBOOKS}")
    shutil.copy(BOOK / "_config.yml", stage_dir / "_config.yml")
    docs = []
    for path in notebooks:
        nb = publishable(nbformat.read(path, as_version=4), path.name)
        nbformat.write(nb, stage_dir / "notebooks" / path.name)
        docs.append(f"notebooks/{path.stem}")
    toc = (BOOK / "_toc.yml").read_text().rstrip("\n") + "\nchapters:\n"
    toc += "".join(f"- file: {doc}\n" for doc in docs)
    (stage_dir / "_toc.yml").write_text(toc)
    index = index_page(README.read_text(), (BOOK / "index.md").read_text())
    (stage_dir / "index.md").write_text(index)
    shutil.copytree(mathjax_folder(), stage_dir / "_extra" / MATHJAX_DIR)
    return docs


# --- offline ---------------------------------------------------------------------------------------

def _is_local(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or host in ("localhost", ""):
        return True  # unix sockets (paths) and the loopback name
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def offline(attempts: list[str] | None = None) -> Iterator[list[str]]:
    """Refuse every outbound connection (loopback excepted) inside the block; list the attempts."""
    attempts = [] if attempts is None else attempts
    originals = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def refuse(what: str):
        attempts.append(what)
        return ConnectionRefusedError(f"the book builds offline; refused a connection to {what}")

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise refuse(str(address))
        return originals[0](sock, address)

    def connect_ex(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise refuse(str(address))
        return originals[1](sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            raise refuse(f"{host} (name lookup)")
        return originals[2](host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = originals


# --- building ---------------------------------------------------------------------------------------

def inputs_digest() -> str:
    """A hash of everything the book is built from (sources, this builder, the tools' versions)."""
    digest = hashlib.sha256()
    paths = [*chapter_notebooks(), README, Path(__file__), *sorted(BOOK.glob("*"))]
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in ("jupyter-book", "myst-nb", "sphinx-book-theme", MATHJAX_PACKAGE):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()


def read_stamp(out: Path = OUT) -> dict | None:
    """What the last build into ``out`` recorded, or None."""
    try:
        return json.loads((out / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None


def is_up_to_date(out: Path = OUT) -> bool:
    """Whether ``out`` holds a successful build of the current inputs."""
    stamp = read_stamp(out)
    return bool(stamp and stamp.get("ok") and stamp.get("inputs") == inputs_digest())


def build(out: Path = OUT, *, quiet: bool = True) -> dict:
    """Stage the notebooks and build the HTML book into ``out``; return what the build recorded."""
    start = time.perf_counter()
    from jupyter_book.config import get_default_sphinx_config
    from jupyter_book.sphinx import build_sphinx

    digest = inputs_digest()
    docs = stage(STAGE)
    if out.exists():
        shutil.rmtree(out)
    shutil.rmtree(DOCTREES, ignore_errors=True)
    overrides = {
        "external_toc_path": str(STAGE / "_toc.yml"),
        "latex_individualpages": False,  # jupyter-book's own CLI always passes this one
        # MathJax from the book's own mathjax/ folder: Sphinx puts mathjax_path under _static/,
        # so step out of it; html_extra_path copies _extra/mathjax/ to the book's root.
        "mathjax_path": f"../{MATHJAX_DIR}/tex-chtml.js",
        "html_extra_path": ["_extra"],
        # Jupyter Book's extensions less those that only matter online: thebe (live code from a
        # CDN and Binder) and intersphinx (remote inventories).
        "extensions": [ext for ext in get_default_sphinx_config()["extensions"] if ext not in ONLINE_ONLY],
    }
    with offline() as attempts:
        status = build_sphinx(STAGE, out, noconfig=True, path_config=str(STAGE / "_config.yml"),
                              confoverrides=overrides, doctreedir=DOCTREES, freshenv=True,
                              quiet=quiet)
    seconds = time.perf_counter() - start
    ok = status == 0 and not attempts
    record = {"ok": ok, "inputs": digest, "seconds": round(seconds, 1), "offline": True,
              "refused_connections": attempts, "chapters": docs, "status": str(status)}
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP_NAME).write_text(json.dumps(record, indent=1) + "\n")
    if attempts:
        raise BookError(f"the book build tried to reach the network: {attempts}")
    if status != 0:
        raise BookError(f"the Sphinx build failed ({status}); see the messages above")
    return record


@contextlib.contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``out`` so that two test workers never build at once (POSIX)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is the user's business
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(out: Path = OUT) -> dict:
    """Build the book unless ``out`` already holds a build of the current inputs; return its record.

    Processes that call this at the same time (the test workers) wait for one another.
    """
    with _build_lock(out):
        if not is_up_to_date(out):
            build(out)
        return read_stamp(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.book", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--if-stale", action="store_true", help="skip when build/book/ is up to date")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress messages")
    args = parser.parse_args(argv)
    try:
        if args.if_stale and is_up_to_date(OUT):
            record = read_stamp(OUT)
            print(f"book up to date: {OUT}")
        else:
            record = build(OUT, quiet=not args.verbose)
            print(f"book built in {record['seconds']} s, offline: {OUT}")
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    index = OUT / "index.html"
    print(f"open {index} in a browser, or serve it: "
          f"python3 -m http.server --directory {os.path.relpath(OUT)} 8000")
    return 0 if record and record.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
