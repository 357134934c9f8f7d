"""The page renderer is sandboxed: hostile pages reach no listener, on the host or beside it.

Real Chromium, real listeners. Every listener is one the test starts itself, on loopback only:
either on the host (``127.0.0.1``) or inside the browser's own network namespace (entered as
root with ``nsenter --net``), where only the second layer — aborted requests, the dead proxy,
the WebRTC policy — stands between a page and it. Each listener records TCP connections (the
request line) and UDP datagrams; silence counts only after a control shows it would speak.

Controls turn layers off with ``ARENA_KIT_UNSAFE_DISABLE`` (tests only): ``browserns`` (the
browser's sandbox) and ``browserfilter`` (the second layer).
"""

from __future__ import annotations

import ctypes
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena_kit.sandbox.confine import sandbox_uid
from arena_kit.web.bridge import _CLONE_NEWNET, _libc
from arena_kit.web.browser import Browser
from arena_kit.web.build import Page

pytestmark = pytest.mark.slow


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="entering the browser's namespace needs root (CI runs as root)"
)
SETTLE_S = 2.0  # late traffic (ICE retries, beacons, popups) arrives within this
FILE_PNG = "/usr/share/pixmaps/debian-logo.png"

# One process, started on the host or inside a namespace: a TCP listener that answers every
# request with 200 and a UDP socket; each event is one line on stdout.
_LISTENER = r"""
import socket, sys, threading
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0)); tcp.listen(64)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
lock = threading.Lock()
def say(text):
    with lock:
        sys.stdout.write(text + "\n"); sys.stdout.flush()
def serve(conn):
    conn.settimeout(2)
    try:
        data = conn.recv(4096)
        say("tcp " + (data.split(b"\r\n")[0].decode("latin-1") if data else "(connect)"))
        conn.sendall(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: 7\r\n\r\nreached")
    except OSError:
        say("tcp (connect)")
    finally:
        conn.close()
def accept():
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
def receive():
    while True:
        data, _ = udp.recvfrom(65536)
        say("udp %d" % len(data))
threading.Thread(target=accept, daemon=True).start()
threading.Thread(target=receive, daemon=True).start()
say("ready %d %d" % (tcp.getsockname()[1], udp.getsockname()[1]))
threading.Event().wait()
"""


class Listener:
    """The listener process; ``events`` are its lines after ``ready``."""

    def __init__(self, netns_of: int | None = None) -> None:
        prefix = ["nsenter", f"--net=/proc/{netns_of}/ns/net", "--"] if netns_of else []
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-c", _LISTENER], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        self.tcp, self.udp = int(ready[1]), int(ready[2])
        self.events: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.append(line.strip())

    def wait_for(self, *wanted: str, timeout_s: float = 15.0) -> list[str]:
        """The events once each of ``wanted`` is part of one (or at the deadline)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(any(part in event for event in self.events) for part in wanted):
                break
            time.sleep(0.05)
        return list(self.events)

    def stop(self) -> None:
        self.process.kill()  # by its pid: the process this object started
        self.process.wait(timeout=10)


@pytest.fixture
def host_listener() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.stop()


def _probe_page(tcp: int, udp: int) -> Page:
    """Every way out a page has, aimed at one listener; the page says "probe ran"."""
    base = f"http://127.0.0.1:{tcp}"
    script = f"""
