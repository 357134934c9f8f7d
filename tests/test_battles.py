"""make_battles: pairs of answers to one prompt, sides by a seeded coin, a valid battles table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arena_kit import datasets
from arena_kit.battles import answer_language, make_battles
from arena_kit.errors import ArenaDataError
from arena_kit.schema import content_id, validate

PYGAME = "Write a snake game in pygame"
PAGE = "Make a landing page for a bakery in HTML"


def _responses(answers):
    """A responses table from (prompt, model, answer) triples."""
    return validate(
        [
            {
                "response_id": content_id(prompt, model),
                "prompt_id": content_id(prompt),
                "model": model,
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": answer},
                ],
            }
            for prompt, model, answer in answers
        ],
        "responses",
    )


THREE_MODELS = _responses(
    [
        (PYGAME, "a", "```python\nimport pygame\n```"),
        (PYGAME, "b", "```py\nprint(1)\n```"),
        (PYGAME, "c", "no code, sorry"),
        (PAGE, "a", "```html\n<h1>Bakery</h1>\n```"),
        (PAGE, "b", "```jsx\nexport default () => <h1/>\n```"),
        (PAGE, "c", "```bash\nnpm start\n```"),
    ]
)


def test_all_pairs_make_a_valid_battles_table_with_languages_and_categories():
    battles = make_battles(THREE_MODELS)
    pd.testing.assert_frame_equal(validate(battles, "battles"), battles)
    assert len(battles) == 6  # 3 pairs × 2 prompts
    for row in battles.itertuples():
        pair = {row.model_a, row.model_b}
        assert len(pair) == 2 and row.prompt_id in set(THREE_MODELS["prompt_id"])
        assert row.response_a == content_id(
            PYGAME if row.prompt_id == content_id(PYGAME) else PAGE, row.model_a
        )
    languages = {}
    for row in battles.itertuples():
        languages[(row.prompt_id, row.model_a)] = row.lang_a
        languages[(row.prompt_id, row.model_b)] = row.lang_b
    assert languages == {
        (content_id(PYGAME), "a"): "python",
        (content_id(PYGAME), "b"): "python",
        (content_id(PYGAME), "c"): None,  # no code
        (content_id(PAGE), "a"): "html",
        (content_id(PAGE), "b"): "javascript",
        (content_id(PAGE), "c"): None,  # a shell block is not the main code
    }
    # No prompts given: the prompt is the first user message, its category predicted.
    categories = battles.drop_duplicates("prompt_id").set_index("prompt_id")["category"]
    assert categories.to_dict() == {
        content_id(PYGAME): "game_development",
        content_id(PAGE): "web_design",
    }
    assert battles["source"].isna().all()


def test_ids_do_not_depend_on_the_seed_but_sides_do():
    one, same, other = (make_battles(THREE_MODELS, seed=s) for s in (0, 0, 1))
    pd.testing.assert_frame_equal(one, same)
    assert set(one["battle_id"]) == set(other["battle_id"])
    assert one["battle_id"].str.endswith(("a-vs-b", "a-vs-c", "b-vs-c")).all()
    sides = one.set_index("battle_id")["model_a"]
    assert (sides != other.set_index("battle_id")["model_a"].reindex(sides.index)).any()


def test_sides_are_a_fair_coin():
    many = _responses(
        [(f"prompt {k}", m, f"answer {m}{k}") for k in range(400) for m in ("x", "y")]
    )
    battles = make_battles(many, seed=3)
    shown_first = int((battles["model_a"] == "x").sum())
    # Binomial(400, 1/2): 200 ± 20 is about ±2 standard deviations (p ≈ 0.05 of failing with a
    # fair coin for some seed; this seed is fixed, so the test is deterministic).
    assert 180 <= shown_first <= 220, shown_first


def test_baseline_pairs_each_model_with_the_baseline_only():
    battles = make_battles(THREE_MODELS, pairs="baseline:c")
    assert len(battles) == 4  # 2 other models × 2 prompts
    assert all("c" in (a, b) for a, b in zip(battles["model_a"], battles["model_b"], strict=True))
    with pytest.raises(ArenaDataError, match=r"baseline model 'gpt' has no answers.*a, b, c"):
        make_battles(THREE_MODELS, pairs="baseline:gpt")
    with pytest.raises(ArenaDataError, match=r"unknown pairs 'some'.*baseline:<model>"):
        make_battles(THREE_MODELS, pairs="some")


def test_given_prompts_give_category_and_source_and_must_cover_the_answers(tmp_path):
    prompts = validate(
        [
            {"prompt_id": content_id(PYGAME), "instruction": PYGAME, "category": "creative_coding",
             "source": "mine"},
            {"prompt_id": content_id(PAGE), "instruction": PAGE, "source": "mine"},
        ],
        "prompts",
    )  # fmt: skip
    battles = make_battles(THREE_MODELS, prompts)
    categories = battles.drop_duplicates("prompt_id").set_index("prompt_id")["category"]
    assert categories[content_id(PYGAME)] == "creative_coding"  # given: kept
    assert categories[content_id(PAGE)] == "web_design"  # missing: predicted
    assert set(battles["source"]) == {"mine"}
    with pytest.raises(ArenaDataError, match=r"not in the prompts table.*read_answers returns"):
        make_battles(THREE_MODELS, prompts.head(1))


def test_two_answers_of_one_model_to_one_prompt_are_refused():
    twice = THREE_MODELS.copy()
    twice.loc[2, "model"] = "b"
    with pytest.raises(ArenaDataError, match=r"model 'b' has 2 answers to prompt"):
        make_battles(twice)


def test_a_prompt_answered_by_one_model_makes_no_battle():
    lonely = _responses([(PYGAME, "a", "x"), (PAGE, "b", "y")])
    with pytest.raises(ArenaDataError, match="no prompt was answered by two models"):
        make_battles(lonely)
    partial = _responses([(PYGAME, "a", "x"), (PYGAME, "b", "y"), (PAGE, "b", "z")])
    assert len(make_battles(partial)) == 1


def test_read_answers_then_make_battles(tmp_path):
    rows = [
        {"prompt": PYGAME, "model": "ours", "answer": "```python\nimport pygame\n```"},
        {"prompt": PYGAME, "model": "theirs", "answer": "```python\nprint()\n```"},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    prompts, responses = datasets.read_answers(path)
    battles = make_battles(responses, prompts)
    assert len(battles) == 1 and battles["category"].tolist() == ["game_development"]
    assert battles["source"].tolist() == ["answers.jsonl"]


def test_the_bundled_battles_are_made_by_make_battles():
    """The committed battles are make_battles' pairs and sides (ids kept; see bundle)."""
    prompts, responses = datasets.bundled_responses()
    runnable = responses[responses["messages"].map(answer_language).notna()]
    made = make_battles(runnable, prompts, seed=2025).drop(columns="battle_id")
    bundled = datasets.bundled_battles().drop(columns=["battle_id", "cluster"])
    pd.testing.assert_frame_equal(made, bundled)
