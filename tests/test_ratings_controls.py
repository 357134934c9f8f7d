"""Bradley-Terry with controls (issue 16, items 2 and 3): references on raw rows (scipy, and
scikit-learn's logistic regression), coverage of planted effects over many simulated data sets,
and the features from battles, responses and executions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from sklearn.linear_model import LogisticRegression

from arena_kit.errors import ArenaDataError
from arena_kit.ratings import RatingsWarning, fit_bradley_terry
from arena_kit.ratings.controls import control_features, side_features
from arena_kit.simulate import _draw_winners, simulate_votes

ELO = 400.0 / math.log(10.0)


def planted(
    n_votes: int,
    seed: int,
    *,
    effects: dict[str, float],
    n_models: int = 6,
    tie_rate: float = 0.2,
) -> tuple[pd.DataFrame, pd.Series]:
    """Simulated votes whose winners also follow planted control effects (Elo per unit).

    Controls per side: ``ran_ok`` (Bernoulli 0.7 each side → a - b in {-1, 0, 1}), ``length``
    (a continuous normalised difference in [-1, 1]) and ``position`` (from ``swapped``). The
    winners are redrawn with :mod:`arena_kit.simulate`'s rule, gap = true gap + Σ effect · z.
    """
    sim = simulate_votes(
        n_votes, seed=seed, n_models=n_models, left_bias=0.0, repeat_share=0.0, tie_rate=tie_rate
    )
    votes = sim.votes.copy()
    rng = np.random.default_rng(seed + 10_000)
    ran_a, ran_b = rng.random(len(votes)) < 0.7, rng.random(len(votes)) < 0.7
    votes["ran_ok"] = ran_a.astype(float) - ran_b.astype(float)
    len_a, len_b = rng.gamma(2.0, 500.0, len(votes)), rng.gamma(2.0, 500.0, len(votes))
    votes["length"] = (len_a - len_b) / (len_a + len_b)
    votes["position"] = np.where(votes["swapped"], -1.0, 1.0)
    truth = sim.true_ratings
    gap = votes["model_a"].map(truth).to_numpy() - votes["model_b"].map(truth).to_numpy()
    for name, effect in effects.items():
        gap = gap + effect * votes[name].to_numpy()
    votes["winner"] = _draw_winners(rng, gap, tie_rate, 0.35, swapped=votes["swapped"].to_numpy())
    return votes, truth - truth.mean() + 1000


def reference_fit(votes: pd.DataFrame, controls: list[str]) -> tuple[pd.Series, np.ndarray, dict]:
    """Half-win BT with covariates on raw rows by scipy trust-exact: θ_0 = 0 fixed.

    Returns centred ratings, the control coefficients (Elo per unit) and the raw arrays.
    """
    models = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    index = {m: k for k, m in enumerate(models)}
    a = votes["model_a"].map(index).to_numpy()
    b = votes["model_b"].map(index).to_numpy()
    w = votes["winner"].to_numpy()
    y = np.select([w == "model_a", w == "model_b"], [1.0, 0.0], 0.5)
    z = votes[controls].to_numpy(dtype=float)
    n, k = len(models), len(controls)
    design = np.zeros((len(votes), n + k))
    design[np.arange(len(votes)), a] += 1
    design[np.arange(len(votes)), b] -= 1
    design[:, n:] = z
    design = design[:, 1:]  # θ_0 = 0

    def nll(x: np.ndarray) -> float:
        eta = design @ x
        return float(-(y * eta - np.logaddexp(0, eta)).sum())

    def grad(x: np.ndarray) -> np.ndarray:
        return -design.T @ (y - stats.logistic.cdf(design @ x))

    def hess(x: np.ndarray) -> np.ndarray:
        p = stats.logistic.cdf(design @ x)
        return design.T @ (design * (p * (1 - p))[:, None])

    res = optimize.minimize(
        nll, np.zeros(design.shape[1]), jac=grad, hess=hess, method="trust-exact",
        options={"gtol": 1e-11},
    )  # fmt: skip
    x = res.x
    for _ in range(5):  # finish on round-off (see test_ratings.reference_bt)
        x = x - np.linalg.solve(hess(x), grad(x))
    assert np.max(np.abs(grad(x))) < 1e-8, res.message
    theta = np.concatenate([[0.0], x[: n - 1]])
    ratings = pd.Series(1000 + ELO * (theta - theta.mean()), index=models)
    return ratings, ELO * x[n - 1 :], {"design": design, "y": y, "x": x}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return planted(3000, seed=3, effects={"ran_ok": 80.0, "length": 40.0, "position": 20.0})


CONTROLS = ["ran_ok", "length", "position"]


def test_controlled_fit_matches_scipy_reference_on_raw_rows(data) -> None:
    votes, _ = data
    result = fit_bradley_terry(votes, controls=CONTROLS, n_bootstrap=0)
    ratings, gamma, _ = reference_fit(votes, CONTROLS)
    assert np.max(np.abs(result.ratings.reindex(ratings.index) - ratings)) < 1e-6
    assert result.controls is not None
    assert result.controls["control"].tolist() == CONTROLS
    assert np.allclose(result.controls["coefficient"], gamma, atol=1e-6)


def test_controlled_fit_matches_scikit_learn_logistic_regression(data) -> None:
    # scikit-learn's unpenalised logistic regression on the same design, a tie entered as one
    # win and one loss of weight ½ each (the same likelihood); lbfgs to its tolerance.
    votes, _ = data
    _, gamma, raw = reference_fit(votes, CONTROLS)
    design, y = raw["design"], raw["y"]
    tie = y == 0.5
    rows = np.vstack([design[~tie], design[tie], design[tie]])
    labels = np.concatenate([y[~tie], np.ones(tie.sum()), np.zeros(tie.sum())])
    weight = np.concatenate([np.ones((~tie).sum()), np.full(2 * tie.sum(), 0.5)])
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
    model.fit(rows, labels, sample_weight=weight)
    result = fit_bradley_terry(votes, controls=CONTROLS, n_bootstrap=0)
    assert result.controls is not None
    assert np.allclose(result.controls["coefficient"], ELO * model.coef_[0][-3:], atol=1e-3)


def test_controlled_sandwich_matches_raw_row_reference(data) -> None:
    votes, _ = data
    result = fit_bradley_terry(votes, controls=CONTROLS, n_bootstrap=0, ci="sandwich")
    _, _, raw = reference_fit(votes, CONTROLS)
    design, y, x = raw["design"], raw["y"], raw["x"]
    p = stats.logistic.cdf(design @ x)
    bread = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
    scores = design * (y - p)[:, None]
    cov = bread @ scores.T @ scores @ bread
    se_gamma = ELO * np.sqrt(np.diag(cov)[-3:])
    assert result.controls is not None
    assert np.allclose(result.controls["se"], se_gamma, rtol=1e-6)
    z = stats.norm.ppf(0.975)
    assert np.allclose(result.controls["ci_high"] - result.controls["coefficient"], z * se_gamma)


def test_discrete_controls_merge_rows_without_changing_the_fit(data) -> None:
    # Position and ran_ok take 2 and 3 values: rows merge; with a continuous control they do
    # not. The merged fit must equal a fit forced onto one row per vote.
    import arena_kit.ratings._covariates as covariates

    votes, _ = data
    merged = fit_bradley_terry(votes, controls=["ran_ok", "position"], n_bootstrap=0)
    original = covariates._DISCRETE_LEVELS
    covariates._DISCRETE_LEVELS = 0
    try:
        rows = fit_bradley_terry(votes, controls=["ran_ok", "position"], n_bootstrap=0)
    finally:
        covariates._DISCRETE_LEVELS = original
    assert merged.controls is not None and rows.controls is not None
    assert np.allclose(merged.ratings, rows.ratings, atol=1e-8)
    assert np.allclose(merged.controls["coefficient"], rows.controls["coefficient"], atol=1e-8)
    assert np.allclose(merged.controls["se"], rows.controls["se"], rtol=1e-8)


def test_position_is_reported_or_adjusted(data) -> None:
    votes, _ = data
    plain = fit_bradley_terry(votes, n_bootstrap=0)
    reported = fit_bradley_terry(votes, n_bootstrap=0, position="report")
    adjusted = fit_bradley_terry(votes, n_bootstrap=0, position="adjust")
    assert reported.position is not None and adjusted.position is not None
    pd.testing.assert_series_equal(reported.ratings, plain.ratings)  # reported only
    assert not np.allclose(adjusted.ratings, plain.ratings)
    ref_ratings, gamma, _ = reference_fit(votes, ["position"])
    assert abs(reported.position["coefficient"].iloc[0] - gamma[0]) < 1e-6
    assert np.max(np.abs(adjusted.ratings.reindex(ref_ratings.index) - ref_ratings)) < 1e-6
    p_left = reported.position["p_left"].iloc[0]
    assert abs(p_left - 1 / (1 + 10 ** (-gamma[0] / 400))) < 1e-9
    assert "left panel advantage" in reported.summary()


def test_controls_need_their_inputs_and_refuse_davidson(data) -> None:
    votes, _ = data
    with pytest.raises(ArenaDataError, match="need responses="):
        fit_bradley_terry(votes.drop(columns=["length"]), controls=["length"], n_bootstrap=0)
    with pytest.raises(ValueError, match="ties='half' or ties='drop'"):
        fit_bradley_terry(votes, controls=["position"], ties="davidson")
    broken = votes.copy()
    broken.loc[5, "length"] = np.nan
    with pytest.raises(ArenaDataError, match=r"row 6: column 'length'"):
        fit_bradley_terry(broken, controls=["length"], n_bootstrap=0)
    with pytest.raises(ArenaDataError, match="'swapped'"):
        fit_bradley_terry(votes.drop(columns=["swapped", "position"]), position="report")


# ---------------------------------------------------------------------------------------------
# Coverage of planted effects.

N_DATASETS = 150
EFFECTS = {"ran_ok": 80.0, "length": 40.0, "position": 20.0}


@pytest.mark.slow
def test_intervals_cover_planted_effects_and_ratings_at_the_nominal_rate() -> None:
    hits: dict[str, list[bool]] = {"controls bootstrap": [], "controls sandwich": []}
    hits["ratings bootstrap"] = []
    z = stats.norm.ppf(0.975)
    truth_gamma = np.array(list(EFFECTS.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        for seed in range(N_DATASETS):
            votes, truth = planted(1500, seed=7000 + seed, effects=EFFECTS)
            result = fit_bradley_terry(votes, controls=list(EFFECTS), n_bootstrap=100, seed=seed)
            table = result.controls
            assert table is not None
            hits["controls bootstrap"].extend(
                (table["ci_low"] <= truth_gamma) & (truth_gamma <= table["ci_high"])
            )
            coefficient, se = table["coefficient"], table["se"]
            hits["controls sandwich"].extend(
                (coefficient - z * se <= truth_gamma) & (truth_gamma <= coefficient + z * se)
            )
            board = result.leaderboard.set_index("model").reindex(truth.index)
            hits["ratings bootstrap"].extend(
                (board["ci_low"] <= truth) & (truth <= board["ci_high"])
            )
    rates = {k: float(np.mean(v)) for k, v in hits.items()}
    print(f"coverage of planted effects over {N_DATASETS} data sets: {rates}")
    for name, rate in rates.items():
        assert 0.93 <= rate <= 0.97, (name, rate)


@pytest.mark.slow
def test_clustered_controls_cover_when_votes_copy_a_verdict() -> None:
    # 3 votes per battle copy its verdict: the score bootstrap over battles covers the planted
    # effect, the one over votes does not.
    hits: dict[str, list[bool]] = {"battle_id": [], "votes": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        for seed in range(200):
            votes, _ = planted(400, seed=9000 + seed, effects={"ran_ok": 80.0})
            votes = votes.loc[votes.index.repeat(3)].reset_index(drop=True)
            for cluster, key in (("battle_id", "battle_id"), (None, "votes")):
                table = fit_bradley_terry(
                    votes, controls=["ran_ok"], n_bootstrap=100, seed=seed, cluster=cluster
                ).controls
                assert table is not None
                hits[key].append(bool(table["ci_low"][0] <= 80.0 <= table["ci_high"][0]))
    rates = {k: float(np.mean(v)) for k, v in hits.items()}
    print(f"coverage of a planted effect, 3 copies per battle: {rates}")
    # 200 data sets: the Monte Carlo error of a 95 % rate is 1.5 points, so 0.92 is two of them
    # below the nominal rate (400 data sets measured 0.950 while writing this test).
    assert rates["battle_id"] >= 0.92 and rates["votes"] < 0.85, rates


# ---------------------------------------------------------------------------------------------
# Features from battles, responses and executions.


def _answer(text: str, model: str, rid: str, execution_id: str | None, turn: int = 1) -> dict:
    return {
        "response_id": rid,
        "prompt_id": "p",
        "model": model,
        "turn": turn,
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}],
        "execution_id": execution_id,
    }


STYLED = (
    "# Title\n\nSome **bold** and __more__.\n\n- one\n- two\n1. three\n\n"
    "```python\n# not a header\n- not a list\nprint('**no**')\n```\n"
)


def test_side_features_count_markdown_outside_code_and_runs() -> None:
    responses = pd.DataFrame([_answer(STYLED, "x", "r1", "e1"), _answer("plain", "y", "r2", None)])
    executions = pd.DataFrame(
        [{"execution_id": "e1", "status": "ok", "screenshot": "shots/e1.png", "artifacts": []}]
    )
    sides = side_features(responses, executions)
    assert sides.loc["r1", ["headers", "lists", "bold", "code_blocks"]].tolist() == [1, 3, 2, 1]
    assert sides.loc["r1", "length"] == len(STYLED)
    assert sides.loc["r1", ["ran_ok", "visual", "timeout"]].tolist() == [1, 1, 0]
    assert sides.loc["r2", ["ran_ok", "visual", "timeout", "code_blocks"]].tolist() == [0, 0, 0, 0]


def test_control_features_join_battles_and_count_the_last_rerun() -> None:
    responses = pd.DataFrame(
        [
            _answer(STYLED, "x", "r1", "e1", turn=2),
            _answer("short", "y", "r2", "e2"),
        ]
    )
    executions = pd.DataFrame(
        [
            {"execution_id": "e1", "status": "timeout", "screenshot": None, "artifacts": []},
            {"execution_id": "e2", "status": "ok", "screenshot": None,
             "artifacts": [{"name": "plot.png", "mime": "image/png"}]},
            {"execution_id": "e3", "status": "ok", "screenshot": "e3.png", "artifacts": []},
        ]
    )  # fmt: skip
    battles = pd.DataFrame(
        [{"battle_id": "b1", "model_a": "x", "model_b": "y", "response_a": "r1",
          "response_b": "r2"}]
    )  # fmt: skip
    votes = pd.DataFrame(
        [
            {"battle_id": "b1", "model_a": "x", "model_b": "y", "winner": "model_a",
             "swapped": True, "edits": []},
            # Stored the other way round: the features follow the models, not the battle's order.
            {"battle_id": "b1", "model_a": "y", "model_b": "x", "winner": "model_a",
             "swapped": False, "edits": []},
            # x re-ran its last turn (turn 2) with 60 s: now ok with a picture (e3). An older
            # re-run of turn 1 and one still running do not count.
            {"battle_id": "b1", "model_a": "x", "model_b": "y", "winner": "model_a",
             "swapped": False, "edits": [
                 {"side": "a", "turn": 2, "status": "ok", "execution_id": "e3"},
                 {"side": "a", "turn": 1, "status": "runtime_error", "execution_id": None},
                 {"side": "b", "turn": 1, "status": "running", "execution_id": None},
             ]},
        ]
    )  # fmt: skip
    features = control_features(
        votes, ["style", "execution", "position"], battles=battles, responses=responses,
        executions=executions,
    )  # fmt: skip
    long_, short = len(STYLED), len("short")
    assert features.loc[0, "length"] == pytest.approx((long_ - short) / (long_ + short))
    assert features.loc[0, "headers"] == 1.0 and features.loc[0, "code_blocks"] == 1.0
    assert features.loc[0, ["ran_ok", "visual", "timeout"]].tolist() == [-1.0, -1.0, 1.0]
    assert features.loc[1, "length"] == -features.loc[0, "length"]
    assert features.loc[1, ["ran_ok", "visual", "timeout"]].tolist() == [1.0, 1.0, -1.0]
    assert features["position"].tolist() == [-1.0, 1.0, 1.0]
    assert features.loc[2, ["ran_ok", "visual", "timeout"]].tolist() == [0.0, 0.0, 0.0]


def test_control_features_name_what_is_missing() -> None:
    votes = pd.DataFrame(
        [{"battle_id": "nope", "model_a": "x", "model_b": "y", "winner": "tie", "swapped": False}]
    )
    battles = pd.DataFrame(
        [{"battle_id": "b1", "model_a": "x", "model_b": "y", "response_a": "r1",
          "response_b": "r2"}]
    )  # fmt: skip
    responses = pd.DataFrame([_answer("a", "x", "r1", None), _answer("b", "y", "r2", None)])
    with pytest.raises(ArenaDataError, match=r"row 1: column 'battle_id'.*battles table"):
        control_features(votes, "style", battles=battles, responses=responses)
    with pytest.raises(ArenaDataError, match="need executions="):
        control_features(votes, "execution", battles=battles, responses=responses)
    with pytest.raises(ArenaDataError, match="unknown control"):
        control_features(votes, ["colour"], battles=battles, responses=responses)


def test_a_control_that_never_differs_is_left_out_and_collinear_ones_are_refused(data) -> None:
    votes, _ = data
    with pytest.warns(RatingsWarning, match=r"control\(s\) zero are 0 in every vote"):
        result = fit_bradley_terry(
            votes.assign(zero=0.0), controls=["ran_ok", "zero"], n_bootstrap=20
        )
    assert result.controls is not None
    assert result.controls["control"].tolist() == ["ran_ok", "zero"]
    assert result.controls["coefficient"].isna().tolist() == [False, True]
    alone = fit_bradley_terry(votes, controls=["ran_ok"], n_bootstrap=0)
    assert np.allclose(alone.ratings, result.ratings)
    with pytest.raises(ArenaDataError, match="'twice' is a combination of 'ran_ok'"):
        fit_bradley_terry(
            votes.assign(twice=2 * votes["ran_ok"]), controls=["ran_ok", "twice"], n_bootstrap=0
        )


def test_compare_controlled_on_the_bundled_real_battles() -> None:
    from arena_kit import datasets
    from arena_kit.ratings import compare_controlled

    votes = datasets.bundled_battle_votes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        result, table = compare_controlled(
            votes, battles=datasets.bundled_battles(), responses=datasets.battle_responses(),
            n_bootstrap=20,
        )  # fmt: skip
    assert list(table.columns) == [
        "model", "rating", "rating_controlled", "change", "rank", "rank_controlled",
    ]  # fmt: skip
    assert set(table["model"]) == set(votes["model_a"]) | set(votes["model_b"])
    assert np.allclose(table["change"], table["rating_controlled"] - table["rating"])
    assert result.controls is not None
    assert result.controls["control"].tolist() == ["length", "headers", "lists", "bold",
                                                   "code_blocks"]  # fmt: skip
