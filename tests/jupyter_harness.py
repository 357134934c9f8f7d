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
