"""Apps, games and the bundled samples end to end: real sandboxes, real servers, real browser."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arena_kit.sandbox import Status
from arena_kit.web.apps import AppStartError, running_apps, start_app
from arena_kit.web.pygame_capture import run_pygame
from arena_kit.web.samples import run_samples, web_samples

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def web_cache():
    subprocess.run(["bash", str(ROOT / "scripts" / "setup-web.sh")], check=True, timeout=900)


def _alive(pid: int) -> bool:
    """True for a live process (a zombie counts as alive: nobody reaped it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:" in status


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_streamlit_app_serves_is_isolated_and_leaves_no_process(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    code = textwrap.dedent(
        f"""
        import socket
        import streamlit as st
        st.title("probe")
        try:
            socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=2)
            st.write("REACHED")
        except OSError as error:
            st.write("isolated", type(error).__name__)
        """
    )
    import urllib.request

    app = start_app(code, "streamlit")
    try:
        pids = app.pids()
        assert pids and app.alive and app in running_apps() and _own_sandboxes()
        with urllib.request.urlopen(app.url + "_stcore/health", timeout=10) as reply:
            assert reply.read() == b"ok"
        from arena_kit.web.apps import APP_KINDS
        from arena_kit.web.browser import get_browser

        spec = APP_KINDS["streamlit"]
        render = get_browser().render_url(
            app.url, tmp_path / "s.png", port=app.port, ready_selector=spec.ready_selector,
            busy_selector=spec.busy_selector,
        )  # fmt: skip
        assert "isolated" in render.checks["body"] and "REACHED" not in render.checks["body"]
        with pytest.raises(OSError):
            listener.accept()  # the app's connection attempt never arrived
        port, work = app.port, app.work.path
    finally:
        app.stop()
        listener.close()
    assert not [pid for pid in pids if _alive(pid)] and not _own_sandboxes()
    assert _refused(port)
    assert not work.exists()
    assert app not in running_apps()


def test_an_app_that_crashes_at_start_is_a_runtime_error_with_its_stderr():
    with pytest.raises(AppStartError) as caught:
        start_app("import gradio as gr\nraise RuntimeError('boom at start')\n", "gradio")
    assert caught.value.status == "runtime_error"
    assert "boom at start" in caught.value.stderr
    assert not running_apps()


def _own_sandboxes() -> list[int]:
    """Live bwrap processes of this test process (their work dirs are named ``<our pid>-N``);
    other programs on the machine may run sandboxes of their own at the same time. Ready
    launchers made ahead for cold runs (their program is the waiting ``arena-launcher``
    shell) are not apps' sandboxes."""
    mine = f"/{os.getpid()}-".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"\0arena-launcher\0" in command:
            continue
        if command.startswith(b"bwrap") and mine in command and _alive(int(entry)):
            found.append(int(entry))
    return found


def test_an_app_that_never_serves_times_out_and_is_stopped():
    assert not _own_sandboxes()
    with pytest.raises(AppStartError) as caught:
        start_app("import time\ntime.sleep(120)\n", "gradio", ready_timeout_s=4)
    assert caught.value.status == "timeout"
    assert not running_apps()
    assert not _own_sandboxes()


def test_pygame_frames_follow_the_scripted_input():
    code = textwrap.dedent(
        """
        import pygame
        pygame.init()
        screen = pygame.display.set_mode((200, 100))
        color = [40, 40, 40]
        clock = pygame.time.Clock()
        while True:
            for event in pygame.event.get():
                if event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE:
                    color = [250, 80, 80]
                if event.type == pygame.MOUSEBUTTONDOWN:
                    color[2] = 250
            screen.fill(color)
            pygame.display.flip()
            clock.tick(30)
        """
    )
    result = run_pygame(code, duration_s=1.5)
    assert result.status is Status.OK, result.stderr
    from PIL import Image, ImageSequence

    gif = next(a["path"] for a in result.artifacts if a["name"] == "capture.gif")
    with Image.open(gif) as image:
        frames = [frame.convert("RGB").getpixel((5, 5)) for frame in ImageSequence.Iterator(image)]
    captured = int(re.search(r"arena-capture: (\d+) frames", result.stderr).group(1))
    assert captured >= 5
    # Identical frames are merged in the GIF: the three states, in the order of the input.
    assert frames[0] == (40, 40, 40) and frames[1] == (40, 40, 250)
    # The click (0.35 s) turns blue on, then the space key (0.5 s) turns the screen red.
    assert frames[-1] == (250, 80, 80)
    with Image.open(result.screenshot) as last:
        assert last.size == (200, 100)


def _pixel_spread(path: str) -> tuple[float, int]:
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        rgb.thumbnail((320, 320))
        spread = max(ImageStat.Stat(rgb).stddev)
        colours = len(rgb.getcolors(maxcolors=1 << 20) or [])
    return spread, colours


def test_every_bundled_sample_ends_in_its_expected_status_with_non_blank_screenshots():
    table = run_samples(progress=False)
    assert len(table) == len(web_samples()) >= 15
    wrong = table[~table["ok"]]
    assert wrong.empty, wrong[["sample", "detected", "expected", "status", "message"]].to_dict(
        "records"
    )
    visual = table[(table["status"] == "ok") & (table["environment"] != "python")]
    assert len(visual) >= 9
    for row in visual.itertuples():
        assert row.screenshot and Path(row.screenshot).is_file(), row.sample
        spread, colours = _pixel_spread(row.screenshot)
        assert spread > 8 and colours > 4, (row.sample, spread, colours)
    assert not running_apps()


_OFFLINE_SCRIPT = """
import json, sys
from arena_kit.web.samples import web_samples
from arena_kit.web import execute_response
wanted = {"react_counter", "mermaid_flow", "vue_todo", "pygame_bounce", "streamlit_dashboard"}
out = {}
for sample in web_samples():
    if sample.name in wanted:
        result = execute_response(sample.markdown)
        out[sample.name] = [result.status.value, result.message]
print("RESULT" + json.dumps(out))
"""


def test_renders_work_with_the_network_cut_off():
    """The whole pipeline in a network namespace that has only a loopback device."""
    completed = subprocess.run(
        ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" -c "$1"',
         sys.executable, _OFFLINE_SCRIPT],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    line = next((x for x in completed.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line is not None, completed.stderr[-3000:]
    results = json.loads(line[len("RESULT") :])
    assert len(results) == 5
    assert all(status == "ok" for status, _ in results.values()), results


def test_a_live_app_is_viewable_in_a_page_on_another_origin_while_it_runs():
    """The notebook's view: an iframe on the app's own loopback origin, in a real browser
    (sandboxed: the notebook's port and the app's are bridged into its network namespace)."""
    import http.server
    import threading
    import time

    from jupyter_harness import launch_test_browser
    from playwright.sync_api import sync_playwright

    from arena_kit.web.display import live_app_html

    app = start_app('import streamlit as st\nst.title("live view")\n', "streamlit")
    markup = live_app_html(app).encode()
    assert b"allow-same-origin" in markup and app.url.encode() in markup

    class Notebook(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<h1>notebook</h1>" + markup)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Notebook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen = False
    try:
        with sync_playwright() as playwright:
            ports = [server.server_address[1], app.port]
            browser, cleanup = launch_test_browser(playwright, ports)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
                for _ in range(60):
                    frames = [frame for frame in page.frames if frame != page.main_frame]
                    try:
                        if frames and "live view" in frames[0].inner_text("body", timeout=500):
                            seen = True
                            break
                    except Exception:  # the frame is still loading
                        pass
                    time.sleep(0.5)
                # The app's frame cannot read the notebook page (another origin).
                text = page.evaluate("() => document.querySelector('h1').textContent")
                assert text == "notebook"
            finally:
                cleanup()
    finally:
        app.stop()
        server.shutdown()
        server.server_close()
    assert seen


def test_a_warm_pool_serves_an_app_and_stop_all_leaves_nothing():
    import time

    from arena_kit.web import apps

    apps.keep_warm("streamlit", 1)
    try:
        deadline = time.monotonic() + 120
        pool = apps._pool("streamlit")
        while not pool._entries and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the filler is idle now: what it started must still be alive
        waiting = list(pool._entries)
        assert len(waiting) == 1
        app = start_app('import streamlit as st\nst.write("pooled")\n', "streamlit")
        assert app is waiting[0]  # the warm sandbox served it
        pids = app.pids() + waiting[0].pids()
        app.stop()
    finally:
        apps.stop_all()
    time.sleep(0.5)
    assert not running_apps() and not any(p._entries for p in apps._pools.values())
    assert not [pid for pid in pids if _alive(pid)]


def test_samples_summary_is_a_markdown_table():
    import pandas as pd

    from arena_kit.web.samples import samples_summary

    table = pd.DataFrame(
        [
            {"sample": "a", "environment": "html", "expected": "ok", "status": "ok",
             "ok": True, "message": "fine | ok", "wall_s": 1.234},
            {"sample": "b", "environment": "react", "expected": "ok", "status": "build_error",
             "ok": False, "message": "bad", "wall_s": None},
        ]
    )  # fmt: skip
    text = samples_summary(table)
    assert "| a | html | ok | ok | 1.2 s | fine / ok |" in text
    assert "build_error ⚠️" in text and "1/2 samples ended as expected." in text
