"""The no-network policy and the storage shims sit first in the real ``<head>``, whatever the page.

Real parts only: every adversarial page is rendered in the system Chromium and tries every way
out we know of towards an HTTP listener the test starts on 127.0.0.1. The browser has no proxy
and is sandboxed like the page renderer (``launch_test_browser``), the listener's port bridged
into its network namespace (loopback must be reachable), and the controls render the same
pages without the policy and must reach that listener with every attempt: silence under the
policy means blocked, not broken.
Each page gets a fresh browser context: ``set_content`` writes into the page's existing
document, which keeps a policy it was given before.
"""

from __future__ import annotations

import codecs
import html
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from jupyter_harness import launch_test_browser

from arena_kit.web import display
from arena_kit.web.build import PRELUDE, html_page
from arena_kit.web.inject import prepend_to_head, prepend_to_head_bytes
from arena_kit.web.jupyter_app_proxy import SHIM, _inject

SETTLE_S = 1.0
"""How long a page may keep trying after its script ran (the controls must all land within it)."""

CSP_META = '<meta http-equiv="Content-Security-Policy"'


class _Listener(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that records the path of every request, whatever its method."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def sandboxed_chromium():
    """The test browser and its sandbox (for bridging each listener in)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright)
        try:
            yield browser, cleanup
        finally:
            cleanup()


@pytest.fixture(scope="module")
def chromium(sandboxed_chromium):
    return sandboxed_chromium[0]


@pytest.fixture
def listener(sandboxed_chromium) -> Iterator[_Listener]:
    """A listener whose port the browser reaches (bridged for this test only)."""
    server = _Listener()
    bridge = sandboxed_chromium[1].bridge(server.port)
    yield server
    bridge.close()
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_page(chromium):
    """A factory of pages, each in a context of its own (closed after the test)."""
    contexts = []

    def make():
        context = chromium.new_context()
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _attack(origin: str) -> str:
    """Markup that tries every way out to ``origin``, one path per way (``/fetch``, ``/img`` …).

    The script ends by setting ``window.__attacked``: a page that stayed silent did run.
    """
    ws = origin.replace("http://", "ws://")
    return f"""
<link rel="stylesheet" href="{origin}/css"><link rel="prefetch" href="{origin}/prefetch">
<link rel="preload" as="fetch" crossorigin href="{origin}/preload">
<style>@import url("{origin}/import"); body {{ background: url("{origin}/bg") }}
@font-face {{ font-family: f; src: url("{origin}/font") }} .f {{ font-family: f }}</style>
<p class="f">attack</p><img src="{origin}/img"><script src="{origin}/script"></script>
<iframe src="{origin}/iframe"></iframe><object data="{origin}/object"></object>
<embed src="{origin}/embed"><video src="{origin}/video" preload="auto"></video>
<audio src="{origin}/audio" preload="auto"></audio><svg><image href="{origin}/svgimage"/></svg>
<input type="image" src="{origin}/inputimage">
<picture><source srcset="{origin}/srcset"><img></picture>
<iframe name="sink"></iframe>
<form id="f" action="{origin}/form" method="post" target="sink"><input name="a" value="b"></form>
<script>
fetch("{origin}/fetch").catch(function () {{}});
try {{ var x = new XMLHttpRequest(); x.open("GET", "{origin}/xhr"); x.send(); }} catch (e) {{}}
try {{ new WebSocket("{ws}/ws"); }} catch (e) {{}}
try {{ new EventSource("{origin}/sse"); }} catch (e) {{}}
try {{ navigator.sendBeacon("{origin}/beacon", "x"); }} catch (e) {{}}
try {{ import("{origin}/module").catch(function () {{}}); }} catch (e) {{}}
try {{ document.getElementById("f").submit(); }} catch (e) {{}}
window.__attacked = true;
</script>"""


WAYS_OUT = {
    "/css", "/prefetch", "/preload", "/import", "/bg", "/font", "/img", "/script", "/iframe",
    "/object", "/embed", "/video", "/audio", "/svgimage", "/inputimage", "/srcset", "/form",
    "/fetch", "/xhr", "/ws", "/sse", "/beacon", "/module",
}  # fmt: skip
"""Every path :func:`_attack` reaches when nothing stops it."""


@dataclass(frozen=True)
class Case:
    """A page built to defeat a search for its ``<head>``; ``{attack}`` marks the attack."""

    template: str
    extra_paths: frozenset[str] = frozenset()

    def page(self, body: str, origin: str = "") -> str:
        return self.template.replace("{origin}", origin).replace("{attack}", body)


CASES = {
    "comment_before_head": Case("<!-- <head> --><html><head></head><body>{attack}</body></html>"),
    "header_tag_first": Case("<header>top</header>{attack}"),
    "head_in_a_script_string": Case(
        "<html><body><script>var tag = '<head>';</script>{attack}</body></html>"
    ),
    "uppercase": Case("<HTML><HEAD><TITLE>t</TITLE></HEAD><BODY>{attack}</BODY></HTML>"),
    "head_attribute_with_gt": Case(
        '<html><head data-x=">"><title>t</title></head><body>{attack}</body></html>'
    ),
    "utf8_bom": Case("\ufeff<!DOCTYPE html><html><head></head><body>{attack}</body></html>"),
    "doctype_only": Case("<!DOCTYPE html>{attack}"),
    "no_head": Case("<html><body>{attack}</body></html>"),
    "no_html": Case("{attack}"),
    "several_heads": Case("<p>intro</p><head></head><head><title>t</title></head>{attack}"),
    "html_in_a_comment": Case("<!-- <html> -->{attack}"),
    "own_loose_policy": Case(
        '<html><head><meta http-equiv="Content-Security-Policy" content="default-src * http: '
        "ws: data: blob: 'unsafe-inline' 'unsafe-eval'\"></head><body>{attack}</body></html>"
    ),
    "base_href": Case(
        '<html><head><base href="{origin}/base/"></head><body><img src="relative">{attack}'
        "</body></html>",
        frozenset({"/base/relative"}),
    ),
}


SHOWN = 2
"""How deep :func:`display.iframe` puts the page: its own frame inside a wrapper frame."""


def _frame(page, framed: bool | int):
    """The frame the page under test runs in: the main frame (``False``), or the srcdoc frame
    ``framed`` levels down (``True``: where :func:`display.iframe` puts it)."""
    if not framed:
        return page.main_frame
    depth = SHOWN if framed is True else framed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.url == "about:srcdoc" and _depth(frame) == depth:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError(f"no srcdoc frame {depth} levels down ever appeared")


def _depth(frame) -> int:
    depth = 0
    while frame.parent_frame is not None:
        frame, depth = frame.parent_frame, depth + 1
    return depth


def _run(page, host: str, *, framed: bool | int):
    """Load ``host`` and wait until the page under test ran its script; its frame."""
    page.set_content(host)
    frame = _frame(page, framed)
    frame.wait_for_function("window.__attacked === true", timeout=10_000)
    return frame


def _bare_frame(page: str) -> str:
    """The notebook's sandbox without any policy (the control for :func:`display.iframe`)."""
    return f'<iframe sandbox="{display.IFRAME_SANDBOX}" srcdoc="{html.escape(page)}"></iframe>'


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_without_the_policy_every_attack_reaches_the_listener(name, listener, fresh_page):
    """The control: the same pages, unprotected, get out every way within the wait we allow."""
    case = CASES[name]
    page = case.page(_attack(listener.origin), listener.origin)
    _run(fresh_page(), page, framed=False)
    _run(fresh_page(), _bare_frame(page), framed=1)
    time.sleep(SETTLE_S)
    # The sandbox alone stops form submission; everything else is the policy's job.
    assert set(listener.paths) >= WAYS_OUT | case.extra_paths, sorted(set(listener.paths))


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_the_policy_holds_whatever_the_page_says(name, listener, fresh_page):
    page = CASES[name].page(_attack(listener.origin), listener.origin)
    _run(fresh_page(), display.iframe(page), framed=True)
    _run(fresh_page(), display.with_csp(page), framed=False)
    time.sleep(SETTLE_S)
    assert listener.paths == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["comment_before_head", "head_attribute_with_gt", "utf8_bom"])
