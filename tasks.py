#!/usr/bin/env python3
"""One task runner for the collection; it needs nothing but Python >= 3.10 and pip.

    python tasks.py lab        set up .venv when needed, then open JupyterLab on notebooks/
    python tasks.py test       set up .venv when needed, then lint + unit tests + every notebook (CI profile)
    python tasks.py setup      only create or update .venv
    python tasks.py execute    re-run notebooks top to bottom in place (full profile) to refresh outputs
    python tasks.py student    build the student versions of the notebooks into build/student/
    python tasks.py edition    build the student edition to hand out: build/edition/<name>/ and its zip
    python tasks.py bench      time every notebook and the model throughputs (benchmarks/results/)

The set-up is skipped when .venv already matches pyproject.toml and constraints.txt
(a stamp file records their hash), so re-running a command takes seconds.
Extra arguments after the task name go to the underlying tool (jupyter lab, pytest, ...).
"""

from __future__ import annotations

import hashlib
import os
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
    ["-m", "pip", "install", "-c", str(CONSTRAINTS), "-e", f"{ROOT}[test,instructor]"],
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
    if not python.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    for step in INSTALL_STEPS:
        _run([python, *step])
    STAMP.write_text(wanted + "\n")
    print(f"environment ready: {VENV}", flush=True)


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


def lab(args: list[str]) -> None:
    """Open JupyterLab on notebooks/ with the project's environment as the kernel."""
    setup()
    cmd = [str(venv_bin("jupyter")), "lab", f"--ServerApp.root_dir={NOTEBOOKS}"]
    if _is_root():  # JupyterLab refuses to run as root without this flag.
        cmd.append("--allow-root")
    cmd += args
    print("+", " ".join(cmd), flush=True)
    if os.name == "nt":
        sys.exit(subprocess.call(cmd, env=_env()))
    os.execve(cmd[0], cmd, _env())


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
    targets = [t for t in LINT_TARGETS if (ROOT / t).exists()]
    _run([venv_bin("ruff"), "check", *targets], env=env)
    _run([venv_bin("python"), "-m", "pytest", "tests", "notebooks",
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


TASKS = {"setup": lambda args: setup(), "lab": lab, "test": test, "execute": execute,
         "student": student, "edition": edition, "bench": bench}
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
