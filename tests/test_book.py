"""The read-only book (`python3 tasks.py book`, tools/book.py).

(a) it builds from the committed notebooks with outbound connections refused (its time, under
    60 s on 2 cores, is measured by the benchmark script, not asserted here);
(b) every chapter notebook has a page, linked from the index (the README's chapter table), and
    every figure of the notebook (each image output, compared by its bytes) appears on its page;
(c) no page or file of the book carries grading: no hidden-test or mark-scheme marker and no line
    of a hidden test; solutions sit behind a toggle, check cells are shown;
(d) no internal link or resource is broken, nothing is loaded from another host, and MathJax is
    served from the book's own mathjax/ folder;
(e) the pieces on small samples: the offline guard, the notebook preparation, the index page.

The build is shared with tests/test_browser.py: build/book/ is rebuilt only when its inputs changed
(tools.book.ensure_built, a stamp of the notebooks, book/, README.md, tools/book.py and versions).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import book
from tools.notebooks import NOTEBOOKS_DIR, chapter_notebooks

CHAPTERS = chapter_notebooks(NOTEBOOKS_DIR)
OUT = book.OUT
GRADING_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME", "END MARK SCHEME")


@pytest.fixture(scope="module")
def built() -> dict:
    return book.ensure_built(OUT)


@cache
def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _page(nb_path: Path) -> Path:
    return OUT / "notebooks" / f"{nb_path.stem}.html"


def _html_files() -> list[Path]:
    """The book's pages (not the theme's template fragments in _static/, not MathJax's files)."""
    skip = {"_static", book.MATHJAX_DIR}
    return sorted(p for p in OUT.rglob("*.html") if not skip & set(p.relative_to(OUT).parts))


# --- (a) the build ----------------------------------------------------------------------------------

def test_book_builds_offline(built):
    assert built["ok"], f"the last build failed: {built}"
    assert built["offline"] and built["refused_connections"] == [], built["refused_connections"]
    assert built["chapters"] == [f"notebooks/{p.stem}" for p in CHAPTERS]
    for name in ("index.html", "search.html", "searchindex.js"):
        assert (OUT / name).exists(), f"expected {name} in {OUT}"


# --- (b) chapters and figures -----------------------------------------------------------------------

def _title(nb: nbformat.NotebookNode) -> str:
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    return first.source.strip().splitlines()[0].lstrip("#").strip()


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_has_a_page_linked_from_the_index(built, nb_path):
    page = _page(nb_path)
    assert page.exists(), f"expected a page {page.relative_to(OUT)} for {nb_path.name}"
    title = _title(nbformat.read(nb_path, as_version=4))
    h1 = _soup(page).find("h1")
    assert h1 is not None and title in h1.get_text(), f"expected the title {title!r}, got {h1}"
    links = {urlsplit(a["href"]).path for a in _soup(OUT / "index.html").select("article a[href]")}
    assert f"notebooks/{nb_path.stem}.html" in links, (
        f"the index (README.md's chapter table) has no link to {nb_path.stem}: add its row to the README")


def _image_digests(nb: nbformat.NotebookNode) -> list[str]:
    digests = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime in ("image/png", "image/jpeg", "image/gif"):
                    digests.append(hashlib.sha256(base64.b64decode(data)).hexdigest())
                elif mime == "image/svg+xml":
                    text = data if isinstance(data, str) else "".join(data)
                    digests.append(hashlib.sha256(text.encode()).hexdigest())
    return digests


def _page_image_digests(page: Path) -> set[str]:
    digests = set()
    for img in _soup(page).find_all("img"):
        target = (page.parent / unquote(urlsplit(img["src"]).path)).resolve()
        if target.is_file():
            digests.add(hashlib.sha256(target.read_bytes()).hexdigest())
    return digests


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_figure_of_the_notebook_is_on_its_page(built, nb_path):
    wanted = _image_digests(nbformat.read(nb_path, as_version=4))
    shown = _page_image_digests(_page(nb_path))
    missing = [d[:12] for d in wanted if d not in shown]
    assert not missing, f"{nb_path.name}: {len(missing)} of {len(wanted)} figures not on the page: {missing}"


# --- (c) grading stays out; solutions collapsed, checks shown ----------------------------------------

