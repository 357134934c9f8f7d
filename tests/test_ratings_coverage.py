"""Coverage of the 95 % intervals on simulated votes with known true ratings.

200 data sets from :func:`arena_kit.simulate.simulate_votes` (no biased annotator, no
judged-twice battles, so a half-win Bradley-Terry fit is consistent). For each, the default
fit (100 bootstrap rounds, percentile intervals) and the sandwich intervals; the share of
(data set, model) intervals that contain the true centred rating must be in [0.93, 0.97].
"""

from __future__ import annotations

import numpy as np
import pytest

from arena_kit.ratings import fit_bradley_terry
from arena_kit.simulate import simulate_votes

N_DATASETS = 200


@pytest.mark.slow
def test_true_ratings_fall_inside_95_percent_intervals_at_the_nominal_rate() -> None:
    hits = {"bootstrap": [], "sandwich": []}
    for seed in range(N_DATASETS):
        sim = simulate_votes(1500, seed=1000 + seed, n_models=8, left_bias=0.0, repeat_share=0.0)
        truth = sim.true_ratings - sim.true_ratings.mean() + 1000
        result = fit_bradley_terry(sim.votes, n_bootstrap=100, seed=seed)
        board = result.leaderboard.set_index("model").reindex(truth.index)
        hits["bootstrap"].extend((board["ci_low"] <= truth) & (truth <= board["ci_high"]))
        z = 1.959963984540054
        se = result.sandwich_se.reindex(truth.index)
        rating = result.ratings.reindex(truth.index)
        hits["sandwich"].extend((rating - z * se <= truth) & (truth <= rating + z * se))
    rates = {method: float(np.mean(h)) for method, h in hits.items()}
    print(f"coverage over {N_DATASETS} data sets x 8 models: {rates}")
    for method, rate in rates.items():
        assert 0.93 <= rate <= 0.97, (method, rate)
