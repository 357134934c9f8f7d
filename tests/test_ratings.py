"""Tests of arena_kit.ratings against independent references written here (scipy on raw rows)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from arena_kit.errors import ArenaDataError
from arena_kit.ratings import (
    BradleyTerryResult,
    RatingsWarning,
    compare_slices,
    fit_bradley_terry,
    fit_slices,
    min_decisive_votes,
    online_elo,
    select_view,
)
from arena_kit.simulate import simulate_votes

ELO = 400.0 / math.log(10.0)


def votes_from(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate_votes(3000, seed=7, n_models=6, left_bias=0.0, repeat_share=0.0).votes


@pytest.fixture(scope="module")
def sim_biased() -> pd.DataFrame:
    return simulate_votes(2500, seed=3, n_models=7).votes


# ---------------------------------------------------------------------------------------------
# Independent references: plain log-likelihoods over raw rows, maximised by scipy.


def _raw_arrays(votes: pd.DataFrame, models: list[str]) -> tuple[np.ndarray, ...]:
    index = {m: k for k, m in enumerate(models)}
    a = votes["model_a"].map(index).to_numpy()
    b = votes["model_b"].map(index).to_numpy()
    w = votes["winner"].to_numpy()
    y = np.select([w == "model_a", w == "model_b"], [1.0, 0.0], 0.5)
    draw = np.isin(w, ["tie", "both_bad"])
    return a, b, y, draw


def reference_bt(
    votes: pd.DataFrame, weights: np.ndarray | None = None
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Half-win BT by scipy trust-exact on the raw-row log-likelihood; first model fixed at 0.

    Returns centred Elo ratings, the free parameters and the raw-row data needed for scores.
    """
    models = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    a, b, y, _ = _raw_arrays(votes, models)
    w = np.ones(len(votes)) if weights is None else weights
    n = len(models)

    def full(free: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], free])

    def nll(free: np.ndarray) -> float:
        t = full(free)
        d = t[a] - t[b]
        return float(-(w * (y * -np.logaddexp(0, -d) + (1 - y) * -np.logaddexp(0, d))).sum())

    def grad(free: np.ndarray) -> np.ndarray:
        t = full(free)
        r = w * (y - stats.logistic.cdf(t[a] - t[b]))
        g = np.bincount(a, r, n) - np.bincount(b, r, n)
        return -g[1:]

    def hess(free: np.ndarray) -> np.ndarray:
        t = full(free)
        p = stats.logistic.cdf(t[a] - t[b])
        h = np.zeros((n, n))
        np.add.at(h, (a, a), w * p * (1 - p))
        np.add.at(h, (b, b), w * p * (1 - p))
        np.add.at(h, (a, b), -w * p * (1 - p))
        np.add.at(h, (b, a), -w * p * (1 - p))
        return h[1:, 1:]

    res = optimize.minimize(
        nll, np.zeros(n - 1), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-11}
    )
    # Near the optimum trust-exact may stop on round-off ("failure to predict improvement");
    # a few plain Newton steps on the same raw-row derivatives finish the job.
    x = res.x
    for _ in range(5):
        x = x - np.linalg.solve(hess(x), grad(x))
    assert np.max(np.abs(grad(x))) < 1e-8 * max(1.0, float(w.sum()) / 1000), res.message
    theta = full(x)
    ratings = pd.Series(1000 + ELO * (theta - theta.mean()), index=models)
    return ratings, res.x, np.array([0])


def test_point_fit_matches_scipy_reference_mle(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=0)
    reference, _, _ = reference_bt(sim)
    ours = result.ratings.reindex(reference.index)
    assert np.max(np.abs(ours - reference)) < 1e-6
    assert abs(result.ratings.mean() - 1000) < 1e-9


