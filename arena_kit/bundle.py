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
    """Pair answers to the same prompt when both have runnable main code (see module doc).

    :func:`arena_kit.battles.make_battles` makes the pairs, the sides and the categories; only
    the answers with runnable main code go in, and the committed ids
    (``ah-<prompt_id[:12]>-<model_a>-vs-<model_b>``) are kept because the bundled simulated
    votes and every report made from them name battles by these ids.
    """
    from .battles import answer_language, make_battles

    runnable = responses[responses["messages"].map(answer_language).notna().to_numpy(bool)]
    battles = make_battles(runnable, prompts, pairs="all", seed=BATTLE_SEED)
    battles["battle_id"] = [
        f"ah-{prompt_id[:12]}-{a}-vs-{b}"
        for prompt_id, a, b in zip(
            battles["prompt_id"], battles["model_a"], battles["model_b"], strict=True
        )
    ]
    battles["cluster"] = battles["prompt_id"].map(prompts.set_index("prompt_id")["cluster"])
    return battles


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
