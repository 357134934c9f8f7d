"""Live apps through the Jupyter server (arena_kit.web.jupyter_app_proxy): a real
``jupyter server``, real sandboxed apps, and the system Chromium (sandboxed, the server's port
bridged in) on a page that the Jupyter server itself serves, so the parent page has Jupyter's
origin as in JupyterLab."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import tomllib
from jupyter_harness import free_port, launch_test_browser, running_jupyter

from arena_kit.web import jupyter_app_proxy as proxy
from arena_kit.web.display import live_app_html

ROOT = Path(__file__).resolve().parent.parent
BASE = "/user/tester/"  # a non-root base URL, as on a JupyterHub


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private registry shared by this process (the "kernel") and the server."""
    folder = tmp_path_factory.mktemp("registry")
    old = os.environ.get("ARENA_KIT_APP_REGISTRY")
    os.environ["ARENA_KIT_APP_REGISTRY"] = str(folder)
    yield folder
    if old is None:
        del os.environ["ARENA_KIT_APP_REGISTRY"]
    else:
        os.environ["ARENA_KIT_APP_REGISTRY"] = old


@pytest.fixture(scope="module")
def jupyter(registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A real ``jupyter server`` loading the extension, on a free loopback port."""
    root = tmp_path_factory.mktemp("notebooks")
    config = tmp_path_factory.mktemp("jupyter-config")
    port, token = free_port(), os.urandom(16).hex()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(config)}
    command = [
        sys.executable, "-m", "jupyter_server", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", "--allow-root",
        f"--ServerApp.root_dir={root}", f"--ServerApp.base_url={BASE}",
        "--ServerApp.jpserver_extensions={'arena_kit.web.jupyter_app_proxy': True}",
    ]  # fmt: skip
    with running_jupyter(
        command, port=port, token=token, log_path=config / "server.log", base_url=BASE, env=env
    ) as server:
        yield SimpleNamespace(
            origin=server.origin, token=token, root=root, pid=server.pid, port=port
        )


def _get(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    """(status, headers, body) of ``url``, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=20) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class _Upstream(http.server.BaseHTTPRequestHandler):
    """A stand-in app: echoes what reached it, sets a cookie, redirects, serves HTML."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append(self.path)
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/target")
            self.end_headers()
            return
        if self.path.startswith("/page"):
            body = b"<html><head><title>t</title></head><body>app page</body></html>"
            kind = "text/html; charset=utf-8"
        else:
            body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
            kind = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Set-Cookie", "_xsrf=planted; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_app(registry: Path) -> Iterator[SimpleNamespace]:
    """A plain loopback HTTP server registered like an app (fast: no sandbox)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = SimpleNamespace(
        alive=True, port=server.server_address[1], kind="fake", label="fake app", proxy_token=None
    )
    proxy.share(app)  # type: ignore[arg-type]
    yield app
    server.shutdown()
    server.server_close()
    proxy.unshare(app.proxy_token)


def _app_base(jupyter: SimpleNamespace, token: str) -> str:
    return f"{jupyter.origin}{BASE}{proxy.PATH_PREFIX}{token}/"