def test_weighted_fit_matches_weighted_reference(sim: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    w = rng.choice([0.5, 1.0, 2.0, 3.0], size=len(sim))
    result = fit_bradley_terry(sim, n_bootstrap=0, weights=w)
    reference, _, _ = reference_bt(sim, w)
    assert np.max(np.abs(result.ratings.reindex(reference.index) - reference)) < 1e-6


def test_inverse_pair_frequency_equals_explicit_weights(sim: pd.DataFrame) -> None:
    pair = [tuple(sorted(p)) for p in zip(sim["model_a"], sim["model_b"], strict=True)]
    per_pair = pd.Series(pair).map(pd.Series(pair).value_counts())
    explicit = 1.0 / per_pair.to_numpy()
    a = fit_bradley_terry(sim, n_bootstrap=0, weights="inverse_pair_frequency")
    b = fit_bradley_terry(sim, n_bootstrap=0, weights=explicit)
    assert np.allclose(a.ratings, b.ratings, atol=1e-7)
    sim2 = sim.assign(w=explicit)
    c = fit_bradley_terry(sim2, n_bootstrap=0, weights="w")
    assert np.allclose(c.ratings, b.ratings, atol=1e-7)


def test_elo_scale_is_base_ten_over_400() -> None:
    # Two models: the MLE matches the observed score exactly, so the gap is known in closed form.
    rows = [("A", "B", "model_a")] * 5 + [("A", "B", "model_b")] * 2 + [("B", "A", "tie")] * 2
    result = fit_bradley_terry(votes_from(rows), n_bootstrap=0)
    score = (5 + 1) / 9
    gap = result.ratings["A"] - result.ratings["B"]
    assert gap == pytest.approx(400 * math.log10(score / (1 - score)), abs=1e-9)
    assert result.win_probability().loc["A", "B"] == pytest.approx(score, abs=1e-12)
    assert result.ratings.mean() == pytest.approx(1000)


def test_anchor_pins_a_model_and_keeps_gaps(sim: pd.DataFrame) -> None:
    centred = fit_bradley_terry(sim, n_bootstrap=20, seed=4)
    anchor = centred.models[2]
    pinned = fit_bradley_terry(sim, n_bootstrap=20, seed=4, anchor=anchor, anchor_rating=1200)
    assert pinned.ratings[anchor] == pytest.approx(1200)
    shift = 1200 - centred.ratings[anchor]
    assert np.allclose(pinned.ratings, centred.ratings + shift, atol=1e-8)
    assert pinned.sandwich_se[anchor] == pytest.approx(0, abs=1e-9)
    assert pinned.bootstrap_ratings is not None
    assert np.allclose(pinned.bootstrap_ratings[anchor], 1200)
    with pytest.raises(ArenaDataError, match="anchor"):
        fit_bradley_terry(sim, n_bootstrap=0, anchor="no-such-model")


def test_public_winner_spellings_give_the_same_fit(sim: pd.DataFrame) -> None:
    spelled = sim.copy()
    spelled["winner"] = spelled["winner"].map(
        {"model_a": "vote_model_A", "model_b": "vote_model_B", "tie": "vote_tie"}
    )
    spelled.loc[sim["winner"] == "both_bad", "winner"] = "tie (bothbad)"
    a = fit_bradley_terry(sim, n_bootstrap=0)
    b = fit_bradley_terry(spelled, n_bootstrap=0)
    assert np.allclose(a.ratings, b.ratings, atol=1e-12)


def test_fit_on_counts_does_not_depend_on_row_order_or_side(sim: pd.DataFrame) -> None:
    shuffled = sim.sample(frac=1.0, random_state=3).reset_index(drop=True)
    flipped = shuffled.rename(columns={"model_a": "model_b", "model_b": "model_a"})
    flipped["winner"] = flipped["winner"].replace({"model_a": "model_b", "model_b": "model_a"})
    base = fit_bradley_terry(sim, n_bootstrap=30, seed=5)
    again = fit_bradley_terry(flipped, n_bootstrap=30, seed=5)
    assert np.allclose(base.ratings, again.ratings, atol=1e-9)
    pd.testing.assert_frame_equal(base.leaderboard, again.leaderboard)


# ---------------------------------------------------------------------------------------------
# Ties and the tie-aware model.


def test_both_bad_options_and_drop_ties(sim: pd.DataFrame) -> None:
    n_both_bad = int((sim["winner"] == "both_bad").sum())
    n_ties = int((sim["winner"] == "tie").sum())
    as_tie = fit_bradley_terry(sim, n_bootstrap=0)
    dropped = fit_bradley_terry(sim, n_bootstrap=0, both_bad="drop")
    no_ties = fit_bradley_terry(sim, n_bootstrap=0, ties="drop")
    assert as_tie.n_votes == len(sim)
    assert dropped.n_votes == len(sim) - n_both_bad
    assert no_ties.n_votes == len(sim) - n_both_bad - n_ties
    reference, _, _ = reference_bt(sim[sim["winner"] != "both_bad"])
    assert np.max(np.abs(dropped.ratings.reindex(reference.index) - reference)) < 1e-6
    decisive = sim[sim["winner"].isin(["model_a", "model_b"])]
    reference, _, _ = reference_bt(decisive)
    assert np.max(np.abs(no_ties.ratings.reindex(reference.index) - reference)) < 1e-6


def _davidson_nll_and_grad(votes: pd.DataFrame, models: list[str]) -> tuple[object, object]:
    """Davidson (1970) on raw rows: P(i) ∝ π_i, P(j) ∝ π_j, P(tie) ∝ ν√(π_i π_j).

    Parameters: log-strengths of all models, then log ν. Returns (nll, gradient) functions.
    """
    a, b, y, draw = _raw_arrays(votes, models)
    n = len(models)
    win_a = (~draw) & (y == 1)
    win_b = (~draw) & (y == 0)

    def parts(params: np.ndarray) -> tuple[np.ndarray, ...]:
        t, log_nu = params[:n], params[n]
        ta, tb = t[a], t[b]
        mid = log_nu + 0.5 * (ta + tb)
        log_z = np.logaddexp(np.logaddexp(ta, tb), mid)
        return ta, tb, mid, log_z

    def nll(params: np.ndarray) -> float:
        ta, tb, mid, log_z = parts(params)
        log_num = np.where(draw, mid, np.where(win_a, ta, tb))
        return float(-(log_num - log_z).sum())

    def grad(params: np.ndarray) -> np.ndarray:
        ta, tb, mid, log_z = parts(params)
        pa, pb, pt = np.exp(ta - log_z), np.exp(tb - log_z), np.exp(mid - log_z)
        # d log-lik / d t_a and / d t_b per row, then d / d log ν.
        da = win_a + 0.5 * draw - (pa + 0.5 * pt)
        db = win_b + 0.5 * draw - (pb + 0.5 * pt)
        g = np.zeros(n + 1)
        g[:n] = np.bincount(a, da, n) + np.bincount(b, db, n)
        g[n] = (draw - pt).sum()
        return -g

    return nll, grad


def reference_davidson(votes: pd.DataFrame) -> tuple[pd.Series, float]:
    """Davidson MLE by scipy BFGS with the analytic raw-row gradient; first model fixed at 0."""
    models = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    nll, grad = _davidson_nll_and_grad(votes, models)
    n = len(models)

    def embed(free: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], free])

    def free_grad(f: np.ndarray) -> np.ndarray:
        return grad(embed(f))[1:]  # type: ignore[operator, no-any-return]

    res = optimize.minimize(
        lambda f: nll(embed(f)),  # type: ignore[operator]
        np.zeros(n),
        jac=free_grad,
        method="BFGS",
        options={"gtol": 1e-9},
    )
    # BFGS stops around 1e-6 Elo; Newton steps with a finite-difference Hessian of the
    # analytic gradient polish it well below.
    x = res.x
    for _ in range(4):
        hess = np.array(
            [optimize.approx_fprime(x, lambda f, k=k: free_grad(f)[k], 1e-7) for k in range(n)]
        )
        x = x - np.linalg.solve(0.5 * (hess + hess.T), free_grad(x))
    assert np.max(np.abs(free_grad(x))) < 1e-8
    t = embed(x)[:n]
    return pd.Series(1000 + ELO * (t - t.mean()), index=models), float(np.exp(x[-1]))