function rtc(server) {{
  try {{
    const pc = new RTCPeerConnection({{iceServers: [server]}});
    pc.createDataChannel("x");
    pc.createOffer().then((o) => pc.setLocalDescription(o)).catch(() => {{}});
    (window.kept = window.kept || []).push(pc);
  }} catch (e) {{}}
}}
rtc({{urls: "stun:127.0.0.1:{udp}"}});
rtc({{urls: "turn:127.0.0.1:{udp}?transport=udp", username: "u", credential: "p"}});
rtc({{urls: "turn:127.0.0.1:{tcp}?transport=tcp", username: "u", credential: "p"}});
fetch("{base}/fetch").catch(() => {{}});
const x = new XMLHttpRequest(); x.open("GET", "{base}/xhr"); x.send();
try {{ new WebSocket("ws://127.0.0.1:{tcp}/ws"); }} catch (e) {{}}
try {{ new EventSource("{base}/sse"); }} catch (e) {{}}
try {{ navigator.sendBeacon("{base}/beacon", "x"); }} catch (e) {{}}
document.getElementById("form").submit();
try {{ window.open("{base}/popup"); }} catch (e) {{}}
"""
    body = f"""<!DOCTYPE html><html><head><title>probe</title></head><body><h1>probe ran</h1>
<img src="{base}/img.png"><iframe src="{base}/frame"></iframe><iframe name="sink"></iframe>
<form id="form" method="POST" action="{base}/form" target="sink">
<input name="a" value="b"></form><script>{script}</script></body></html>"""
    return Page(body, "html")


def _navigating_page(tcp: int) -> Page:
    """A page that sends its own tab elsewhere as soon as it runs."""
    return Page(
        f'<h1>probe ran</h1><script>location.href = "http://127.0.0.1:{tcp}/nav";</script>',
        "html",
    )


def _render_probes(browser: Browser, listener: Listener, folder: Path) -> None:
    """Render the probe pages against ``listener`` and wait for late traffic."""
    render = browser.render(_probe_page(listener.tcp, listener.udp), folder / "probe.png")
    assert "probe ran" in render.checks.get("body", ""), render  # the page's code ran
    # A page that navigates away may end its render any way; only the listener matters here.
    try:
        browser.render(_navigating_page(listener.tcp), folder / "nav.png", timeout_s=10)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        print("navigating page:", type(error).__name__, error)
    time.sleep(SETTLE_S)


class _AppServer(http.server.ThreadingHTTPServer):
    """A stand-in for a live app on the host's loopback: serves one page at ``/``."""

    def __init__(self, page: str) -> None:
        body = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200 if self.path == "/" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body if self.path == "/" else b"")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _render_app_probe(browser: Browser, listener: Listener, folder: Path) -> None:
    """The probe page served by an app: a loopback origin, which Chromium's own rule for
    public pages does not hold back, in a tab whose one allowed port is the app's."""
    app = _AppServer(_probe_page(listener.tcp, listener.udp).html)
    try:
        render = browser.render_url(
            f"http://127.0.0.1:{app.port}/", folder / "app.png", port=app.port,
            ready_selector="h1", timeout_s=20, settle_ms=300,
        )  # fmt: skip
        assert "probe ran" in render.checks.get("body", ""), render
        time.sleep(SETTLE_S)
    finally:
        app.stop()


def _sandbox_pid(browser: Browser) -> int:
    """A process of the browser inside its own network namespace."""
    own = os.stat("/proc/self/ns/net").st_ino
    for pid in browser.pids():
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != own:
                return pid
        except OSError:
            continue
    raise AssertionError("no browser process in a network namespace of its own")


def _connect_in_netns(pid: int, port: int) -> None:
    """Open a TCP connection to ``127.0.0.1:port`` from inside the namespace of ``pid`` (a
    thread enters it; the test's own thread stays on the host)."""
    failures: list[BaseException] = []

    def connect() -> None:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        try:
            if _libc().setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /control HTTP/1.0\r\n\r\n")
                sock.recv(100)
        except BaseException as error:
            failures.append(error)
        finally:
            os.close(fd)

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _browser_with(monkeypatch: pytest.MonkeyPatch, layers_off: str) -> Browser:
    if layers_off:
        monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", layers_off)
    browser = Browser()
    browser.warm()
    return browser


@pytest.fixture(scope="module")
def sandboxed() -> Iterator[Browser]:
    assert "browser" not in os.environ.get("ARENA_KIT_UNSAFE_DISABLE", "")
    browser = Browser()
    browser.warm()
    yield browser
    browser.close()


