"""Clustered uncertainty: whole clusters resampled, cluster-summed sandwich (issue 16, item 1).

References written here from raw rows (scipy), and coverage on simulated data sets where the
votes of one battle copy one verdict (several votes sharing one judge's verdict): the clustered
intervals must cover at the nominal rate, the row intervals must not.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from arena_kit.errors import ArenaDataError
from arena_kit.ratings import RatingsWarning, fit_bradley_terry
from arena_kit.simulate import simulate_votes

ELO = 400.0 / math.log(10.0)


def copied_votes(n_battles: int, copies: int, seed: int, n_models: int = 6) -> pd.DataFrame:
    """Simulated battles, each voted ``copies`` times with the same verdict (one cluster)."""
    sim = simulate_votes(n_battles, seed=seed, n_models=n_models, left_bias=0.0, repeat_share=0.0)
    votes = sim.votes.loc[sim.votes.index.repeat(copies)].reset_index(drop=True)
    votes["vote_id"] = [f"v{k}" for k in range(len(votes))]
    return votes


@pytest.fixture(scope="module")
def clustered() -> pd.DataFrame:
    votes = copied_votes(600, 3, seed=5)
    # Break the copies a little so clusters are not all identical (some votes disagree).
    rng = np.random.default_rng(0)
    flip = rng.random(len(votes)) < 0.15
    votes.loc[flip, "winner"] = rng.choice(["model_a", "model_b", "tie"], size=int(flip.sum()))
    return votes


def raw_cluster_sandwich(votes: pd.DataFrame, ratings: pd.Series, cluster: str) -> pd.Series:
    """Cluster-robust SEs (CR1) built from raw rows: scores summed per cluster, scipy bread."""
    models = list(ratings.index)
    index = {m: k for k, m in enumerate(models)}
    a = votes["model_a"].map(index).to_numpy()
    b = votes["model_b"].map(index).to_numpy()
    w = votes["winner"].to_numpy()
    y = np.select([w == "model_a", w == "model_b"], [1.0, 0.0], 0.5)
    n = len(models)
    theta = (ratings.to_numpy() - 1000.0) / ELO
    free = theta[1:] - theta[0]

    def total_grad(x: np.ndarray) -> np.ndarray:
        t = np.concatenate([[0.0], x])
        r = y - stats.logistic.cdf(t[a] - t[b])
        return (np.bincount(a, r, n) - np.bincount(b, r, n))[1:]

    bread = np.array(
        [optimize.approx_fprime(free, lambda x, k=k: total_grad(x)[k], 1e-6) for k in range(n - 1)]
    )
    t = np.concatenate([[0.0], free])
    r = y - stats.logistic.cdf(t[a] - t[b])
    scores = np.zeros((len(votes), n))
    scores[np.arange(len(votes)), a] += r
    scores[np.arange(len(votes)), b] -= r
    summed = pd.DataFrame(scores[:, 1:]).groupby(votes[cluster].to_numpy()).sum().to_numpy()
    g = len(summed)
    inv = np.linalg.inv(bread)
    cov_free = inv @ (summed.T @ summed) @ inv * g / (g - 1)
    embed = np.vstack([np.zeros(n - 1), np.eye(n - 1)])
    centre = np.eye(n) - 1.0 / n
    cov = ELO**2 * centre @ embed @ cov_free @ embed.T @ centre.T
    return pd.Series(np.sqrt(np.diag(cov)), index=models)


def test_clustered_sandwich_matches_raw_row_reference(clustered: pd.DataFrame) -> None:
    result = fit_bradley_terry(clustered, n_bootstrap=0, ci="sandwich", cluster="battle_id")
    reference = raw_cluster_sandwich(clustered, result.ratings, "battle_id")
    assert np.allclose(result.sandwich_se.reindex(reference.index), reference, rtol=1e-4)
    # Clustering does not move the point fit, only its uncertainty: copies widen it.
    plain = fit_bradley_terry(clustered, n_bootstrap=0, ci="sandwich")
    assert np.allclose(plain.ratings, result.ratings, atol=1e-9)
    assert (result.sandwich_se > 1.3 * plain.sandwich_se).all()


def test_each_cluster_bootstrap_round_is_the_fit_of_the_clusters_drawn(
    clustered: pd.DataFrame,
) -> None:
    from arena_kit.ratings._units import resample_units

    result = fit_bradley_terry(clustered, n_bootstrap=3, seed=4, cluster="battle_id")
    assert result.bootstrap_ratings is not None and result.n_bootstrap_unconverged == 0
    # Units are the clusters in order of first appearance; rebuild round 0's draw.
    codes, uniques = pd.factorize(clustered["battle_id"])
    rng = np.random.default_rng(4)
    draws = resample_units(rng, len(uniques), 3)
    repeat = draws[0][codes]
    resample = clustered.loc[clustered.index.repeat(repeat)]
    refit = fit_bradley_terry(resample, n_bootstrap=0).ratings
    round0 = result.bootstrap_ratings.iloc[0].reindex(refit.index)
    assert np.max(np.abs(round0 - refit)) < 1e-5


def test_a_cluster_column_that_is_missing_or_too_small(clustered: pd.DataFrame) -> None:
    with pytest.raises(ArenaDataError, match="no column 'judge' to cluster by"):
        fit_bradley_terry(clustered, cluster="judge")
    with pytest.warns(RatingsWarning, match="only 4 clusters of 'annotator'"):
        fit_bradley_terry(clustered, cluster="annotator", n_bootstrap=20)


def test_votes_without_a_cluster_value_are_clusters_of_their_own(clustered: pd.DataFrame) -> None:
    # Every vote with its own (missing) cluster is the unclustered fit, up to G / (G - 1).
    votes = clustered.assign(group=None)
    one_each = fit_bradley_terry(votes, n_bootstrap=0, cluster="group", ci="sandwich")
    plain = fit_bradley_terry(clustered, n_bootstrap=0, ci="sandwich")
    g = len(votes)
    assert np.allclose(one_each.sandwich_se, plain.sandwich_se * math.sqrt(g / (g - 1)))


def test_many_clusters_are_drawn_in_random_blocks_with_the_same_spread(
    clustered: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import arena_kit.ratings._units as units_module

    exact = fit_bradley_terry(clustered, n_bootstrap=400, seed=1, cluster="battle_id")
    monkeypatch.setattr(units_module, "MAX_UNITS", 100)  # 600 battles → 100 random blocks
    blocked = fit_bradley_terry(clustered, n_bootstrap=400, seed=1, cluster="battle_id")
    assert exact.bootstrap_ratings is not None and blocked.bootstrap_ratings is not None
    ratio = blocked.bootstrap_ratings.std() / exact.bootstrap_ratings.std()
    # Both estimate the same spread; 400 rounds and 100 blocks leave about ±10 % noise.
    assert ratio.between(0.75, 1.3).all(), ratio


def test_clustered_davidson_and_controls_accept_clusters(clustered: pd.DataFrame) -> None:
    davidson = fit_bradley_terry(
        clustered, ties="davidson", n_bootstrap=20, cluster="battle_id", ci="sandwich"
    )
    plain = fit_bradley_terry(clustered, ties="davidson", n_bootstrap=0, ci="sandwich")
    assert (davidson.sandwich_se > plain.sandwich_se).all()
    controlled = fit_bradley_terry(
        clustered, controls=["position"], n_bootstrap=50, cluster="battle_id"
    )
    assert controlled.controls is not None and len(controlled.controls) == 1


# ---------------------------------------------------------------------------------------------
# Coverage: clusters of copied verdicts.

N_DATASETS = 150


@pytest.mark.slow
def test_clustered_intervals_cover_and_row_intervals_do_not() -> None:
    # 4 votes per battle, all copying the battle's verdict: a vote carries a quarter of the
    # information a row bootstrap believes, so row intervals are half as wide as they should be.
    hits: dict[str, list[bool]] = {
        "cluster bootstrap": [],
        "cluster sandwich": [],
        "row bootstrap": [],
        "row sandwich": [],
    }
    z = stats.norm.ppf(0.975)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        for seed in range(N_DATASETS):
            votes = copied_votes(400, 4, seed=2000 + seed)
            truth = simulate_votes(
                400, seed=2000 + seed, n_models=6, left_bias=0.0, repeat_share=0.0
            ).true_ratings
            truth = truth - truth.mean() + 1000
            for label, cluster in (("cluster", "battle_id"), ("row", None)):
                result = fit_bradley_terry(votes, n_bootstrap=100, seed=seed, cluster=cluster)
                board = result.leaderboard.set_index("model").reindex(truth.index)
                hits[f"{label} bootstrap"].extend(
                    (board["ci_low"] <= truth) & (truth <= board["ci_high"])
                )
                se = result.sandwich_se.reindex(truth.index)
                rating = result.ratings.reindex(truth.index)
                hits[f"{label} sandwich"].extend(
                    (rating - z * se <= truth) & (truth <= rating + z * se)
                )
    rates = {k: float(np.mean(v)) for k, v in hits.items()}
    print(f"coverage over {N_DATASETS} data sets x 6 models, 4 copies per battle: {rates}")
    assert 0.93 <= rates["cluster bootstrap"] <= 0.975, rates
    assert 0.93 <= rates["cluster sandwich"] <= 0.975, rates
    assert rates["row bootstrap"] < 0.8 and rates["row sandwich"] < 0.8, rates
