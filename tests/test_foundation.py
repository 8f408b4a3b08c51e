"""The repository's foundation: dependency files agree, profiles, committed notebooks, the lab command."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
import yaml

import helpers
from helpers import config

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip ships the same parser
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _canon(name: str) -> str:
    """PEP 503 normalised package name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _req_name(requirement: str) -> str:
    return _canon(re.split(r"[<>=!~\[ ;]", requirement.strip())[0])


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_req_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {_req_name(r) for r in extra}
    return names


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_canon(name)] = version
    return pins


def _environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for entry in pip_section:
        if entry.startswith("-e"):
            continue
        name, version = entry.split("==")
        pins[_canon(name)] = version
    return pins


# --- dependency files cannot drift apart -------------------------------------------------------

def test_lock_pins_every_declared_package():
    pins = _lock_pins()
    missing = _pyproject_names() - set(pins)
    assert not missing, f"pyproject.toml names packages that constraints.txt does not pin: {missing}"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    assert pins["d2l"] == "1.0.3"


def test_environment_yml_names_the_same_packages_at_the_locked_versions():
    env_pins = _environment_pins()
    # d2l cannot go in environment.yml: it must be installed with --no-deps (README's extra step).
    assert set(env_pins) == _pyproject_names() - {"d2l"}
    lock = _lock_pins()
    wrong = {n: (v, lock[n]) for n, v in env_pins.items() if lock[n] != v}
    assert not wrong, f"environment.yml pins differ from constraints.txt (yml, lock): {wrong}"
    readme = (ROOT / "README.md").read_text()
    assert f"pip install --no-deps d2l=={lock['d2l']}" in readme
    assert f"pip install --no-deps d2l=={lock['d2l']}" in (ROOT / "environment.yml").read_text()


def test_installed_versions_match_the_lock():
    from importlib import metadata

    lock = _lock_pins()
    for name in ("torch", "torchvision", "numpy", "d2l", "nbval", "seaborn"):
        assert metadata.version(name).split("+")[0] == lock[name], name


# --- profiles, device, data folder --------------------------------------------------------------

def test_profile_defaults_to_full_and_reads_the_switch(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    assert config.profile() == "full" and config.pick(full=500, ci=40) == 500
    monkeypatch.setenv(config.PROFILE_ENV, "CI")
    assert config.profile() == "ci" and config.pick(full=500, ci=40) == 40


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match=r"Unknown run profile 'fast'.*full, ci.*RNN_PROFILE=ci"):
        config.profile()
    with pytest.raises(ValueError):
        config.setup(seed=0, quiet=True)


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert config.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.device().type == "cpu"


def test_setup_prints_profile_device_seed_and_versions_and_seeds(capsys, monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    run = helpers.setup(seed=3)
    first = torch.rand(3)
    helpers.setup(seed=3, quiet=True)
    assert torch.equal(first, torch.rand(3))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("profile : ci") and out[1].startswith("device  : ")
    assert out[2] == "seed    : 3" and out[3].startswith("versions: python ") and "torch " in out[3]
    assert run.profile == "ci" and run.seed == 3
    with pytest.raises(ValueError, match="seed"):
        helpers.seed_everything(-1)


def test_one_data_folder_is_the_top_level_data():
    assert helpers.DATA_DIR == ROOT / "data"
    assert (ROOT / "notebooks" / ".." / "data").resolve() == helpers.DATA_DIR  # d2l's default ../data


# --- committed notebooks ------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_top_to_bottom(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts} are not 1..n"
    errors = [o.get("ename") for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"{path.name}: stored error outputs {errors}"
    setup_text = "".join(
        o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
        for c in code[:2] for o in c.get("outputs", []) if o["output_type"] == "stream")
    assert "profile : full" in setup_text, f"{path.name}: committed outputs must come from the full profile"
    assert re.search(r"^device  : ", setup_text, re.M) and "seed    : " in setup_text


def test_chapter_notebooks_are_named_and_numbered():
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0].startswith("00_")
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", n) for n in names), names


# --- the lab command really serves the notebooks ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_command_serves_the_notebooks(tmp_path):
    port, token = _free_port(), "rnn-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    cmd = [sys.executable, str(ROOT / "tasks.py"), "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        listing, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        died = proc.poll() is not None
        why = proc.stderr.read1().decode() if died else "timeout"
        assert listing is not None, f"JupyterLab did not answer: {why}"
        served = {item["name"] for item in listing["content"]}
        assert {p.name for p in NOTEBOOKS} <= served
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}", timeout=5) as r:
            specs = json.load(r)
        # jupyter_client runs a kernel whose argv[0] is "python" with the server's own interpreter,
        # and the server is the project's environment's jupyter: so the kernel is that environment.
        kernel_python = specs["kernelspecs"][specs["default"]]["spec"]["argv"][0]
        in_venv = Path(kernel_python).parent == Path(sys.executable).parent
        assert kernel_python in ("python", "python3") or in_venv, kernel_python
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_progress_bars_off_in_ci_profile_and_headless_runs(monkeypatch):
    monkeypatch.delenv(config.PROGRESS_ENV, raising=False)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert config.show_progress()
    monkeypatch.setenv(config.PROGRESS_ENV, "0")
    assert not config.show_progress()
    monkeypatch.delenv(config.PROGRESS_ENV)
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    assert not config.show_progress()
