"""Vote analysis on small hand-made tables whose answers are counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from arena_kit import analysis, schema
from arena_kit.simulate import simulate_votes


def votes(rows):
    columns = ["battle_id", "model_a", "model_b", "winner", "swapped", "annotator", "lang_a",
               "lang_b", "category"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["vote_id"] = [f"v{i}" for i in range(len(frame))]
    return schema.validate(frame, "votes")


SMALL = votes(
    [
        ("b1", "x", "y", "model_a", False, "ann", "python", "python", "web_design"),
        ("b1", "x", "y", "model_a", True, "bob", "python", "python", "web_design"),
        ("b2", "x", "z", "tie", False, "ann", "python", "cpp", "web_design"),
        ("b2", "x", "z", "both_bad", False, "bob", "python", "cpp", "web_design"),
        ("b3", "y", "z", "model_b", True, "ann", "html", "html", "game_development"),
        ("b4", "y", "z", "model_b", False, "ann", None, "html", "game_development"),
    ]
)


def test_vote_shares_counts_and_outcome_mix():
    table = analysis.vote_shares(SMALL, "category").set_index("category")
    assert table.loc["web_design", "n_votes"] == 4
    assert table.loc["web_design", "share"] == pytest.approx(4 / 6)
    assert table.loc["web_design", "model_a"] == pytest.approx(0.5)
    assert table.loc["web_design", "draw_rate"] == pytest.approx(0.5)
    assert table.loc["game_development", "model_b"] == pytest.approx(1.0)


def test_language_slices_mark_mixed_and_unknown_sides():
    labels = analysis.slice_column(SMALL, "language").tolist()
    assert labels == ["python", "python", "mixed", "mixed", "html", "mixed"]


def test_position_bias_counts_left_panel_wins():
    bias = analysis.position_bias(SMALL).set_index("annotator")
    # ann: b1 left (model_a, not swapped) won; b3 swapped, model_b is left and won; b4 right won.
    assert bias.loc["ann", "n_decisive"] == 3
    assert bias.loc["ann", "left_share"] == pytest.approx(2 / 3)
    # bob: b1 swapped, model_a shown right, model_a won → right.
    assert bias.loc["bob", "left_share"] == 0.0


def test_position_bias_finds_the_simulated_biased_annotator():
    simulated = simulate_votes(4000, seed=11, left_bias=0.5).votes
    bias = analysis.position_bias(simulated).set_index("annotator")
    assert bias.loc["annotator-1", "biased"]
    assert not bias.drop("annotator-1")["biased"].any()


def test_repeat_agreement_by_hand():
    result = analysis.repeat_agreement(SMALL)
    # b1: same winner; b2: tie vs both_bad → differ in 4 classes, agree in 3 classes.
    assert result["n_battles"] == 2 and result["n_pairs"] == 2
    assert result["agreement"] == 0.5
    assert result["agreement_3class"] == 1.0
    mix = [2 / 6, 2 / 6, 1 / 6, 1 / 6]
    assert result["chance"] == pytest.approx(sum(p * p for p in mix))


def test_gold_accuracy():
    gold = pd.DataFrame({"battle_id": ["b1", "b3"], "winner": ["vote_model_A", "model_a"]})
    table = analysis.gold_accuracy(SMALL, gold).set_index("annotator")
    assert table.loc["ann", "n_gold"] == 2 and table.loc["ann", "accuracy"] == 0.5
    assert table.loc["bob", "accuracy"] == 1.0


def test_thin_slices_turns_and_description():
    assert analysis.thin_slices(SMALL, "category", min_votes=3) == ["game_development"]
    turns = analysis.turns_distribution(SMALL)
    assert turns.to_dict("records") == [{"turns": 1, "n_votes": 6, "share": 1.0}]
    facts = dict(analysis.describe(SMALL).to_numpy().tolist())
    assert facts["votes"] == "6" and facts["models"] == "3" and facts["battles"] == "4"


def test_rank_changes():
    long = pd.DataFrame(
        {
            "slice": ["all", "all", "env_matched", "env_matched"],
            "model": ["x", "y", "x", "y"],
            "rank": [1, 2, 2, 1],
        }
    )
    table = analysis.rank_changes(long).set_index("model")
    assert table.loc["x", "Δ env_matched"] == -1 and table.loc["y", "Δ env_matched"] == 1


def test_vote_shares_has_no_stray_header_over_the_rows():
    # The crosstab's "winner" used to head the row numbers of every table shown.
    table = analysis.vote_shares(SMALL, "category")
    assert table.columns.name is None
    assert list(table.columns[:3]) == ["category", "n_votes", "share"]


def test_thin_slices_are_the_ranked_slices_only():
    # "mixed" (3 votes: b2 twice, b4) has no leaderboard: compare_slices ranks matched votes.
    assert analysis.thin_slices(SMALL, "language", min_votes=4) == ["html", "python"]
    assert analysis.thin_slices(SMALL, "language", min_votes=2) == ["html"]


def test_describe_agreement_says_when_nothing_was_judged_twice():
    once = SMALL.drop_duplicates("battle_id")
    text = analysis.describe_agreement(analysis.repeat_agreement(once))
    assert "No battle was judged more than once" in text and "nan" not in text
    text = analysis.describe_agreement(analysis.repeat_agreement(SMALL))
    assert "**2**" in text and "**50.0%**" in text and "(3-class 100.0%)" in text


def _long(rows):
    return pd.DataFrame(rows, columns=["by", "slice", "n_votes", "model", "rank", "thin"])


def test_slice_order_puts_thin_slices_last_and_keeps_the_views_order():
    long = _long(
        [("category", "web_design", 90, "x", 1, False), ("category", "diagram_creation", 8,
          "x", 1, True), ("category", "game_development", 60, "x", 1, False),
         ("category", "creative_coding", 120, "x", 1, False)]
    )  # fmt: skip
    assert analysis.slice_order(long) == [
        "creative_coding", "web_design", "game_development", "diagram_creation"
    ]  # fmt: skip
    # Thin slices (fewer than min_votes) go last, however they compare among the others.
    small_first = long.assign(n_votes=[90, 200, 60, 10])
    assert analysis.slice_order(small_first, min_votes=50) == [
        "diagram_creation", "web_design", "game_development", "creative_coding"
    ]  # fmt: skip
    views = _long([("view", v, n, "x", 1, False) for v, n in
                   (("all", 10), ("env_matched", 4), ("lang_matched", 6))])  # fmt: skip
    assert analysis.slice_order(views, min_votes=5) == ["all", "env_matched", "lang_matched"]


def test_rank_changes_are_integers_in_the_given_order_with_missing_ranks():
    long = _long(
        [("category", "a", 50, "x", 2, False), ("category", "a", 50, "y", 1, False),
         ("category", "a", 50, "z", 3, False), ("category", "b", 20, "x", 1, True),
         ("category", "b", 20, "y", 2, True)]
    )  # fmt: skip
    table = analysis.rank_changes(long, base="", order=["z", "x", "y"], slices=["b", "a"])
    assert list(table["model"]) == ["z", "x", "y"] and list(table.columns) == ["model", "b", "a"]
    assert str(table["a"].dtype) == "Int64" and table["a"].tolist() == [3, 2, 1]
    assert table["b"].isna().tolist() == [True, False, False]  # z had no vote in b
