"""The sample input and expected output of a competitive-programming prompt.

Judges' statements show an example run: ``Input`` … ``Output`` (Codeforces' copied
``inputCopy`` / ``outputCopy``), ``Sample Input 1`` / ``Sample Output 1`` (AtCoder,
HackerRank), ``Example input:`` … ``Example output:``, in plain text or in Markdown with
fenced blocks. :func:`sample_io` finds the first such pair, so that a caller can run an
answer on the input (``run(code, stdin=...)``) and show whether its output matches
(:func:`same_output`).

A section that describes the input in words (``Input`` followed by "The first line contains
…", ``Input Format``) is not a sample. LeetCode-style examples (``Input: nums = [0, 1]``) are
a function's arguments, not a program's stdin: they give None.
"""

from __future__ import annotations

import re

__all__ = ["sample_io", "same_output"]

_MARKUP = re.compile(r"[*_#>`]+")
_LABEL = (
    r"(?:(?:sample|example)s?\s*(?:test\s*)?(?:case\s*)?)?\s*"
    r"(?P<kind>input|output)\s*(?:#?\s*\d+)?\s*(?:copy)?"
)
# A header alone on its line ("Sample Input 1", "inputCopy", "**Input:**").
_HEADER = re.compile(rf"^{_LABEL}\s*:?\s*$", re.IGNORECASE)
# A header with its value on the same line ("Example input: 5").
_INLINE = re.compile(rf"^{_LABEL}\s*:\s*(?P<value>\S.*)$", re.IGNORECASE)
# Lines that end a sample: the statement goes on.
_SECTION = re.compile(
    r"^(?:explanation|notes?|constraints|examples?|samples?|test\s*case|hint|"
    r"(?:input|output)\s+format|sample\s*\d+|example\s*\d+)\b.*$",
    re.IGNORECASE,
)
_PROSE_WORDS = frozenset(
    ["the", "a", "an", "of", "is", "are", "each", "contains", "and", "to", "for", "if", "you",
     "your", "it", "that", "which", "with", "print", "line", "lines", "given", "number",
     "integer"]
)  # fmt: skip
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*\s*=\s*\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _plain(line: str) -> str:
    """A line without Markdown emphasis and heading marks, for matching headers."""
    return _MARKUP.sub("", line).strip()


def _is_prose(line: str) -> bool:
    """A sentence of the statement, not data (data lines rarely hold common English words)."""
    words = re.findall(r"[A-Za-z]+", line)
    return len(words) >= 4 and any(word.lower() in _PROSE_WORDS for word in words)


def _header(line: str) -> tuple[str, str | None] | None:
    """(``input``/``output``, the inline value or None) when ``line`` is a sample header."""
    text = _plain(line)
    match = _HEADER.match(text)
    if match:
        return match["kind"].lower(), None
    match = _INLINE.match(text)
    if match:
        return match["kind"].lower(), match["value"].strip()
    return None


def _block(lines: list[str], start: int) -> tuple[list[str], int]:
    """The data lines from ``start`` on (a fenced block, or lines up to a blank line, a header
    or a section), and the index after them."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index < len(lines) and _FENCE.match(lines[index]):
        fence = _FENCE.match(lines[index])
        assert fence is not None
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence.group(1)):
            body.append(lines[index].rstrip())
            index += 1
        return body, index + 1
    body = []
    while index < len(lines):
        line = lines[index]
        if not line.strip() or _header(line) or _SECTION.match(_plain(line)):
            break
        body.append(line.rstrip())
        index += 1
    return body, index


def _is_data(block: list[str]) -> bool:
    """Whether a block looks like a program's input or output (not prose, not ``x = [..]``)."""
    return bool(block) and not any(_is_prose(line) or _ASSIGNMENT.match(line) for line in block)


def _split_joined(block: list[str]) -> tuple[list[str], list[str]] | None:
    """CodeChef's copied samples put ``Input`` and ``Output`` headers first, then the input
    lines and the output lines together: split them when the input starts with a test count
    ``T`` and each test prints one line (the last ``T`` lines)."""
    if not block or not block[0].strip().isdigit():
        return None
    count = int(block[0].strip())
    if not 0 < count < len(block):
        return None
    return block[:-count], block[-count:]


def _text(block: list[str]) -> str:
    return "\n".join(block) + "\n"


def sample_io(prompt: str) -> tuple[str, str] | None:
    """The first sample input and its expected output in a competitive-programming prompt.

    Parameters
    ----------
    prompt
        The user's prompt (a judge's statement pasted in, often with a request around it).

    Returns
    -------
    tuple of (str, str) or None
        ``(input, expected_output)``, each ending with one newline, ready for
        ``run(code, stdin=input)``; None when the prompt shows no sample run of a program
        reading stdin (no samples, a description only, or a function's arguments).
    """
    lines = prompt.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    pending: list[str] | None = None  # an input block waiting for its output
    while index < len(lines):
        found = _header(lines[index])
        if found is None:
            index += 1
            continue
        kind, inline = found
        if inline is not None:
            block, index = [inline], index + 1
        else:
            block, index = _block(lines, index + 1)
        if kind == "input" and inline is None and not block and index < len(lines):
            if _header(lines[index]) == ("output", None):  # CodeChef: both headers first
                joined, index = _block(lines, index + 1)
                parts = _split_joined(joined) if _is_data(joined) else None
                if parts is not None:
                    return _text(parts[0]), _text(parts[1])
            pending = None
        elif kind == "input":
            pending = block if _is_data(block) else None
        elif pending is not None and _is_data(block):
            return _text(pending), _text(block)
        else:
            pending = None
    return None


def same_output(actual: str, expected: str) -> bool:
    """Whether a program's output matches a sample's expected output the way judges compare:
    line by line, ignoring trailing spaces and trailing blank lines.

    Parameters
    ----------
    actual
        What the program printed.
    expected
        The expected output (from :func:`sample_io`).
    """

    def lines(text: str) -> list[str]:
        rows = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    return lines(actual) == lines(expected)
