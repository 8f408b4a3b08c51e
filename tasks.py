#!/usr/bin/env python3
"""One task runner for the collection; it needs nothing but Python >= 3.10 and pip.

    python tasks.py lab        set up .venv when needed, then open JupyterLab on notebooks/
    python tasks.py test       set up .venv when needed, then lint + unit tests + every notebook (CI profile)
    python tasks.py setup      only create or update .venv
    python tasks.py execute    re-run notebooks top to bottom in place (full profile) to refresh outputs
    python tasks.py student    build the student versions of the notebooks into build/student/
    python tasks.py edition    build the student edition to hand out: build/edition/<name>/ and its zip
    python tasks.py bench      time every notebook and the model throughputs (benchmarks/results/)
    python tasks.py book       build the read-only HTML book into build/book/ (offline, nothing executed)

The set-up is skipped when .venv already matches pyproject.toml and constraints.txt
(a stamp file records their hash), so re-running a command takes seconds.
Extra arguments after the task name go to the underlying tool (jupyter lab, pytest, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("RNN_VENV", ROOT / ".venv"))
CONSTRAINTS = ROOT / "constraints.txt"
STAMP = VENV / ".rnn-setup-stamp"
NOTEBOOKS = ROOT / "notebooks"
# The two install steps. d2l goes in separately with --no-deps: its own pins cannot install.
INSTALL_STEPS = (
    ["-m", "pip", "install", "-c", str(CONSTRAINTS), "-e", f"{ROOT}[test,instructor,site]"],
    ["-m", "pip", "install", "--no-deps", "-c", str(CONSTRAINTS), "d2l"],
)
#: A student edition (``tasks.py edition``) is marked by this file, written by tools/edition.py.
IS_EDITION = (ROOT / "edition.json").exists()
LINT_TARGETS = ["helpers", "tools", "tests", "notebooks", "benchmarks", "tasks.py"]


def venv_bin(name: str) -> Path:
    """Path of an executable inside the project's virtual environment."""
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    # The steps without this folder's path: a copy of the project (e.g. a student edition tested
    # with RNN_VENV pointing at an existing environment) with the same pins needs no reinstall.
    digest.update(repr(INSTALL_STEPS).replace(str(ROOT), "<root>").encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)


def setup() -> None:
    """Create .venv if missing and install the pinned packages when the inputs changed."""
    if sys.version_info < (3, 10):  # noqa: UP036 (runs before anything else is installed)
        sys.exit(f"Python >= 3.10 is needed, this is {sys.version.split()[0]}.")
    wanted = _wanted_stamp()
    python = venv_bin("python")
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        print(f"environment up to date: {VENV}", flush=True)
        return
    if IS_EDITION and "RNN_VENV" in os.environ and python.exists():
        # An existing environment named by RNN_VENV, made for other pins: installing this copy into
        # it would re-point its `helpers` here, away from the copy it was made for.
        sys.exit(f"{VENV} (RNN_VENV) does not match this edition's pyproject.toml and constraints.txt; "
                 "refusing to reinstall it from here. Unset RNN_VENV to set up this folder's own .venv.")
    if not python.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    for step in INSTALL_STEPS:
        _run([python, *step])
    STAMP.write_text(wanted + "\n")
    print(f"environment ready: {VENV}", flush=True)
    if not IS_EDITION:
        ensure_browser()


#: Debian's Chromium, which the browser tests (tests/test_browser.py) drive with Playwright;
#: Playwright's own browser download cannot work offline.
BROWSER = Path("/usr/bin/chromium")


def ensure_browser() -> None:
    """Install Debian's chromium when it is missing and we are root with apt; else say how to get it.

    Set RNN_NO_BROWSER_INSTALL=1 to skip the installation.
    """
    if BROWSER.exists() or os.environ.get("RNN_NO_BROWSER_INSTALL"):
        return
    apt = shutil.which("apt-get")
    if not (apt and _is_root()):
        print(f"note: no {BROWSER}: the browser tests will be skipped. To run them, install "
              "Debian's chromium package (sudo apt-get install chromium).", flush=True)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        _run([apt, "-q", "update"], env=env)
        _run([apt, "-q", "install", "-y", "chromium"], env=env)
    except subprocess.CalledProcessError as err:
        print(f"note: installing chromium failed ({err}); the browser tests will be skipped "
              "(under CI=true they fail).", flush=True)


def _env(profile: str | None = None, progress: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    if not progress:  # headless runs: no progress-bar widgets in the saved outputs
        env["RNN_PROGRESS"] = "0"
        # The models here are small: one thread per process is as fast as two on a 2-core
        # machine and far steadier when anything else runs. Override by setting it yourself.
        env.setdefault("OMP_NUM_THREADS", "1")
    env["PATH"] = str(venv_bin("python").parent) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env.pop("PYTHONHOME", None)
    # This folder's own helpers/ come first, also when RNN_VENV is an environment installed from
    # another copy of the project.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if profile is not None:
        env["RNN_PROFILE"] = profile
    return env


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# The lab for students: no "news" prompt, and nbgrader's instructor panels (formgrader, course
# list, the create-assignment sidebar) off unless `tasks.py lab --instructor` asks for them. This
# uses Jupyter's own page_config / server-extension config in a folder of this lab only
# (build/lab-config*/, put first on JUPYTER_CONFIG_PATH); the user's Jupyter config is not touched.
INSTRUCTOR_OPTION = "--instructor"
NEWS_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]
NBGRADER_INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                               "@jupyter/nbgrader:create-assignment"]
NBGRADER_INSTRUCTOR_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader",
                                         "nbgrader.server_extensions.course_list"]


