"""Rebuild the derived files in ``data/`` from the bundled sources: ``python -m arena_kit.bundle``.

- ``data/battles/arena-hard-battles.jsonl``: the demo's **real** battles. For each of the 500
  Arena-Hard prompts, each pair of the three models' answers whose main code (see
  :func:`arena_kit.blocks.main_block`) is in a language the workbench runs. Sides are ordered
  by a seeded coin (labeling shows them in random order again).
  Their ``category`` is predicted by :func:`arena_kit.categories.fill_categories` (the
  prompts have none).
- ``data/simulated/arena-hard-battle-votes.jsonl``: **simulated** votes on those real battles,
  one each, by :func:`arena_kit.simulate.simulate_battle_votes` (for the judges' demo).
- ``data/simulated/simulated-votes.jsonl``: **simulated** votes from
  :func:`arena_kit.simulate.simulate_votes` with :data:`SIMULATION` (known truth alongside in
  ``simulated-truth.json``).

The output is deterministic: a test rebuilds both in a temporary folder and compares them with
the committed files, so they can never drift from the code.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SIMULATION", "build_battles", "build", "main"]

SIMULATION: dict[str, Any] = {"n_votes": 6000, "seed": 2025, "n_models": 10}
"""The arguments of the bundled simulated votes."""

BATTLE_SEED = 2025


def build_battles(prompts: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Pair answers to the same prompt when both have runnable main code (see module doc)."""
    import numpy as np
    import pandas as pd

    from .blocks import block_language, main_block
    from .schema import validate

    rng = np.random.default_rng(BATTLE_SEED)
    languages = {
        response_id: _language(messages, main_block, block_language)
        for response_id, messages in zip(
            responses["response_id"], responses["messages"], strict=True
        )
    }
    rows = []
    by_prompt = responses.sort_values(["prompt_id", "model"]).groupby("prompt_id", sort=True)
    for prompt_key, group in by_prompt:
        prompt_id = str(prompt_key)
        runnable = [r for r in group.itertuples(index=False) if languages[r.response_id]]
        for first, second in itertools.combinations(runnable, 2):
            a, b = (first, second) if rng.random() < 0.5 else (second, first)
            rows.append(
                {
                    "battle_id": f"ah-{prompt_id[:12]}-{a.model}-vs-{b.model}",
                    "prompt_id": prompt_id,
                    "category": None,
                    "model_a": a.model,
                    "model_b": b.model,
                    "response_a": a.response_id,
                    "response_b": b.response_id,
                    "lang_a": languages[a.response_id],
                    "lang_b": languages[b.response_id],
                    "source": "arena-hard-v0.1",
                }
            )
    from .categories import fill_categories

    # Arena-Hard prompts carry no BigCodeArena category: the built-in classifier fills it.
    categorised = fill_categories(prompts).set_index("prompt_id")
    frame = pd.DataFrame(rows)
    frame["category"] = frame["prompt_id"].map(categorised["category"])
    battles = validate(frame, "battles", source="Arena-Hard battles")
    battles["cluster"] = battles["prompt_id"].map(categorised["cluster"])
    return battles


def _language(messages: Any, main_block: Any, block_language: Any) -> str | None:
    answer = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
    block = main_block(answer)
    return block_language(block) if block is not None else None


def build(data_dir: Path) -> list[Path]:
    """Write the derived files under ``data_dir``; returns their paths."""
    from .datasets import bundled_responses, write_table
    from .simulate import simulate_battle_votes, simulate_votes

    prompts, responses = bundled_responses()
    battles = build_battles(prompts, responses)
    battles_path = write_table(
        battles, data_dir / "battles" / "arena-hard-battles.jsonl", "battles"
    )
    battle_votes_path = write_table(
        simulate_battle_votes(battles, seed=BATTLE_SEED),
        data_dir / "simulated" / "arena-hard-battle-votes.jsonl",
        "votes",
    )
    simulated = simulate_votes(**SIMULATION)
    votes_path = write_table(
        simulated.votes, data_dir / "simulated" / "simulated-votes.jsonl", "votes"
    )
    truth_path = data_dir / "simulated" / "simulated-truth.json"
    truth_path.write_text(
        json.dumps(
            {
                "note": "SIMULATED data: the true ratings the simulated votes were drawn from",
                "params": simulated.params,
                "true_ratings": simulated.true_ratings.round(6).to_dict(),
            },
            indent=2,
        )
        + "\n"
    )
    return [battles_path, battle_votes_path, votes_path, truth_path]


def main() -> int:
    from .datasets import DATA_DIR

    for path in build(DATA_DIR):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
