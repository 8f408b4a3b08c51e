"""Running notebooks and code in a Jupyter kernel of this very Python environment.

* :func:`chapter_notebooks`, :func:`chapter_number`: the numbered chapter files;
* :func:`execute`: run a whole notebook top to bottom (used by ``benchmarks/run.py``);
* :class:`Kernel`: one kernel kept alive across many snippets of code (used by the
  wrong-answer harness, :mod:`tools.wrong_answers`).

No kernelspec needs to be installed: the kernel is started with this interpreter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


def chapter_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in ``folder``, sorted by name."""
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


def chapter_number(path: Path) -> int | None:
    """The chapter number from a ``NN_name.ipynb`` file name, or None."""
    match = re.match(r"^(\d\d)_", Path(path).name)
    return int(match.group(1)) if match else None


def current_env_kernel_manager(*, asynchronous: bool = False):
    """A Jupyter kernel manager for a kernel in this very Python environment."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager, KernelManager

    class CurrentEnvKernelSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    manager = AsyncKernelManager if asynchronous else KernelManager
    # transport_encryption: the manager gives the kernel CurveZMQ keys (ipykernel declares support),
    # so its TCP traffic is encrypted and ipykernel does not warn "running over TCP without encryption".
    import zmq

    return manager(kernel_name="current-env", kernel_spec_manager=CurrentEnvKernelSpecs(),
                   transport_encryption="auto" if zmq.has("curve") else "disabled")


def execute(nb: NotebookNode, cwd: Path, *, timeout: int = 900, allow_errors: bool = False) -> NotebookNode:
    """Execute ``nb`` in place with a kernel of this environment, working in ``cwd``."""
    from nbclient import NotebookClient

    km = current_env_kernel_manager()
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    finally:  # the client leaves a kernel it did not create running: stop it here
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def cell_error(cell: NotebookNode) -> str | None:
    """The exception name an executed code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "error")
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class RunResult:
    """What one snippet did in the kernel: the exception it raised (if any) and its text output."""

    ename: str | None
    evalue: str
    traceback: str
    stdout: str

    @property
    def ok(self) -> bool:
        return self.ename is None

    def describe(self, limit: int = 3000) -> str:
        """The output and the error, as a reader of a test failure wants to see them."""
        text = self.stdout
        if self.ename is not None:
            text += self.traceback or f"{self.ename}: {self.evalue}"
        text = text.strip() or "(no output)"
        return text if len(text) <= limit else "...\n" + text[-limit:]


class Kernel:
    """A kernel of this environment that runs snippets one after another in one namespace.

    ``with Kernel(cwd, env={"RNN_PROFILE": "ci"}) as kernel: result = kernel.run("x = 1")``.
    ``env`` is added to this process's environment for the kernel. A snippet that runs
    longer than ``timeout`` seconds is interrupted and reports ``CellTimeoutError``.
    """

    def __init__(self, cwd: Path, *, env: Mapping[str, str] | None = None, timeout: int = 900):
        self.cwd, self.timeout = Path(cwd), timeout
        self.env = {**os.environ, **(env or {})}
        self._client = None
        self._context = None
        self._reply = None

    def __enter__(self) -> Kernel:
        from nbclient import NotebookClient

        self._client = NotebookClient(new_notebook(cells=[new_code_cell("")]),
                                      km=current_env_kernel_manager(asynchronous=True), timeout=self.timeout,
                                      allow_errors=True, interrupt_on_timeout=True,
                                      error_on_timeout={"ename": "CellTimeoutError",
                                                        "evalue": f"interrupted after {self.timeout} s",
                                                        "traceback": []},
                                      on_cell_executed=self._remember_reply,
                                      resources={"metadata": {"path": str(self.cwd)}})
        self._context = self._client.setup_kernel(cwd=str(self.cwd), env=self.env)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        client, self._client = self._client, None
        try:
            self._context.__exit__(*exc)
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
            if client.km is not None and client.km.has_kernel:
                from nbclient.util import run_sync

                run_sync(client.km.shutdown_kernel)(now=True)

    def _remember_reply(self, cell, cell_index, execute_reply) -> None:
        self._reply = execute_reply

    def run(self, source: str) -> RunResult:
        """Execute ``source`` in the kernel; errors are returned, not raised."""
        if self._client is None:
            raise RuntimeError("start the kernel first: use `with Kernel(...) as kernel:`")
        cell = new_code_cell(source)
        self._client.nb.cells[0] = cell
        self._reply = None
        self._client.execute_cell(cell, 0)
        stdout, ename, evalue, trace = [], None, "", ""
        for output in cell.outputs:
            kind = output.get("output_type")
            if kind == "stream":
                stdout.append(output.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                stdout.append(output.get("data", {}).get("text/plain", "") + "\n")
            elif kind == "error":
                ename, evalue = output.get("ename", "error"), output.get("evalue", "")
                trace = _ANSI.sub("", "\n".join(output.get("traceback", []))) + "\n"
        content = (self._reply or {}).get("content", {})
        if content.get("ename") == "CellTimeoutError" or (ename is None and content.get("status") == "error"):
            ename, evalue = content.get("ename", "error"), content.get("evalue", "")  # interrupted
        return RunResult(ename, evalue, trace, "".join(stdout))
