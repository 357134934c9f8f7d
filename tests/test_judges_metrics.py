"""Judge metrics against values computed by hand on small tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from arena_kit.errors import ArenaDataError
from arena_kit.judges import (
    agreement,
    bootstrap_scores,
    classification_scores,
    confusion_matrix,
    execution_lift,
    fleiss_kappa,
    games_table,
    merge_classes,
    orient,
    position_consistency,
    score_judge,
    win_rates,
)

A, B, T, X = "model_a", "model_b", "tie", "both_bad"


def test_six_row_table_by_hand():
    truth = [A, A, B, B, T, T]
    pred = [A, B, B, B, T, A]
    # Confusion (rows truth A,B,T; columns prediction A,B,T):
    #   A: 1 1 0   B: 0 2 0   T: 1 0 1      n = 6, diagonal = 4
    # accuracy = 4/6
    # row totals t = (2,2,2), column totals p = (2,3,1)
    # p_e = (2·2 + 2·3 + 2·1)/36 = 1/3, κ = (2/3 − 1/3)/(1 − 1/3) = 0.5
    # F1: A 2·1/(2+1+1) = .5, B 2·2/(4+1+0) = .8, T 2·1/(2+0+1) = 2/3 → macro = 0.65556
    # MCC: (4·6 − (2·2+3·2+1·2)) / √((36 − (4+9+1))·(36 − 12)) = 12/√528 = 0.52223
    scores = classification_scores(truth, pred, 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["kappa"] == pytest.approx(0.5)
    assert scores["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert scores["mcc"] == pytest.approx(12 / math.sqrt(528))
    matrix = confusion_matrix(truth, pred, 3)
    assert matrix.loc[T, A] == 1 and matrix.loc[B, B] == 2 and matrix.to_numpy().sum() == 6


def test_unparsed_verdict_is_never_right_by_hand():
    # truth (A, B), prediction (A, unreadable): accuracy 1/2.
    # t = (1,1,0,U0), p = (1,0,0,U1): p_e = 1/4, κ = (1/2 − 1/4)/(3/4) = 1/3
    # F1 over occurring classes: A = 1, B = 0 → 0.5;  MCC = (1·2 − 1)/√((4−2)(4−2)) = 0.5
    scores = classification_scores([A, B], [A, None], 3)
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["kappa"] == pytest.approx(1 / 3)
    assert scores["macro_f1"] == pytest.approx(0.5)
    assert scores["mcc"] == pytest.approx(0.5)


def test_three_and_four_classes():
    assert merge_classes([A, X, T, None, "junk"], 3) == [A, T, T, "unparsed", "unparsed"]
    assert merge_classes([X], 4) == [X]
    assert classification_scores([X, A], [T, A], 3)["accuracy"] == 1.0
    assert classification_scores([X, A], [T, A], 4)["accuracy"] == 0.5


def test_perfect_and_constant_predictions():
    perfect = classification_scores([A, B, T], [A, B, T], 3)
    assert perfect == {"accuracy": 1.0, "macro_f1": 1.0, "kappa": 1.0, "mcc": 1.0}
    constant = classification_scores([A, B, A, B], [A, A, A, A], 3)
    assert constant["accuracy"] == 0.5
    assert constant["kappa"] == 0.0
    assert constant["mcc"] == 0.0  # one prediction column: undefined, reported 0


# ---------------------------------------------------------------------------------------------
# The point estimates come from scikit-learn; the bootstrap scores resamples with its own
# vectorised formulas. They must agree exactly, on ordinary tables and on the edge cases.


def _vectorised(truth, pred, classes):
    """The bootstrap's formulas on one confusion matrix (what every resample goes through)."""
    from arena_kit.judges.metrics import _codes, _matrix, _scores_from_matrices

    t, p, k = _codes(merge_classes(truth, classes), merge_classes(pred, classes), classes)
    scores = _scores_from_matrices(_matrix(t, p, k)[None, :, :])
    return {metric: float(values[0]) for metric, values in scores.items()}


def _assert_same(one, two):
    assert one.keys() == two.keys()
    for metric in one:
        if math.isnan(one[metric]):
            assert math.isnan(two[metric]), metric
        else:
            assert one[metric] == pytest.approx(two[metric], abs=1e-12), metric


