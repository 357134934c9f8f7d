"""Showing results in a notebook: sandboxed iframes, images, output panes, side by side.

A page is shown in ``<iframe srcdoc>`` with ``sandbox="allow-scripts"`` and never
``allow-same-origin`` (the page gets an opaque origin: no access to the notebook, its cookies
or the Jupyter API), and the page carries a content-security policy that forbids every
network connection. Live apps are reached through the Jupyter server (arena-kit's server
extension, :mod:`arena_kit.web.jupyter_app_proxy`), so they work when JupyterLab is remote.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

from ..sandbox import ExecutionResult
from ..sandbox.result import STATUS_COLORS
from .inject import prepend_to_head

if TYPE_CHECKING:
    from .apps import App

__all__ = [
    "CSP",
    "HTMLView",
    "show",
    "side_by_side",
    "iframe",
    "with_csp",
    "INTERACTION_SCRIPT",
    "live_app_html",
    "LIVE_APP_VIAS",
]

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' blob: data:; "
    "style-src 'unsafe-inline' data:; img-src data: blob:; font-src data:; "
    "media-src data: blob:; worker-src blob:; connect-src 'none'; frame-src 'none'; "
    "form-action 'none'; base-uri 'none'"
)
"""The policy every shown page carries: inline code and data URLs only, no connections."""

IFRAME_SANDBOX = "allow-scripts"
"""The iframe's permissions: scripts run, in an opaque origin (never allow-same-origin)."""


