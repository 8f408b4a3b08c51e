"""Real-browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium).

(a) The book (build/book/, the build tests/test_book.py checks, rebuilt only when stale), served on
    loopback: the index leads to chapter 08, whose heatmaps load (natural width > 0), whose
    equations MathJax typesets from the book's own copy, whose solutions stay hidden until their
    toggle is clicked; the search page finds "forget gate"; no request leaves the machine.
(b) JupyterLab started by ``tasks.py lab`` (a free port, a token) on a temporary folder holding a
    copy of notebook 00 and a scratch notebook (so nothing can autosave into notebooks/): "Run All
    Cells" from the Run menu gives notebook 00 its outputs with no error; a short training cell
    through ``helpers.train.fit(progress=True)`` shows the progress bar as a widget, not as text;
    the students' lab has no nbgrader instructor panel and no news prompt; Jupyter's shutdown
    request stops the server cleanly (exit 0, kernels shut down, no runtime files left).

Without Chromium or Playwright the tests skip and say how to get them; under CI=true that is a
failure. Set RNN_SCREENSHOTS=<folder> to keep screenshots of chapter 08, of the lab after "Run All" and of
the progress bar.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import tasks
from tools import book

ROOT = Path(__file__).resolve().parent.parent
CHAPTER_08 = "08_digit_sum_memory"
NOTEBOOK_00 = ROOT / "notebooks" / "00_environment_check.ipynb"
SCREENSHOTS = os.environ.get("RNN_SCREENSHOTS")
# Chromium as root in a container, with no background traffic to Google's hosts (closed network).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Generous limits (seconds): they only matter when something hangs; a quiet 2-core machine needs far less.
LAB_START_S, KERNEL_S, RUN_ALL_S, SHUTDOWN_S = 90, 90, 150, 120


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: run `python3 tasks.py setup`"
    if not tasks.BROWSER.exists():
        return (f"no {tasks.BROWSER}: install Debian's chromium package (`sudo apt-get install chromium`; "
                "`python3 tasks.py setup` does it when run as root with apt)")
    return None


@pytest.fixture(scope="module")
def browser():
    why = _missing_browser()
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: the browser tests must run, but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(tasks.BROWSER), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _context(browser, base: str, outside: list[str]):
    """A browser context whose requests to anything but ``base`` are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)

    def route(r):
        if r.request.url.startswith((base, "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context


def _screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name))