# --- the sandbox itself -------------------------------------------------------------------------


def _confinement(pid: int) -> dict[str, object]:
    """What the host sees of one browser process: uids, seccomp mode, no-new-privs, effective
    capabilities, and whether its ``/proc/sys`` is mounted read-only and its key list hidden."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    mounts = {}
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5].split(",")
    return {
        "uids": {int(uid) for uid in status["Uid"].split()},
        "seccomp": int(status["Seccomp"]),
        "no_new_privs": int(status["NoNewPrivs"]),
        "caps": int(status["CapEff"], 16),
        "procsys_ro": "ro" in mounts.get("/proc/sys", []),
        "keys_hidden": "/proc/keys" in mounts,
    }


def test_the_browser_is_confined_like_every_sandbox(sandboxed):
    pids = sandboxed.pids()
    assert len(pids) >= 3  # bwrap, Chromium, its zygote/renderers: all in the browser's cgroup
    own = os.stat("/proc/self/ns/net").st_ino
    for pid in pids:
        seen = _confinement(pid)
        assert seen["uids"] == {sandbox_uid()} and sandbox_uid() != 0, (pid, seen)
        assert seen["no_new_privs"] == 1, (pid, seen)
        if os.stat(f"/proc/{pid}/ns/net").st_ino != own:  # bwrap filters what it starts
            assert seen["seccomp"] == 2, (pid, seen)
    inside = _sandbox_pid(sandboxed)
    seen = _confinement(inside)
    assert seen["caps"] == 0 and seen["procsys_ro"] and seen["keys_hidden"], seen
    devices = Path(f"/proc/{inside}/net/dev").read_text().splitlines()[2:]
    assert [line.split(":")[0].strip() for line in devices] == ["lo"]


@needs_root
def test_control_the_confinement_checks_see_missing_layers(monkeypatch):
    browser = _browser_with(monkeypatch, "uid,seccomp,procsys")
    try:
        seen = _confinement(_sandbox_pid(browser))
    finally:
        browser.close()
    assert 0 in seen["uids"] and seen["seccomp"] == 0, seen  # host root, no filter
    assert not seen["procsys_ro"] and not seen["keys_hidden"], seen


# --- (a) listeners on the host ------------------------------------------------------------------


@needs_root
def test_no_page_vector_reaches_a_host_listener(sandboxed, host_listener, tmp_path):
    _render_probes(sandboxed, host_listener, tmp_path)
    _render_app_probe(sandboxed, host_listener, tmp_path)
    assert host_listener.events == []


def test_control_without_both_layers_the_host_listener_is_reached(
    monkeypatch, host_listener, tmp_path
):
    browser = _browser_with(monkeypatch, "browserns,browserfilter")
    try:
        assert browser.pids() == []  # launched directly, in the host's namespace
        _render_probes(browser, host_listener, tmp_path)
        events = host_listener.wait_for("udp", "tcp \x00\x03", "GET /popup", "GET /nav")
    finally:
        browser.close()
    print("reached without both layers:", events)
    assert any(event.startswith("udp") for event in events), events  # WebRTC STUN/TURN
    assert any(event.startswith("tcp \x00\x03") for event in events), events  # TURN/TCP
    # Chromium's own local-network rule stops fetch from a public page to loopback; a
    # navigation is not covered by it.
    assert any("GET /popup" in event for event in events), events
    assert any("GET /nav" in event for event in events), events


def test_the_browser_namespace_alone_keeps_the_host_unreached(monkeypatch, host_listener, tmp_path):
    browser = _browser_with(monkeypatch, "browserfilter")
    try:
        _render_probes(browser, host_listener, tmp_path)
    finally:
        browser.close()
    assert host_listener.events == []


def test_the_second_layer_alone_keeps_the_host_unreached(monkeypatch, host_listener, tmp_path):
    # In the host's namespace there are real interfaces: this is where the WebRTC policy is
    # needed (Chromium sends STUN/TURN from them to any address a page names).
    browser = _browser_with(monkeypatch, "browserns")
    try:
        _render_probes(browser, host_listener, tmp_path)
    finally:
        browser.close()
    assert host_listener.events == []


# --- (b) a listener inside the browser's own namespace ---------------------------------------


@pytest.fixture
def inside_listener(sandboxed) -> Iterator[Listener]:
    listener = Listener(netns_of=_sandbox_pid(sandboxed))
    # The control: from inside that namespace, it is reached (so silence below means blocked).
    _connect_in_netns(_sandbox_pid(sandboxed), listener.tcp)
    assert listener.wait_for("/control") == ["tcp GET /control HTTP/1.0"]
    listener.events.clear()
    yield listener
    listener.stop()


@needs_root
def test_the_second_layer_stops_every_vector_inside_the_browser_namespace(
    sandboxed, inside_listener, tmp_path
):
    _render_probes(sandboxed, inside_listener, tmp_path)
    _render_app_probe(sandboxed, inside_listener, tmp_path)
    assert inside_listener.events == []


_EVERY_REQUEST = (
    "GET /fetch", "GET /xhr", "GET /ws", "GET /sse", "POST /beacon", "POST /form",
    "GET /popup", "GET /nav", "GET /img.png", "GET /frame",
)  # fmt: skip


@needs_root
def test_control_without_the_second_layer_the_inside_listener_is_reached(monkeypatch, tmp_path):
    browser = _browser_with(monkeypatch, "browserfilter")
    listener = Listener(netns_of=_sandbox_pid(browser))
    try:
        _render_probes(browser, listener, tmp_path)
        _render_app_probe(browser, listener, tmp_path)
        events = listener.wait_for(*_EVERY_REQUEST)
    finally:
        listener.stop()
        browser.close()
    print("reached inside without the second layer:", events)
    for request in _EVERY_REQUEST:  # each vector of the probe pages can be seen
        assert any(request in event for event in events), (request, events)


# --- file:// -----------------------------------------------------------------------------------


_FILE_PROBE = f"""<h1>probe ran</h1>
<img id="img" src="file://{FILE_PNG}"><iframe src="file:///etc/passwd"></iframe>
<script>window.onload = () => document.body.append(
  " w=" + document.getElementById("img").naturalWidth);</script>"""


def test_a_page_cannot_load_file_urls(sandboxed, tmp_path):
    render = sandboxed.render(Page(_FILE_PROBE, "html"), tmp_path / "f.png")
    assert "probe ran" in render.checks["body"] and " w=0" in render.checks["body"]


def test_control_the_file_probe_sees_a_loaded_file():
    # The same markup in a file:// document, in a Chromium of the test's own (sandboxed too,
    # where the image's folder is part of the read-only system): the image loads there, so
    # w=0 above is the renderer refusing, not a broken probe.
    from jupyter_harness import launch_test_browser
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.goto(Path(FILE_PNG).parent.as_uri(), wait_until="load")  # a file:// origin
            tab.set_content(_FILE_PROBE)  # written into that document: its origin is kept
            text = tab.inner_text("body")
        finally:
            cleanup()
    assert tab.url.startswith("file://") and " w=" in text and " w=0" not in text


# --- live apps ------------------------------------------------------------------------------


@needs_root
def test_an_app_is_reached_through_a_bridge_inside_the_browser_namespace(
    sandboxed, host_listener, tmp_path
):
    render = sandboxed.render_url(
        f"http://127.0.0.1:{host_listener.tcp}/app", tmp_path / "app.png",
        port=host_listener.tcp, ready_selector="body", timeout_s=20,
    )  # fmt: skip
    assert not render.timed_out and "reached" in render.checks["body"]
    assert "tcp GET /app HTTP/1.1" in host_listener.events
    # The bridge is gone with the render: inside the namespace nothing listens on that port.
    with pytest.raises(ConnectionRefusedError):
        _connect_in_netns(_sandbox_pid(sandboxed), host_listener.tcp)