def test_davidson_matches_scipy_reference(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=0, ties="davidson")
    reference, nu = reference_davidson(sim)
    assert result.tie_parameter == pytest.approx(nu, rel=1e-7)
    assert np.max(np.abs(result.ratings.reindex(reference.index) - reference)) < 1e-6
    # Our point is a stationary point of the raw-row likelihood written here.
    models = list(result.ratings.index)
    _, grad = _davidson_nll_and_grad(sim, models)
    theta = (result.ratings.to_numpy() - 1000) / ELO
    point = np.concatenate([theta, [math.log(result.tie_parameter or 1.0)]])
    assert np.max(np.abs(grad(point))) < 1e-7  # type: ignore[operator]


def test_davidson_sandwich_matches_raw_row_reference(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=0, ties="davidson", ci="sandwich")
    models = list(result.ratings.index)
    _, grad = _davidson_nll_and_grad(sim, models)
    n = len(models)
    theta = (result.ratings.to_numpy() - 1000) / ELO
    point = np.concatenate([theta, [math.log(result.tie_parameter or 1.0)]])
    # Free parameters: models 1.. and log ν (model 0 pinned); bread by differences of the
    # analytic gradient, meat from per-row scores by differences of per-row log-likelihoods.
    free = point[1:] - np.concatenate([[point[0]] * (n - 1), [0.0]])

    def full(f: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], f])

    bread = np.array(
        [
            optimize.approx_fprime(free, lambda f, k=k: grad(full(f))[1:][k], 1e-6)  # type: ignore[operator]
            for k in range(n)
        ]
    )
    # Per-row scores: the gradient of each row's log-likelihood (the same formula as above,
    # kept per row instead of summed).
    a, b, y, draw = _raw_arrays(sim, models)
    f_full = full(free)
    t, log_nu = f_full[:n], f_full[n]
    ta, tb = t[a], t[b]
    mid = log_nu + 0.5 * (ta + tb)
    log_z = np.logaddexp(np.logaddexp(ta, tb), mid)
    pa, pb, pt = np.exp(ta - log_z), np.exp(tb - log_z), np.exp(mid - log_z)
    win_a, win_b = (~draw) & (y == 1), (~draw) & (y == 0)
    scores = np.zeros((len(sim), n + 1))
    rows = np.arange(len(sim))
    scores[rows, a] += win_a + 0.5 * draw - (pa + 0.5 * pt)
    scores[rows, b] += win_b + 0.5 * draw - (pb + 0.5 * pt)
    scores[:, n] = draw - pt
    scores = scores[:, 1:]
    inv = np.linalg.inv(bread)
    cov_free = inv @ (scores.T @ scores) @ inv
    embed = np.vstack([np.zeros(n - 1), np.eye(n - 1)])
    centre = np.eye(n) - 1.0 / n
    cov = ELO**2 * centre @ embed @ cov_free[: n - 1, : n - 1] @ embed.T @ centre.T
    se = np.sqrt(np.diag(cov))
    assert np.allclose(result.sandwich_se.to_numpy(), se, rtol=1e-4)


def test_davidson_needs_a_tie() -> None:
    rows = [("A", "B", "model_a"), ("B", "A", "model_a"), ("A", "C", "model_b")] * 3
    rows += [("C", "B", "model_b"), ("B", "C", "model_b")]
    with pytest.raises(ArenaDataError, match="at least one tie"):
        fit_bradley_terry(votes_from(rows), n_bootstrap=0, ties="davidson")


# ---------------------------------------------------------------------------------------------
# Intervals.


