"""A real Jupyter server on a free loopback port, for the tests that drive one in Chromium.

Started with a random token, polled until ``/api/status`` answers, and always stopped (by its
pid) afterwards; its log is in the message when it fails to start.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_jupyter(
    command: list[str],
    *,
    port: int,
    token: str,
    log_path: Path,
    base_url: str = "/",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Iterator[SimpleNamespace]:
    """Run ``command`` (a Jupyter server on 127.0.0.1:``port``); yields origin and url."""
    origin = f"http://127.0.0.1:{port}"
    log = log_path.open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"jupyter did not start in {timeout:g} s"
            with contextlib.suppress(OSError):
                status = f"{origin}{base_url}api/status?token={token}"
                with urllib.request.urlopen(status, timeout=2) as response:
                    if response.status == 200:
                        break
            time.sleep(0.3)
        yield SimpleNamespace(origin=origin, url=origin + base_url, pid=server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@contextlib.contextmanager
def running_lab(root: Path, state: Path, *, timeout: float = 60) -> Iterator[SimpleNamespace]:
    """JupyterLab serving ``root`` on a free loopback port, its settings, runtime and
    workspace folders under ``state`` (nothing of the user's own JupyterLab is read or
    written); yields ``url`` (ends in ``/``), ``token`` and ``pid``."""
    import os
    import secrets
    import sys

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(state / name.lower())
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(state / "workspaces")
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip",
        "127.0.0.1", "--port", str(port), "--allow-root", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
    ]  # fmt: skip
    with running_jupyter(
        command, port=port, token=token, log_path=state / "jupyter.log", env=env, cwd=root,
        timeout=timeout,
    ) as server:  # fmt: skip
        yield SimpleNamespace(url=server.url, token=token, pid=server.pid)


def open_and_run_all(page: Any, lab: SimpleNamespace, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab with a Playwright ``page`` and run all its cells once
    the kernel is idle (the "news?" toast, if it shows, is answered No)."""
    page.goto(f"{lab.url}lab/tree/{notebook}?token={lab.token}")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    with contextlib.suppress(Exception):
        page.get_by_role("button", name="No", exact=True).click(timeout=3_000)
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_text("Run All Cells", exact=True).click()
