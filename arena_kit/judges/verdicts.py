"""Reading a judge's answer: JSON first, then the ``[[A>B]]`` labels, then plain phrases.

A verdict is read in the orientation the judge saw (``A`` = the left/first side shown). The
result says how it was read (``parse_status``) so that a report can count the answers that
could not be read instead of silently dropping them.

=================  ==========================================================================
parse_status       meaning
=================  ==========================================================================
``json``           a JSON object with a ``winner`` (or ``verdict``/``choice``) field
``label``          exactly one kind of ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``,
                   ``[[B>>A]]`` label (repeats of the same label are fine)
``fallback``       a plain phrase: ``Winner: A``, ``Assistant B is better``, ``tie``…
``rule``           a rule-based judge (no text to read)
``unparseable``    none of these, or labels that contradict each other
``error``          the request itself failed (no text to read)
=================  ==========================================================================
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ParsedVerdict", "parse_verdict", "ARENA_LABELS", "PARSE_STATUSES", "to_stored"]

ARENA_LABELS: tuple[str, ...] = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
"""AutoCodeArena's five verdicts, best for A first."""

PARSE_STATUSES: tuple[str, ...] = ("json", "label", "fallback", "rule", "unparseable", "error")

_LABEL = re.compile(r"\[\[\s*(A\s*>>\s*B|A\s*>\s*B|A\s*=\s*B|B\s*>\s*A|B\s*>>\s*A)\s*\]\]")
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL | re.IGNORECASE)
_WINNER_WORDS = {
    "a": "A",
    "model_a": "A",
    "assistant a": "A",
    "assistant_a": "A",
    "model a": "A",
    "left": "A",
    "b": "B",
    "model_b": "B",
    "assistant b": "B",
    "assistant_b": "B",
    "model b": "B",
    "right": "B",
    "tie": "tie",
    "draw": "tie",
    "equal": "tie",
    "a=b": "tie",
    "both_good": "tie",
    "both good": "tie",
    "both_bad": "both_bad",
    "both bad": "both_bad",
    "bothbad": "both_bad",
    "neither": "both_bad",
    "none": "both_bad",
}
_FALLBACK = [
    # Ordered: the most explicit phrasing first.
    re.compile(r"(?:final\s+)?(?:verdict|winner|decision|choice)[\"']?\s*(?:is)?\s*[:=]?\s*"
               r"[*\"']*\s*(assistant\s+[ab]|model[\s_][ab]|both[\s_]bad|tie|[ab])\b",
               re.IGNORECASE),
    re.compile(r"\b(assistant\s+[ab]|model[\s_][ab]|response\s+[ab])\s+is\s+(?:clearly\s+|"
               r"significantly\s+|slightly\s+)?better\b", re.IGNORECASE),
    re.compile(r"\b(both\s+(?:are\s+)?bad|it'?s\s+a\s+tie|tie)\b", re.IGNORECASE),
]  # fmt: skip


@dataclass(frozen=True)
class ParsedVerdict:
    """A verdict in the judge's orientation.

    ``winner`` is ``"A"``, ``"B"``, ``"tie"``, ``"both_bad"`` or ``None`` (not read);
    ``strong`` is true for ``[[A>>B]]`` / ``[[B>>A]]`` (and JSON ``"strength": "strong"``);
    ``label`` is the AutoCodeArena label that corresponds (``A=B`` for ties and both-bad).
    """

    winner: str | None
    strong: bool
    status: str
    reason: str = ""

    @property
    def label(self) -> str | None:
        if self.winner is None:
            return None
        if self.winner in ("tie", "both_bad"):
            return "A=B"
        if self.winner == "A":
            return "A>>B" if self.strong else "A>B"
        return "B>>A" if self.strong else "B>A"


def _from_label(label: str) -> tuple[str, bool]:
    compact = re.sub(r"\s+", "", label)
    return {
        "A>>B": ("A", True),
        "A>B": ("A", False),
        "A=B": ("tie", False),
        "B>A": ("B", False),
        "B>>A": ("B", True),
    }[compact]


def _winner_word(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().strip("*").strip()
    labelled = _LABEL.fullmatch(text) or _LABEL.fullmatch(f"[[{text}]]")
    if labelled:
        return _from_label(labelled.group(1))[0]
    return _WINNER_WORDS.get(re.sub(r"\s+", " ", text.lower()))


def _json_objects(text: str) -> list[dict[str, Any]]:
    candidates = [m.group(1) for m in _JSON_BLOCK.finditer(text)]
    # Bare objects: every balanced {...} span, outermost first.
    depth = 0
    start = -1
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                candidates.append(text[start : index + 1])
    found = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def parse_verdict(text: str | None) -> ParsedVerdict:
    """Read a judge's answer (see the module docstring for the order of attempts)."""
    if not text or not text.strip():
        return ParsedVerdict(None, False, "unparseable")
    for obj in reversed(_json_objects(text)):
        lowered = {str(k).lower(): v for k, v in obj.items()}
        for key in ("winner", "verdict", "choice", "decision", "preference"):
            winner = _winner_word(lowered.get(key))
            if winner is not None:
                strength = str(lowered.get("strength", "")).lower()
                labelled = _LABEL.search(str(lowered.get(key)))
                strong = strength in ("strong", "much better", "significantly") or bool(
                    labelled and ">>" in labelled.group(1)
                )
                reason = lowered.get("reasoning") or lowered.get("reason") or ""
                return ParsedVerdict(winner, strong, "json", str(reason))
    labels = {re.sub(r"\s+", "", m.group(1)) for m in _LABEL.finditer(text)}
    if len(labels) == 1:
        winner, strong = _from_label(labels.pop())
        return ParsedVerdict(winner, strong, "label")
    if len(labels) > 1:
        return ParsedVerdict(None, False, "unparseable")
    for pattern in _FALLBACK:
        matches = list(pattern.finditer(text))
        if matches:
            word = matches[-1].group(1)
            word = re.sub(r"response\s+", "assistant ", word, flags=re.IGNORECASE)
            word = re.sub(r"both\s+(?:are\s+)?bad", "both bad", word, flags=re.IGNORECASE)
            word = re.sub(r"it'?s\s+a\s+tie", "tie", word, flags=re.IGNORECASE)
            winner = _winner_word(word)
            if winner is not None:
                return ParsedVerdict(winner, False, "fallback")
    return ParsedVerdict(None, False, "unparseable")


def to_stored(winner: str | None, swapped: bool) -> str | None:
    """Map a shown-side winner (``A``/``B``/``tie``/``both_bad``) to the stored sides.

    When the sides were swapped, the judge's ``A`` is the battle's ``model_b``.
    """
    if winner is None:
        return None
    if winner in ("tie", "both_bad"):
        return winner
    first, second = ("model_b", "model_a") if swapped else ("model_a", "model_b")
    return first if winner == "A" else second
