"""Pair sampling: uniform, balanced, active — and the simulation that shows active works."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from arena_kit.sampling import active_scores, choose_pair, pair_counts, simulate_sampling


def _votes(pairs):
    return pd.DataFrame(
        [{"model_a": a, "model_b": b, "winner": w} for a, b, w in pairs],
        columns=["model_a", "model_b", "winner"],
    )


def test_balanced_serves_the_fewest_compared_pair_first():
    votes = _votes([("x", "y", "model_a"), ("x", "y", "tie"), ("y", "z", "model_b")])
    pairs = [("x", "y"), ("z", "y"), ("x", "z"), ("y", "x")]
    rng = random.Random(0)
    assert {choose_pair(pairs, votes, "balanced", rng) for _ in range(20)} == {2}
    votes = _votes([("x", "z", "tie"), ("x", "z", "tie"), ("z", "x", "tie")])
    # y-x and x-y are the same unordered pair; both battles of it are candidates.
    assert {choose_pair(pairs, votes, "balanced", rng) for _ in range(40)} == {0, 1, 3}
    assert pair_counts(votes)[("x", "z")] == 3


def test_uniform_reaches_every_candidate():
    pairs = [("a", "b"), ("a", "c"), ("b", "c")]
    rng = random.Random(1)
    assert {choose_pair(pairs, None, "uniform", rng) for _ in range(100)} == {0, 1, 2}
    with pytest.raises(ValueError, match="unknown sampling mode"):
        choose_pair(pairs, None, "greedy", rng)


def test_active_prefers_close_pairs_and_unseen_models():
    models = ["m0", "m1", "m2", "m3"]
    ratings = {"m0": 1300.0, "m1": 1100.0, "m2": 900.0, "m3": 700.0}
    rows = [(a, b, "model_a") for i, a in enumerate(models) for b in models[i + 1 :]] * 3
    votes = _votes(rows)
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    scores = dict(zip(pairs, active_scores(pairs, votes, ratings=ratings), strict=True))
    # A vote between neighbours tells more than one between the best and the worst.
    assert scores[("m1", "m2")] > scores[("m0", "m3")]
    assert scores[("m0", "m1")] > scores[("m0", "m3")]
    assert all(np.isfinite(list(scores.values())))
    with_new = [*pairs, ("m0", "m9")]
    assert np.isinf(active_scores(with_new, votes, ratings=ratings)[-1])
    assert choose_pair(with_new, votes, "active", random.Random(0), ratings=ratings) == 6


@pytest.mark.slow
def test_active_sampling_narrows_the_intervals_by_at_least_15_percent():
    # Ten models 600 Elo points apart (best to worst), 20 warm-up votes, then 200 picks per
    # mode; outcomes drawn from the true ratings of arena_kit.simulate. Five seeds (the
    # benchmark measured active 16.6 % below uniform on them).
    widths = {
        mode: [simulate_sampling(mode, 200, seed=seed)["mean_width"] for seed in range(5)]
        for mode in ("uniform", "active")
    }
    ratio = np.mean(widths["active"]) / np.mean(widths["uniform"])
    assert ratio <= 0.85, widths