def _hidden_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Lines that only a grading region holds (found nowhere in the rest of the notebook)."""
    hidden, visible = set(), []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if any(m in line for m in GRADING_MARKERS[::2]):
                inside = True
            elif any(m in line for m in GRADING_MARKERS[1::2]):
                inside = False
            elif inside:
                hidden.add(line.strip())
            else:
                visible.append(line)
        visible += [str(o.get("text", "")) + json.dumps(o.get("data", {})) for o in cell.get("outputs", [])]
    elsewhere = "\n".join(visible)
    return {line for line in hidden if len(line) >= 12 and line not in elsewhere}


def leaked_lines(text: str, lines: set[str]) -> list[str]:
    """The lines of ``lines`` that occur in ``text``."""
    return sorted(line for line in lines if line in text)


def _page_text(page: Path) -> str:
    return _soup(page).get_text()


def test_no_file_of_the_book_carries_a_grading_marker(built):
    carriers = []
    for path in OUT.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".js", ".txt", ".md", ".json"):
            if book.MATHJAX_DIR in path.relative_to(OUT).parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            carriers += [f"{path.relative_to(OUT)}: {m}" for m in GRADING_MARKERS if m in text]
    assert not carriers, f"grading markers published: {carriers}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_hidden_test_line_on_the_page_or_in_its_source_copy(built, nb_path):
    lines = _hidden_lines(nbformat.read(nb_path, as_version=4))
    leaks = leaked_lines(_page_text(_page(nb_path)), lines)
    source_copy = OUT / "_sources" / "notebooks" / nb_path.name
    if source_copy.exists():
        leaks += leaked_lines(source_copy.read_text(), {json.dumps(line)[1:-1] for line in lines})
    assert not leaks, f"{nb_path.name}: hidden-test lines published: {leaks[:5]}"


def test_leak_detector_finds_a_hidden_line_in_highlighted_code():
    """The leak check reads the page's text, so syntax-highlighting spans cannot hide a leak."""
    nb = new_notebook(cells=[new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret_answer == 42\n"
                                           "### END HIDDEN TESTS")])
    lines = _hidden_lines(nb)
    html = ('<pre><span class="k">assert</span> <span class="n">secret_answer</span> '
            '<span class="o">==</span> <span class="mi">42</span></pre>')
    assert lines == {"assert secret_answer == 42"}
    text = BeautifulSoup(html, "html.parser").get_text()
    assert leaked_lines(text, lines) == ["assert secret_answer == 42"]


def _exercise_cells(nb: nbformat.NotebookNode, kind: str) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells
            if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get(kind)]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_solutions_are_collapsed_and_checks_shown(built, nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    solutions, checks = _exercise_cells(nb, "solution"), _exercise_cells(nb, "grade")
    soup = _soup(_page(nb_path))
    toggles = [d for d in soup.select("details.hide") if book.SHOW_SOLUTION in d.summary.get_text()]
    assert len(toggles) == len(solutions), (
        f"{nb_path.name}: expected {len(solutions)} solutions behind a toggle, found {len(toggles)}")
    collapsed = "".join(d.get_text() for d in toggles)
    for cell in solutions:
        first = next(line for line in cell.source.splitlines() if line.strip())
        assert first.strip() in collapsed, f"{nb_path.name}: solution starting {first!r} is not collapsed"
    for cell in checks:
        first = cell.source.splitlines()[0].strip()
        found = soup.find_all(string=lambda s, f=first: s and f in s)
        shown = [d for d in found if not d.find_parent("details")]
        assert shown, f"{nb_path.name}: the check cell {first!r} is not shown outside a toggle"
    opened = [d for d in toggles if d.has_attr("open")]
    assert not opened, f"{nb_path.name}: {len(opened)} solution toggles are open by default"


# --- (d) links, hosts, MathJax ------------------------------------------------------------------------

def _references(soup: BeautifulSoup):
    for tag in soup.find_all(["a", "link", "script", "img", "iframe", "source"]):
        for attr in ("href", "src"):
            if tag.get(attr):
                yield tag, tag[attr]


@cache
def _ids(path: Path) -> set[str]:
    soup = _soup(path)
    named = {t["name"] for t in soup.find_all("a", attrs={"name": True})}
    return {t["id"] for t in soup.find_all(id=True)} | named


def broken_links(page: Path, root: Path = OUT) -> list[str]:
    """Internal links and resources of ``page`` whose file or anchor does not exist."""
    broken = []
    for _tag, ref in _references(_soup(page)):
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or root.resolve() not in target.parents:
            broken.append(ref)
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target):
            broken.append(ref)
    return broken


def test_no_internal_link_is_broken(built):
    broken = {str(p.relative_to(OUT)): b for p in _html_files() if (b := broken_links(p))}
    assert not broken, f"broken internal links: {broken}"


def test_link_checker_reports_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"></p><a href="b.html">x</a><a href="#here">ok</a>'
                                     '<a href="#nowhere">y</a><img src="_images/gone.png">'
                                     '<a href="https://example.org/">external</a>')
    assert broken_links(tmp_path / "a.html", tmp_path) == ["b.html", "#nowhere", "_images/gone.png"]


