"""The audit (issue 16, item 5): one planted-defect board per probe makes that probe fire, and
on 100+ clean simulated boards no probe fires more than 5 % of the time.

The bars are the constants of :mod:`arena_kit.ratings.audit`, fixed before these boards were
written. A clean board is Bradley-Terry exactly: 8 models 80 Elo apart, 6,000 votes, 5 %
draws, 8 annotators sharing the votes at random, sides shown at random with no left bias.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from arena_kit.ratings import RatingsWarning
from arena_kit.ratings.audit import AUDIT_COLUMNS, PROBES, audit
from arena_kit.simulate import _draw_winners, simulate_votes


def clean_board(seed: int) -> pd.DataFrame:
    return simulate_votes(
        6000, seed=seed, n_models=8, rating_spread=560, tie_rate=0.05, n_annotators=8,
        left_bias=0.0, repeat_share=0.0,
    ).votes  # fmt: skip


def fired(votes: pd.DataFrame, **options) -> dict[str, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        table = audit(votes, **options)
    return dict(zip(table["probe"], table["fired"], strict=True))


def test_the_table_has_one_row_per_probe_and_a_clean_board_passes() -> None:
    table = audit(clean_board(1))
    assert list(table.columns) == list(AUDIT_COLUMNS)
    assert table["probe"].tolist() == list(PROBES)
    assert not table["fired"].any(), table[table["fired"]]
    assert table["evidence"].str.len().gt(10).all() and table["message"].str.len().gt(10).all()


# ---------------------------------------------------------------------------------------------
# One planted defect per probe.


def test_rank_volatility_fires_when_models_are_nearly_equal() -> None:
    votes = simulate_votes(3000, seed=2, n_models=6, rating_spread=15, left_bias=0.0).votes
    assert fired(votes)["rank_volatility"]


def test_separation_fires_when_neighbours_are_close() -> None:
    # Four models 15 Elo apart: no neighbour can be told from the next with 3,000 votes.
    votes = simulate_votes(3000, seed=3, n_models=4, rating_spread=45, left_bias=0.0).votes
    assert fired(votes)["separation"]


def test_position_bias_fires_when_an_annotator_picks_the_left_panel() -> None:
    votes = simulate_votes(4000, seed=4, n_models=6, n_annotators=4, left_bias=0.3).votes
    result = fired(votes)
    assert result["position_bias"]


def _counted(a: str, b: str, n: int, score: float, tie: float) -> list[tuple[str, str, str]]:
    ties = int(round(n * tie))
    wins = int(round(n * score - ties / 2))
    return (
        [(a, b, "model_a")] * wins
        + [(a, b, "model_b")] * (n - ties - wins)
        + [(a, b, "tie")] * ties
    )


def test_tie_convention_fires_when_the_order_depends_on_counting_ties() -> None:
    # A only met a strong S (scoring 0.2), B only a weak W (scoring 0.8), S beat W scoring
    # 0.9375; 10 % ties. Both conventions solve "observed score = expected score" but with
    # different curves: Davidson's stretches the extreme S-W score more than the moderate
    # ones, so A - B = d(S, W) - 2 d(0.8) is -11 Elo with half wins and +7 with Davidson.
    rows = _counted("S", "W", 400, 0.9375, 0.1)
    rows += _counted("A", "S", 400, 0.2, 0.1) + _counted("B", "W", 400, 0.8, 0.1)
    votes = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])
    row = audit(votes).set_index("probe").loc["tie_convention"]
    assert row["fired"] and "1 pair(s)" in row["evidence"]
    assert "A / B" in row["evidence"] or "B / A" in row["evidence"]


def test_intransitivity_fires_on_a_rock_paper_scissors_board() -> None:
    base = simulate_votes(3000, seed=5, n_models=4, rating_spread=200, left_bias=0.0)
    votes = base.votes.copy()
    truth = base.true_ratings
    gap = votes["model_a"].map(truth).to_numpy() - votes["model_b"].map(truth).to_numpy()
    # Among the first three models, each beats the next one round a circle by 150 Elo.
    circle = {
        ("sim-aurora", "sim-basalt"),
        ("sim-basalt", "sim-cobalt"),
        ("sim-cobalt", "sim-aurora"),
    }
    for k, (a, b) in enumerate(zip(votes["model_a"], votes["model_b"], strict=True)):
        if (a, b) in circle:
            gap[k] = 150.0
        elif (b, a) in circle:
            gap[k] = -150.0
    rng = np.random.default_rng(5)
    votes["winner"] = _draw_winners(rng, gap, 0.2, 0.35, swapped=votes["swapped"].to_numpy())
    table = audit(votes).set_index("probe")
    assert table.loc["intransitivity", "fired"]
    assert "strongest cycle" in table.loc["intransitivity", "evidence"]


def test_annotator_concentration_fires_when_one_person_carries_a_model() -> None:
    base = simulate_votes(
        4000, seed=6, n_models=6, rating_spread=300, n_annotators=6, left_bias=0.0
    )
    votes = base.votes.copy()
    rng = np.random.default_rng(6)
    # One annotator casts 40 % of the votes and always votes for sim-dune when it plays.
    mine = rng.random(len(votes)) < 0.4
    votes.loc[mine, "annotator"] = "annotator-1"
    favour = mine & ((votes["model_a"] == "sim-dune") | (votes["model_b"] == "sim-dune"))
    votes.loc[favour, "winner"] = np.where(
        votes.loc[favour, "model_a"] == "sim-dune", "model_a", "model_b"
    )
    table = audit(votes).set_index("probe")
    assert table.loc["annotator_concentration", "fired"]
    assert "annotator-1" in table.loc["annotator_concentration", "evidence"]


def test_thin_pairs_fires_when_neighbours_barely_met() -> None:
    votes = simulate_votes(4000, seed=7, n_models=5, rating_spread=300, left_bias=0.0).votes
    pair = {"sim-basalt", "sim-cobalt"}
    between = votes.apply(lambda r: {r["model_a"], r["model_b"]} == pair, axis=1)
    keep = ~between | (between.cumsum() <= 3)
    table = audit(votes[keep.to_numpy()]).set_index("probe")
    assert table.loc["thin_pairs", "fired"]
    assert "sim-basalt / sim-cobalt" in table.loc["thin_pairs", "evidence"]


def test_probes_that_cannot_run_say_why_and_do_not_fire() -> None:
    votes = clean_board(8).drop(columns=["swapped"]).assign(annotator="one")
    votes["winner"] = votes["winner"].replace({"tie": "model_a", "both_bad": "model_b"})
    table = audit(votes).set_index("probe")
    for probe in ("position_bias", "annotator_concentration", "tie_convention"):
        assert not table.loc[probe, "fired"]
        assert "not checked" in table.loc[probe, "message"]


# ---------------------------------------------------------------------------------------------
# False alarms on clean boards.

N_CLEAN = 100
MAX_FALSE_ALARM = 0.05


@pytest.mark.slow
def test_no_probe_fires_on_more_than_5_percent_of_clean_boards() -> None:
    counts = dict.fromkeys(PROBES, 0)
    for seed in range(N_CLEAN):
        for probe, hit in fired(clean_board(10_000 + seed), seed=seed).items():
            counts[probe] += int(hit)
    rates = {probe: counts[probe] / N_CLEAN for probe in PROBES}
    print(f"false-alarm rates over {N_CLEAN} clean boards: {rates}")
    for probe, rate in rates.items():
        assert rate <= MAX_FALSE_ALARM, (probe, rate)


def test_without_bootstrap_rounds_the_resampling_probes_are_not_checked() -> None:
    table = audit(clean_board(9), n_bootstrap=0).set_index("probe")
    for probe in ("rank_volatility", "separation", "annotator_concentration"):
        assert not table.loc[probe, "fired"] and "not checked" in table.loc[probe, "message"]
    assert "p =" in table.loc["position_bias", "evidence"]
    with pytest.raises(ValueError, match="n_bootstrap"):
        audit(clean_board(9), n_bootstrap=-1)


def test_one_vote_is_audited_without_claiming_order_or_stability():
    """A store right after its first vote: nothing is identified, so no interval is finite,
    and no probe says the order is evidence (it fires on the thin places instead)."""
    from arena_kit.ratings import fit_bradley_terry

    one = pd.DataFrame(
        [{"model_a": "x", "model_b": "y", "winner": "model_a", "annotator": "a", "swapped": False}]
    )
    with pytest.warns(RatingsWarning):
        result = fit_bradley_terry(one, position="report", ci="sandwich")
    assert result.position[["ci_low", "ci_high"]].isna().all(axis=None)
    found = audit(one).set_index("probe")
    assert found.loc["separation", "fired"] and found.loc["thin_pairs", "fired"]
    assert found.loc["rank_volatility", "fired"]
    assert "too few decided votes" in found.loc["rank_volatility", "evidence"]
