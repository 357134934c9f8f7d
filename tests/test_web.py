"""Web pages offline: builds, CDN cache, the isolated browser, screenshots and notebook display.

Real parts only: esbuild and Vue's compiler run in the sandbox, Chromium renders, and the
network checks use HTTP servers that the tests start on 127.0.0.1.
"""

from __future__ import annotations

import html
import http.server
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from arena_kit.sandbox import ExecutionResult, Status
from arena_kit.web import display
from arena_kit.web.assets import cdn_file, node_modules
from arena_kit.web.browser import Browser, is_blank
from arena_kit.web.build import BuildError, Page, build_page, html_page, markdown_page
from arena_kit.web.execute import execute_response

ROOT = Path(__file__).resolve().parent.parent
F = "```"


@pytest.fixture(scope="module", autouse=True)
def web_cache():
    """The npm cache (installed once by the idempotent set-up script; instant when done)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "setup-web.sh")], check=True, timeout=900)


@pytest.fixture(scope="module")
def browser():
    shared = Browser()
    yield shared
    shared.close()


class _Recorder(http.server.ThreadingHTTPServer):
    """A loopback listener that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                recorder.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(recorder.body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.body = b"reached"
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def recorder():
    server = _Recorder()
    # The control: an ordinary client does reach it (so silence below means blocked).
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/control", timeout=5) as reply:
        assert reply.read() == b"reached"
    server.requests.clear()
    yield server
    server.shutdown()
    server.server_close()


def _escape_page(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="{base}/css"><script src="{base}/script.js"></script></head>
<body><h1>page ran</h1><img src="{base}/img.png"><iframe src="{base}/frame"></iframe>
<script>
fetch("{base}/fetch").catch(() => {{}});
fetch("http://localhost:{port}/localhost").catch(() => {{}});
try {{ new WebSocket("ws://127.0.0.1:{port}/ws"); }} catch (e) {{}}
try {{ navigator.sendBeacon("{base}/beacon", "x"); }} catch (e) {{}}
var x = new XMLHttpRequest(); x.open("GET", "{base}/xhr"); x.send();
try {{ new EventSource("{base}/sse"); }} catch (e) {{}}
var link = document.createElement("link"); link.rel = "prefetch"; link.href = "{base}/prefetch";
document.head.appendChild(link);
document.title = "ran";
</script></body></html>"""


# --- the asset cache ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ending"),
    [
        ("https://cdn.jsdelivr.net/npm/chart.js", "chart.umd.js"),
        ("https://unpkg.com/react@18/umd/react.development.js", "react.development.js"),
        ("https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js", ".min.js"),
        ("https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js", "three.min.js"),
        ("https://cdn.tailwindcss.com", "index.global.js"),
        ("https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.min.js", "mermaid.min.js"),
        ("https://d3js.org/d3.v7.min.js", "d3.min.js"),
        ("https://cdn.jsdelivr.net/npm/p5@1.9.0/lib/p5.js", "p5.js"),
        ("https://unpkg.com/vue@3/dist/vue.global.js", "vue.global.js"),
    ],
)
def test_common_cdn_urls_are_served_from_the_local_cache(url, ending):
    found = cdn_file(url)
    assert found is not None and found.name.endswith(ending) and found.stat().st_size > 1000


def test_unknown_urls_and_escapes_are_not_served():
    assert cdn_file("https://example.com/app.js") is None
    assert cdn_file("https://cdn.jsdelivr.net/npm/not-a-cached-package@1/x.js") is None
    escaped = cdn_file("https://unpkg.com/react@18/../../../../etc/passwd")
    # A path that leaves the package falls back to the package's own file, never outside.
    assert escaped is None or node_modules().resolve() in escaped.resolve().parents


# --- builds -------------------------------------------------------------------------------------


def test_cdn_scripts_are_inlined_so_the_page_needs_no_network():
    page = html_page('<script src="https://cdn.jsdelivr.net/npm/chart.js"></script><p>x</p>')
    assert "cdn.jsdelivr.net" not in page.html and "Chart" in page.html
    kept = html_page('<script src="https://example.com/x.js"></script>')
    assert "not in the local cache (blocked): https://example.com/x.js" in kept.build_log


def test_react_syntax_error_is_a_build_error_with_esbuild_message():
    with pytest.raises(BuildError) as caught:
        build_page("export default () => <div><h1>x</div>;", "react")
    assert caught.value.status == "build_error"
    assert 'Unexpected closing "div" tag does not match opening "h1" tag' in caught.value.message


def test_a_package_not_in_the_cache_is_a_missing_dependency():
    code = "import confetti from 'left-pad-not-here';\nexport default () => <p>{confetti}</p>;"
    with pytest.raises(BuildError) as caught:
        build_page(code, "react")
    assert caught.value.status == "missing_dependency"
    assert "left-pad-not-here" in caught.value.message


def test_vue_compiler_errors_are_build_errors_with_the_compiler_message():
    with pytest.raises(BuildError) as caught:
        build_page("<template>\n  <div>{{ a </div>\n</template>\n<script setup>\n</script>", "vue")
    assert caught.value.status == "build_error" and "App.vue" in caught.value.message


def test_react_component_without_export_default_still_mounts():
    page = build_page(
        "import { useState } from 'react';\nconst Widget = () => <b>w</b>;\n", "react"
    )
    assert '<div id="root">' in page.html and "tailwind" in page.html.lower()


def test_markdown_is_rendered_to_html():
    page = markdown_page("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- **bold**")
    assert "<h1>Title</h1>" in page.html and "<table>" in page.html
    assert "<strong>bold</strong>" in page.html


# --- the browser --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_page_cannot_reach_a_loopback_listener(browser, recorder, tmp_path):
    render = browser.render(Page(_escape_page(recorder.port), "html"), tmp_path / "x.png")
    time.sleep(1.0)  # late requests (beacons, retries) would arrive by now
    assert render.checks["body"].startswith("page ran")  # the page's code did run
    assert recorder.requests == []
    assert any("/fetch" in url for url in render.blocked)  # the interceptor saw and refused


@pytest.mark.slow
def test_an_app_tab_reaches_its_own_port_and_nothing_else(browser, recorder, tmp_path):
    app = _Recorder()
    app.body = _escape_page(recorder.port).encode()
    try:
        render = browser.render_url(
            f"http://127.0.0.1:{app.port}/", tmp_path / "app.png", port=app.port,
            ready_selector="h1", timeout_s=20,
        )  # fmt: skip
        time.sleep(1.0)
        assert app.requests and app.requests[0] == "/"
        assert recorder.requests == []
        assert not render.timed_out
    finally:
        app.shutdown()
        app.server_close()


@pytest.mark.slow
def test_one_browser_serves_many_screenshots(browser, tmp_path):
    for index in range(3):
        render = browser.render(
            Page(f"<body style='background:#123'><h1 style='color:#fff'>{index}</h1></body>", ""),
            tmp_path / f"{index}.png",
        )
        assert render.png is not None and not render.blank
    blank = browser.render(Page("<body></body>", ""), tmp_path / "blank.png")
    assert blank.blank and is_blank(tmp_path / "blank.png")
    assert browser.launches == 1


@pytest.mark.slow
def test_mermaid_syntax_error_is_a_build_error_with_the_parser_message():
    result = execute_response(f"{F}mermaid\ngraph TD\n  A --> B -->\n  C[[[ x\n{F}\n")
    assert result.status is Status.BUILD_ERROR
    assert "Parse error on line" in result.message


@pytest.mark.slow
def test_browser_javascript_runs_in_a_page_whose_console_is_captured():
    result = execute_response(
        f"{F}js\nconsole.log('hello', 2 + 2);\ndocument.body.style.background = '#234';\n{F}\n"
    )
    assert result.status is Status.OK, result.message
    assert "hello 4" in result.stdout
    node = execute_response(f"{F}js\nconsole.log([1, 2].map((x) => x * 3).join('-'));\n{F}\n")
    assert node.status is Status.OK and node.stdout.strip() == "3-6"
    assert node.backend != "chromium"


# --- notebook display ---------------------------------------------------------------------------


def _result(tmp_path: Path, page: str) -> ExecutionResult:
    path = tmp_path / "page.html"
    path.write_text(page)
    return ExecutionResult(
        execution_id="x", code="", language="html", environment="html", status=Status.OK,
        message="ok", stdout="out-text", stderr="err-text",
        artifacts=[{"name": "page.html", "path": str(path), "size": 1, "mime": "text/html"}],
    )  # fmt: skip


def test_show_uses_a_scripts_only_sandboxed_iframe_with_a_no_network_policy(tmp_path):
    shown = display.show(_result(tmp_path, "<html><head></head><body>hi</body></html>")).html
    frames = re.findall(r"<iframe[^>]*>", shown)
    assert len(frames) == 1  # the wrapper frame; the page's own frame is inside it
    assert 'sandbox="allow-scripts"' in frames[0] and "allow-same-origin" not in shown
    wrapper = html.unescape(re.search(r'srcdoc="([^"]*)"', frames[0]).group(1))
    assert "frame-src 'none'" in html.unescape(re.search(r'content="([^"]*)"', wrapper).group(1))
    inner = re.findall(r"<iframe[^>]*>", wrapper)
    assert len(inner) == 1 and 'sandbox="allow-scripts"' in inner[0]
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', inner[0]).group(1))
    assert srcdoc.index("Content-Security-Policy") < srcdoc.index("hi")
    policy = html.unescape(re.search(r'content="([^"]*)"', srcdoc).group(1))
    assert "connect-src 'none'" in policy and "default-src 'none'" in policy
    assert "out-text" in shown and "err-text" in shown


def test_side_by_side_gives_both_results_equal_columns(tmp_path):
    a = _result(tmp_path, "<p>a</p>")
    view = display.side_by_side(a, a, labels=("left", "right"))
    assert "grid-template-columns:minmax(0,1fr) minmax(0,1fr)" in view.html
    assert view.html.count("<iframe") == 2 and view._repr_html_() == view.html


@pytest.mark.slow
def test_the_notebook_iframe_policy_really_forbids_connections(browser, tmp_path):
    inner = (
        "<html><head></head><body><script>"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " top.postMessage('violated ' + e.effectiveDirective, '*'); });"
        "fetch('http://127.0.0.1:9/x').catch(function () {});"
        "</script></body></html>"
    )
    outer = (
        "<body><div id='out'></div><script>addEventListener('message', function (e) {"
        " document.getElementById('out').textContent = e.data; });</script>"
        + display.iframe(inner)
        + "</body>"
    )
    page = Page(outer, "html", ready="document.getElementById('out').textContent.length > 0")
    render = browser.render(page, tmp_path / "csp.png")
    assert not render.timed_out
    assert "violated connect-src" in render.checks["body"]


def test_every_public_name_of_arena_kit_web_resolves():
    import arena_kit.web as web

    for name in web.__all__:
        assert getattr(web, name) is not None, name


def test_results_are_valid_rows_of_the_executions_table():
    from arena_kit.schema import validate
    from arena_kit.web import web_samples

    records = [
        execute_response(sample.markdown, screenshot=False).to_record()
        for sample in web_samples(("html", "react", "vue", "markdown"))
    ]
    records.append(execute_response("Only prose, no code.").to_record())
    table = validate(records, "executions")
    assert len(table) == len(records)
    assert set(table["status"]) >= {"ok", "build_error", "missing_dependency", "unsupported"}


@pytest.mark.slow
def test_a_page_that_spins_forever_is_a_timeout_and_the_browser_goes_on():
    from arena_kit.sandbox import Limits

    limits = Limits(wall_s=3)
    spin = execute_response(f"{F}html\n<h1>x</h1><script>while (true) {{}}</script>\n{F}\n",
                            limits=limits)  # fmt: skip
    assert spin.status is Status.TIMEOUT
    late = execute_response(
        f"{F}html\n<h1>y</h1><script>setTimeout(() => {{ while (true) {{}} }}, 50)</script>\n{F}\n",
        limits=limits,
    )
    assert late.status is Status.TIMEOUT
    after = execute_response(f"{F}html\n<h1 style='color:red'>fine</h1>\n{F}\n")
    assert after.status is Status.OK and after.screenshot


_GLYPHS = """<!DOCTYPE html><html><head><style>
body { margin: 0; background: #fff; }
div { position: absolute; left: 0; width: 400px; height: 80px; font-size: 48px;
      line-height: 80px; color: #000; white-space: nowrap; overflow: hidden; }
</style></head><body>
<div style="top: 0">\U0001f600\U0001f680\U0001f308</div>
<div style="top: 100px">\u6f22\u5b57\u304b\u306a\ud55c</div>
<div style="top: 200px">\ue000\ue001\ue002\ue003\ue004</div>
</body></html>"""
"""Emoji, CJK text and (last) private-use characters that no font has: the missing-glyph box."""


def _band(png: Path, top: int):
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        return np.asarray(image.convert("RGB").crop((0, top, 400, top + 80))).astype(int)


def test_emoji_and_cjk_render_as_glyphs_not_boxes(browser, tmp_path):
    render = browser.render(html_page(_GLYPHS), tmp_path / "glyphs.png")
    assert not render.timed_out
    emoji, cjk, missing = (_band(tmp_path / "glyphs.png", top) for top in (0, 100, 200))
    # Without a font for them, CJK characters are drawn as the same box as characters no font
    # has; with one, they differ from it.
    assert (cjk != missing).any()
    assert (cjk.max(axis=2) < 128).sum() > 500  # ink: real strokes
    # Colour emoji: many clearly coloured pixels (a box or a monochrome glyph has none).
    coloured = int((emoji.max(axis=2) - emoji.min(axis=2) > 80).sum())
    assert coloured > 500, coloured