@pytest.mark.parametrize("classes", [3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_scikit_learn_and_the_vectorised_bootstrap_agree(seed, classes):
    rng = np.random.default_rng(seed)
    labels = [A, B, T, X, None]
    truth = list(rng.choice([A, B, T, X], size=int(rng.integers(5, 80))))
    pred = [t if rng.random() < 0.5 else labels[int(rng.integers(0, 5))] for t in truth]
    _assert_same(classification_scores(truth, pred, classes), _vectorised(truth, pred, classes))


@pytest.mark.parametrize(
    ("truth", "pred"),
    [
        ([A] * 5, [A] * 5),  # one class only, all right
        ([A] * 5, [B] * 5),  # one class in the truth, another in every verdict
        ([A, B, A, B], [A] * 4),  # constant predictions
        ([A] * 4, [A, B, T, A]),  # constant truth
        ([A, B, T], [None] * 3),  # nothing readable
        ([A, B], [B, A]),  # always wrong
        ([], []),  # no votes
    ],
)
def test_edge_cases_agree(truth, pred):
    sklearn_scores = classification_scores(truth, pred, 3)
    _assert_same(sklearn_scores, _vectorised(truth, pred, 3))


def test_edge_cases_by_hand_and_against_scikit_learn_itself():
    import warnings

    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, matthews_corrcoef

    one_class = classification_scores([A] * 5, [A] * 5, 3)
    assert one_class == {"accuracy": 1.0, "macro_f1": 1.0, "kappa": 0.0, "mcc": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns that both are undefined here
        assert math.isnan(cohen_kappa_score([A] * 5, [A] * 5))  # reported as 0: no better
        assert matthews_corrcoef([A] * 5, [A] * 5) == 0.0  # than chance
    constant = classification_scores([A, B, A, T], [A] * 4, 3)
    assert constant["accuracy"] == accuracy_score([A, B, A, T], [A] * 4) == 0.5
    assert constant["kappa"] == cohen_kappa_score([A, B, A, T], [A] * 4) == 0.0
    assert constant["mcc"] == matthews_corrcoef([A, B, A, T], [A] * 4) == 0.0
    # F1: A = 2·2/(4 + 2 + 0) = 2/3, B and T 0 → macro 2/9
    assert constant["macro_f1"] == pytest.approx(2 / 9)
    assert constant["macro_f1"] == pytest.approx(
        f1_score([A, B, A, T], [A] * 4, labels=[A, B, T], average="macro", zero_division=0)
    )
    assert all(math.isnan(v) for v in classification_scores([], [], 4).values())


def test_bootstrap_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(1)
    truth = list(rng.choice([A, B, T], size=200))
    pred = [t if rng.random() < 0.7 else A for t in truth]
    one = bootstrap_scores(truth, pred, 3, n_bootstrap=300, seed=7)
    two = bootstrap_scores(truth, pred, 3, n_bootstrap=300, seed=7)
    assert one == two
    point = classification_scores(truth, pred, 3)
    for metric, (low, high) in one.items():
        assert low < point[metric] < high
    wide = bootstrap_scores(truth[:30], pred[:30], 3, n_bootstrap=300, seed=7)
    assert (wide["accuracy"][1] - wide["accuracy"][0]) > (one["accuracy"][1] - one["accuracy"][0])


def _verdicts(rows):
    columns = ["battle_id", "judge", "mode", "swapped", "winner", "strong", "category"]
    return pd.DataFrame(rows, columns=columns)


def test_score_judge_joins_votes_per_category():
    votes = pd.DataFrame(
        {
            "battle_id": ["b1", "b2", "b3", "b4", "b4"],
            "winner": [A, B, T, A, B],  # b4 has two votes that disagree
            "category": ["web_design", "web_design", "problem_solving", "problem_solving",
                         "problem_solving"],
        }
    )  # fmt: skip
    verdicts = _verdicts(
        [
            ("b1", "j", "code_only", False, A, False, None),
            ("b2", "j", "code_only", False, A, False, None),
            ("b3", "j", "code_only", False, X, False, None),
            ("b4", "j", "code_only", False, A, False, None),
            ("b9", "j", "code_only", False, A, False, None),  # no vote: left out
        ]
    )
    scores = score_judge(verdicts, votes, n_bootstrap=50).set_index(["classes", "category"])
    # 3-class: b1 right, b2 wrong, b3 right (both_bad ~ tie), b4 one right one wrong → 3/5
    assert scores.loc[(3, "all"), "n"] == 5
    assert scores.loc[(3, "all"), "accuracy"] == pytest.approx(3 / 5)
    # 4-class: b3 is now wrong → 2/5
    assert scores.loc[(4, "all"), "accuracy"] == pytest.approx(2 / 5)
    assert scores.loc[(3, "web_design"), "accuracy"] == pytest.approx(1 / 2)
    assert scores.loc[(3, "problem_solving"), "accuracy"] == pytest.approx(2 / 3)
    # Five votes are below the minimum (6 at 95 %): scored, but thin and without an interval.
    assert scores["thin"].all()
    assert scores[["accuracy_low", "accuracy_high", "kappa_low", "mcc_high"]].isna().all().all()
    # Three copies of every vote: 15 votes overall, 6 and 9 per category: none thin.
    many = pd.concat([votes] * 3, ignore_index=True)
    scores = score_judge(verdicts, many, n_bootstrap=50).set_index(["classes", "category"])
    row = scores.loc[(3, "all")]
    assert not row["thin"] and row["n"] == 15
    assert row["accuracy"] == pytest.approx(3 / 5)
    assert row["accuracy_low"] < row["accuracy"] < row["accuracy_high"]
    assert not scores.loc[(3, "web_design"), "thin"]  # 6 votes: just enough


def test_a_category_with_one_vote_is_thin_not_perfect():
    """The failure this guards against: one vote scored 1.0 [1.0, 1.0], as if certain."""
    battles = [f"b{k}" for k in range(20)]
    votes = pd.DataFrame(
        {
            "battle_id": battles,
            "winner": [A, B] * 10,
            "category": ["diagram_creation"] + ["web_design"] * 19,
        }
    )
    verdicts = _verdicts([(b, "j", "m", False, A, False, None) for b in battles])
    scores = score_judge(verdicts, votes, classes=(3,), n_bootstrap=200)
    scores = scores.set_index("category")
    lonely = scores.loc["diagram_creation"]
    assert lonely["n"] == 1 and lonely["accuracy"] == 1.0
    assert lonely["thin"] and math.isnan(lonely["accuracy_low"])
    assert math.isnan(lonely["accuracy_high"])
    web = scores.loc["web_design"]
    assert not web["thin"] and web["accuracy_low"] < web["accuracy"] < web["accuracy_high"]
    assert scores.columns.tolist()[:7] == [
        "judge", "mode", "orientation", "classes", "n", "n_unparsed", "thin",
    ]  # fmt: skip


def test_orientation_consensus():
    verdicts = _verdicts(
        [
            ("b1", "j", "m", False, A, False, None),
            ("b1", "j", "m", True, A, False, None),  # agree → A
            ("b2", "j", "m", False, A, False, None),
            ("b2", "j", "m", True, B, False, None),  # disagree → tie
            ("b3", "j", "m", False, None, False, None),
            ("b3", "j", "m", True, B, False, None),  # one unreadable → the other
        ]
    )
    consensus = orient(verdicts, "consensus").set_index("battle_id")["winner"]
    assert consensus.to_dict() == {"b1": A, "b2": T, "b3": B}
    assert list(orient(verdicts, "swapped")["winner"]) == [A, B, B]


def test_position_consistency_of_a_judge_that_always_picks_the_first_side():
    rows = []
    for battle in ("b1", "b2", "b3", "b4"):
        rows.append((battle, "first", "m", False, A, False, None))  # shown first = model_a
        rows.append((battle, "first", "m", True, B, False, None))  # shown first = model_b
        rows.append((battle, "fair", "m", False, A, False, None))
        rows.append((battle, "fair", "m", True, A if battle != "b4" else T, False, None))
    table = position_consistency(_verdicts(rows)).set_index("judge")
    assert table.loc["first", "consistency"] == 0.0
    assert table.loc["first", "first_shown_wins"] == 1.0
    assert table.loc["fair", "consistency"] == pytest.approx(3 / 4)
    # Decided games of "fair": 4 original (A shown first wins) + 3 swapped (A shown second)
    assert table.loc["fair", "first_shown_wins"] == pytest.approx(4 / 7)
    assert table.loc["fair", "n_pairs"] == 4


def test_execution_lift_is_the_paired_difference():
    battles = [f"b{k}" for k in range(8)]
    truths = [A, B] * 4
    votes = pd.DataFrame({"battle_id": battles, "winner": truths,
                          "category": ["web_design"] * 7 + ["game_development"]})  # fmt: skip
    rows = []
    for battle, truth in zip(battles, truths, strict=True):
        rows.append((battle, "j", "with_execution", False, truth, False, None))
        rows.append((battle, "j", "code_only", False, A, False, None))
    lift = execution_lift(_verdicts(rows), votes, n_bootstrap=200)
    accuracy = lift[lift["metric"] == "accuracy"].set_index("category")
    overall = accuracy.loc["all"]
    assert (overall["code_only"], overall["with_execution"]) == (0.5, 1.0)
    assert overall["lift"] == pytest.approx(0.5)
    assert overall["lift_low"] <= 0.5 <= overall["lift_high"]
    assert overall["n"] == 8 and not overall["thin"]
    # One vote in a category: its lift is reported, but thin and without an interval.
    lonely = accuracy.loc["game_development"]
    assert lonely["n"] == 1 and lonely["thin"]
    assert math.isnan(lonely["lift_low"]) and math.isnan(lonely["lift_high"])


def test_fleiss_kappa_by_hand():
    assert fleiss_kappa(np.array([[3, 0], [0, 3]])) == pytest.approx(1.0)
    # P_i = (2·1 + 1·0)/(3·2) = 1/3 each; shares .5/.5 → P_e = .5; κ = (1/3 − 1/2)/(1/2)
    assert fleiss_kappa(np.array([[2, 1], [1, 2]])) == pytest.approx(-1 / 3)
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[2, 1], [1, 1]]))


