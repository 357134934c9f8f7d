"""HTML for a labeling session: answers (markdown with highlighted code) and run outputs.

Kept free of widgets so that the blind-judging guarantee (no model name in what is shown
before the vote) can be checked on plain strings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from ..blocks import fenced_blocks

__all__ = [
    "markdown_html", "code_html", "output_html", "ansi_html", "prompt_html", "sample_html",
    "redact", "STYLE",
]  # fmt: skip

STYLE = """
<style>
.arena-session .arena-panel { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 10px;
  min-width: 0; overflow-x: auto; }
.arena-session .arena-side { font-weight: 600; font-size: 1.1em; }
.arena-session pre { white-space: pre-wrap; word-break: break-word; max-height: 28em;
  overflow: auto; background: #f6f8fa; padding: 6px; border-radius: 4px; margin: 4px 0; }
.arena-session .arena-out { border-left: 3px solid #8c959f; padding-left: 6px; margin: 4px 0; }
.arena-session .arena-status { font-family: monospace; font-weight: 600; }
.arena-session .arena-prompt { background: #fff8c5; padding: 6px 10px; border-radius: 6px; }
.arena-session .arena-keys { font-size: 0.85em; color: #57606a; padding: 2px 6px;
  border: 1px dashed #8c959f; border-radius: 4px; outline: none; }
.arena-session .arena-keys:focus { border-color: #0969da; color: #0969da; }
.arena-session .highlight .k, .arena-session .highlight .kn { color: #cf222e; }
.arena-session .highlight .s, .arena-session .highlight .s1, .arena-session .highlight .s2
  { color: #0a3069; }
.arena-session .highlight .c, .arena-session .highlight .c1 { color: #6e7781; }
.arena-session .highlight .nf, .arena-session .highlight .nc { color: #8250df; }
.arena-session .highlight .mi, .arena-session .highlight .mf { color: #0550ae; }
/* A panel has a fixed height and scrolls: its parts keep their own height (the flex column
   would squeeze them and let their content spill out) */
.arena-session .arena-panel > * { flex-shrink: 0; }
/* ipywidgets gives HTML widgets its row height as line height: text would sit on 28 px lines */
.arena-session .widget-html-content { line-height: 1.45; }
.arena-session .widget-html-content pre { line-height: 1.35; }
.arena-session .arena-shot { display: block; }
.arena-session .arena-shot input { display: none; }
.arena-session .arena-shot img { display: block; width: 100%; height: auto; cursor: zoom-in;
  border: 1px solid #d0d7de; border-radius: 6px; box-sizing: border-box; }
.arena-session .arena-shot input:checked + img { position: fixed; inset: 0; margin: auto;
  width: auto; max-width: 96vw; max-height: 96vh; z-index: 10000; cursor: zoom-out;
  box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.55); background: #fff; }
.arena-session .arena-thumbs { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr));
  gap: 4px; margin-top: 4px; }
.arena-session .arena-live { width: 100%; height: 420px; }
.arena-session .arena-sample-io { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr));
  gap: 6px; }
.arena-session .arena-sample-io pre { max-height: 10em; }
.arena-session .arena-clamp input { display: none; }
.arena-session .arena-clamp .arena-prompt-text { max-height: 4.4em; overflow: hidden; }
.arena-session .arena-clamp:has(input:checked) .arena-prompt-text { max-height: none; }
.arena-session .arena-clamp label { color: #0969da; cursor: pointer; font-size: 0.9em; }
.arena-session .arena-clamp:has(input:checked) .arena-more,
.arena-session .arena-clamp:not(:has(input:checked)) .arena-less { display: none; }
</style>
"""
"""CSS of the session (scoped under ``.arena-session``)."""

_STATUS_COLORS = {
    "ok": "#1a7f37",
    "running": "#9a6700",
    "queued": "#57606a",
}


def redact(text: str, names: Iterable[str]) -> str:
    """``text`` with every occurrence of the given model names replaced by ``[model]``.

    A response that names its own model would break the blind judgement.
    """
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(re.escape(name), "[model]", text, flags=re.IGNORECASE)
    return text


def code_html(code: str, language: str | None) -> str:
    """Highlighted code (Pygments when installed, plain ``<pre>`` otherwise)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound
    except ImportError:  # pragma: no cover - pygments comes with JupyterLab
        return f"<pre>{html.escape(code)}</pre>"
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return str(highlight(code, lexer, HtmlFormatter(cssclass="highlight", nowrap=False)))


_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = _INLINE_CODE.sub(r"<code>\1</code>", text)
    return _BOLD.sub(r"<strong>\1</strong>", text)


def _prose_html(text: str) -> str:
    """A small markdown subset: headings, lists, paragraphs, inline code and bold."""
    parts: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            parts.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if items:
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        heading = _HEADING.match(line)
        item = _ITEM.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)  # keep headings below the page's own
            parts.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if paragraph:
                flush()
            items.append(item.group(1))
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return "".join(parts)


def markdown_html(markdown: str) -> str:
    """An answer as HTML: prose as light markdown, fenced code blocks highlighted."""
    lines = markdown.splitlines()
    parts: list[str] = []
    cursor = 0
    for block in fenced_blocks(markdown):
        start = block.start_line - 1
        parts.append(_prose_html("\n".join(lines[cursor:start])))
        parts.append(code_html(block.code, block.tag or None))
        length = block.code.count("\n") + 1 if block.code else 0
        cursor = start + 1 + length + (1 if block.closed else 0)
    parts.append(_prose_html("\n".join(lines[cursor:])))
    return "".join(parts)


_ANSI = re.compile(r"\x1b\[([0-9;]*)m")
_ANSI_OTHER = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[@-Z\\-_])")
_ANSI_COLORS = {
    30: "#24292f", 31: "#cf222e", 32: "#1a7f37", 33: "#9a6700", 34: "#0969da", 35: "#8250df",
    36: "#1b7c83", 37: "#6e7781", 90: "#57606a", 91: "#ff5f56", 92: "#2da44e", 93: "#bf8700",
    94: "#218bff", 95: "#a475f9", 96: "#3192aa", 97: "#8c959f",
}  # fmt: skip


def ansi_html(text: str) -> str:
    """Terminal text as HTML: colour and bold escape codes become styles, every other escape
    sequence (cursor moves, titles) is dropped; never shown raw."""
    text = _ANSI_OTHER.sub(lambda m: m.group(0) if m.group(0).endswith("m") else "", text)
    parts: list[str] = []
    open_spans = 0
    cursor = 0
    for match in _ANSI.finditer(text):
        parts.append(html.escape(text[cursor : match.start()]))
        cursor = match.end()
        codes = [int(c) for c in match.group(1).split(";") if c.isdigit()] or [0]
        for code in codes:
            if code == 0:
                parts.append("</span>" * open_spans)
                open_spans = 0
            elif code == 1:
                parts.append("<span style='font-weight:600'>")
                open_spans += 1
            elif code in _ANSI_COLORS:
                parts.append(f"<span style='color:{_ANSI_COLORS[code]}'>")
                open_spans += 1
    parts.append(html.escape(text[cursor:]))
    parts.append("</span>" * open_spans)
    return "".join(parts)


def _picture(path: str) -> str:
    """An image scaled to the panel's width (never cropped); a click enlarges it."""
    import base64
    from pathlib import Path

    file = Path(path)
    if not file.is_file() or file.stat().st_size > 8_000_000:
        return ""
    mime = "image/gif" if file.suffix == ".gif" else "image/jpeg" if file.suffix in (
        ".jpg", ".jpeg") else "image/svg+xml" if file.suffix == ".svg" else "image/png"  # fmt: skip
    data = base64.b64encode(file.read_bytes()).decode("ascii")
    return (
        f"<label class='arena-shot' title='click to enlarge'><input type='checkbox'>"
        f"<img alt='{html.escape(file.name)}' src='data:{mime};base64,{data}'></label>"
    )


def _live_page(path: str) -> str:
    from pathlib import Path

    from ..web.display import iframe

    try:
        page = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    return f"<div class='arena-live-page'>{iframe(page, height=420, count=True)}</div>"


def output_html(output: Any, *, live: bool = True) -> str:
    """The executed output of a run, as HTML, output first: the status line, then the page
    itself, live (pages: a sandboxed frame the person can click and type into), or the
    pictures (scaled to the panel, click to enlarge), then stdout and stderr (terminal colours
    kept), the build log folded.

    ``output`` is a :class:`~arena_kit.labeling.runs.RunOutput`; ``live=False`` shows a page's
    screenshot instead of the page.
    """
    status = str(output.status)
    color = _STATUS_COLORS.get(status, "#cf222e")
    wall = getattr(output, "wall_s", None)
    took = f" <span style='color:#57606a'>({wall:.1f} s)</span>" if wall else ""
    # Messages start with their status ("runtime error: …"): the status alone when none.
    said = output.message or status
    if output.message and not output.message.lower().startswith(status.replace("_", " ")[:4]):
        said = f"{status}: {output.message}"
    head = f"<div class='arena-status' style='color:{color}'>{html.escape(said)}{took}</div>"
    body = ""
    page = getattr(output, "page", None)
    images = list(getattr(output, "images", None) or [])
    if live and page:
        body += _live_page(page)
    elif images:
        body += _picture(images[0])
        if len(images) > 1:
            body += "<div class='arena-thumbs'>" + "".join(map(_picture, images[1:])) + "</div>"
    # A program's output is the thing itself; beside a page, an app or a picture it is a log,
    # folded unless the run failed.
    fold = bool(page or images) and status == "ok"
    for name, text, style in (
        ("stdout", output.stdout, ""),
        ("stderr", output.stderr, " style='color:#cf222e'"),
    ):
        if not text:
            continue
        shown = f"<pre{style}>{ansi_html(text)}</pre>"
        body += f"<details><summary>{name}</summary>{shown}</details>" if fold else shown
    log = getattr(output, "build_log", "")
    if log:
        body += f"<details><summary>build log</summary><pre>{ansi_html(log)}</pre></details>"
    if not body and status not in ("running", "queued"):
        body = "<div><i>(no output)</i></div>"
    return f"<div class='arena-out'>{head}{body}</div>"


def sample_html(sample: tuple[str, str], output: Any | None) -> str:
    """The answer run on the prompt's sample input: the input, the expected and the actual
    output, and whether they match the way judges compare (line by line, trailing spaces
    ignored). ``output`` None: still running."""
    from ..sampleio import same_output

    given, expected = sample
    if output is None:
        verdict = "<span style='color:#9a6700'>running on the prompt's sample input…</span>"
        got = ""
    else:
        matches = str(output.status) == "ok" and same_output(output.stdout, expected)
        why = html.escape(output.message or str(output.status))
        verdict = (
            "<span style='color:#1a7f37'>✓ matches the expected output</span>"
            if matches
            else f"<span style='color:#cf222e'>✗ differs ({why})</span>"
        )
        got = f"<div><b>Got</b><pre>{ansi_html(output.stdout or '(nothing)')}</pre></div>"
    return (
        "<details class='arena-sample' open><summary><b>On the prompt's sample input:</b> "
        f"{verdict}</summary><div class='arena-sample-io'>"
        f"<div><b>Input</b><pre>{html.escape(given)}</pre></div>"
        f"<div><b>Expected</b><pre>{html.escape(expected)}</pre></div>{got}</div></details>"
    )


def prompt_html(title: str, body: str, *, long: bool) -> str:
    """The prompt box: a long prompt shows its first lines and a "show all" toggle, so the
    panels and the vote buttons stay on screen."""
    if not long:
        return f"<div class='arena-prompt'><b>{html.escape(title)}</b>{body}</div>"
    return (
        f"<div class='arena-prompt'><b>{html.escape(title)}</b><div class='arena-clamp'>"
        f"<div class='arena-prompt-text'>{body}</div><label><input type='checkbox'>"
        "<span class='arena-more'>▾ show all</span><span class='arena-less'>▴ show less</span>"
        "</label></div></div>"
    )
