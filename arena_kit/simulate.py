"""Simulated votes with a known truth, for testing that rankings recover it and for the demo.

Everything here is **simulated**: the rows carry ``source="simulated"`` and the models' names
start with ``sim-``, so they can never be mistaken for real votes wherever they are shown.

The generating process (seeded, documented so results can be reproduced and reasoned about):

1. ``n_models`` models get true Elo-scale ratings, evenly spread over ``rating_spread`` and
   centred at 1000 (so ``true_ratings.mean() == 1000``).
2. Each battle draws a pair of distinct models uniformly, a category with the BigCodeArena
   traffic mix (:data:`CATEGORY_MIX`), and per side an environment typical of that category
   (:data:`CATEGORY_ENVIRONMENTS`) with its language.
3. Each battle gets an outcome. With probability ``tie_rate`` it is a draw (a ``tie`` or, with
   probability ``both_bad_share`` of draws, ``both_bad``); otherwise ``model_a`` wins with
   probability ``q = (P - tie_rate / 2) / (1 - tie_rate)``, where ``P`` is the Bradley-Terry
   probability of the true ratings. That choice makes the expected score of ``model_a`` (a draw
   counting ½) exactly ``P``: a Bradley-Terry fit that counts draws as half wins is consistent
   for the true ratings.
4. Annotators judge battles; the panel sides are random (``swapped``). One annotator, when
   ``left_bias > 0``, picks the left-hand panel with probability ``left_bias`` whatever the
   models (that shrinks ratings towards each other: turn it off to test coverage).
5. A share ``repeat_share`` of battles is judged a second time by another annotator, with an
   independent draw of the outcome (votes on the same ``battle_id``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .schema import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CATEGORY_MIX",
    "CATEGORY_ENVIRONMENTS",
    "ENVIRONMENT_LANGUAGE",
    "SIMULATED_MODELS",
    "SimulatedVotes",
    "simulate_votes",
    "ARENA_HARD_RATINGS",
    "simulate_battle_votes",
]

CATEGORY_MIX: dict[str, float] = {
    "web_design": 0.36,
    "problem_solving": 0.23,
    "game_development": 0.16,
    "scientific_computing": 0.14,
    "creative_coding": 0.08,
    "diagram_creation": 0.03,
}
"""BigCodeArena's reported traffic mix (shares sum to 1)."""

CATEGORY_ENVIRONMENTS: dict[str, dict[str, float]] = {
    "web_design": {"html": 0.5, "react": 0.35, "vue": 0.1, "streamlit": 0.05},
    "problem_solving": {
        "python": 0.45,
        "cpp": 0.15,
        "java": 0.1,
        "javascript": 0.1,
        "rust": 0.08,
        "go": 0.07,
        "c": 0.05,
    },  # fmt: skip
    "game_development": {"pygame": 0.5, "html": 0.35, "react": 0.15},
    "scientific_computing": {"python": 0.5, "streamlit": 0.25, "gradio": 0.25},
    "creative_coding": {"html": 0.6, "python": 0.25, "react": 0.15},
    "diagram_creation": {"mermaid": 0.8, "html": 0.2},
}
"""Per category, the environments a model's answer tends to run in."""

ENVIRONMENT_LANGUAGE: dict[str, str] = {
    "html": "html",
    "react": "javascript",
    "vue": "javascript",
    "streamlit": "python",
    "gradio": "python",
    "pygame": "python",
    "mermaid": "mermaid",
    "markdown": "markdown",
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "c": "c",
    "cpp": "cpp",
    "java": "java",
    "go": "go",
    "rust": "rust",
}
"""The language of an environment's main code."""

SIMULATED_MODELS: tuple[str, ...] = tuple(
    f"sim-{name}"
    for name in (
        "aurora", "basalt", "cobalt", "dune", "ember", "fjord", "granite", "harbor",
        "iris", "juniper", "kestrel", "lumen", "meridian", "nimbus", "onyx", "pylon",
    )
)  # fmt: skip


@dataclass(frozen=True)
class SimulatedVotes:
    """Simulated votes and the truth they were drawn from."""

    votes: pd.DataFrame
    """A validated votes table, ``source == "simulated"``."""
    true_ratings: pd.Series
    """Model → true Elo-scale rating (mean 1000)."""
    params: dict[str, Any] = field(default_factory=dict)
    """The arguments that produced them (store with results to reproduce them)."""


