"""A real Jupyter server on a free loopback port, and the sandboxed Chromium that tests drive.

The server is started with a random token, polled until ``/api/status`` answers, and always
stopped (by its pid) afterwards; its log is in the message when it fails to start.

The browser (:func:`launch_test_browser`) runs in the page renderer's sandbox, not as root:
the pages a test opens are the product's untrusted outputs (live pages, apps, games), so the
test browser is held like the product's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from arena_kit.web.bridge import Bridge
from arena_kit.web.browser import CHROMIUM_ARGS, BrowserUnavailableError, _chromium
from arena_kit.web.browser_sandbox import BrowserSandbox


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
        yield SimpleNamespace(origin=origin, url=origin + base_url, pid=server.pid, port=port)
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
    written); yields ``url`` (ends in ``/``), ``token``, ``pid`` and ``port``."""
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
        yield SimpleNamespace(url=server.url, token=token, pid=server.pid, port=port)


def open_and_run_all(page: Any, lab: SimpleNamespace, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab with a Playwright ``page`` and run all its cells once
    the kernel is idle (the "news?" toast, if it shows, is answered No)."""
    page.goto(f"{lab.url}lab/tree/{notebook}?token={lab.token}")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    with contextlib.suppress(Exception):
        page.get_by_role("button", name="No", exact=True).click(timeout=3_000)
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_text("Run All Cells", exact=True).click()


FILE_URL = "http://file.arena.invalid/"
"""Where :func:`open_file_offline` serves a local file (answered by Playwright, never resolved)."""


def open_file_offline(page: Any, path: Path) -> list[str]:
    """Open the local HTML file ``path`` in ``page`` with no network; returns the list of the
    other requests it made (aborted; a self-contained page leaves it empty).

    The sandboxed browser sees none of the host's files, so Playwright itself answers the
    file's made-up address (``FILE_URL`` + its name) with its bytes.
    """
    url = FILE_URL + path.name
    remote: list[str] = []

    def route(request_route: Any) -> None:
        target = request_route.request.url
        if target == url:
            request_route.fulfill(path=str(path))
        elif target.startswith("data:"):
            request_route.continue_()
        else:
            remote.append(target)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return remote


class SandboxedTestBrowser:
    """The sandbox around a browser from :func:`launch_test_browser`; calling it (or
    :meth:`close`) stops the browser, its bridges and every process it left."""

    def __init__(self, browser: Any, sandbox: BrowserSandbox) -> None:
        self.browser = browser
        self.sandbox = sandbox
        self.bridges: list[Bridge] = []
        self._closed = False

    def bridge(self, port: int) -> Bridge:
        """Make the host's ``127.0.0.1:port`` reachable from the browser at that same URL
        (closed with the browser; close it sooner when the port's server stops first)."""
        bridge = self.sandbox.bridge(port)
        self.bridges.append(bridge)
        return bridge

    def pids(self) -> list[int]:
        """Every process of the browser (its cgroup's members, or the tree under its pid)."""
        return self.sandbox.pids()

    def close(self) -> None:
        """Close the browser and the bridges, kill what is left by pid, remove the cgroup
        (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):  # a crashed browser, a stopped Playwright
            self.browser.close()
        for bridge in self.bridges:
            bridge.close()
        self.bridges.clear()
        # What the browser's close left behind, by pid: only processes still in the browser's
        # network namespace (held open, so its inode is not reused), never a recycled pid.
        netns = self.sandbox.netns
        inode = os.fstat(netns).st_ino if netns is not None else None
        for pid in self.pids():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{pid}/ns/net").st_ino == inode:
                    os.kill(pid, signal.SIGKILL)
        self.sandbox.close()  # and the cgroup: every member killed, the group removed

    __call__ = close


def _host_uids(pid: int) -> list[int]:
    """The real, effective, saved and filesystem uids of ``pid`` (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(field) for field in line.split()[1:]]
    raise RuntimeError(f"/proc/{pid}/status has no Uid line")


def launch_test_browser(
    playwright: Any, ports: Iterable[int] = (), **launch_kwargs: Any
) -> tuple[Any, SandboxedTestBrowser]:
    """Chromium for a test, in the page renderer's sandbox; returns ``(browser, cleanup)``.

    The browser runs as :class:`~arena_kit.web.browser_sandbox.BrowserSandbox` runs the
    product's: in its own cgroup, as the unprivileged sandbox uid (``setpriv``, no
    capabilities), under the seccomp filter, in bubblewrap with a network namespace of its
    own. Each of ``ports`` (the Jupyter or Voilà server the test started, a listener of its
    own) is bridged into that namespace, so ``http://127.0.0.1:<port>`` (and its websockets)
    works unchanged in the browser; every other host port is unreachable from its pages.
    ``cleanup.bridge(port)`` adds one later. ``launch_kwargs`` go to Playwright's
    ``chromium.launch`` (``args`` defaults to the renderer's ``CHROMIUM_ARGS``).

    Always call ``cleanup()`` (in a ``finally``): it closes the browser and the bridges, then
    kills what is left by pid and removes the cgroup.
    """
    if shutil.which("bwrap") is None:  # never fall back to a browser outside the sandbox
        raise BrowserUnavailableError(
            "bubblewrap is not installed and the test browser runs in the renderer's sandbox: "
            "run scripts/setup-system.sh (apt-get install bubblewrap)"
        )
    sandbox = BrowserSandbox(_chromium())
    options: dict[str, Any] = sandbox.launch_options()
    options["env"] = {**options["env"], **launch_kwargs.pop("env", {})}
    launch_kwargs.setdefault("args", list(CHROMIUM_ARGS))
    try:
        browser = playwright.chromium.launch(**options, **launch_kwargs)
    except BaseException:
        sandbox.close()
        raise
    cleanup = SandboxedTestBrowser(browser, sandbox)
    try:
        sandbox.attach()
        assert sandbox.pid is not None
        if 0 in _host_uids(sandbox.pid):  # the uid layer was switched off: refuse to go on
            raise RuntimeError(f"the test browser (pid {sandbox.pid}) runs as host root")
        for port in ports:
            cleanup.bridge(port)
    except BaseException:
        cleanup()
        raise
    return browser, cleanup