# -- the proxy's HTTP contract (a stand-in app) --------------------------------------------------
@pytest.mark.slow
def test_an_unknown_token_is_404(jupyter):
    status, headers, _ = _get(_app_base(jupyter, os.urandom(16).hex()) + "index.html")
    assert status == 404 and headers["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.slow
def test_requests_reach_the_app_without_jupyters_credentials_and_come_back_sandboxed(
    jupyter, fake_app
):
    status, headers, body = _get(
        _app_base(jupyter, fake_app.proxy_token) + "echo?x=1",
        headers={"Cookie": "username-x=secret", "Authorization": "token t",
                 "Referer": f"{jupyter.origin}{BASE}lab?token={jupyter.token}",
                 "X-Forwarded-Host": "evil.example"},
    )  # fmt: skip
    assert status == 200
    echoed = json.loads(body)
    assert echoed["path"] == "/echo?x=1"  # the prefix is stripped: the app serves at its root
    sent = {name.lower(): value for name, value in echoed["headers"].items()}
    assert sent["host"] == f"127.0.0.1:{fake_app.port}"
    assert not {"cookie", "authorization", "referer", "x-forwarded-host"} & set(sent)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    assert headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    assert "Set-Cookie" not in headers  # the app cannot plant cookies on Jupyter's origin


@pytest.mark.slow
def test_preflights_redirects_and_html_pages(jupyter, fake_app):
    base = _app_base(jupyter, fake_app.proxy_token)
    status, headers, _ = _get(
        base + "api", method="OPTIONS",
        headers={"Origin": "null", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert status == 204 and headers["Access-Control-Allow-Headers"] == "content-type"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    status, headers, _ = _get(base + "moved")
    assert status == 302 and headers["Location"] == base[len(jupyter.origin) :] + "target"
    status, headers, _ = _get(base[:-1])  # no trailing slash: relative URLs need one
    assert status == 302 and headers["Location"] == base[len(jupyter.origin) :]
    status, headers, body = _get(base + "page")
    assert body.startswith(b"<html><head><script>") and b"app page" in body
    assert int(headers["Content-Length"]) == len(body)
    status, _, body = _get(base + "echo", method="POST")  # no XSRF token: the token is the key
    assert status == 200


@pytest.mark.slow
def test_a_token_reaches_only_its_own_port(jupyter, fake_app):
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(8)
    other.settimeout(0.3)
    port = other.getsockname()[1]
    base = _app_base(jupyter, fake_app.proxy_token)
    tricks = [f"@127.0.0.1:{port}/", f"/127.0.0.1:{port}/", f"..%2f..%2f..%2fproxy/{port}/",
              f"%2F%2F127.0.0.1:{port}/", f"http://127.0.0.1:{port}/"]  # fmt: skip
    try:
        for trick in tricks:
            status, _, body = _get(base + trick)
            assert status == 200, trick  # answered by the stand-in app, at a path of its own
            assert json.loads(body)["path"].startswith("/"), trick
        with pytest.raises(OSError):
            other.accept()  # nothing ever connected to the other port
    finally:
        other.close()


@pytest.mark.slow
def test_a_token_of_a_dead_kernel_is_404_and_removed(jupyter, registry):
    token = os.urandom(16).hex()
    entry = {"port": 1, "kind": "fake", "pid": os.getpid(), "pid_start": "not-this-process"}
    (registry / "apps" / f"{token}.json").write_text(json.dumps(entry))
    status, _, _ = _get(_app_base(jupyter, token))
    assert status == 404
    assert not (registry / "apps" / f"{token}.json").exists()


def test_registry_entries_are_private_and_links_are_refused(registry, tmp_path):
    app = SimpleNamespace(alive=True, port=4321, kind="fake", label="fake app", proxy_token=None)
    token = proxy.share(app)  # type: ignore[arg-type]
    try:
        path = registry / "apps" / f"{token}.json"
        assert path.stat().st_mode & 0o777 == 0o600
        assert (registry / "apps").stat().st_mode & 0o777 == 0o700
        assert len(token) == 32 and proxy.lookup_port(token) == 4321
        assert proxy.share(app) == token  # shown twice: one token
        forged = os.urandom(16).hex()
        (tmp_path / "elsewhere.json").write_text(path.read_text().replace("4321", "22"))
        (registry / "apps" / f"{forged}.json").symlink_to(tmp_path / "elsewhere.json")
        assert proxy.lookup_port(forged) is None
        assert proxy.lookup_port("../" + token) is None
    finally:
        proxy.unshare(token)
    assert proxy.lookup_port(token) is None


def test_a_kernel_finds_the_base_url_its_server_announced(registry):
    # The "server" is this process; the "kernel" is its child.
    announced = registry / "servers" / f"{os.getpid()}.json"
    entry = {"pid": os.getpid(), "pid_start": proxy._start_time(os.getpid()), "base_url": "/hub/"}
    announced.write_text(json.dumps(entry))
    try:
        found = subprocess.run(
            [sys.executable, "-c",
             "from arena_kit.web import jupyter_app_proxy as p; print(p.server_base_url())"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip
    finally:
        announced.unlink()
    assert found == "/hub/"
    assert proxy.server_base_url() is None  # pytest's own parents announced nothing


def test_the_extension_is_registered_for_installs_of_the_package():
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    shipped = data_files["etc/jupyter/jupyter_server_config.d"]
    config = json.loads((ROOT / shipped[0]).read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"arena_kit.web.jupyter_app_proxy": True}
    assert proxy._jupyter_server_extension_points() == [{"module": proxy.__name__}]
    # The editable install of `make setup` leaves data files out; the Makefile puts it there.
    installed = Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/arena_kit.json"
    assert installed.is_file(), "run make setup: it enables the extension in the venv"
    assert json.loads(installed.read_text()) == config


# -- real apps in a real browser --------------------------------------------------------------
def _notebook_page(chromium, jupyter: SimpleNamespace, markup: str):
    """A page with Jupyter's own origin, logged in, showing ``markup`` as JupyterLab would.

    Jupyter serves every user file (``/files``, ``/view``, ``/nbconvert``) with a CSP
    sandbox, so a file of ours would not have Jupyter's origin; its HTML 404 page has it,
    is light, and logs the browser in by the token in the URL. The markup goes into its body.
    """
    page = chromium.new_page()
    page.goto(f"{jupyter.origin}{BASE}arena-kit-test-parent?token={jupyter.token}")
    page.evaluate("(markup) => { document.body.innerHTML = '<h1>notebook</h1>' + markup; }", markup)
    return page


def _frame_text_with(page, wanted: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        frames = [frame for frame in page.frames if frame != page.main_frame]
        with contextlib.suppress(Exception):  # the frame is still loading
            text = frames[0].inner_text("body", timeout=1000)
            if wanted in text:
                return text
        time.sleep(0.3)
    raise AssertionError(f"{wanted!r} never appeared in the app's frame; it shows {text!r}")


_READ_JUPYTER = """async (url) => {
  try {
    const reply = await fetch(url, {credentials: "include"});
    return "read " + reply.status + " " + (await reply.text()).slice(0, 40);
  } catch (error) { return "blocked " + error; }
}"""
_READ_PARENT = """() => {
  try { return "read " + parent.document.title + parent.document.body.innerText.slice(0, 20); }
  catch (error) { return "blocked " + error.name; }
}"""


@pytest.fixture(scope="module")
def chromium(jupyter):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [jupyter.port])
        try:
            yield browser
        finally:
            cleanup()


_STREAMLIT = """
import streamlit as st
st.title("live view")
name = st.text_input("name")
st.write("hello " + name if name else "say hello")
"""


@pytest.mark.slow
def test_a_streamlit_app_runs_through_jupyter_and_cannot_touch_it(jupyter, chromium):
    from arena_kit.web.apps import start_app

    app = start_app(_STREAMLIT, "streamlit")
    try:
        markup = live_app_html(app, via="jupyter", base_url=BASE)
        assert 'sandbox="allow-scripts allow-forms"' in markup and "allow-same-origin" not in markup
        page = _notebook_page(chromium, jupyter, markup)
        _frame_text_with(page, "say hello")
        frame = next(frame for frame in page.frames if frame != page.main_frame)
        # The WebSocket works: typing reruns the script on the server.
        frame.locator("input[type=text]").fill("arena")
        frame.locator("input[type=text]").press("Enter")
        _frame_text_with(page, "hello arena")
        page.screenshot(path="/tmp/arena-kit-jupyter-streamlit.png")
        api = f"{BASE}api/contents"
        # The parent (Jupyter's origin, logged in) reads the API; the app's frame cannot.
        assert page.evaluate(_READ_JUPYTER, api).startswith("read 200")
        assert frame.evaluate(_READ_JUPYTER, api).startswith("blocked")
        assert frame.evaluate(_READ_PARENT).startswith("blocked SecurityError")
        assert frame.evaluate("() => window.origin") == "null"
        # Storage stand-ins from the proxy's shim (the opaque origin has none of its own).
        stored = "() => { localStorage.setItem('k', 'v'); document.cookie = 'c=1'; "
        assert (
            frame.evaluate(stored + "return localStorage.getItem('k') + document.cookie; }")
            == "vc=1"
        )
        # Opened in a tab of its own, the app still runs in an opaque origin (CSP sandbox).
        tab = chromium.new_page()
        tab.goto(jupyter.origin + proxy.app_url(app, BASE))
        tab.wait_for_selector("text=say hello", timeout=60000)
        assert tab.evaluate("() => window.origin") == "null"
        assert tab.evaluate(_READ_JUPYTER, api).startswith("blocked")
        tab.close()
        page.close()
        url = jupyter.origin + proxy.app_url(app, BASE)
    finally:
        app.stop()
    assert _get(url)[0] == 404  # the token went with the app
    assert app.proxy_token is not None and proxy.lookup_port(app.proxy_token) is None


_GRADIO = """
import gradio as gr
with gr.Blocks() as demo:
    gr.Markdown("# live gradio")
    name = gr.Textbox(label="name")
    out = gr.Markdown("say hello")
    gr.Button("greet").click(lambda x: "hello " + x, name, out)
demo.launch()
"""


@pytest.mark.slow
def test_a_gradio_app_runs_through_jupyter(jupyter, chromium):
    from arena_kit.web.apps import start_app

    app = start_app(_GRADIO, "gradio")
    try:
        page = _notebook_page(chromium, jupyter, live_app_html(app, via="jupyter", base_url=BASE))
        _frame_text_with(page, "say hello")
        frame = next(frame for frame in page.frames if frame != page.main_frame)
        frame.get_by_label("name").fill("arena")
        frame.get_by_role("button", name="greet").click()
        _frame_text_with(page, "hello arena")  # the queue's event stream came back
        assert frame.evaluate("() => window.origin") == "null"
        page.screenshot(path="/tmp/arena-kit-jupyter-gradio.png")
        page.close()
    finally:
        app.stop()


def test_via_is_checked_and_auto_follows_the_server_extension(registry, monkeypatch):
    app = SimpleNamespace(
        alive=True, port=4321, kind="streamlit", label="streamlit app",
        url="http://127.0.0.1:4321/", proxy_token=None,
    )  # fmt: skip
    with pytest.raises(ValueError, match="via must be one of"):
        live_app_html(app, via="nowhere")  # type: ignore[arg-type]
    markup = live_app_html(app)  # type: ignore[arg-type]  # no server announced: direct
    assert "http://127.0.0.1:4321/" in markup and "allow-same-origin" in markup
    with pytest.raises(RuntimeError, match="make setup"):
        live_app_html(app, via="jupyter")  # type: ignore[arg-type]
    monkeypatch.setattr(proxy, "server_base_url", lambda: "/hub/")
    markup = live_app_html(app)  # type: ignore[arg-type]
    try:
        assert f'src="/hub/arena-kit/app/{app.proxy_token}/"' in markup
        assert "allow-same-origin" not in markup
    finally:
        proxy.unshare(app.proxy_token)
