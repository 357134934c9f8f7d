"""Screenshots with Playwright driving the system Chromium; one browser serves many pages.

The pages are untrusted code, so the browser runs in the sandbox (see
:mod:`arena_kit.web.browser_sandbox`): an unprivileged uid, the seccomp filter, a read-only
system and a network namespace of its own with only a loopback device. A page that got past
everything below would still find no one to talk to.

The second layer, inside: every connection is sent to a proxy that does not exist (a loopback
port bound but never listened on), loopback included (``<-loopback>`` removes Chromium's
implicit bypass); WebRTC may not use UDP other than through that proxy; and each page's
requests are intercepted: the page itself and CDN files found in the local cache are answered
by arena-kit, everything else is aborted. A live app's context may reach exactly one
``127.0.0.1:port``: a bridge inside the browser's namespace to the app's host port.

Playwright's synchronous API belongs to one thread, so the browser lives on a worker thread
and calls from any thread are queued to it.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import queue
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ArenaKitError
from ..sandbox.confine import disabled
from .assets import cdn_file
from .bridge import Bridge
from .browser_sandbox import BrowserSandbox
from .build import Page

__all__ = [
    "Browser",
    "BrowserUnavailableError",
    "Render",
    "get_browser",
    "close_browser",
    "is_blank",
    "PAGE_URL",
    "VIEWPORT",
]

PAGE_URL = "http://page.arena.invalid/"
"""The address a page is served at (answered by the interceptor, never resolved)."""
VIEWPORT = {"width": 1024, "height": 768}
MAX_HEIGHT = 4000
WEBRTC_POLICY = "--webrtc-ip-handling-policy=disable_non_proxied_udp"
"""WebRTC uses no UDP except through a proxy: no STUN or TURN datagram leaves the browser.
(``--force-webrtc-ip-handling-policy``, used before, is no switch of Chromium 156: datagrams
reached a loopback listener with it.)"""
# Chromium's own sandbox needs user namespaces, which arena-kit's sandbox refuses inside it:
# the browser as a whole is the sandboxed unit.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage", WEBRTC_POLICY,
    "--disable-features=MediaRouter,OptimizationHints,Translate",
]  # fmt: skip
T = TypeVar("T")


class BrowserUnavailableError(ArenaKitError, RuntimeError):
    """Chromium or Playwright is missing (the message names the fix)."""


@dataclass
class Render:
    """What a page did in the browser."""

    png: Path | None
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    build_error: str | None = None
    blocked: list[str] = field(default_factory=list)
    blank: bool = False
    timed_out: bool = False
    svg: str | None = None
    wall_s: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)
    load_error: str | None = None
    """Chromium's reason the served page could not be loaded at all (``net::ERR_EMPTY_RESPONSE``,
    a login it was asked for): the app's answer, not the renderer's failure."""


def is_blank(png: Path, tolerance: int = 6) -> bool:
    """True when the image is one flat colour (every channel within ``tolerance``)."""
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        small = image.convert("RGB")
        small.thumbnail((256, 256))
        extrema = ImageStat.Stat(small).extrema
    return all(high - low <= tolerance for low, high in extrema)


def _eval(tab: Any, expression: str, timeout_ms: float = 5000) -> Any:
    """The value of a JavaScript ``expression`` in the page, or TimeoutError after
    ``timeout_ms`` (``page.evaluate`` has no deadline, and untrusted pages may spin)."""
    handle = tab.wait_for_function(f"() => ({{v: ({expression})}})", timeout=timeout_ms)
    return handle.json_value().get("v")


def _chromium() -> str:
    for candidate in (os.environ.get("ARENA_KIT_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):  # fmt: skip
        if candidate and Path(candidate).exists():
            return candidate
    raise BrowserUnavailableError(
        "Chromium is not installed: run scripts/setup-system.sh (apt-get install chromium); "
        "arena-kit never downloads a browser"
    )


class Browser:
    """One headless Chromium on a worker thread; :meth:`render` pages into PNG files."""

    def __init__(self, viewport: dict[str, int] | None = None) -> None:
        self.viewport = dict(viewport or VIEWPORT)
        self._jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._jobs = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._dead_socket: socket.socket | None = None
        self._sandbox: BrowserSandbox | None = None
        self._spare: tuple[Any, Any] | None = None
        self._mermaid: Any = None
        self.launches = 0

    # -- the worker thread -----------------------------------------------------------------
    def _call(self, function: Callable[[], T], timeout: float = 300) -> T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="arena-kit-browser", daemon=True
                )
                self._thread.start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((function, future))
        return future.result(timeout=timeout)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                self._shutdown()
                return
            function, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as error:  # handed to the caller's thread
                future.set_exception(error)

    def _ensure(self) -> Any:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._shutdown()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise BrowserUnavailableError(
                "the playwright package is missing: pip install playwright (never run "
                "'playwright install': arena-kit drives the system Chromium)"
            ) from error
        # A port that is bound but never listened on: the proxy every request is sent to
        # refuses them all, and nothing else can ever answer on it (in the browser's own
        # namespace nothing listens at all, but for the bridges of render_url).
        self._dead_socket = socket.socket()
        self._dead_socket.bind(("127.0.0.1", 0))
        dead = self._dead_socket.getsockname()[1]
        args = list(CHROMIUM_ARGS)
        if _filtering():
            args += [f"--proxy-server=http://127.0.0.1:{dead}", "--proxy-bypass-list=<-loopback>"]
        else:
            args.remove(WEBRTC_POLICY)
        options: dict[str, Any] = {"executable_path": _chromium()}
        if not disabled("browserns"):
            if shutil.which("bwrap") is None:  # never fall back to an unsandboxed browser
                raise BrowserUnavailableError(
                    "bubblewrap is not installed and the page renderer runs in its sandbox: "
                    "run scripts/setup-system.sh (apt-get install bubblewrap)"
                )
            self._sandbox = BrowserSandbox(_chromium())
            options = self._sandbox.launch_options()
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            args=args, handle_sigint=False, handle_sigterm=False, handle_sighup=False, **options
        )
        if self._sandbox is not None:
            self._sandbox.attach()
        self.launches += 1
        return self._browser

    def pids(self) -> list[int]:
        """The processes of the sandboxed browser (empty before it starts, or when a test
        turned the browser's sandbox off)."""
        sandbox = self._sandbox
        return sandbox.pids() if sandbox is not None else []

    def _shutdown(self) -> None:
        for closing in (self._browser, self._playwright):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close() if closing is self._browser else closing.stop()
        self._browser = self._playwright = None
        self._spare = self._mermaid = None
        if self._sandbox is not None:
            self._sandbox.close()  # what the browser's close left behind, and its cgroup
            self._sandbox = None
        if self._dead_socket is not None:
            self._dead_socket.close()
            self._dead_socket = None

    def close(self) -> None:
        """End the browser and its thread."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(timeout=30)

    def warm(self) -> None:
        """Start the browser now (the first render otherwise pays for it)."""
        self._call(self._prepare_spare)

    def _prepare_spare(self) -> None:
        """Open the next page's context ahead (a renderer process takes ~0.5 s to start).

        Each page still gets a context of its own, used once: only the waiting is hidden.
        """
        if self._spare is None:
            context = self._new_context()
            self._spare = (context, context.new_page())

    def _take_spare(self) -> tuple[Any, Any]:
        if self._spare is not None and self._browser is not None and self._browser.is_connected():
            spare, self._spare = self._spare, None
            return spare
        self._spare = None
        context = self._new_context()
        return context, context.new_page()

    # -- pages --------------------------------------------------------------------------------
    def render(
        self,
        page: Page | str,
        png: Path,
        *,
        timeout_s: float = 30.0,
        settle_ms: int = 150,
        capture_svg: bool = False,
    ) -> Render:
        """Load ``page`` (self-contained HTML) with no network and screenshot it to ``png``."""
        if isinstance(page, str):
            page = Page(page, "html")
        return self._call(
            lambda: self._render(page, Path(png), timeout_s, settle_ms, capture_svg),
            timeout=timeout_s + 120,
        )

    def _new_context(self, allow_port: int | None = None) -> Any:
        browser = self._ensure()
        options: dict[str, Any] = {"viewport": self.viewport, "service_workers": "block"}
        if allow_port is not None and _filtering():
            dead = self._dead_socket.getsockname()[1] if self._dead_socket else 9
            options["proxy"] = {
                "server": f"http://127.0.0.1:{dead}",
                "bypass": f"<-loopback>,127.0.0.1:{allow_port}",
            }
        return browser.new_context(**options)

    def _render(
        self, page: Page, png: Path, timeout_s: float, settle_ms: int, capture_svg: bool
    ) -> Render:
        started = time.monotonic()
        result = Render(png=None)
        context, tab = self._take_spare()
        try:
            body = page.html.encode("utf-8")

            def route(request_route: Any) -> None:
                url = request_route.request.url
                if url == PAGE_URL:
                    request_route.fulfill(body=body, content_type="text/html; charset=utf-8")
                    return
                if url.startswith("data:") or url.startswith("blob:"):
                    request_route.continue_()
                    return
                found = cdn_file(url)
                if found is not None:
                    kind = "text/css" if found.suffix == ".css" else "application/javascript"
                    request_route.fulfill(
                        body=found.read_bytes(),
                        content_type=kind,
                        headers={"Access-Control-Allow-Origin": "*"},
                    )
                    return
                if not _filtering():
                    request_route.continue_()  # a test showing that this layer matters
                    return
                result.blocked.append(url)
                request_route.abort("blockedbyclient")

            context.route("**/*", route)
            tab.on("console", lambda m: result.console.append((m.type, m.text)))
            tab.on("pageerror", lambda e: result.page_errors.append(str(e)))
            deadline_ms = timeout_s * 1000
            try:
                tab.goto(PAGE_URL, wait_until="load", timeout=deadline_ms)
                tab.wait_for_function(page.ready, timeout=deadline_ms)
            except Exception as error:  # playwright's TimeoutError and navigation failures
                if "Timeout" not in type(error).__name__:
                    raise
                result.timed_out = True
            try:
                # Every call into the page is bounded: a page may spin forever after loading.
                if not result.timed_out:
                    self._settle(tab, settle_ms)
                    result.build_error = _eval(tab, page.error)
                    if capture_svg:
                        result.svg = _eval(
                            tab,
                            "(() => { const s = document.querySelector('#diagram svg');"
                            " return s ? s.outerHTML : null; })()",
                        )
                    result.checks = self._checks(tab)
            except Exception as error:
                if "Timeout" not in type(error).__name__:
                    raise
                result.timed_out = True
            if not result.timed_out:  # a page that spins cannot paint; do not wait for it
                self._screenshot(tab, png)
                result.png = png
                result.blank = is_blank(png)
        finally:
            with contextlib.suppress(Exception):
                context.close()
        result.wall_s = time.monotonic() - started
        with contextlib.suppress(Exception):
            self._prepare_spare()
        return result

    # -- Mermaid: one page with the library loaded, reused ---------------------------------------
    def render_mermaid(self, text: str, png: Path, *, timeout_s: float = 20.0) -> Render:
        """Draw a Mermaid diagram and screenshot it; a syntax error is ``build_error``.

        Parsing the 3.5 MB library costs seconds, so one page (no network, like every page)
        keeps it loaded and draws diagram after diagram. Diagrams are data, drawn with
        Mermaid's ``strict`` security level (no script, no HTML labels).
        """
        return self._call(
            lambda: self._render_mermaid(text, Path(png), timeout_s), timeout=timeout_s + 120
        )

    def _mermaid_tab(self) -> Any:
        if self._mermaid is not None and not self._mermaid[1].is_closed():
            return self._mermaid[1]
        from .assets import DEFAULT_FILES, require_web_cache
        from .build import _document, _script

        library = (require_web_cache() / DEFAULT_FILES["mermaid"]).read_text("utf-8")
        host = _document(
            '<div id="diagram" style="display:inline-block;padding:16px"></div>'
            + _script(library)
            + _script(
                'mermaid.initialize({startOnLoad: false, securityLevel: "strict"});'
                "window.__arenaCount = 0;"
            ),
            "<style>body{margin:0;background:#fff}</style>",
        ).encode("utf-8")
        context = self._new_context()

        def route(request_route: Any) -> None:
            if request_route.request.url == PAGE_URL:
                request_route.fulfill(body=host, content_type="text/html; charset=utf-8")
            elif not _filtering():
                request_route.continue_()
            else:
                request_route.abort("blockedbyclient")

        context.route("**/*", route)
        tab = context.new_page()
        tab.goto(PAGE_URL, wait_until="load", timeout=60000)
        tab.wait_for_function("typeof mermaid !== 'undefined'", timeout=60000)
        self._mermaid = (context, tab)
        return tab

    def _render_mermaid(self, text: str, png: Path, timeout_s: float) -> Render:
        started = time.monotonic()
        result = Render(png=None)
        tab = self._mermaid_tab()
        # Started from a timer so that the call returns at once; the outcome is awaited with
        # a deadline (a diagram that hangs the parser costs this tab, not the browser).
        tab.evaluate(
            """(text) => {
                window.__arenaOut = null;
                setTimeout(async () => {
                    const box = document.getElementById("diagram");
                    box.innerHTML = "";
                    try {
                        await mermaid.parse(text);
                        const id = "arena-diagram-" + (++window.__arenaCount);
                        const out = await mermaid.render(id, text);
                        box.innerHTML = out.svg;
                        window.__arenaOut = {svg: out.svg};
                    } catch (e) {
                        box.innerHTML = "";
                        window.__arenaOut = {error: String((e && (e.message || e.str)) || e)};
                    }
                }, 0);
            }""",
            text,
        )
        try:
            outcome = tab.wait_for_function("() => window.__arenaOut", timeout=timeout_s * 1000)
            outcome = outcome.json_value()
        except Exception as error:
            if "Timeout" not in type(error).__name__:
                raise
            context, self._mermaid = self._mermaid, None
            with contextlib.suppress(Exception):
                context[0].close()
            result.timed_out = True
            result.wall_s = time.monotonic() - started
            return result
        if outcome.get("error"):
            result.build_error = outcome["error"]
        else:
            result.svg = outcome.get("svg")
        png.parent.mkdir(parents=True, exist_ok=True)
        box = tab.query_selector("#diagram")
        if box is not None and result.svg:
            box.screenshot(path=str(png), timeout=15000)
        else:
            tab.screenshot(path=str(png), timeout=15000)
        result.png = png
        result.blank = is_blank(png)
        result.checks = {"text": len(result.svg or ""), "nodes": 0, "body": ""}
        result.wall_s = time.monotonic() - started
        return result

    @staticmethod
    def _checks(tab: Any) -> dict[str, Any]:
        """What the page shows: its text (the first 2000 characters) and element count."""
        checks: dict[str, Any] = _eval(
            tab,
            "({text: (document.body && document.body.innerText || '').length,"
            " nodes: document.getElementsByTagName('*').length,"
            " body: (document.body && document.body.innerText || '').slice(0, 2000)})",
        )
        return checks

    def _settle(self, tab: Any, settle_ms: int) -> None:
        """Fonts loaded (at most 1 s), then ``settle_ms`` for first animations."""
        with contextlib.suppress(Exception):
            tab.wait_for_function("() => document.fonts.status === 'loaded'", timeout=1000)
        if settle_ms:
            tab.wait_for_timeout(settle_ms)

    def _screenshot(self, tab: Any, png: Path) -> None:
        png.parent.mkdir(parents=True, exist_ok=True)
        height = 0
        with contextlib.suppress(Exception):
            height = int(_eval(tab, "document.documentElement.scrollHeight"))
        if height > MAX_HEIGHT:
            tab.screenshot(
                path=str(png),
                clip={"x": 0, "y": 0, "width": self.viewport["width"], "height": MAX_HEIGHT},
                full_page=True,
                timeout=15000,
            )
        else:
            tab.screenshot(path=str(png), full_page=True, timeout=15000)

    # -- live apps ----------------------------------------------------------------------------
    def render_url(
        self,
        url: str,
        png: Path,
        *,
        port: int,
        ready_selector: str,
        error_selector: str | None = None,
        busy_selector: str | None = None,
        timeout_s: float = 60.0,
        settle_ms: int = 500,
    ) -> Render:
        """Screenshot an app served on ``127.0.0.1:port`` (the only address this tab may reach).

        Waits for ``ready_selector``, then for ``busy_selector`` (a "running" indicator) to go;
        the text of ``error_selector`` (if it shows) becomes ``build_error`` (a Streamlit
        exception box, say).
        """
        return self._call(
            lambda: self._render_url(
                url,
                Path(png),
                port,
                ready_selector,
                error_selector,
                busy_selector,
                timeout_s,
                settle_ms,
            ),  # fmt: skip
            timeout=timeout_s + 120,
        )

    def _render_url(
        self,
        url: str,
        png: Path,
        port: int,
        ready_selector: str,
        error_selector: str | None,
        busy_selector: str | None,
        timeout_s: float,
        settle_ms: int,
    ) -> Render:
        started = time.monotonic()
        result = Render(png=None)
        bridge = self._bridge(port)
        try:
            context = self._new_context(allow_port=port)
        except BaseException:
            if bridge is not None:
                bridge.close()
            raise
        try:
            prefix = f"http://127.0.0.1:{port}/"

            def route(request_route: Any) -> None:
                target = request_route.request.url
                if target.startswith(prefix) or target.startswith(("data:", "blob:")):
                    request_route.continue_()
                    return
                if not _filtering():
                    request_route.continue_()
                    return
                result.blocked.append(target)
                request_route.abort("blockedbyclient")

            context.route("**/*", route)
            tab = context.new_page()
            tab.on("console", lambda m: result.console.append((m.type, m.text)))
            tab.on("pageerror", lambda e: result.page_errors.append(str(e)))
            try:
                tab.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
                tab.wait_for_selector(ready_selector, timeout=timeout_s * 1000)
            except Exception as error:
                refused = re.search(r"net::ERR_[A-Z_]+", str(error))
                if refused and "Timeout" not in type(error).__name__:
                    result.load_error = refused.group(0)
                    result.wall_s = time.monotonic() - started
                    return result
                if "Timeout" not in type(error).__name__:
                    raise
                result.timed_out = True
            if busy_selector and not result.timed_out:
                tab.wait_for_timeout(200)
                with contextlib.suppress(Exception):  # still busy after 15 s: show it as is
                    tab.wait_for_selector(busy_selector, state="detached", timeout=15000)
            self._settle(tab, settle_ms)
            result.checks = self._checks(tab)
            shown = f"!!document.querySelector({json.dumps(error_selector)})"
            if error_selector and _eval(tab, shown):
                result.build_error = tab.inner_text(error_selector, timeout=5000)[:2000]
            self._screenshot(tab, png)
            result.png = png
            result.blank = is_blank(png)
        finally:
            with contextlib.suppress(Exception):
                context.close()
            if bridge is not None:
                bridge.close()
        result.wall_s = time.monotonic() - started
        return result

    def _bridge(self, port: int) -> Bridge | None:
        """The way from the browser's namespace to ``127.0.0.1:port`` of the host (None: the
        browser is in the host's namespace, a test turned its sandbox off)."""
        self._ensure()
        return self._sandbox.bridge(port) if self._sandbox is not None else None


def _filtering() -> bool:
    """Whether requests are aborted and WebRTC held to the dead proxy (always, unless a test
    turned this layer off to show that its hostile tests then fail)."""
    return not disabled("browserfilter")


_shared: Browser | None = None
_shared_lock = threading.Lock()


def get_browser() -> Browser:
    """The process's shared browser (started on first use, closed at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Browser()
            atexit.register(close_browser)
        return _shared


def close_browser() -> None:
    """Close the shared browser (a later call to :func:`get_browser` starts a new one)."""
    global _shared
    with _shared_lock:
        browser, _shared = _shared, None
    if browser is not None:
        browser.close()
