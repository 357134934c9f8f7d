"""The test browser is contained like the product's page renderer (issue 14).

Every browser test opens the product's untrusted outputs (live pages, apps, games) in a
Chromium of its own, started by :func:`jupyter_harness.launch_test_browser`. These checks do
not take the helper's word for it: the browser's processes are found from the test process
down (``/proc``), their uids and network namespace are read from the kernel, and a page tries
real connections to two listeners the test starts on 127.0.0.1 — one bridged, one not.
"""

from __future__ import annotations

import contextlib
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jupyter_harness import launch_test_browser
from test_web_csp import _Listener  # a loopback HTTP server that records every path

from arena_kit.web.bridge import children  # the kernel's child lists, from /proc
from arena_kit.web.browser import _chromium
from arena_kit.web.browser_sandbox import chromium_binary

pytestmark = [
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no system Chromium"),
    pytest.mark.skipif(
        os.geteuid() != 0 and os.environ.get("CI") != "true",
        reason="containment as root (CI runs as root)",
    ),
]


def _drivers() -> set[int]:
    """Playwright drivers running as children of this test process."""
    return {p for p in children(os.getpid()) if _exe(p).endswith("playwright/driver/node")}


_EARLIER_DRIVERS: set[int] = set()
"""Drivers that were running before the test began: other tests of this pytest process leave
the product's page renderer (a long-lived, separately sandboxed browser) running."""


@pytest.fixture(autouse=True)
def _note_earlier_drivers() -> None:
    # Autouse: it runs before the test's other fixtures start a browser.
    _EARLIER_DRIVERS.clear()
    _EARLIER_DRIVERS.update(_drivers())


def _browser_processes() -> list[int]:
    """Every process under the Playwright driver this test started (a child of this test
    process): the wrapper, bwrap, Chromium and its helpers — from the kernel's child lists."""
    drivers = _drivers() - _EARLIER_DRIVERS
    found: list[int] = []
    pending = [child for driver in drivers for child in children(driver)]
    while pending:
        pending += children(pid := pending.pop())
        found.append(pid)
    return found


def _exe(pid: int) -> str:
    """The program ``pid`` runs ("" once it has ended)."""
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/exe")
    return ""


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _netns(pid: int | str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def _settled(alive: Callable[[], list[int]], timeout_s: float = 10) -> list[int]:
    """``alive()`` once it is empty, or as it is after ``timeout_s`` (killed processes take a
    moment to be reaped)."""
    deadline = time.monotonic() + timeout_s
    while (found := alive()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def listeners() -> Iterator[tuple[_Listener, _Listener]]:
    bridged, unbridged = _Listener(), _Listener()
    yield bridged, unbridged
    for server in (bridged, unbridged):
        server.shutdown()
        server.server_close()


@pytest.fixture
def sandboxed(listeners):
    """A test browser with one listener bridged; yields (browser, cleanup)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [listeners[0].port])
        try:
            yield browser, cleanup
        finally:
            cleanup()


def test_every_browser_process_is_unprivileged_and_in_a_network_namespace_of_its_own(sandboxed):
    browser, cleanup = sandboxed
    page = browser.new_page()
    page.set_content("<p>a renderer runs</p>")  # a renderer process, not only the browser
    processes = _browser_processes()
    chromium = [pid for pid in processes if _exe(pid) == chromium_binary(_chromium())]
    assert len(chromium) >= 2, processes  # the browser and at least one renderer
    host = _netns("self")
    for pid in processes:
        status = _status(pid)
        uids = [int(u) for u in status["Uid"].split()]
        gids = [int(g) for g in status["Gid"].split()]
        assert 0 not in uids and 0 not in gids, (pid, status["Uid"], status["Gid"])
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0, pid
        assert status["NoNewPrivs"].strip() == "1", pid
    for pid in chromium:
        assert _status(pid)["Seccomp"].strip() == "2", pid  # a filter is on (mode 2)
        assert _netns(pid) != host, pid
    # They are all counted by the sandbox (its cgroup), so cleanup reaches every one.
    assert set(processes) <= set(cleanup.pids())


def test_a_page_reaches_the_bridged_port_and_no_other(sandboxed, listeners):
    browser, _ = sandboxed
    bridged, unbridged = listeners
    # The control: the unbridged listener does answer on the host.
    with urllib.request.urlopen(f"{unbridged.origin}/from-host", timeout=5) as reply:
        assert reply.status == 200
    assert browser.new_page().goto(f"{bridged.origin}/bridged").status == 200
    assert "/bridged" in bridged.paths
    with pytest.raises(Exception, match="ERR_CONNECTION_REFUSED"):
        browser.new_page().goto(f"{unbridged.origin}/navigated", timeout=10_000)
    # From a page's own script too: fetch to the unbridged port fails, to the bridged one works.
    page = browser.new_page()
    page.goto(f"{bridged.origin}/page")
    fetch = """async (url) => {
      try { await fetch(url, {mode: "no-cors"}); return "reached"; }
      catch (error) { return "failed"; }
    }"""
    assert page.evaluate(fetch, f"{bridged.origin}/fetched") == "reached"
    assert page.evaluate(fetch, f"{unbridged.origin}/fetched") == "failed"
    assert "/fetched" in bridged.paths
    assert unbridged.paths == ["/from-host"]  # nothing from the browser ever arrived


def test_cleanup_stops_every_process_and_the_bridge(sandboxed, listeners):
    browser, cleanup = sandboxed
    browser.new_page().set_content("<p>x</p>")
    pids = cleanup.pids()
    assert pids
    cleanup()
    assert _settled(lambda: [p for p in pids if Path(f"/proc/{p}").exists()]) == []
    assert cleanup.bridges == [] and _settled(_browser_processes) == []


def test_a_browser_that_would_run_as_root_is_refused(monkeypatch, listeners):
    """The layer switch: with the uid drop off the wrapper starts bwrap as root, and the
    helper refuses to hand that browser to a test (so the checks above can fail)."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "uid")
    with sync_playwright() as playwright:
        with pytest.raises(RuntimeError, match="runs as host root"):
            launch_test_browser(playwright, [listeners[0].port])
        assert _settled(_browser_processes) == []  # the refused browser was stopped
