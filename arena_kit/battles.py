"""Pairs of answers to the same prompt: responses → a battles table, ready to label and judge.

>>> from arena_kit.battles import make_battles
>>> battles = make_battles(responses, prompts)  # every pair of models  # doctest: +SKIP
>>> battles = make_battles(responses, prompts, pairs="baseline:gpt-4o")  # doctest: +SKIP

A battle puts two models' answers to one prompt side by side. Which model is stored as side A
is decided by a seeded coin per battle, so neither model is always on the left of the table
(labeling shows the sides in a random order again, per annotator). The ``battle_id`` does not
depend on that coin: ``<prompt_id>-<model>-vs-<model>`` with the two names sorted, so battles
made again with another seed keep their ids and the votes that name them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from .errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["make_battles", "answer_language", "answered_prompts"]

_BASELINE = "baseline:"


def answer_language(messages: Any) -> str | None:
    """The language of the main code of a conversation's last answer (None: no code).

    The main code is :func:`arena_kit.blocks.main_block` of the last assistant message.
    """
    from .blocks import block_language, main_block

    answer = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
    block = main_block(answer)
    return block_language(block) if block is not None else None


def make_battles(
    responses: pd.DataFrame,
    prompts: pd.DataFrame | None = None,
    *,
    pairs: str = "all",
    seed: int = 0,
) -> pd.DataFrame:
    """Pair the models' answers to each prompt into battles.

    Parameters
    ----------
    responses
        A responses table: one answer per model and prompt (e.g. from
        :func:`arena_kit.datasets.read_answers`).
    prompts
        The prompts table, for each battle's ``category`` and ``source``. Missing categories
        are predicted (:func:`arena_kit.categories.fill_categories`). ``None``: the prompt is
        the first user message of the answers, its category predicted, its source empty.
    pairs
        ``"all"``: every pair of models that answered a prompt. ``"baseline:<model>"``: each
        other model against ``<model>`` (AutoCodeArena's design: n − 1 battles per prompt
        instead of n (n − 1) / 2).
    seed
        Seed of the coin that orders each battle's sides: the same seed gives the same table.

    Returns
    -------
    DataFrame
        A validated battles table, by prompt then model names: ``battle_id, prompt_id,
        category, model_a, model_b, response_a, response_b, lang_a, lang_b, source``
        (``lang_*``: :func:`answer_language`, None for an answer without code).

    Raises
    ------
    ArenaDataError
        Not a valid responses table, two answers of one model to one prompt, an answer to a
        prompt that ``prompts`` lacks, an unknown ``pairs`` or baseline model, or no prompt
        with two models to pair.
    """
    import numpy as np
    import pandas as pd

    from .categories import fill_categories
    from .schema import validate

    responses = validate(responses, "responses", source="<responses to pair>")
    baseline = _baseline(pairs, responses)
    _check_one_answer_each(responses)
    prompt_table = _prompt_table(responses, prompts)
    categorised = fill_categories(prompt_table).set_index("prompt_id")

    rng = np.random.default_rng(seed)
    languages = {
        response_id: answer_language(messages)
        for response_id, messages in zip(
            responses["response_id"], responses["messages"], strict=True
        )
    }
    rows = []
    by_prompt = responses.sort_values(["prompt_id", "model"]).groupby("prompt_id", sort=True)
    for prompt_key, group in by_prompt:
        prompt_id = str(prompt_key)
        for first, second in itertools.combinations(group.itertuples(index=False), 2):
            if baseline is not None and baseline not in (first.model, second.model):
                continue
            a, b = (first, second) if rng.random() < 0.5 else (second, first)
            rows.append(
                {
                    "battle_id": f"{prompt_id}-{first.model}-vs-{second.model}",
                    "prompt_id": prompt_id,
                    "category": categorised.at[prompt_id, "category"],
                    "model_a": a.model,
                    "model_b": b.model,
                    "response_a": a.response_id,
                    "response_b": b.response_id,
                    "lang_a": languages[a.response_id],
                    "lang_b": languages[b.response_id],
                    "source": categorised.at[prompt_id, "source"],
                }
            )
    if not rows:
        raise ArenaDataError(
            "no battles: no prompt was answered by two models"
            + (f" (one of them {baseline!r})" if baseline is not None else ""),
            source="<responses to pair>",
            column="model",
            fix="give at least two models' answers to the same prompt (the same prompt_id)",
        )
    return validate(pd.DataFrame(rows), "battles", source="<battles made from responses>")


def _baseline(pairs: Any, responses: pd.DataFrame) -> str | None:
    """The baseline model of ``pairs="baseline:<model>"`` (None for ``"all"``), checked."""
    if pairs == "all":
        return None
    if not isinstance(pairs, str) or not pairs.startswith(_BASELINE) or pairs == _BASELINE:
        raise ArenaDataError(
            f"unknown pairs {pairs!r}",
            fix='use pairs="all" (every pair of models) or pairs="baseline:<model>"',
        )
    model = pairs[len(_BASELINE) :]
    models = sorted(set(responses["model"]))
    if model not in models:
        raise ArenaDataError(
            f"baseline model {model!r} has no answers",
            column="model",
            value=model,
            fix=f"name one of the models: {', '.join(models)}",
        )
    return model


def _check_one_answer_each(responses: pd.DataFrame) -> None:
    twice = responses[responses.duplicated(["prompt_id", "model"], keep=False)]
    if len(twice):
        first = twice.iloc[0]
        ids = twice.loc[
            (twice["prompt_id"] == first["prompt_id"]) & (twice["model"] == first["model"]),
            "response_id",
        ]
        raise ArenaDataError(
            f"model {first['model']!r} has {len(ids)} answers to prompt {first['prompt_id']!r} "
            f"(responses {', '.join(map(repr, ids))})",
            source="<responses to pair>",
            column="model",
            value=first["model"],
            fix="keep one answer per model and prompt (a battle pairs one answer of each model)",
        )


def _prompt_table(responses: pd.DataFrame, prompts: pd.DataFrame | None) -> pd.DataFrame:
    """The prompts of the responses: the given table (checked), or made from the answers."""

    from .schema import validate

    if prompts is not None:
        table = validate(prompts, "prompts", source="<prompts>")
        unknown = sorted(set(responses["prompt_id"]) - set(table["prompt_id"]))
        if unknown:
            raise ArenaDataError(
                f"{len(unknown)} answered prompt(s) are not in the prompts table, e.g. "
                f"{unknown[0]!r}",
                source="<prompts>",
                column="prompt_id",
                value=unknown[0],
                fix="give the prompts table the answers came with (read_answers returns both), "
                "or prompts=None to take each prompt from its answers",
            )
        return table
    return answered_prompts(responses)


def answered_prompts(responses: pd.DataFrame) -> pd.DataFrame:
    """The prompts table of ``responses``: one row per ``prompt_id``, its instruction the first
    user message of its first answer, its category empty (for
    :func:`~arena_kit.categories.fill_categories`)."""
    from .schema import validate

    first = responses.drop_duplicates("prompt_id")
    rows = [
        {
            "prompt_id": str(prompt_id),
            "instruction": next((m["content"] for m in messages if m.get("role") == "user"), ""),
        }
        for prompt_id, messages in zip(first["prompt_id"], first["messages"], strict=True)
    ]
    return validate(rows, "prompts", source="<prompts of the responses>")
