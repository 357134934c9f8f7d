"""Joint rank sets (issue 16, item 4): a hand-checked construction, joint coverage over many
simulated data sets, and sets never wider than Bonferroni-adjusted marginal ones."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from arena_kit.ratings import RatingsWarning, fit_bradley_terry, fit_slices
from arena_kit.ratings.rank_sets import rank_sets
from arena_kit.simulate import simulate_votes


def brute_force_sets(ratings: np.ndarray, draws: np.ndarray, level: float) -> tuple[list, list]:
    """The construction written out pair by pair, loops only."""
    n = len(ratings)
    pairs = list(itertools.combinations(range(n), 2))
    se = {p: np.std(draws[:, p[0]] - draws[:, p[1]], ddof=1) for p in pairs}
    maxima = []
    for row in draws:
        maxima.append(
            max(abs((row[j] - row[k]) - (ratings[j] - ratings[k])) / se[(j, k)] for j, k in pairs)
        )
    maxima.sort()
    # Type-6 quantile: position level * (B + 1), 1-based, interpolated.
    h = level * (len(maxima) + 1) - 1
    lo = int(np.floor(h))
    critical = maxima[lo] + (h - lo) * (maxima[min(lo + 1, len(maxima) - 1)] - maxima[lo])
    low, high = [], []
    for j in range(n):
        surely_above_j = sum(
            1
            for k in range(n)
            if k != j and (ratings[k] - ratings[j]) - critical * se[tuple(sorted((j, k)))] > 0
        )
        surely_below_j = sum(
            1
            for k in range(n)
            if k != j and (ratings[j] - ratings[k]) - critical * se[tuple(sorted((j, k)))] > 0
        )
        low.append(1 + surely_above_j)
        high.append(n - surely_below_j)
    return low, high


def test_rank_sets_match_the_construction_written_out() -> None:
    rng = np.random.default_rng(3)
    ratings = np.array([1100.0, 1060.0, 1050.0, 990.0, 900.0])
    draws = ratings + rng.normal(0, 15, size=(200, 5)) + rng.normal(0, 5, size=(200, 1))
    sets = rank_sets(ratings, draws=draws, level=0.95)
    low, high = brute_force_sets(ratings, draws, 0.95)
    assert sets.rank_low.tolist() == low and sets.rank_high.tolist() == high
    # SE of a difference ≈ 21 Elo and c ≈ 2.7: gaps of 40-50 Elo are not separated, 60 are.
    assert low == [1, 1, 1, 4, 5] and high == [3, 3, 3, 4, 5]


def test_gaussian_max_statistic_is_the_studentized_range_for_independent_ratings() -> None:
    # Three independent ratings with equal variance: max |Z_j - Z_k| / sqrt(2) over pairs is
    # the studentized range of 3 normals (infinite df) divided by sqrt(2).
    cov = np.eye(3) * 4.0
    sets = rank_sets(np.zeros(3), cov=cov, level=0.95, seed=1)
    expected = stats.studentized_range.ppf(0.95, 3, np.inf) / np.sqrt(2)
    assert abs(sets.critical_value - expected) < 0.05
    # Bonferroni over 3 models' own intervals (z at 1 - 0.05/6) and non-overlap: a gap must be
    # 2 · 2.39 · 2 = 9.6 points; the max-statistic needs 2.34 · sqrt(8) = 6.6.
    gap = np.array([9.0, 0.0, -9.0])
    joint = rank_sets(gap, cov=cov, level=0.95, seed=1)
    bonferroni = rank_sets(gap, cov=cov, level=0.95, method="bonferroni")
    assert joint.rank_low.tolist() == [1, 2, 3] and joint.rank_high.tolist() == [1, 2, 3]
    assert bonferroni.rank_low.tolist() == [1, 1, 2] and bonferroni.rank_high.tolist() == [2, 3, 3]


def test_leaderboard_columns_and_relation_to_rank_ub() -> None:
    votes = simulate_votes(3000, seed=2, n_models=8, left_bias=0.0).votes
    board = fit_bradley_terry(votes, n_bootstrap=200, seed=0).leaderboard
    assert (board["rank_low"] <= board["rank"]).all() and (
        board["rank"] <= board["rank_high"]
    ).all()
    # Joint statements are weaker than one model's marginal one: the set reaches at least as
    # high as rank_ub.
    assert (board["rank_low"] <= board["rank_ub"]).all()
    sandwich = fit_bradley_terry(votes, n_bootstrap=0, ci="sandwich").leaderboard
    assert (sandwich["rank_low"] <= sandwich["rank"]).all()
    assert (sandwich["rank_high"] >= sandwich["rank"]).all()


def test_a_thin_model_gets_the_whole_range_and_separates_no_one() -> None:
    rows = (
        [("A", "B", "model_a")] * 30 + [("B", "C", "model_a")] * 30 + [("A", "C", "model_a")] * 30
    )
    rows += [("D", "A", "model_a")] * 2  # D: two wins, far too few to place it
    frame = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"]).assign(category="x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        board = fit_slices(frame, "category", n_bootstrap=200)["x"].leaderboard.set_index("model")
    assert board.loc["D", "thin"]
    assert (board.loc["D", "rank_low"], board.loc["D", "rank_high"]) == (1, 4)
    # A, B, C are ordered by their own votes; D above or below any of them is possible.
    assert board.loc[["A", "B", "C"], "rank_high"].tolist() == [2, 3, 4]
    assert board.loc[["A", "B", "C"], "rank_low"].tolist() == [1, 2, 3]


N_DATASETS = {"bootstrap": 200, "sandwich": 120}


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
def test_joint_coverage_and_no_wider_than_bonferroni(ci: str) -> None:
    # 8 models 40 Elo apart, 2,000 votes: neighbours are often not separated, so the sets are
    # informative but not trivial.
    covered = []
    narrower = []
    widths = []
    for seed in range(N_DATASETS[ci]):
        sim = simulate_votes(
            2000, seed=5000 + seed, n_models=8, rating_spread=280, left_bias=0.0, repeat_share=0.0
        )
        true_rank = sim.true_ratings.rank(ascending=False).astype(int)
        result = fit_bradley_terry(
            sim.votes, n_bootstrap=100 if ci == "bootstrap" else 0, seed=seed, ci=ci
        )
        board = result.leaderboard.set_index("model").reindex(true_rank.index)
        covered.append(
            bool(((board["rank_low"] <= true_rank) & (true_rank <= board["rank_high"])).all())
        )
        ratings = result.ratings.reindex(true_rank.index).to_numpy()
        if ci == "bootstrap":
            assert result.bootstrap_ratings is not None
            draws = result.bootstrap_ratings[true_rank.index].to_numpy()
            bonferroni = rank_sets(ratings, draws=draws, method="bonferroni")
        else:
            cov = result.covariance.loc[true_rank.index, true_rank.index].to_numpy()
            bonferroni = rank_sets(ratings, cov=cov, method="bonferroni")
        width = board["rank_high"] - board["rank_low"]
        narrower.append(
            bool((width.to_numpy() <= bonferroni.rank_high - bonferroni.rank_low).all())
        )
        widths.append(float(width.mean()))
    rate = float(np.mean(covered))
    print(
        f"{ci}: joint coverage {rate:.3f} over {N_DATASETS[ci]} data sets; mean set width "
        f"{np.mean(widths):.2f} ranks (of 7); no wider than Bonferroni in {np.mean(narrower):.3f}"
    )
    assert rate >= 0.95, rate
    assert all(narrower)
    assert np.mean(widths) < 3.0  # informative: far from the trivial 1 … 8