def test_agreement_between_judges():
    rows = []
    for battle, (one, two, three) in {
        "b1": (A, A, A),
        "b2": (B, B, A),
        "b3": (T, X, T),  # the same in 3 classes
        "b4": (A, B, A),
    }.items():
        for judge, winner in zip(("j1", "j2", "j3"), (one, two, three), strict=True):
            rows.append((battle, judge, "m", False, winner, False, None))
    table = agreement(_verdicts(rows))
    pair = table[(table["judge_1"] == "j1") & (table["judge_2"] == "j2")].iloc[0]
    assert pair["n"] == 4 and pair["agreement"] == pytest.approx(3 / 4)
    overall = table[table["judge_1"] == "all"].iloc[0]
    assert overall["n"] == 4 and overall["agreement"] == pytest.approx(2 / 4)
    assert -1 <= overall["kappa"] <= 1


def test_win_rate_with_strong_weights_by_hand():
    verdicts = pd.DataFrame(
        {
            "battle_id": ["x1", "x1", "x2", "x2", "x3"],
            "prompt_id": ["p1", "p1", "p2", "p2", "p3"],
            "category": ["web_design"] * 4 + ["problem_solving"],
            "model_a": ["cand"] * 5,
            "model_b": ["base"] * 5,
            "winner": [A, T, B, B, None],
            "strong": [True, False, False, True, False],
            "env_a": ["html"] * 5,
        }
    )
    games = games_table(verdicts, strong_weight=3)
    # p1: strong win (3 × 1) + tie (1 × ½); p2: loss (1 × 0) + strong loss (3 × 0); p3 unread
    # win rate = (3 + 0.5) / (3 + 1 + 1 + 3) = 0.4375
    table = win_rates(games, n_bootstrap=200, seed=3).set_index("candidate")
    assert table.loc["cand", "win_rate"] == pytest.approx(3.5 / 8)
    assert table.loc["cand", "n_unparsed"] == 1
    assert (table.loc["cand", "wins"], table.loc["cand", "ties"], table.loc["cand", "losses"]) == (
        1, 1, 2,
    )  # fmt: skip
    assert table.loc["cand", "win_rate_low"] <= 3.5 / 8 <= table.loc["cand", "win_rate_high"]
    by_category = win_rates(games, "category", n_bootstrap=0).set_index("category")
    assert by_category.loc["web_design", "win_rate"] == pytest.approx(3.5 / 8)
    assert math.isnan(by_category.loc["problem_solving", "win_rate"])


