"""Sample input and expected output found in competitive-programming prompts.

Real prompts come from the bundled Arena-Hard set (by uid): every one in it that shows a
judge's sample run, and real prompts that speak of input and output without one. The
other formats (AtCoder, HackerRank, Markdown, one-line examples) are written here, marked as
constructed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from arena_kit.sampleio import same_output, sample_io

QUESTIONS = Path(__file__).resolve().parents[1] / "data/arena-hard-v0.1/question.jsonl"


@lru_cache(maxsize=1)
def _prompts() -> dict[str, str]:
    rows = (json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines())
    return {row["uid"]: row["prompt"] for row in rows}


# Real: Codeforces (copied "inputCopy"/"outputCopy" after a worded "Input" section).
CARDS = (
    "b43c07656ead4150b360294ee932b410",
    "6\nabc\nacb\nbac\nbca\ncab\ncba\n",
    "YES\nYES\nYES\nNO\nNO\nYES\n",
)
# Real: CodeChef (copied "Input" and "Output" headers first, then input and output lines).
TOYS = (
    "face6a5531854b188dfc266e289ee595",
    "6\n1\n1\n2\n00\n4\n1010\n4\n1100\n6\n010101\n5\n00001\n",
    "YES\nNO\nYES\nNO\nYES\nNO\n",
)
CHESS = (
    "dbff049f35b142249c18d8faebe84039",
    "6\n1 0\n1 1\n1 2\n4 4\n4 6\n10 20\n",
    "0\n0\n2\n0\n4\n20\n",
)


@pytest.mark.parametrize("uid, sample_input, expected", [CARDS, TOYS, CHESS],
                         ids=["codeforces", "codechef-toys", "codechef-chess"])  # fmt: skip
def test_real_judge_prompts(uid, sample_input, expected):
    assert sample_io(_prompts()[uid]) == (sample_input, expected)


NEGATIVES = {
    # LeetCode-style examples: a function's arguments ("Input : nums = [0, 1]"), not stdin.
    "a3dfabb011e245e190a0147fef6ff14b": "leetcode-arguments",
    "1cf3677651564ce5bcc2174db5cc23eb": "hmac-input-parameters",
    "7956046cc15646909bd07c31d0ea0371": "associations-input-word",
    "9cb276c0d40b4adb813a1f19c8ef5278": "click-input-output-files",
    "e9157e4e79be40f286d253010c5734c9": "json-input-output",
    "4e514ce6de03483c92b7c5f158bb339e": "srt-code-with-input-output",
    "19a33ec26311487b896fe17479caa9f6": "html-form-example",
    "328c149ed45a41c0b9d6f14659e63599": "abc-notation",
    "ee9ae71956724d4591d4d9bc457d598d": "streamlit-code-with-examples",
    "e80139e32fb54b95a9a4effa86d8ddf5": "exam-format-example",
    "2f5d4521798b41a787f1e831f5d3c75b": "dictionary-entry-examples",
    "15d6036ce51546d8bdffc0b3770c5170": "example-yaml",
}


@pytest.mark.parametrize("uid", sorted(NEGATIVES), ids=[NEGATIVES[u] for u in sorted(NEGATIVES)])
def test_real_prompts_without_a_sample(uid):
    assert sample_io(_prompts()[uid]) is None


def test_no_real_prompt_outside_the_judges_ones_has_a_sample():
    """Over all 500 bundled prompts: samples exactly in the three judge statements."""
    found = {uid for uid, text in _prompts().items() if sample_io(text) is not None}
    assert found == {CARDS[0], TOYS[0], CHESS[0]}


# Constructed: the common layouts of other judges and of prompts typed into a chat.
CONSTRUCTED = {
    "atcoder": (
        "Print the sum.\n\nSample Input 1\n\n3\n1 2 3\n\nSample Output 1\n\n6\n\n"
        "Sample Input 2\n\n1\n5\n\nSample Output 2\n\n5\n",
        "3\n1 2 3\n",
        "6\n",
    ),
    "hackerrank": (
        "Input Format\nThe first line contains n.\n\nSample Input 0\n4\n1 2 3 4\n"
        "Sample Output 0\n10\nExplanation 0\n1+2+3+4 = 10.\n",
        "4\n1 2 3 4\n",
        "10\n",
    ),
    "markdown-fenced": (
        "Write a C++ program.\n\n**Input:**\n```\n2\nhello world\n\nbye\n```\n"
        "**Output:**\n```\nHELLO WORLD\nBYE\n```\n",
        "2\nhello world\n\nbye\n",
        "HELLO WORLD\nBYE\n",
    ),
    "example-inline": ("Factorial.\nExample input: 5\nExample output: 120\n", "5\n", "120\n"),
    "heading-example": (
        "### Example\nInput:\n3 4\nOutput:\n7\nNote: read from stdin.\n",
        "3 4\n",
        "7\n",
    ),
    "crlf": ("Sample Input\r\n1 2\r\nSample Output\r\n3\r\n", "1 2\n", "3\n"),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTED))
def test_constructed_layouts(name):
    prompt, sample_input, expected = CONSTRUCTED[name]
    assert sample_io(prompt) == (sample_input, expected)


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "Write a function that takes input and returns output.",
        "Input\nThe first line contains an integer n.\nOutput\nPrint the answer for each case.\n",
        "Input: nums = [1, 2]\nOutput: 3\n",
        "Input Format\nOne line.\nOutput Format\nOne line.\n",
        "Sample Input\n5\n(no output shown)\n",
    ],
    ids=["empty", "words", "worded-sections", "leetcode", "formats", "input-only"],
)
def test_constructed_negatives(prompt):
    assert sample_io(prompt) is None


def test_same_output_compares_like_a_judge():
    assert same_output("YES\nNO  \n\n", "YES\nNO\n")
    assert same_output("6", "6\n")
    assert not same_output("YES\nYES\n", "YES\nNO\n")
    assert not same_output("6\n7\n", "6\n")
