"""Reading judges' answers: JSON, labels, plain phrases, and the ones that cannot be read."""

from __future__ import annotations

import pytest

from arena_kit.judges import parse_verdict
from arena_kit.judges.verdicts import to_stored


@pytest.mark.parametrize(
    ("text", "winner", "strong", "status"),
    [
        ('{"reasoning": "B runs", "winner": "B"}', "B", False, "json"),
        ('Thinking...\n```json\n{"winner": "tie"}\n```', "tie", False, "json"),
        ('{"winner": "both_bad", "reasoning": "neither works"}', "both_bad", False, "json"),
        ('{"verdict": "Assistant A"}', "A", False, "json"),
        ('{"winner": "A", "strength": "strong"}', "A", True, "json"),
        ('{"winner": "[[B>>A]]"}', "B", True, "json"),
        ('first {"note": 1} then {"winner": "a"}', "A", False, "json"),
        ("The left one is nicer.\n[[A>B]]", "A", False, "label"),
        ("[[B>>A]] ... as said, [[B>>A]]", "B", True, "label"),
        ("[[A=B]]", "tie", False, "label"),
        ("[[ B > A ]]", "B", False, "label"),
        ("Final verdict: B", "B", False, "fallback"),
        ("**Winner:** Assistant A", "A", False, "fallback"),
        ("Overall, Assistant B is clearly better.", "B", False, "fallback"),
        ("Honestly both are bad.", "both_bad", False, "fallback"),
        ("It's a tie.", "tie", False, "fallback"),
        ('{"winner": "A"', "A", False, "fallback"),  # cut JSON, fallback phrase
    ],
)
def test_readable_answers(text, winner, strong, status):
    parsed = parse_verdict(text)
    assert (parsed.winner, parsed.strong, parsed.status) == (winner, strong, status)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        None,
        "I cannot decide without more information.",
        "[[A>B]] no wait [[B>A]]",  # contradicting labels
        '{"winner": "maybe"}',
        "<html>502 Bad Gateway</html>",
    ],
)
def test_unreadable_answers(text):
    parsed = parse_verdict(text)
    assert parsed.winner is None and parsed.status == "unparseable" and parsed.label is None


def test_labels_and_reason():
    assert parse_verdict("[[A>>B]]").label == "A>>B"
    assert parse_verdict('{"winner": "both_bad"}').label == "A=B"
    assert parse_verdict('{"winner": "B", "reasoning": "B renders"}').reason == "B renders"


def test_shown_sides_map_back_to_stored_sides():
    assert to_stored("A", swapped=False) == "model_a"
    assert to_stored("A", swapped=True) == "model_b"
    assert to_stored("B", swapped=True) == "model_a"
    assert to_stored("tie", swapped=True) == "tie"
    assert to_stored(None, swapped=False) is None
