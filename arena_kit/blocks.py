"""Fenced code blocks in a markdown answer: the one parser every module uses.

A block opens with three or more backticks (or tildes) and an optional info string, and closes
with a fence of the same character at least as long (CommonMark's rule). An unclosed block runs
to the end of the text, as models often stop mid-answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CodeBlock",
    "fenced_blocks",
    "block_language",
    "main_block",
    "SHELL_TAGS",
    "TAG_LANGUAGES",
]

SHELL_TAGS = frozenset({"", "bash", "sh", "shell", "zsh", "console", "powershell", "cmd", "bat"})
"""Info-string tags of blocks that hold commands (or nothing to tell), not a program."""

_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its tag (first word of the info string, lower-cased) and its code."""

    tag: str
    code: str
    start_line: int
    """1-based line of the opening fence."""
    closed: bool = True


def fenced_blocks(markdown: str) -> list[CodeBlock]:
    """All fenced code blocks of ``markdown``, in order."""
    blocks: list[CodeBlock] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group("fence")
        info = opening.group("info")
        tag = info.split()[0].lower().strip("{}.") if info.split() else ""
        indent = len(opening.group("indent"))
        body: list[str] = []
        closed = False
        cursor = index + 1
        while cursor < len(lines):
            text = lines[cursor]
            stripped = text.lstrip(" ")
            if (
                len(text) - len(stripped) <= 3
                and stripped.startswith(fence[0] * len(fence))
                and not stripped.rstrip().strip(fence[0])
            ):
                closed = True
                break
            # Content lines lose up to the fence's own indentation.
            body.append(text[min(indent, len(text) - len(text.lstrip(" "))) :])
            cursor += 1
        blocks.append(CodeBlock(tag=tag, code="\n".join(body), start_line=index + 1, closed=closed))
        index = cursor + 1
    return blocks


TAG_LANGUAGES: dict[str, str] = {
    "python": "python", "py": "python", "python3": "python", "pygame": "python",
    "streamlit": "python", "gradio": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript", "node": "javascript",
    "mjs": "javascript", "react": "javascript", "vue": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "typescript",
    "html": "html", "htm": "html", "xhtml": "html", "svg": "html",
    "css": "css",
    "c": "c", "h": "c",
    "cpp": "cpp", "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp",
    "java": "java",
    "go": "go", "golang": "go",
    "rust": "rust", "rs": "rust",
    "markdown": "markdown", "md": "markdown",
    "mermaid": "mermaid",
}  # fmt: skip
"""Fence tag → the language (a :data:`arena_kit.schema.LANGUAGES` name) it declares."""


def block_language(block: CodeBlock) -> str | None:
    """The language a block's tag declares, or None for other and untagged blocks."""
    return TAG_LANGUAGES.get(block.tag)


def main_block(markdown: str) -> CodeBlock | None:
    """The answer's main code: its longest block whose tag is not a shell (the original's rule).

    Only blocks in a language of :data:`TAG_LANGUAGES` count, so an answer whose code is all
    SQL or PHP has no main block here.
    """
    candidates = [
        block
        for block in fenced_blocks(markdown)
        if block.tag not in SHELL_TAGS and block_language(block) is not None
    ]
    return max(candidates, key=lambda block: len(block.code), default=None)