class HTMLView:
    """An HTML fragment that Jupyter displays (``_repr_html_``); ``.html`` is the string."""

    def __init__(self, markup: str) -> None:
        self.html = markup

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def with_csp(page: str) -> str:
    """``page`` with the no-network policy as the first element of its ``<head>``."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">'
    return prepend_to_head(page, meta)


FRAME_POLICY = "frame-src 'none'"
"""The wrapper document's policy. ``frame-src 'none'`` is what stops a page from navigating its
own frame to a URL (``location.href = …``, ``<meta http-equiv=refresh>``, a link): only the
*embedding* document's ``frame-src`` governs a frame's own navigations, and Chromium checks it
before the request leaves. ``about:srcdoc`` is exempt, so the page itself still loads. The page
inherits this policy (a srcdoc document does) on top of its own :data:`CSP`, which already
says ``frame-src 'none'``: nothing else may be restricted here, or the page's scripts and
styles would be."""


INTERACTION_SCRIPT = (
    "<script>(function(){var send=function(kind){try{parent.postMessage("
    '{arenaInteraction:kind},"*")}catch(e){}};'
    'addEventListener("pointerdown",function(){send("click")},true);'
    'addEventListener("keydown",function(){send("key")},true);})();</script>'
)
"""Counts a person's clicks and key presses in a shown page: each one is posted to the
embedding frame, which passes it on (see :func:`iframe`'s ``count``). The page's own code
could post the same messages: the counts say how much a person tried the page, not proof."""

_RELAY_SCRIPT = (
    '<script>addEventListener("message",function(e){if(e.data&&e.data.arenaInteraction)'
    '{parent.postMessage({arenaInteraction:String(e.data.arenaInteraction)},"*")}});</script>'
)


def iframe(page: str, *, height: int = 520, width: str = "100%", count: bool = False) -> str:
    """A sandboxed ``<iframe srcdoc>`` showing ``page`` with no network.

    The page's policy is given twice: in the page (:func:`with_csp`) and in the iframe's
    ``csp`` attribute (CSP Embedded Enforcement), which Chromium enforces on the framed
    document whatever that document's text is (browsers without the attribute still have the
    meta). Neither governs where the frame itself may navigate: that is the embedding
    document's ``frame-src``, and the notebook's page is not ours to give a policy. So the
    page's frame sits inside a wrapper frame of our own whose only content is that frame and
    whose policy is :data:`FRAME_POLICY`. Both frames are sandboxed (scripts only, opaque
    origins): the page cannot navigate the wrapper or the notebook, nor open popups.

    ``count=True`` adds :data:`INTERACTION_SCRIPT` to the page and a relay to the wrapper, so
    that the notebook receives ``{"arenaInteraction": "click" | "key"}`` messages from it.
    """
    if count:
        page = prepend_to_head(page, INTERACTION_SCRIPT)
    inner = (
        f'<iframe sandbox="{IFRAME_SANDBOX}" csp="{html.escape(CSP)}" '
        f'srcdoc="{html.escape(with_csp(page), quote=True)}" referrerpolicy="no-referrer" '
        'style="display:block;width:100%;height:100%;border:0"></iframe>'
    )
    wrapper = (
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(FRAME_POLICY)}">'
        f"<style>html,body{{margin:0;height:100%;overflow:hidden;background:#fff}}</style>"
        f"{_RELAY_SCRIPT if count else ''}{inner}"
    )
    return (
        f'<iframe sandbox="{IFRAME_SANDBOX}" csp="{html.escape(FRAME_POLICY)}" '
        f'srcdoc="{html.escape(wrapper, quote=True)}" '
        f'style="width:{width};height:{height}px;border:1px solid #d0d7de;border-radius:6px;'
        'background:#fff" loading="lazy" referrerpolicy="no-referrer"></iframe>'
    )


def _image(path: str, mime: str = "image/png") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<img src="data:{mime};base64,{data}" style="max-width:100%;border:1px solid #d0d7de;'
        'border-radius:6px"/>'
    )


def _badge(result: ExecutionResult) -> str:
    color = STATUS_COLORS.get(result.status.value, "#57606a")
    facts = [result.environment]
    if result.wall_s is not None:
        facts.append(f"{result.wall_s:.2f} s")
    return (
        f'<div style="margin:4px 0"><span style="background:{color};color:#fff;'
        f'border-radius:4px;padding:1px 6px;font-family:monospace">'
        f"{html.escape(result.status.value)}</span> {html.escape(result.message)} "
        f'<span style="color:#57606a">{html.escape(" · ".join(facts))}</span></div>'
    )


def _panes(result: ExecutionResult) -> str:
    parts = []
    for title, text in (
        ("stdout", result.stdout),
        ("stderr", result.stderr),
        ("build log", result.build_log),
    ):
        if text:
            parts.append(
                f"<details{' open' if title == 'stderr' and not result.ok else ''}>"
                f"<summary>{title}</summary>"
                f'<pre style="max-height:16em;overflow:auto;font-size:12px">'
                f"{html.escape(text)}</pre></details>"
            )
    return "".join(parts)


def _visual(result: ExecutionResult, height: int, interactive: bool) -> str:
    by_name = {str(a.get("name")): a for a in result.artifacts}
    page = by_name.get("page.html")
    if interactive and page and Path(str(page["path"])).is_file():
        return iframe(Path(str(page["path"])).read_text("utf-8"), height=height)
    gif = by_name.get("capture.gif")
    if gif and Path(str(gif["path"])).is_file():
        return _image(str(gif["path"]), "image/gif")
    if result.screenshot and Path(result.screenshot).is_file():
        return _image(result.screenshot)
    images = [
        a for a in result.artifacts
        if str(a.get("mime", "")).startswith("image/") and Path(str(a["path"])).is_file()
    ]  # fmt: skip
    return "".join(_image(str(a["path"]), str(a["mime"])) for a in images[:4])


def _body(result: ExecutionResult, height: int, interactive: bool) -> str:
    return _badge(result) + _visual(result, height, interactive) + _panes(result)


def show(result: ExecutionResult, *, height: int = 520, interactive: bool = True) -> HTMLView:
    """A result for the notebook: status, the live page (or the image), and the outputs.

    ``interactive=False`` shows the screenshot instead of the live page.
    """
    return HTMLView(f'<div class="arena-result">{_body(result, height, interactive)}</div>')


def side_by_side(
    a: ExecutionResult,
    b: ExecutionResult,
    *,
    labels: tuple[str, str] = ("A", "B"),
    height: int = 480,
    interactive: bool = True,
) -> HTMLView:
    """Two results next to each other, in two columns of exactly equal size."""
    cells = []
    for label, result in zip(labels, (a, b), strict=True):
        cells.append(
            '<div style="min-width:0;overflow:hidden">'
            f'<div style="font-weight:600;margin-bottom:4px">{html.escape(label)}</div>'
            f"{_body(result, height, interactive)}</div>"
        )
    return HTMLView(
        '<div class="arena-side-by-side" style="display:grid;grid-template-columns:'
        f'minmax(0,1fr) minmax(0,1fr);gap:12px;align-items:start">{"".join(cells)}</div>'
    )


LIVE_APP_VIAS = ("auto", "jupyter", "proxy", "direct")


def live_app_html(
    app: App, *, height: int = 560, via: str = "auto", base_url: str | None = None
) -> str:
    """An iframe on a running app.

    ``via="jupyter"`` reaches the app through the Jupyter server, so it works when
    JupyterLab is remote: ``<base_url>arena-kit/app/<token>/``, served by arena-kit's server
    extension (:mod:`arena_kit.web.jupyter_app_proxy`) with a capability token made for
    this app. That URL shares Jupyter's origin, so the frame is
    ``sandbox="allow-scripts allow-forms"`` without ``allow-same-origin`` (an opaque
    origin: no Jupyter cookies, no Jupyter API); the proxy adds the CORS headers and
    storage stand-ins that apps need there. ``base_url`` defaults to the one the kernel's
    Jupyter server announced (an error names the fix when it does not load the extension).
    ``via="proxy"``
    is the same (the name of the older jupyter-server-proxy route, which could not run the
    apps in an opaque origin).

    ``via="direct"`` points at the app's own loopback port (``http://127.0.0.1:<port>/``):
    another origin than the notebook's, so ``allow-same-origin`` gives the app *its* origin
    and no access to Jupyter. It works only with the browser on the kernel's machine.

    ``via="auto"`` (the default) is ``jupyter`` when the Jupyter server running this kernel
    loads the extension, else ``direct``.
    """
    if via not in LIVE_APP_VIAS:
        raise ValueError(f"via must be one of {', '.join(map(repr, LIVE_APP_VIAS))}, not {via!r}")
    if via == "auto":
        from .jupyter_app_proxy import server_base_url

        via = "jupyter" if base_url or server_base_url() else "direct"
    if via in ("jupyter", "proxy"):
        from .jupyter_app_proxy import app_url

        url = app_url(app, base_url)
        sandbox = "allow-scripts allow-forms"
    else:
        url = app.url
        sandbox = "allow-scripts allow-same-origin allow-forms allow-downloads"
    return (
        f"<div>{html.escape(app.label)}, live while it runs: "
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">'
        f"<code>{html.escape(url)}</code></a></div>"
        f'<iframe src="{html.escape(url)}" sandbox="{sandbox}" referrerpolicy="no-referrer" '
        f'style="width:100%;height:{height}px;border:1px solid #d0d7de;border-radius:6px">'
        "</iframe>"
    )