@pytest.mark.parametrize(
    ("call", "column"),
    [
        (lambda v, votes: score_judge(v.drop(columns=["swapped"]), votes), "swapped"),
        (lambda v, votes: score_judge(v, votes.drop(columns=["winner"])), "winner"),
        (lambda v, votes: execution_lift(v.drop(columns=["mode"]), votes), "mode"),
        (lambda v, votes: agreement(v.drop(columns=["judge"])), "judge"),
    ],
)
def test_a_missing_column_is_an_arena_data_error_naming_it(call, column):
    verdicts = pd.DataFrame(
        [{"judge": "j", "mode": "code_only", "battle_id": "b1", "swapped": False,
          "winner": "model_a"}]
    )  # fmt: skip
    votes = pd.DataFrame([{"battle_id": "b1", "winner": "model_a"}])
    with pytest.raises(ArenaDataError) as caught:
        call(verdicts, votes)
    assert caught.value.column == column and "Fix:" in str(caught.value)


def test_battle_inputs_name_the_missing_columns():
    from arena_kit.judges import battle_inputs

    battles = pd.DataFrame([{"battle_id": "b1", "model_a": "x", "model_b": "y"}])
    responses = pd.DataFrame([{"response_id": "r", "prompt_id": "p", "model": "x", "messages": []}])
    with pytest.raises(ArenaDataError, match="prompt_id"):  # no response ids, no prompt id
        battle_inputs(battles, responses)
    with pytest.raises(ArenaDataError, match="'messages'"):
        battle_inputs(battles.assign(prompt_id="p"), responses.drop(columns=["messages"]))