def test_sandwich_matches_reference_built_from_raw_row_scores(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=0, ci="sandwich", level=0.9)
    reference, free, _ = reference_bt(sim)
    models = list(reference.index)
    a, b, y, _ = _raw_arrays(sim, models)
    n = len(models)
    theta = np.concatenate([[0.0], free])

    def total_grad(x: np.ndarray) -> np.ndarray:
        t = np.concatenate([[0.0], x])
        r = y - stats.logistic.cdf(t[a] - t[b])
        return (np.bincount(a, r, n) - np.bincount(b, r, n))[1:]

    # Bread by finite differences of the gradient (scipy), meat from per-row scores.
    bread = np.array(
        [optimize.approx_fprime(free, lambda x, k=k: total_grad(x)[k], 1e-6) for k in range(n - 1)]
    )
    r = y - stats.logistic.cdf(theta[a] - theta[b])
    scores = np.zeros((len(sim), n))
    scores[np.arange(len(sim)), a] += r
    scores[np.arange(len(sim)), b] -= r
    scores = scores[:, 1:]
    inv = np.linalg.inv(bread)
    cov_free = inv @ (scores.T @ scores) @ inv
    embed = np.vstack([np.zeros(n - 1), np.eye(n - 1)])
    centre = np.eye(n) - 1.0 / n
    cov = ELO**2 * centre @ embed @ cov_free @ embed.T @ centre.T
    se = pd.Series(np.sqrt(np.diag(cov)), index=models)
    ours = result.sandwich_se.reindex(models)
    assert np.allclose(ours, se, rtol=1e-4)
    z = stats.norm.ppf(0.95)
    board = result.leaderboard.set_index("model").reindex(models)
    assert np.allclose(board["ci_high"] - board["rating"], z * se, rtol=1e-4)
    assert np.allclose(board["rating"] - board["ci_low"], z * se, rtol=1e-4)


def test_sandwich_is_smaller_than_model_based_when_ties_are_half_wins(sim: pd.DataFrame) -> None:
    # A draw scores ½ exactly, so per-vote score variance is below p(1-p): the robust SE must
    # come out below the inverse-Fisher SE that treats every vote as Bernoulli.
    result = fit_bradley_terry(sim, n_bootstrap=0)
    decisive_only = fit_bradley_terry(sim, n_bootstrap=0, ties="drop")
    assert (result.sandwich_se < decisive_only.sandwich_se).all()


def test_bootstrap_is_seeded_and_reproducible(sim: pd.DataFrame) -> None:
    a = fit_bradley_terry(sim, n_bootstrap=50, seed=11)
    b = fit_bradley_terry(sim, n_bootstrap=50, seed=11)
    c = fit_bradley_terry(sim, n_bootstrap=50, seed=12)
    assert a.bootstrap_ratings is not None and c.bootstrap_ratings is not None
    pd.testing.assert_frame_equal(a.leaderboard, b.leaderboard)
    assert not np.allclose(a.bootstrap_ratings, c.bootstrap_ratings)
    assert a.bootstrap_ratings.shape == (50, 6)
    # Percentile intervals at the chosen level.
    low, high = np.quantile(a.bootstrap_ratings, [0.025, 0.975], axis=0, method="weibull")
    board = a.leaderboard.set_index("model").reindex(a.bootstrap_ratings.columns)
    assert np.allclose(board["ci_low"], low) and np.allclose(board["ci_high"], high)
    narrow = fit_bradley_terry(sim, n_bootstrap=50, seed=11, level=0.5)
    assert (narrow.leaderboard["ci_high"] - narrow.leaderboard["ci_low"]).sum() < (
        a.leaderboard["ci_high"] - a.leaderboard["ci_low"]
    ).sum()


