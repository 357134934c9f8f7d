"""Small battles of tiny real programs for the labeling tests (and a check of them).

Imported by the other ``test_labeling*`` modules and by the browser test.
"""

from __future__ import annotations

import shutil
import threading

import pandas as pd
import pytest

MODELS = ("alpha-coder-7b", "beta-llm-13b", "gamma-gpt-xl", "delta-net-3b")

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")


def answer(text: str, code: str | None) -> str:
    if code is None:
        return text
    return f"{text}\n\n```python\n{code}\n```\n\nThat prints the result."


def make_data(n_prompts: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(battles, responses): each prompt answered by every model, one battle per model pair.

    Every answer is a tiny Python program printing a line unique to it; one model names
    itself in its prose (the session must hide it); prompt ``p0`` is a two-turn conversation.
    """
    responses, battles = [], []
    for p in range(n_prompts):
        prompt = f"Write a program that prints the number {p} in a sentence."
        for m, model in enumerate(MODELS):
            code = f"print('answer of model {m} to prompt {p}')"
            if model == "delta-net-3b" and p == 1:
                code = "raise SystemExit('deliberate failure')"
            prose = f"I am {model}. Here is the code." if model == "gamma-gpt-xl" else "Sure."
            messages = [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": answer(prose, code)},
            ]
            if p == 0:
                messages += [
                    {"role": "user", "content": "Now print it twice."},
                    {
                        "role": "assistant",
                        "content": answer("Twice:", f"print('turn two of {m}')\n" * 2),
                    },
                ]
            responses.append(
                {
                    "response_id": f"r-{p}-{m}",
                    "prompt_id": f"p{p}",
                    "model": model,
                    "turn": 2 if p == 0 else 1,
                    "messages": messages,
                }
            )
        for i in range(len(MODELS)):
            for j in range(i + 1, len(MODELS)):
                battles.append(
                    {
                        "battle_id": f"b-{p}-{i}{j}",
                        "prompt_id": f"p{p}",
                        "category": "problem_solving",
                        "model_a": MODELS[i],
                        "model_b": MODELS[j],
                        "response_a": f"r-{p}-{i}",
                        "response_b": f"r-{p}-{j}",
                        "lang_a": "python",
                        "lang_b": "python",
                        "source": "test",
                    }
                )
    return pd.DataFrame(battles), pd.DataFrame(responses)


def sandbox():
    """The real sandbox (bubblewrap), without the result cache so every run really runs."""
    from arena_kit.labeling import sandbox_executor

    return sandbox_executor(backend="bwrap", cache=False)


class Gate:
    """An executor that holds every run until ``open()`` (to see the UI before outputs)."""

    def __init__(self, executor):
        self.executor = executor
        self.event = threading.Event()
        self.calls = 0

    def __call__(self, code, language, environment):
        self.calls += 1
        self.event.wait(60)
        return self.executor(code, language, environment)

    def open(self):
        self.event.set()


def test_the_test_data_is_valid():
    from arena_kit.schema import validate

    battles, responses = make_data()
    assert len(validate(battles, "battles")) == 4 * 6
    assert len(validate(responses, "responses")) == 4 * 4