def simulate_votes(
    n_votes: int = 6000,
    *,
    seed: int = 0,
    n_models: int = 10,
    rating_spread: float = 300.0,
    tie_rate: float = 0.2,
    both_bad_share: float = 0.35,
    n_annotators: int = 4,
    left_bias: float = 0.3,
    repeat_share: float = 0.05,
    start_tstamp: float = 1_735_689_600.0,
) -> SimulatedVotes:
    """Draw ``n_votes`` simulated votes from known Bradley-Terry ratings (see module doc).

    Parameters
    ----------
    n_votes
        Number of vote rows (judged-twice battles included).
    seed
        Seed of the numpy Generator: the same arguments give the same rows on any machine.
    n_models
        2 to 16 models named ``sim-…``.
    rating_spread
        Distance in Elo points between the best and the worst model's true rating.
    tie_rate
        Probability that a vote is a draw (``tie`` or ``both_bad``).
    both_bad_share
        Share of draws recorded as ``both_bad``.
    n_annotators
        Annotators ``annotator-1`` … ; ``annotator-1`` is the biased one when ``left_bias > 0``.
    left_bias
        Probability that ``annotator-1`` votes for the left-hand panel regardless of the models.
    repeat_share
        Share of battles judged twice (by a different annotator, independent outcome).
    start_tstamp
        Time stamp of the first vote; votes follow at random intervals of about a minute.
    """
    import numpy as np
    import pandas as pd

    from .schema import validate

    if not 2 <= n_models <= len(SIMULATED_MODELS):
        raise ValueError(f"n_models must be between 2 and {len(SIMULATED_MODELS)}, got {n_models}")
    if n_votes < 1:
        raise ValueError(f"n_votes must be at least 1, got {n_votes}")
    if not 0 <= tie_rate < 1:
        raise ValueError(f"tie_rate must be in [0, 1), got {tie_rate}")
    params = {k: v for k, v in locals().items() if k not in {"np", "pd", "validate"}}
    if 1 / (1 + 10 ** (-rating_spread / 400)) > 1 - tie_rate / 2:
        raise ValueError(
            f"rating_spread {rating_spread} is too wide for tie_rate {tie_rate}: the strongest "
            "model would need to win more often than draws allow; lower one of them"
        )
    rng = np.random.default_rng(seed)
    models = np.array(SIMULATED_MODELS[:n_models])
    ratings = 1000.0 + np.linspace(rating_spread / 2, -rating_spread / 2, n_models)
    annotators = np.array([f"annotator-{i + 1}" for i in range(max(1, n_annotators))])

    n_repeats = int(round(n_votes * repeat_share / (1 + repeat_share)))
    n_battles = n_votes - n_repeats

    first = rng.integers(0, n_models, n_battles)
    second = (first + rng.integers(1, n_models, n_battles)) % n_models  # never the same model
    categories = rng.choice(list(CATEGORY_MIX), size=n_battles, p=list(CATEGORY_MIX.values()))
    env_a = _draw_environments(rng, categories)
    env_b = _draw_environments(rng, categories)
    turns = np.where(rng.random(n_battles) < 0.76, 2, rng.integers(1, 6, n_battles))

    repeated = np.sort(rng.choice(n_battles, size=n_repeats, replace=False))
    rows = np.concatenate([np.arange(n_battles), repeated])
    is_repeat = np.concatenate([np.zeros(n_battles, bool), np.ones(n_repeats, bool)])

    first_annotator = rng.integers(0, len(annotators), n_battles)
    annotator = first_annotator[rows].copy()
    if len(annotators) > 1:
        # A repeat goes to another annotator than the first judgement's.
        shift = rng.integers(1, len(annotators), n_repeats)
        annotator[is_repeat] = (annotator[is_repeat] + shift) % len(annotators)

    a, b = first[rows], second[rows]
    swapped = rng.random(len(rows)) < 0.5
    biased = (annotator == 0) & (rng.random(len(rows)) < left_bias) if left_bias > 0 else None
    winner = _draw_winners(
        rng, ratings[a] - ratings[b], tie_rate, both_bad_share, swapped=swapped, biased=biased
    )

    tstamp = start_tstamp + np.cumsum(rng.exponential(60.0, len(rows)))
    order = np.argsort(tstamp)
    battle_ids = np.array([f"sim-battle-{seed}-{i:06d}" for i in range(n_battles)])
    votes = pd.DataFrame(
        {
            "vote_id": [f"sim-vote-{seed}-{i:06d}" for i in range(len(rows))],
            "battle_id": battle_ids[rows],
            "prompt_id": [f"sim-prompt-{i % 997:03d}" for i in rows],
            "category": categories[rows],
            "model_a": models[a],
            "model_b": models[b],
            "winner": winner,
            "env_a": env_a[rows],
            "env_b": env_b[rows],
            "lang_a": [ENVIRONMENT_LANGUAGE[e] for e in env_a[rows]],
            "lang_b": [ENVIRONMENT_LANGUAGE[e] for e in env_b[rows]],
            "annotator": annotators[annotator],
            "swapped": swapped,
            "tstamp": tstamp[order],
            "duration_s": np.round(rng.gamma(4.0, 15.0, len(rows)), 1),
            "turns": turns[rows],
            "source": "simulated",
        }
    )
    votes = votes.iloc[order].reset_index(drop=True)
    votes["vote_id"] = [f"sim-vote-{seed}-{i:06d}" for i in range(len(votes))]
    votes = validate(votes, "votes", source="simulated votes")
    truth = pd.Series(ratings, index=pd.Index(models, name="model"), name="true_rating")
    return SimulatedVotes(votes=votes, true_ratings=truth, params=params)