def test_nothing_is_loaded_from_another_host(built):
    remote = []
    for page in _html_files():
        for tag, ref in _references(_soup(page)):
            if tag.name != "a" and (urlsplit(ref).scheme in ("http", "https") or ref.startswith("//")):
                remote.append(f"{page.relative_to(OUT)}: <{tag.name}> {ref}")
    assert not remote, f"pages load resources from other hosts (they must work offline): {remote[:5]}"


def test_mathjax_is_served_from_the_books_own_folder(built):
    pages_with_math = [p for p in _html_files() if _soup(p).select(".math")]
    assert pages_with_math, "expected equations on some pages"
    for page in pages_with_math:
        sources = [s["src"] for s in _soup(page).find_all("script", src=True) if "tex-chtml" in s["src"]]
        assert len(sources) == 1, f"{page.name}: expected one MathJax script, got {sources}"
        target = (page.parent / urlsplit(sources[0]).path).resolve()
        expected = (OUT / book.MATHJAX_DIR / "tex-chtml.js").resolve()
        assert target == expected, f"{page.name}: expected MathJax from {expected}, got {target}"
    font = OUT / book.MATHJAX_DIR / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff"
    assert font.exists(), f"expected MathJax's fonts next to it: {font}"
    assert not list((OUT / "_static").rglob("tex-chtml*.js")), "MathJax must not sit in _static/"


# --- (e) the pieces on samples --------------------------------------------------------------------------

def test_offline_guard_refuses_outside_connections_and_allows_loopback():
    originals = socket.socket.connect, socket.getaddrinfo
    server = socket.create_server(("127.0.0.1", 0))
    with book.offline() as attempts:
        with pytest.raises(ConnectionRefusedError, match="offline"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1, never routed
        with pytest.raises(ConnectionRefusedError, match="offline"):
            socket.getaddrinfo("example.org", 443)
        socket.create_connection(server.getsockname(), timeout=5).close()
    server.close()
    assert len(attempts) == 2, attempts
    assert (socket.socket.connect, socket.getaddrinfo) == originals, "the guard outlived its block"


def _check_cell(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "points": 1}})


def test_publishable_strips_grading_collapses_solutions_and_leaves_the_input_alone():
    solution = new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION",
                             metadata={"nbgrader": {"solution": True, "grade": False}})
    check = _check_cell("# Check for exercise 1\n# NBVAL_CHECK_OUTPUT\nassert answer > 0, 'positive'\n"
                        "### BEGIN HIDDEN TESTS\nassert answer == 42\n### END HIDDEN TESTS\n"
                        "print('exercise 1 passed')")
    check.outputs = [new_output("stream", name="stdout", text="exercise 1 passed\n")]
    written = new_markdown_cell("The answer is 42 because ...", metadata={"nbgrader": {"solution": True}})
    nb = new_notebook(cells=[new_markdown_cell("# Title"), solution, check, written])
    before = json.dumps(nb, sort_keys=True)
    out = book.publishable(nb, "sample")
    assert json.dumps(nb, sort_keys=True) == before, "publishable changed its input"
    expected = "# Check for exercise 1\nassert answer > 0, 'positive'\nprint('exercise 1 passed')"
    assert out.cells[2].source == expected
    assert out.cells[2].outputs == check.outputs
    assert "hide-cell" in out.cells[1].metadata["tags"]
    assert out.cells[1].metadata["mystnb"]["code_prompt_show"] == book.SHOW_SOLUTION
    assert out.cells[3].source.startswith("::::{dropdown}") and "42" in out.cells[3].source
    assert all("nbgrader" not in c.metadata for c in out.cells)


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN HIDDEN TESTS\nassert x", "never closed"),
    ("assert x\n### END HIDDEN TESTS", "without a"),
    ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "twice"),
])
def test_unbalanced_grading_markers_stop_the_build_with_a_clear_error(source, problem):
    with pytest.raises(book.BookError, match=problem):
        book.publishable(new_notebook(cells=[_check_cell(source)]), "sample")


def test_index_page_takes_the_readme_chapter_table():
    readme = ("intro\n<!-- chapter-table:start -->\n| a | b |\n|---|---|\n"
              "| [00](notebooks/00_x.ipynb) | y |\n<!-- chapter-table:end -->\nmore")
    page = book.index_page(readme, "# Book\n\n<!-- chapter-table -->\n")
    assert page == "# Book\n\n| a | b |\n|---|---|\n| [00](notebooks/00_x.ipynb) | y |\n"
    with pytest.raises(book.BookError, match="chapter-table:start"):
        book.index_page("no table", "<!-- chapter-table -->")
    with pytest.raises(book.BookError, match="book/index.md"):
        book.index_page(readme, "# no slot")