def lab_config_dir(instructor: bool = False) -> Path:
    """Write the Jupyter config folder that `lab` puts first on JUPYTER_CONFIG_PATH; return it."""
    folder = ROOT / "build" / ("lab-config-instructor" if instructor else "lab-config")
    disabled = NEWS_PLUGINS + ([] if instructor else NBGRADER_INSTRUCTOR_PLUGINS)
    server_extensions = {name: instructor for name in NBGRADER_INSTRUCTOR_SERVER_EXTENSIONS}
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in disabled}}, indent=1) + "\n")
    (folder / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": server_extensions}}, indent=1) + "\n")
    return folder


def lab(args: list[str]) -> None:
    """Open JupyterLab on notebooks/ with the project's environment as the kernel.

    ``--instructor`` keeps nbgrader's instructor panels, which the students' lab hides.
    """
    setup()
    instructor = INSTRUCTOR_OPTION in args
    args = [a for a in args if a != INSTRUCTOR_OPTION]
    env = _env()
    config_path = [str(lab_config_dir(instructor)), env.get("JUPYTER_CONFIG_PATH", "")]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in config_path if p)
    cmd = [str(venv_bin("jupyter")), "lab",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if not any(a.startswith(("--ServerApp.root_dir", "--notebook-dir")) for a in args):
        cmd.append(f"--ServerApp.root_dir={NOTEBOOKS}")  # notebooks/, unless another folder is asked for
    if _is_root():  # JupyterLab refuses to run as root without this flag.
        cmd.append("--allow-root")
    cmd += args
    print("+", " ".join(cmd), flush=True)
    if os.name == "nt":
        sys.exit(subprocess.call(cmd, env=env))
    os.execve(cmd[0], cmd, env)


def test(args: list[str]) -> None:
    """Lint, then run the unit tests and execute every notebook with nbval (CI profile).

    In a student edition (it has edition.json and no tests/): run the student notebooks in the
    CI profile up to their exercise stubs and report each exercise (tools/student_run.py).
    """
    setup()
    env = _env(profile="ci", progress=False)
    if IS_EDITION:
        _run([venv_bin("python"), "-m", "tools.student_run", *args], env=env)
        return
    ensure_browser()
    targets = [t for t in LINT_TARGETS if (ROOT / t).exists()]
    _run([venv_bin("ruff"), "check", *targets], env=env)
    # Two workers (pytest-xdist, --dist loadfile): each test file, and each notebook with all of its
    # cells (nbval needs one kernel), runs in one worker. RNN_TEST_WORKERS=0 runs in one process.
    workers = os.environ.get("RNN_TEST_WORKERS", "2")
    _run([venv_bin("python"), "-m", "pytest", "tests", "notebooks", "-n", workers, "--dist", "loadfile",
          "--nbval-lax", "--nbval-current-env",
          "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
          "--nbval-cell-timeout", "600", *args], env=env)


def execute(args: list[str]) -> None:
    """Execute notebooks top to bottom in place in the full profile (what is committed)."""
    setup()
    paths = args or sorted(str(p) for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        _run([venv_bin("jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace",
              "--ExecutePreprocessor.timeout=1200",
              # CurveZMQ keys for the kernel: encrypted, and no "running over TCP without encryption"
              "--KernelManager.transport_encryption=auto",
              path], env=_env(profile="full", progress=False))


def student(args: list[str]) -> None:
    """Build the student versions (solutions stubbed, hidden tests removed, outputs cleared)."""
    setup()
    _run([venv_bin("python"), "-m", "tools.exercises", "build", *args], env=_env())


def edition(args: list[str]) -> None:
    """Build the student edition: a folder and a zip to hand out, without solutions or hidden tests."""
    setup()
    _run([venv_bin("python"), "-m", "tools.edition", *args], env=_env())


def bench(args: list[str]) -> None:
    """Time every notebook and the model throughputs; write benchmarks/results/*.json."""
    setup()
    _run([venv_bin("python"), "benchmarks/run.py", *args], env=_env())


def book(args: list[str]) -> None:
    """Build the read-only HTML book into build/book/ from the committed notebooks (tools/book.py)."""
    setup()
    _run([venv_bin("python"), "-m", "tools.book", "build", *args], env=_env())


TASKS = {"setup": lambda args: setup(), "lab": lab, "test": test, "execute": execute,
         "student": student, "edition": edition, "bench": bench, "book": book}
if IS_EDITION:  # a student edition carries only what students run
    TASKS = {name: TASKS[name] for name in ("setup", "lab", "test")}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in TASKS:
        print(__doc__)
        sys.exit(0 if not argv or argv[0] in ("-h", "--help") else f"unknown task {argv[0]!r}")
    try:
        TASKS[argv[0]](argv[1:])
    except subprocess.CalledProcessError as err:
        sys.exit(err.returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