# --- (a) the book ---------------------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def book_site():
    """build/book/ (built when stale) served on a free loopback port; yields its base URL."""
    book.ensure_built(book.OUT)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(book.OUT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def book_page(browser, book_site):
    outside: list[str] = []
    context = _context(browser, book_site, outside)
    page = context.new_page()
    page.goto(f"{book_site}/index.html")
    page.locator(f"article a[href*='{CHAPTER_08}']").first.click()
    page.wait_for_load_state("load")
    yield page, outside
    context.close()


def test_book_index_leads_to_chapter_08_and_its_heatmaps_load(book_page):
    page, outside = book_page
    assert page.url.endswith(f"notebooks/{CHAPTER_08}.html"), page.url
    page.wait_for_function("[...document.images].every(i => i.complete)")
    sizes = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
    assert sizes and all(width > 0 for _, width in sizes), f"images that did not load: {sizes}"
    heatmaps = page.locator("div.cell", has_text="heatmap").locator("img")
    assert heatmaps.count() >= 1, "expected a cell drawing heatmaps with an image on chapter 08"
    widths = heatmaps.evaluate_all("els => els.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), f"heatmap images did not load: natural widths {widths}"
    heatmaps.first.scroll_into_view_if_needed()
    _screenshot(page, "book_chapter_08.png")
    assert not outside, f"the page asked for other hosts: {outside}"


def test_book_equations_are_typeset_by_the_books_own_mathjax(book_page):
    page, outside = book_page
    page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
    assert page.locator("mjx-merror").count() == 0, "MathJax reported an error in an equation"
    scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(s => s.includes('tex-chtml'))")
    assert len(scripts) == 1 and f"/{book.MATHJAX_DIR}/tex-chtml.js" in scripts[0], scripts
    assert page.evaluate("window.MathJax && window.MathJax.version").startswith("3."), "MathJax 3 expected"
    assert not outside, f"the page asked for other hosts: {outside}"


def test_book_solution_hidden_until_its_toggle_is_clicked(book_page):
    page, _ = book_page
    toggle = page.locator("details.hide", has=page.locator("summary", has_text=book.SHOW_SOLUTION)).first
    code = toggle.locator(".cell_input")
    assert code.count() == 1 and not code.is_visible(), "a solution is visible before its toggle is clicked"
    toggle.locator("summary").click()
    code.wait_for(state="visible", timeout=5_000)
    assert book.HIDE_SOLUTION in toggle.locator("summary").inner_text()


def test_book_search_finds_forget_gate(browser, book_site):
    outside: list[str] = []
    context = _context(browser, book_site, outside)
    page = context.new_page()
    page.goto(f"{book_site}/search.html?q=forget+gate")
    page.wait_for_selector("ul.search li", timeout=30_000)
    hits = page.locator("ul.search li a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    context.close()
    assert any("02_lstm_gates" in h for h in hits), f"expected chapter 02 among the hits, got {hits}"
    assert not outside, f"the search page asked for other hosts: {outside}"


# --- (b) JupyterLab through tasks.py lab ----------------------------------------------------------------

SCRATCH_CELL = '''\
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.train import fit

torch.manual_seed(0)
data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
model = nn.Linear(4, 2)


def slow_loss(logits, y):  # a slow step keeps the bar on screen for a few seconds
    time.sleep(0.1)
    return nn.functional.cross_entropy(logits, y)


history = fit(model, DataLoader(data, batch_size=8), loss_fn=slow_loss, epochs=5, device="cpu",
              optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=True)
print(f"trained {len(history.train_loss)} steps")
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A `tasks.py lab` process on a temporary folder."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.token = folder, _free_port(), "rnn-browser-test"
        self.root = folder / "notebooks"
        self.root.mkdir()
        # Notebook 00 without its committed outputs and execution counts: what the browser shows
        # after "Run All" must come from this run.
        nb00 = nbformat.read(NOTEBOOK_00, as_version=4)
        for cell in nb00.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb00, self.root / NOTEBOOK_00.name)
        scratch = new_notebook(cells=[new_code_cell(SCRATCH_CELL)],
                               metadata={"kernelspec": nb00.metadata.kernelspec})  # no kernel dialog
        nbformat.write(scratch, self.root / "scratch_progress.ipynb")
        self.runtime = folder / "runtime"
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.runtime),
                   JUPYTER_CONFIG_DIR=str(folder / "cfg"))
        cmd = [sys.executable, str(ROOT / "tasks.py"), "lab", "--no-browser", f"--port={self.port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root}"]
        self.log = folder / "lab.log"
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-25:])

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + LAB_START_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"tasks.py lab exited early:\n{self.log_tail()}"
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"JupyterLab did not answer within {LAB_START_S} s:\n{self.log_tail()}")

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    lab = Lab(tmp_path_factory.mktemp("lab"))
    try:
        lab.wait_until_up()
        yield lab
    finally:
        lab.stop()


def _open_notebook(browser, lab: Lab, name: str, outside: list[str]):
    context = _context(browser, lab.base, outside)
    page = context.new_page()
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=LAB_START_S * 1000)
    _wait_for_idle_kernel(page)
    return context, page


def _wait_for_idle_kernel(page) -> None:
    """Wait until the status bar reads "<kernel> | Idle": the kernel is started and connected."""
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=KERNEL_S * 1000)


def _run_all(page) -> None:
    """Run > Run All Cells, through the menus as a student would (again if nothing started)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_function(f"({_CELLS_STATE})().some(c => /\\[(\\*|\\d+)\\]/.test(c.prompt))",
                                   timeout=20_000)
            return
        except PlaywrightTimeout:  # the click did not start a run
            continue
    raise AssertionError("Run > Run All Cells started nothing")


STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
_CELLS_STATE = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]
    .map(c => ({prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
                outputs: c.querySelectorAll('.jp-OutputArea-output').length,
                errors: [...c.querySelectorAll('STDERR')]
                        .map(e => e.textContent).filter(t => /Traceback|Error/.test(t))}))"""
_CELLS_STATE = _CELLS_STATE.replace("STDERR", STDERR)


def _wait_until_ran(page, timeout_s: float) -> list[dict]:
    """Wait until every code cell has an execution count, or one shows an error; return the cells."""
    page.wait_for_function(f"""() => {{ const cells = ({_CELLS_STATE})();
        return cells.length > 0 && (cells.every(c => /\\[\\d+\\]/.test(c.prompt))
                                    || cells.some(c => c.errors.length)); }}""", timeout=timeout_s * 1000)
    _wait_for_idle_kernel(page)
    return page.evaluate(f"({_CELLS_STATE})()")


def test_lab_runs_notebook_00_in_the_browser(browser, lab):
    outside: list[str] = []
    context, page = _open_notebook(browser, lab, NOTEBOOK_00.name, outside)
    try:
        _run_all(page)
        cells = _wait_until_ran(page, RUN_ALL_S)
        _screenshot(page, "lab_after_run_all.png")
    finally:
        context.close()
    errors = [c["errors"] for c in cells if c["errors"]]
    assert not errors, f"notebook 00 raised in the browser: {errors}"
    unrun = [i for i, c in enumerate(cells) if "[" not in c["prompt"] or "*" in c["prompt"]]
    assert not unrun, f"code cells {unrun} did not run: {[cells[i]['prompt'] for i in unrun]}"
    committed = [c for c in nbformat.read(NOTEBOOK_00, as_version=4).cells if c.cell_type == "code"]
    assert len(cells) == len(committed), f"expected {len(committed)} code cells, the lab shows {len(cells)}"
    silent = [i for i, (c, nb_cell) in enumerate(zip(cells, committed, strict=True))
              if nb_cell.outputs and not c["outputs"]]
    assert not silent, f"code cells {silent} have outputs in the committed copy but none in the browser"
    assert not outside, f"the lab asked for other hosts: {outside}"


def test_lab_shows_the_training_progress_bar_as_a_widget(browser, lab):
    outside: list[str] = []
    context, page = _open_notebook(browser, lab, "scratch_progress.ipynb", outside)
    try:
        _run_all(page)
        bar = page.locator(".jp-OutputArea-output .widget-hprogress .progress-bar")  # ipywidgets' bar
        bar.first.wait_for(state="visible", timeout=KERNEL_S * 1000)
        _screenshot(page, "lab_progress_bar.png")
        label = page.locator(".jp-OutputArea-output .widget-html-content").first.inner_text()
        page.locator(".jp-OutputArea-output", has_text="trained 40 steps").wait_for(timeout=60_000)
        texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    finally:
        context.close()
    assert "training" in label, f"expected the bar's label to read 'training', got {label!r}"
    as_text = [t for t in texts if "%|" in t or "it/s]" in t or "step/s]" in t]
    assert not as_text, f"the progress bar was printed as text: {as_text}"


def test_students_lab_hides_nbgrader_instructor_panels_and_news(browser, lab):
    with urllib.request.urlopen(f"{lab.base}/lab?token={lab.token}", timeout=10) as r:
        html = r.read().decode()
    start = html.index('id="jupyter-config-data"')
    config = json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])
    disabled = config.get("disabledExtensions", [])
    for plugin in tasks.NBGRADER_INSTRUCTOR_PLUGINS + tasks.NEWS_PLUGINS:
        assert plugin in disabled, f"{plugin} is not disabled in the students' lab: {disabled}"
    outside: list[str] = []
    context, page = _open_notebook(browser, lab, NOTEBOOK_00.name, outside)
    try:
        tabs = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
            "els => els.map(e => e.getAttribute('title') || e.textContent)")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        items = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
        page.keyboard.press("Escape")
        toasts = page.locator(".Toastify__toast").all_inner_texts()
    finally:
        context.close()
    panels = [t for t in tabs if "Assignment" in (t or "")]
    assert not panels, f"an nbgrader instructor panel is shown: {tabs}"
    menu = {"Formgrader", "Course List", "Create assignment"} & set(items)
    assert not menu, f"the Nbgrader menu offers instructor items: {items}"
    assert not [t for t in toasts if "news" in t.lower()], f"a news prompt is shown: {toasts}"


def test_lab_config_hides_instructor_panels_unless_asked():
    student = json.loads((tasks.lab_config_dir(False) / "labconfig" / "page_config.json").read_text())
    instructor = json.loads((tasks.lab_config_dir(True) / "labconfig" / "page_config.json").read_text())
    for plugin in tasks.NBGRADER_INSTRUCTOR_PLUGINS:
        assert student["disabledExtensions"].get(plugin) is True
        assert plugin not in instructor["disabledExtensions"], f"--instructor still disables {plugin}"
    for plugin in tasks.NEWS_PLUGINS:
        assert student["disabledExtensions"][plugin] and instructor["disabledExtensions"][plugin]


def test_lab_stops_cleanly(lab):
    """Jupyter's shutdown request (what File > Shut Down sends): the server stops its kernels and exits 0."""
    kernels_url = f"{lab.base}/api/kernels?token={lab.token}"
    with urllib.request.urlopen(kernels_url, timeout=30) as r:
        running = json.load(r)
    assert running, "expected the kernels started by the tests above to be running"
    request = urllib.request.Request(f"{lab.base}/api/shutdown?token={lab.token}", method="POST")
    with urllib.request.urlopen(request, timeout=60) as r:
        assert r.status == 200, r.status
    code = lab.proc.wait(timeout=SHUTDOWN_S)
    assert code == 0, f"tasks.py lab exited with {code}:\n{lab.log_tail()}"
    left = sorted(p.name for p in lab.runtime.glob("*") if p.name.startswith(("kernel-", "jpserver-")))
    assert not left, f"the lab left runtime files behind (kernels or server not shut down): {left}"
    log = lab.log.read_text(errors="replace")
    expected = f"Shutting down {len(running)} kernel"
    assert expected in log, f"expected {expected!r} in the lab's log:\n{lab.log_tail()}"