def test_the_iframe_csp_attribute_holds_on_its_own(name, listener, fresh_page, monkeypatch):
    """Chromium enforces the iframe's ``csp`` attribute on a srcdoc page with no meta at all."""
    monkeypatch.setattr(display, "with_csp", lambda page: page)
    page = CASES[name].page(_attack(listener.origin), listener.origin)
    shown = display.iframe(page)
    # Only the wrapper's meta is left (it says nothing but frame-src).
    assert html.unescape(html.unescape(shown)).count(CSP_META) == 1
    _run(fresh_page(), shown, framed=True)
    time.sleep(SETTLE_S)
    assert listener.paths == []


LEAKS = {
    "script": "<script>location.href = '{origin}/navigate?secret'</script>",
    "later": "<script>setTimeout(function () { location.href = '{origin}/later' }, 200)</script>",
    "refresh": "<meta http-equiv='refresh' content='0; url={origin}/refresh?secret'>",
    "link": "<a id='a' href='{origin}/click'>c</a><script>document.getElementById('a').click()"
    "</script>",
    "via_data_url": "<script>location.href = 'data:text/html,<script>location.href=\\'"
    "{origin}/via-data\\'<\\/script>'</script>",
    "child_frame": "<iframe id='i' srcdoc='x'></iframe><script>setTimeout(function () {"
    " document.getElementById('i').src = '{origin}/child' }, 100)</script>",
    "popup": "<script>window.open('{origin}/popup')</script>",
}
"""A page that sends itself (or a frame or window of its own) to the listener."""


