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

__all__ = ["markdown_html", "code_html", "output_html", "redact", "STYLE"]

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


def output_html(output: Any) -> str:
    """The executed output of a run, as HTML.

    ``output`` is a :class:`~arena_kit.labeling.runs.RunOutput`; the sandbox's own rendering
    (``_repr_html_`` of its result: screenshots, artifacts) is used when it has one, plain
    stdout/stderr otherwise.
    """
    status = str(output.status)
    color = _STATUS_COLORS.get(status, "#cf222e")
    head = (
        f"<div class='arena-status' style='color:{color}'>{html.escape(status)}"
        f"{': ' + html.escape(output.message) if output.message else ''}</div>"
    )
    if output.rich_html:
        # The sandbox's own rendering already says the status (and shows screenshots).
        return f"<div class='arena-out'>{output.rich_html}</div>"
    body = ""
    if output.stdout:
        body += f"<pre>{html.escape(output.stdout)}</pre>"
    if output.stderr:
        body += f"<pre style='color:#cf222e'>{html.escape(output.stderr)}</pre>"
    if not body and status not in ("running", "queued"):
        body = "<div><i>(no output)</i></div>"
    return f"<div class='arena-out'>{head}{body}</div>"
