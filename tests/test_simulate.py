"""Simulated votes: seeded, labelled, and drawn from the documented process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arena_kit.simulate import CATEGORY_MIX, simulate_votes


def test_same_seed_same_votes_other_seed_other_votes():
    first = simulate_votes(500, seed=7).votes
    pd.testing.assert_frame_equal(first, simulate_votes(500, seed=7).votes)
    assert not first["winner"].equals(simulate_votes(500, seed=8).votes["winner"])


def test_votes_are_labelled_simulated_everywhere():
    simulated = simulate_votes(300, seed=1)
    assert set(simulated.votes["source"]) == {"simulated"}
    models = set(simulated.votes["model_a"]) | set(simulated.votes["model_b"])
    assert all(m.startswith("sim-") for m in models)
    assert simulated.votes["vote_id"].str.startswith("sim-").all()


def test_truth_is_centred_and_shares_follow_the_mix():
    simulated = simulate_votes(20000, seed=3, n_models=8)
    assert simulated.true_ratings.mean() == pytest.approx(1000)
    shares = simulated.votes["category"].value_counts(normalize=True)
    for category, share in CATEGORY_MIX.items():
        assert shares[category] == pytest.approx(share, abs=0.015)
    draws = simulated.votes["winner"].isin(["tie", "both_bad"]).mean()
    # The biased annotator (1 in 4, 30 % of the time) never draws: 0.2 * (1 - 0.25 * 0.3).
    assert draws == pytest.approx(0.2 * (1 - 0.25 * 0.3), abs=0.015)


def test_expected_score_equals_the_bradley_terry_probability():
    simulated = simulate_votes(60000, seed=5, n_models=2, left_bias=0.0, repeat_share=0.0)
    votes, truth = simulated.votes, simulated.true_ratings
    strong, weak = truth.idxmax(), truth.idxmin()
    score = np.where(votes["winner"].isin(["tie", "both_bad"]), 0.5, 0.0)
    strong_won = ((votes["model_a"] == strong) & (votes["winner"] == "model_a")) | (
        (votes["model_b"] == strong) & (votes["winner"] == "model_b")
    )
    score = np.where(strong_won, 1.0, score)
    expected = 1 / (1 + 10 ** ((truth[weak] - truth[strong]) / 400))
    assert score.mean() == pytest.approx(expected, abs=0.01)


def test_left_bias_and_repeats():
    votes = simulate_votes(8000, seed=2, left_bias=0.9, repeat_share=0.1).votes
    biased = votes[votes["annotator"] == "annotator-1"]
    left_won = ((biased["winner"] == "model_a") & ~biased["swapped"]) | (
        (biased["winner"] == "model_b") & biased["swapped"]
    )
    assert left_won.mean() > 0.85
    repeats = votes[votes["battle_id"].duplicated(keep=False)]
    assert len(repeats) == pytest.approx(2 * 8000 * 0.1 / 1.1, rel=0.02)
    assert (repeats.groupby("battle_id")["annotator"].nunique() == 2).all()


def test_environment_language_pairs_are_consistent():
    votes = simulate_votes(2000, seed=4).votes
    diagram = votes[votes["category"] == "diagram_creation"]
    assert set(diagram["env_a"]) <= {"mermaid", "html"}
    assert (votes.loc[votes["env_a"] == "react", "lang_a"] == "javascript").all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_models": 1}, "n_models"),
        ({"n_votes": 0}, "n_votes"),
        ({"tie_rate": 1.0}, "tie_rate"),
        ({"rating_spread": 2000}, "too wide"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_votes(**kwargs)