def _leaked(page, listener) -> list[str]:
    deadline = time.monotonic() + 1.5
    while not listener.paths and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return list(listener.paths)


@pytest.mark.slow
@pytest.mark.parametrize("name", LEAKS)
def test_a_shown_page_cannot_navigate_its_own_frame_out(name, listener, fresh_page):
    """The wrapper's ``frame-src`` stops the request before it leaves."""
    page = fresh_page()
    page.set_content(display.iframe(LEAKS[name].replace("{origin}", listener.origin)))
    assert _leaked(page, listener) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["script", "later", "refresh", "link", "via_data_url"])
def test_without_the_wrapper_a_page_navigates_its_frame_out(name, listener, fresh_page):
    """The control: the page's frame alone (its own policy and ``csp`` attribute) leaks."""
    shown = display.iframe(LEAKS[name].replace("{origin}", listener.origin))
    wrapper = html.unescape(shown.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    inner = wrapper[wrapper.index("<iframe") :]
    page = fresh_page()
    page.set_content(inner)
    assert _leaked(page, listener) != []


INERT = '<p id="mark">page body</p>'


def _head(frame) -> dict:
    return frame.evaluate(
        """() => ({
            first: document.head.firstElementChild && document.head.firstElementChild.outerHTML,
            heads: document.querySelectorAll('head').length,
            mark: !!document.body.querySelector('#mark'),
        })"""
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_the_policy_is_the_first_element_of_the_real_head(name, fresh_page):
    page = CASES[name].page(INERT)
    for host, framed in ((display.with_csp(page), False), (display.iframe(page), True)):
        browser_page = fresh_page()
        browser_page.set_content(host)
        head = _head(_frame(browser_page, framed))
        assert head["first"].startswith(CSP_META), head
        assert head["heads"] == 1 and head["mark"], head


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_the_storage_prelude_is_the_first_element_of_the_real_head(name, fresh_page):
    page = fresh_page()
    page.set_content(html_page(CASES[name].page(INERT)).html)
    head = _head(page.main_frame)
    assert head["first"].startswith("<script>") and "__arenaConsole" in head["first"], head
    assert head["heads"] == 1 and head["mark"], head


NORMAL_PAGE = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Mine</title>'
    "<style>h1 { color: rgb(1, 2, 3) }</style>"
    "<script>window.headRan = document.head.contains(document.currentScript);</script>"
    '</head><body class="b"><h1 id="t">caf\u00e9</h1></body></html>'
)

_LOOKS = """() => ({
    title: document.title,
    color: getComputedStyle(document.getElementById('t')).color,
    text: document.getElementById('t').textContent,
    lang: document.documentElement.lang,
    bodyClass: document.body.className,
    headRan: window.headRan,
    head: Array.from(document.head.children).map(e => e.tagName),
    mode: document.compatMode,
})"""


def _served(chromium_page, body: bytes) -> None:
    """Open ``body`` as an HTTP response with no charset in its header (as apps often send)."""
    url = "http://page.arena.invalid/"
    chromium_page.route(url, lambda route: route.fulfill(body=body, content_type="text/html"))
    chromium_page.goto(url)


@pytest.mark.slow
def test_a_normal_page_keeps_its_own_head_content(fresh_page):
    """Title, styles, head scripts, ``<html>``/``<body>`` attributes and the doctype still count."""
    expected = {
        "title": "Mine", "color": "rgb(1, 2, 3)", "text": "caf\u00e9", "lang": "fr",
        "bodyClass": "b", "headRan": True, "mode": "CSS1Compat",
    }  # fmt: skip
    framed = fresh_page()
    framed.set_content(display.iframe(NORMAL_PAGE))
    page = fresh_page()
    page.set_content(display.with_csp(NORMAL_PAGE))
    built = fresh_page()
    built.set_content(html_page(NORMAL_PAGE).html)
    proxied = fresh_page()
    _served(proxied, _inject(NORMAL_PAGE.encode("utf-8")))
    # What arena-kit puts first: the policy (shown pages), its storage shim (built pages), the
    # shim and the interaction counter (apps through the Jupyter proxy).
    for frame, first in (
        (_frame(framed, True), ["META"]),
        (page.main_frame, ["META"]),
        (built.main_frame, ["SCRIPT"]),
        (proxied.main_frame, ["SCRIPT", "SCRIPT"]),
    ):
        looks = frame.evaluate(_LOOKS)
        assert {key: looks[key] for key in expected} == expected
        assert looks["head"] == [*first, "META", "TITLE", "STYLE", "SCRIPT"], looks["head"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "page",
    [
        "<p>no doctype</p>",
        "<!DOCTYPE html><p>standards</p>",
        ' <!-- c --> <?xml version="1.0"?><!doctype html><p>after comments</p>',
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><p>quirks</p>',
        "<p>text</p><!DOCTYPE html>",
    ],
)
def test_the_page_keeps_its_rendering_mode(page, fresh_page):
    """The doctype decides standards or quirks mode; moving it in front keeps that choice."""
    original, injected = fresh_page(), fresh_page()
    _served(original, page.encode("utf-8"))
    _served(injected, prepend_to_head(page, "<meta name=x>").encode("utf-8"))
    mode = "document.compatMode"
    assert injected.evaluate(mode) == original.evaluate(mode)


@pytest.mark.slow
def test_the_proxied_page_keeps_its_charset_past_a_long_shim(fresh_page):
    """Chromium looks for ``<meta charset>`` past 1024 bytes only while still in a head."""
    page = '<html><head><meta charset="utf-8"></head><body><h1 id="t">caf\u00e9</h1>'
    browser_page = fresh_page()
    _served(browser_page, prepend_to_head_bytes(page.encode("utf-8"), "<meta name=x>" * 400))
    assert browser_page.evaluate("document.getElementById('t').textContent") == "caf\u00e9"


@pytest.mark.slow
@pytest.mark.parametrize("bom, codec", [(codecs.BOM_UTF16_LE, "utf-16-le"),
                                        (codecs.BOM_UTF16_BE, "utf-16-be"),
                                        (codecs.BOM_UTF8, "utf-8")])  # fmt: skip
def test_a_proxied_page_with_a_byte_order_mark_gets_the_shim_first(bom, codec, fresh_page):
    page = '<!DOCTYPE html><html><head><title>t</title></head><body><h1 id="t">caf\u00e9</h1>'
    browser_page = fresh_page()
    _served(browser_page, _inject(bom + page.encode(codec)))
    assert browser_page.evaluate("document.getElementById('t').textContent") == "caf\u00e9"
    head = _head(browser_page.main_frame)
    assert head["first"].startswith("<script>") and "Jupyter proxy" in head["first"], head
    assert browser_page.evaluate("document.compatMode") == "CSS1Compat"


# The text itself, without a browser.


def test_the_markup_comes_before_the_whole_page_after_its_doctype():
    assert (
        prepend_to_head("<head><title>t</title>", "<M>") == "<html><head><M><head><title>t</title>"
    )
    assert (
        prepend_to_head("<!DOCTYPE html>\n<p>x</p>", "<M>")
        == "<!DOCTYPE html><html><head><M>\n<p>x</p>"
    )
    assert (
        prepend_to_head("<!-- a --><!doctype html>x", "<M>")
        == "<!doctype html><html><head><M><!-- a -->x"
    )
    # A doctype inside a comment, or after text, does not count for the parser either.
    assert prepend_to_head("<!-- <!DOCTYPE html> -->", "<M>").startswith("<html><head><M>")
    assert prepend_to_head("x<!DOCTYPE html>", "<M>") == "<html><head><M>x<!DOCTYPE html>"
    # The doctype token ends at the first ">", quotes or not, as the tokenizer ends it.
    assert prepend_to_head('<!DOCTYPE a "b>c">', "<M>") == '<!DOCTYPE a "b><html><head><M>c">'


def test_a_byte_order_mark_is_dropped_from_text_and_kept_first_in_bytes():
    assert prepend_to_head("\ufeff<p>x</p>", "<M>") == "<html><head><M><p>x</p>"
    encoded = prepend_to_head_bytes(codecs.BOM_UTF8 + b"<p>x</p>", "<M>")
    assert encoded == codecs.BOM_UTF8 + b"<html><head><M><p>x</p>"
    utf16 = prepend_to_head_bytes("\ufeff<!DOCTYPE html>\u00e9".encode("utf-16"), "<M>")
    assert utf16.decode("utf-16") == "<!DOCTYPE html><html><head><M>\u00e9"


def test_the_page_bytes_come_back_unchanged_whatever_their_encoding():
    page = bytes(range(256)) * 4
    assert prepend_to_head_bytes(page, "<M>") == b"<html><head><M>" + page
    odd = codecs.BOM_UTF16_LE + b"<\x00p\x00>"  # an odd last byte: not decodable
    assert prepend_to_head_bytes(odd, "<M>").endswith(b"<\x00p\x00>")
    with pytest.raises(ValueError, match="ASCII"):
        prepend_to_head_bytes(b"<p>", "<script>// \u00e9</script>")


@pytest.mark.parametrize(
    "page",
    [" " * 1_000_000 + "x", "<!--" * 250_000, "<!---->" * 150_000 + "x", " <!x" * 250_000],
)
def test_looking_for_the_doctype_takes_linear_time(page: str):
    started = time.monotonic()
    assert prepend_to_head(page, "<M>").startswith("<html><head><M>")
    assert time.monotonic() - started < 2


def test_the_notebook_iframe_carries_the_policy_twice():
    shown = display.iframe("<p>x</p>")
    wrapper = html.unescape(shown)
    assert f'csp="{html.escape(display.FRAME_POLICY)}"' in shown
    assert f'csp="{html.escape(display.CSP)}"' in wrapper
    assert html.unescape(wrapper).count(CSP_META) == 2  # the wrapper's and the page's


def test_every_caller_puts_its_markup_in_front_of_the_page():
    page = "<!-- <head> --><p>x</p>"
    assert display.with_csp(page).startswith("<html><head>" + CSP_META)
    assert html_page(page).html.startswith("<!DOCTYPE html><html><head>" + PRELUDE)
    assert _inject(page.encode()).startswith(b"<html><head>" + SHIM.encode())