def test_each_bootstrap_round_is_the_exact_mle_of_its_resample(sim: pd.DataFrame) -> None:
    # The chord/Newton bootstrap solver must land on the same point a cold fit finds.
    result = fit_bradley_terry(sim, n_bootstrap=5, seed=2)
    assert result.bootstrap_ratings is not None
    assert result.n_bootstrap_unconverged == 0
    # Rebuild round 0's counts from the same generator and fit them as weights on unique rows.
    from arena_kit.ratings._counts import count_votes

    counts = count_votes(sim)
    keep = counts.cell_outcome >= 0
    rng = np.random.default_rng(2)
    models = counts.models
    kind = np.where(counts.cell_outcome == 0, 0, np.where(counts.cell_outcome == 1, 1, 2))
    # Cells as the fit merges them: (pair, win/loss/draw).
    key = (counts.cell_i * len(models) + counts.cell_j) * 3 + kind
    merged, inverse = np.unique(key[keep], return_inverse=True)
    merged_counts = np.bincount(inverse, weights=counts.cell_count[keep]).astype(int)
    from arena_kit.ratings.bradley_terry import resample_counts

    draw = resample_counts(rng, merged_counts, 5)[0]  # the fit draws its 5 rounds at once
    pair, k = merged // 3, merged % 3
    rows = pd.DataFrame(
        {
            "model_a": [models[p // len(models)] for p in pair],
            "model_b": [models[p % len(models)] for p in pair],
            "winner": np.array(["model_a", "model_b", "tie"])[k],
        }
    )
    refit = fit_bradley_terry(rows, n_bootstrap=0, weights=draw.astype(float))
    assert np.allclose(
        refit.ratings.reindex(models), result.bootstrap_ratings.iloc[0][list(models)], atol=1e-5
    )


@pytest.mark.slow
def test_bootstrap_of_counts_matches_bootstrap_of_rows_in_distribution() -> None:
    small = simulate_votes(400, seed=5, n_models=4, left_bias=0.0, repeat_share=0.0).votes
    rounds = 300
    counts_boot = fit_bradley_terry(small, n_bootstrap=rounds, seed=9).bootstrap_ratings
    assert counts_boot is not None
    rng = np.random.default_rng(10)
    rows_boot = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        for _ in range(rounds):
            sample = small.iloc[rng.integers(0, len(small), len(small))]
            rows_boot.append(fit_bradley_terry(sample, n_bootstrap=0).ratings)
    rows_frame = pd.DataFrame(rows_boot)[counts_boot.columns]
    for model in counts_boot.columns:
        x, y = counts_boot[model].to_numpy(), rows_frame[model].to_numpy()
        assert stats.ks_2samp(x, y).pvalue > 0.001, model
        assert abs(x.std() / y.std() - 1) < 0.2, model
        assert abs(x.mean() - y.mean()) < 0.3 * y.std(), model


def test_resampled_counts_are_multinomial() -> None:
    from arena_kit.ratings.bradley_terry import resample_counts

    counts = np.array([5, 1, 0, 20, 3, 7])
    n, p = counts.sum(), counts / counts.sum()
    draws = resample_counts(np.random.default_rng(0), counts, 30_000)
    assert (draws.sum(axis=1) == n).all() and (draws >= 0).all() and (draws[:, 2] == 0).all()
    se = np.sqrt(n * p * (1 - p) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - n * p) <= 4 * se + 1e-12)
    theory = n * (np.diag(p) - np.outer(p, p))
    assert np.allclose(np.cov(draws.T), theory, atol=0.15)  # entries up to 6; SE ≈ 0.05
    # Marginal of one cell against its exact Binomial(n, p) law.
    observed = np.bincount(draws[:, 3], minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, p[3]) * len(draws)
    keep = expected > 5
    chi2 = (((observed - expected) ** 2 / expected)[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 0.001
    # With many votes per cell numpy's own multinomial is used: same law, same contract.
    many = resample_counts(np.random.default_rng(1), counts * 1000, 2000)
    assert (many.sum(axis=1) == n * 1000).all() and (many[:, 2] == 0).all()
    assert np.allclose(many.mean(axis=0) / (n * 1000), p, atol=0.002)


def test_sparse_and_dense_paths_and_unique_counting_agree(
    sim: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import arena_kit.ratings._counts as counts_module
    import arena_kit.ratings._solver as solver_module

    base = fit_bradley_terry(sim, n_bootstrap=30, seed=3, ties="davidson")
    monkeypatch.setattr(solver_module, "_DENSE_LIMIT", 0)  # force scipy.sparse products
    monkeypatch.setattr(counts_module, "_BINCOUNT_LIMIT", 0)  # force np.unique counting
    other = fit_bradley_terry(sim, n_bootstrap=30, seed=3, ties="davidson")
    pd.testing.assert_frame_equal(base.leaderboard, other.leaderboard, atol=1e-6)


def test_davidson_bootstrap_intervals_surround_the_point(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=60, seed=1, ties="davidson")
    board = result.leaderboard
    assert result.n_bootstrap_unconverged == 0
    assert (board["ci_low"] < board["rating"]).all() and (board["rating"] < board["ci_high"]).all()
    sandwich = fit_bradley_terry(sim, n_bootstrap=0, ties="davidson", ci="sandwich").leaderboard
    width_boot = (board["ci_high"] - board["ci_low"]).mean()
    width_sandwich = (sandwich["ci_high"] - sandwich["ci_low"]).mean()
    assert 0.7 < width_boot / width_sandwich < 1.3


def test_no_bootstrap_gives_point_fit_alone(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=0)
    assert result.bootstrap_ratings is None
    assert result.leaderboard[["ci_low", "ci_high"]].isna().all().all()
    assert (result.leaderboard["rank_ub"] == result.leaderboard["rank"]).all()


# ---------------------------------------------------------------------------------------------
# Leaderboard, ranks, matrices.


def test_leaderboard_columns_ranks_and_counts(sim_biased: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim_biased, n_bootstrap=40, seed=1)
    board = result.leaderboard
    assert list(board.columns) == [
        "model", "rating", "ci_low", "ci_high", "rank", "rank_ub", "rank_low", "rank_high",
        "n_battles", "win_rate",
    ]  # fmt: skip
    assert board["rating"].is_monotonic_decreasing
    assert list(board["rank"]) == list(range(1, len(board) + 1))
    for _, row in board.iterrows():
        expected = 1 + int((board["ci_low"] > row["ci_high"]).sum())
        assert row["rank_ub"] == expected
    assert (board["rank_ub"] <= board["rank"]).all()
    assert board["n_battles"].sum() == 2 * len(sim_biased)
    a = sim_biased.groupby("model_a")["winner"].value_counts().unstack(fill_value=0)
    b = sim_biased.groupby("model_b")["winner"].value_counts().unstack(fill_value=0)
    model = board["model"].iloc[0]
    wins = a.loc[model, "model_a"] + b.loc[model, "model_b"]
    draws = a.loc[model, ["tie", "both_bad"]].sum() + b.loc[model, ["tie", "both_bad"]].sum()
    n = a.loc[model].sum() + b.loc[model].sum()
    assert board["win_rate"].iloc[0] == pytest.approx((wins + draws / 2) / n)
    assert board["n_battles"].iloc[0] == n


def test_rank_ub_counts_models_clearly_above() -> None:
    # Four models where A and B are clearly apart from C and D, and within each pair close.
    rows = []
    for strong, weak, n_win, n_loss in [
        ("A", "B", 52, 48), ("C", "D", 51, 49), ("A", "C", 90, 10), ("A", "D", 92, 8),
        ("B", "C", 88, 12), ("B", "D", 91, 9),
    ]:  # fmt: skip
        rows += [(strong, weak, "model_a")] * n_win + [(strong, weak, "model_b")] * n_loss
    result = fit_bradley_terry(votes_from(rows), n_bootstrap=200, seed=0)
    ub = result.leaderboard.set_index("model")["rank_ub"]
    assert ub["A"] == 1 and ub["B"] == 1
    assert ub["C"] == 3 and ub["D"] == 3


def test_matrices(sim_biased: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim_biased, n_bootstrap=0)
    counts = result.battle_counts()
    assert (counts.to_numpy() == counts.to_numpy().T).all()
    assert counts.to_numpy().sum() == 2 * len(sim_biased)
    observed = result.observed_win_rate()
    o = observed.to_numpy()
    met = counts.to_numpy() > 0
    assert np.allclose((o + o.T)[met], 1.0)
    prob = result.win_probability().to_numpy()
    assert np.allclose(prob + prob.T, 1.0)
    assert list(observed.index) == result.models == list(prob.shape and counts.columns)
    # Observed rate for one pair, by hand.
    m1, m2 = result.models[0], result.models[1]
    pair = sim_biased[
        ((sim_biased.model_a == m1) & (sim_biased.model_b == m2))
        | ((sim_biased.model_a == m2) & (sim_biased.model_b == m1))
    ]
    won = ((pair.model_a == m1) & (pair.winner == "model_a")).sum() + (
        (pair.model_b == m1) & (pair.winner == "model_b")
    ).sum()
    drawn = pair.winner.isin(["tie", "both_bad"]).sum()
    assert observed.loc[m1, m2] == pytest.approx((won + drawn / 2) / len(pair))


def test_summary_and_html(sim: pd.DataFrame) -> None:
    result = fit_bradley_terry(sim, n_bootstrap=10)
    text = result.summary()
    assert isinstance(result, BradleyTerryResult)
    assert "Bradley-Terry" in text and "10 bootstrap rounds" in text
    for model in result.models:
        assert model in text
    assert "<table" in result._repr_html_()


# ---------------------------------------------------------------------------------------------
# Bad and degenerate input.


def test_empty_votes_and_missing_columns() -> None:
    with pytest.raises(ArenaDataError, match="no votes"):
        fit_bradley_terry(pd.DataFrame(columns=["model_a", "model_b", "winner"]))
    with pytest.raises(ArenaDataError, match="missing column"):
        fit_bradley_terry(pd.DataFrame({"model_a": ["x"], "winner": ["tie"]}))
    with pytest.raises(ArenaDataError, match="DataFrame"):
        fit_bradley_terry([("a", "b", "model_a")])  # type: ignore[arg-type]


def test_one_model_only() -> None:
    with pytest.raises(ArenaDataError, match="self-battle") as info:
        fit_bradley_terry(votes_from([("A", "A", "model_a"), ("A", "A", "tie")]))
    assert info.value.location == "row 1"
    # Both-bad votes dropped leave nothing to fit.
    with pytest.raises(ArenaDataError, match="no votes left"):
        fit_bradley_terry(votes_from([("A", "B", "both_bad")]), both_bad="drop")


def test_unknown_and_missing_winner_name_the_row() -> None:
    rows = [("A", "B", "model_a"), ("B", "C", "tie"), ("C", "A", "A wins")]
    with pytest.raises(ArenaDataError, match="unknown winner 'A wins'") as info:
        fit_bradley_terry(votes_from(rows))
    assert info.value.location == "row 3" and info.value.column == "winner"
    frame = votes_from(rows[:2] + [("C", "A", None)])  # type: ignore[list-item]
    with pytest.raises(ArenaDataError, match="missing winner") as info:
        fit_bradley_terry(frame)
    assert info.value.location == "row 3"
    frame = votes_from([("A", "B", "tie"), (None, "B", "tie")])  # type: ignore[list-item]
    with pytest.raises(ArenaDataError, match="missing model name") as info:
        fit_bradley_terry(frame)
    assert info.value.location == "row 2"


def test_model_that_never_wins_warns_by_name_and_uses_prior() -> None:
    rows = [("A", "B", "model_a"), ("B", "A", "model_a"), ("A", "B", "tie")] * 5
    rows += [("A", "Z", "model_a"), ("Z", "B", "model_b"), ("C", "Z", "model_a")] * 4
    rows += [("C", "A", "model_b"), ("B", "C", "model_b"), ("A", "C", "model_a")] * 3
    with pytest.warns(RatingsWarning, match=r"never won \(nor drew\) a vote: Z"):
        result = fit_bradley_terry(votes_from(rows), n_bootstrap=20)
    assert result.prior == 1.0
    assert np.isfinite(result.ratings).all()
    assert result.ratings.idxmin() == "Z"
    assert result.models[-1] == "Z"
    with pytest.raises(ArenaDataError, match="do not exist"):
        fit_bradley_terry(votes_from(rows), n_bootstrap=0, prior=0)


def test_model_that_never_loses_warns_by_name() -> None:
    rows = [("A", "B", "model_a"), ("B", "A", "model_a")] * 5
    rows += [("T", "A", "model_a"), ("B", "T", "model_b")] * 3
    with pytest.warns(RatingsWarning, match="never lost .*: T"):
        result = fit_bradley_terry(votes_from(rows), n_bootstrap=0)
    assert result.ratings.idxmax() == "T"


def test_disconnected_graph_names_the_pieces() -> None:
    rows = [("A", "B", "model_a"), ("B", "A", "model_a"), ("A", "B", "tie")] * 3
    rows += [("C", "D", "model_a"), ("D", "C", "model_a"), ("C", "D", "tie")] * 3
    with pytest.warns(RatingsWarning, match=r"2 disconnected pieces: \{A, B\}; \{C, D\}"):
        result = fit_bradley_terry(votes_from(rows), n_bootstrap=10)
    assert np.isfinite(result.ratings).all()
    assert any("cannot be compared" in w for w in result.warnings)


def test_explicit_prior_shrinks_towards_the_centre(sim: pd.DataFrame) -> None:
    free = fit_bradley_terry(sim, n_bootstrap=0)
    shrunk = fit_bradley_terry(sim, n_bootstrap=0, prior=50.0)
    assert (shrunk.ratings - 1000).abs().sum() < (free.ratings - 1000).abs().sum()
    assert free.prior == 0.0


def test_bad_options_and_weights(sim: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="ties"):
        fit_bradley_terry(sim, ties="rao")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        fit_bradley_terry(sim, level=95)
    with pytest.raises(ValueError, match="n_bootstrap"):
        fit_bradley_terry(sim, n_bootstrap=-1)
    bad = np.ones(len(sim))
    bad[4] = -1
    with pytest.raises(ArenaDataError, match="weight") as info:
        fit_bradley_terry(sim, weights=bad)
    assert info.value.location == "row 5"
    with pytest.raises(ArenaDataError, match="one per vote"):
        fit_bradley_terry(sim, weights=np.ones(3))
    with pytest.raises(ArenaDataError, match="not found"):
        fit_bradley_terry(sim, weights="nope")


def test_bootstrap_round_that_loses_a_models_only_win_uses_the_prior() -> None:
    # Z wins once in 30 votes: many resamples drop that vote, and their MLE would diverge.
    rows = [("A", "B", "model_a"), ("B", "A", "model_a"), ("A", "B", "tie")] * 10
    rows += [("A", "Z", "model_a")] * 15 + [("Z", "B", "model_b")] * 14 + [("Z", "B", "model_a")]
    result = fit_bradley_terry(votes_from(rows), n_bootstrap=200, seed=0)
    assert result.prior == 0.0
    assert result.n_bootstrap_prior > 20
    assert result.n_bootstrap_unconverged == 0
    assert result.bootstrap_ratings is not None
    assert np.isfinite(result.bootstrap_ratings.to_numpy()).all()


# ---------------------------------------------------------------------------------------------
# Views and slices.


def test_views_select_matched_votes(sim_biased: pd.DataFrame) -> None:
    env = select_view(sim_biased, "env_matched")
    lang = select_view(sim_biased, "lang_matched")
    assert (env["env_a"] == env["env_b"]).all() and len(env) == (
        sim_biased["env_a"] == sim_biased["env_b"]
    ).sum()
    assert (lang["lang_a"] == lang["lang_b"]).all()
    assert len(lang) >= len(env)  # same environment implies same language here
    assert select_view(sim_biased, "all") is sim_biased
    with pytest.raises(ValueError, match="unknown view"):
        select_view(sim_biased, "matched")
    result = fit_bradley_terry(sim_biased, n_bootstrap=0, view="env_matched")
    assert result.n_votes == len(env)


def test_compare_slices_long_frame(sim_biased: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        long = compare_slices(sim_biased, by=["view", "category"], n_bootstrap=20, seed=1)
    assert list(long.columns[:3]) == ["by", "slice", "n_votes"]
    views = long[long["by"] == "view"]
    assert set(views["slice"]) == {"all", "env_matched", "lang_matched"}
    everything = views[views["slice"] == "all"]
    direct = fit_bradley_terry(sim_biased, n_bootstrap=20, seed=1).leaderboard
    assert np.allclose(everything["rating"].to_numpy(), direct["rating"].to_numpy())
    categories = long[long["by"] == "category"]
    assert set(categories["slice"]) <= set(sim_biased["category"].dropna())
    web = categories[categories["slice"] == "web_design"]
    assert web["n_votes"].iloc[0] == (sim_biased["category"] == "web_design").sum()


def test_language_slices_use_matched_votes_only(sim_biased: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        by_language = fit_slices(sim_biased, "language", n_bootstrap=0)
    matched = sim_biased[sim_biased["lang_a"] == sim_biased["lang_b"]]
    for language, result in by_language.items():
        assert result.n_votes == (matched["lang_a"] == language).sum()
    assert "python" in by_language


def test_slice_with_too_few_models_is_skipped_with_a_warning() -> None:
    frame = votes_from([("A", "B", "model_a"), ("B", "A", "model_a"), ("A", "B", "tie")])
    frame["annotator"] = ["x", "x", "y"]
    with pytest.warns(RatingsWarning, match="annotator='y' skipped: 1 vote"):
        results = fit_slices(frame, "annotator", n_bootstrap=0, min_votes=2)
    assert list(results) == ["x"]
    with pytest.raises(ArenaDataError, match="no column"):
        fit_slices(frame, "colour")


# ---------------------------------------------------------------------------------------------
# Thin slices.


def test_min_decisive_votes_is_where_a_perfect_record_beats_a_coin() -> None:
    for level, expected in [(0.95, 6), (0.99, 8), (0.9, 5)]:
        minimum = min_decisive_votes(level)
        assert minimum == expected
        # n wins of n: the exact two-sided binomial test first rejects p = 1/2 at n = minimum.
        assert stats.binomtest(minimum, minimum, 0.5).pvalue < 1 - level
        assert stats.binomtest(minimum - 1, minimum - 1, 0.5).pvalue >= 1 - level


def test_a_slice_with_one_vote_is_thin_not_decisive() -> None:
    """The reported failure: one vote showed 1131 [1131, 1131] vs 869 [869, 869], separated."""
    rows = [("x", "y", "model_a"), ("x", "y", "tie"), ("y", "x", "model_a")] * 10
    frame = votes_from([*rows, ("x", "y", "model_a")])
    frame["category"] = ["web_design"] * 30 + ["diagram_creation"]
    with pytest.warns(RatingsWarning, match=r"diagram_creation.*thin: x, y won or lost fewer"):
        long = compare_slices(frame, by="category", n_bootstrap=100, seed=0)
    one = long[long["slice"] == "diagram_creation"].set_index("model")
    # Without the rule the bootstrap of one vote is that vote: zero-width, separated intervals.
    raw = fit_bradley_terry(frame.tail(1), n_bootstrap=100, seed=0).leaderboard
    assert (raw["ci_low"] == raw["ci_high"]).all() and raw["rank_ub"].tolist() == [1, 2]
    assert one["thin"].all() and one["n_decisive"].tolist() == [1, 1]
    assert one[["ci_low", "ci_high"]].isna().all().all()
    assert one["rank_ub"].tolist() == [1, 1]  # no separation claimed
    assert one.loc["x", "rating"] > one.loc["y", "rating"]  # the point estimate is kept
    many = long[long["slice"] == "web_design"].set_index("model")
    assert not many["thin"].any() and many["n_decisive"].tolist() == [20, 20]  # ties left out
    assert (many["ci_low"] < many["rating"]).all() and (many["rating"] < many["ci_high"]).all()
    assert list(long.columns[-2:]) == ["n_decisive", "thin"]


def test_a_thin_model_separates_no_one_and_the_others_keep_their_intervals() -> None:
    rows = [("A", "B", "model_a")] * 45 + [("A", "B", "model_b")] * 5
    rows += [("B", "C", "model_a")] * 5 + [("C", "B", "model_a")] * 45
    rows += [("A", "C", "model_a")] * 25 + [("A", "C", "model_b")] * 25
    rows += [("D", "B", "model_a")] * 4  # D: 4 votes, all won (a coin does that 1 time in 8)
    frame = votes_from(rows)
    frame["category"] = "web_design"
    with pytest.warns(RatingsWarning, match=r"thin: D won or lost fewer than 6"):
        result = fit_slices(frame, "category", n_bootstrap=200, seed=0)["web_design"]
    board = result.leaderboard.set_index("model")
    assert board["thin"].to_dict() == {"D": True, "A": False, "C": False, "B": False}
    assert board.loc["D", "n_decisive"] == 4 and board.loc["D", "n_battles"] == 4
    assert math.isnan(board.loc["D", "ci_low"]) and board.loc["D", "rank_ub"] == 1
    # B is clearly below A and C (their lower bounds exceed its upper bound) but not below D.
    assert board.loc["B", "rank_ub"] == 3
    assert board.loc[["A", "C"], "rank_ub"].tolist() == [1, 1]
    # min_decisive=0 turns the rule off: the raw bootstrap interval of D is back.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        raw = fit_slices(frame, "category", n_bootstrap=200, seed=0, min_decisive=0)
    raw_board = raw["web_design"].leaderboard.set_index("model")
    assert not raw_board["thin"].any() and not math.isnan(raw_board.loc["D", "ci_low"])
    assert raw_board.loc["B", "rank_ub"] == 4  # the thin D counted as separated from B


# ---------------------------------------------------------------------------------------------
# Online Elo.


def test_online_elo_by_hand_and_order_dependence() -> None:
    rows = [("A", "B", "model_a"), ("B", "C", "tie"), ("C", "A", "model_a")]
    elo = online_elo(votes_from(rows), k=32)
    r = {"A": 1000.0, "B": 1000.0, "C": 1000.0}
    for a, b, w in rows:
        s = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5}[w]
        e = 1 / (1 + 10 ** ((r[b] - r[a]) / 400))
        r[a] += 32 * (s - e)
        r[b] -= 32 * (s - e)
    for model, value in r.items():
        assert elo[model] == pytest.approx(value)
    reverse = online_elo(votes_from(rows[::-1]), k=32)
    assert not np.allclose(elo.sort_index(), reverse.sort_index())
    assert elo.sum() == pytest.approx(3000)


# ---------------------------------------------------------------------------------------------


def test_importing_ratings_is_light() -> None:
    code = "import sys, arena_kit.ratings; print('pandas' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_bootstrap_survives_resamples_that_drop_a_model():
    """A model with two votes vanishes from some resamples: those rounds must not fail."""
    rows = [("a", "b", "model_a")] * 30 + [("a", "b", "model_b")] * 20
    rows += [("c", "a", "model_a"), ("c", "b", "model_b")]
    votes = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])
    result = fit_bradley_terry(votes, n_bootstrap=300, seed=1)
    board = result.leaderboard.set_index("model")
    assert np.isfinite(board[["rating", "ci_low", "ci_high"]].to_numpy()).all()
    assert result.n_bootstrap_prior > 0  # the rounds that lost model c got the prior