def _draw_winners(
    rng: Any,
    gap: Any,
    tie_rate: float,
    both_bad_share: float,
    *,
    swapped: Any,
    biased: Any = None,
) -> Any:
    """Winners whose expected score for model_a is the BT probability of ``gap`` (step 3 of the
    module doc); ``biased`` rows go to the left panel instead (step 4)."""
    import numpy as np

    n = len(gap)
    p_a = 1.0 / (1.0 + 10.0 ** (-np.asarray(gap, dtype=float) / 400.0))
    q_a = (p_a - tie_rate / 2) / (1 - tie_rate)
    draw = rng.random(n) < tie_rate
    a_wins = rng.random(n) < q_a
    if biased is not None:
        draw = draw & ~biased
        # The left panel shows model_b when the sides are swapped.
        a_wins = np.where(biased, ~swapped, a_wins)
    both_bad = rng.random(n) < both_bad_share
    return np.where(
        draw, np.where(both_bad, "both_bad", "tie"), np.where(a_wins, "model_a", "model_b")
    )


ARENA_HARD_RATINGS: dict[str, float] = {
    "gpt-4-0314": 1000.0,
    "gpt-4-0613": 1000.0 + 400 * math.log10(0.379 / 0.621),
    "gpt-3.5-turbo-0125": 1000.0 + 400 * math.log10(0.233 / 0.767),
}
"""Elo-scale strengths of the three bundled Arena-Hard models, from their published win rates
against gpt-4-0314 (37.9 % and 23.3 %, arena-hard-auto leaderboard of 2024-07-31): the assumed
truth of :func:`simulate_battle_votes`."""


def simulate_battle_votes(
    battles: pd.DataFrame,
    ratings: Mapping[str, float] | None = None,
    *,
    seed: int = 0,
    tie_rate: float = 0.2,
    both_bad_share: float = 0.35,
    n_annotators: int = 3,
    start_tstamp: float = 1_735_689_600.0,
) -> pd.DataFrame:
    """**Simulated** votes for real battles (one per battle), for demos of the judges.

    The rule (seeded, documented): each battle's winner is drawn as in step 3 of the module
    doc from the models' ``ratings`` (default :data:`ARENA_HARD_RATINGS`); sides are shown in a
    random order; annotators ``sim-annotator-1``… take battles in turn. The votes know nothing of
    the answers' content or execution — they only stand in for people so that the judge
    pipeline can run offline. Every row has ``source="simulated"``.
    """
    import numpy as np
    import pandas as pd

    from .schema import validate

    ratings = dict(ARENA_HARD_RATINGS if ratings is None else ratings)
    unknown = sorted((set(battles["model_a"]) | set(battles["model_b"])) - set(ratings))
    if unknown:
        raise ValueError(f"no rating for model(s) {', '.join(unknown)}: pass ratings=")
    rng = np.random.default_rng(seed)
    gap = battles["model_a"].map(ratings).to_numpy() - battles["model_b"].map(ratings).to_numpy()
    swapped = rng.random(len(battles)) < 0.5
    winner = _draw_winners(rng, gap, tie_rate, both_bad_share, swapped=swapped)
    votes = pd.DataFrame(
        {
            "vote_id": [f"sim-vote-{b}" for b in battles["battle_id"]],
            "battle_id": battles["battle_id"].to_numpy(),
            "prompt_id": battles["prompt_id"].to_numpy(),
            "category": battles["category"].to_numpy(),
            "model_a": battles["model_a"].to_numpy(),
            "model_b": battles["model_b"].to_numpy(),
            "winner": winner,
            "lang_a": battles["lang_a"].to_numpy(),
            "lang_b": battles["lang_b"].to_numpy(),
            "annotator": [f"sim-annotator-{i % n_annotators + 1}" for i in range(len(battles))],
            "swapped": swapped,
            "tstamp": start_tstamp + 60.0 * np.arange(len(battles)),
            "source": "simulated",
        }
    )
    return validate(votes, "votes", source="simulated battle votes")


def _draw_environments(rng: Any, categories: Any) -> Any:
    import numpy as np

    environments = np.empty(len(categories), dtype=object)
    for category in CATEGORIES:
        mask = categories == category
        options = CATEGORY_ENVIRONMENTS[category]
        environments[mask] = rng.choice(
            list(options), size=int(mask.sum()), p=list(options.values())
        )
    return environments
