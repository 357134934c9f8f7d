"""Charts aggregate first (so any number of votes works) and export offline."""

from __future__ import annotations

import json

import pytest

from arena_kit import analysis, charts
from arena_kit.ratings import compare_slices, fit_bradley_terry
from arena_kit.simulate import simulate_votes


@pytest.fixture(scope="module")
def many_votes():
    return simulate_votes(30000, seed=9).votes


def test_leaderboard_and_heatmap_export_png_and_svg(tmp_path, many_votes):
    result = fit_bradley_terry(many_votes, n_bootstrap=20)
    png = charts.save(charts.leaderboard_chart(result.leaderboard), tmp_path / "board.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    svg = charts.save(
        charts.heatmap(result.observed_win_rate(), title="win rate"), tmp_path / "heat.svg"
    )
    text = svg.read_text()
    assert text.startswith("<svg") and "sim-aurora" in text


def test_charts_of_30000_votes_carry_only_aggregates(many_votes):
    long = compare_slices(many_votes, by="view", n_bootstrap=0)
    spec = charts.leaderboard_chart(long, by="slice").to_dict()
    rows = sum(len(v) for v in spec["datasets"].values())
    assert rows == len(long) <= 30
    shares = analysis.vote_shares(many_votes, "category")
    spec = charts.distribution_chart(shares, label="category", title="t").to_dict()
    assert sum(len(v) for v in spec["datasets"].values()) == 6


def test_outcome_chart_colours_statuses():
    import pandas as pd

    outcomes = pd.DataFrame(
        {"model": ["a", "b"], "ok": [1, 1], "timeout": [1, 0], "build_error": [0, 1],
         "total": [2, 2]}
    )  # fmt: skip
    spec = charts.outcome_chart(outcomes).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == ["ok", "build_error", "timeout"]
    assert scale["range"][0] == charts.STATUS_COLORS["ok"]
    assert json.dumps(spec)  # serialisable


def test_save_refuses_other_formats(tmp_path, many_votes):
    chart = charts.distribution_chart(
        analysis.vote_shares(many_votes, "category"), label="category", title="t"
    )
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        charts.save(chart, tmp_path / "chart.pdf")
    assert list(tmp_path.iterdir()) == []


def test_thin_rows_are_hollow_points_without_a_rule():
    import warnings

    import pandas as pd

    votes = pd.DataFrame(
        [("x", "y", "model_a"), ("y", "x", "model_a"), ("x", "y", "tie")] * 10
        + [("x", "y", "model_a")],
        columns=["model_a", "model_b", "winner"],
    )
    votes["category"] = ["web_design"] * 30 + ["diagram_creation"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        long = compare_slices(votes, by="category", n_bootstrap=20)
    spec = charts.leaderboard_chart(long, by="slice").to_dict()
    filters = [layer.get("transform", [{}])[0].get("filter") for layer in spec["layer"]]
    assert filters == [None, "!datum.thin", "datum.thin"]
    assert spec["layer"][2]["mark"]["filled"] is False
    assert "thin" in spec["title"]["subtitle"]
    (rows,) = spec["datasets"].values()
    thin = [r for r in rows if r["thin"]]
    assert len(thin) == 2 and all(r["ci_low"] is None for r in thin)
    # A plain leaderboard (no thin column) has no hollow point and no subtitle.
    plain = charts.leaderboard_chart(long[~long["thin"]].drop(columns="thin")).to_dict()
    assert plain["title"] == "Leaderboard"


def _slices(rows):
    """A compare_slices-shaped table: (slice, n_votes, model, rating, ci_low, ci_high, thin)."""
    import pandas as pd

    frame = pd.DataFrame(
        rows, columns=["slice", "n_votes", "model", "rating", "ci_low", "ci_high", "thin"]
    )
    return frame.assign(by="category", rank=1)


def test_slice_panels_are_small_multiples_in_the_overall_order():
    long = _slices(
        [("web_design", 300, "x", 1100, 1050, 1150, False),
         ("web_design", 300, "y", 900, 850, 950, False),
         ("game_development", 120, "x", 1000, 960, 1040, False),
         ("game_development", 120, "y", 1000, 960, 1040, False),
         # A diverging fit: an interval far wider than the others must not set the axis.
         ("game_development", 120, "z", 1000, -3000, 6000, False),
         ("diagram_creation", 12, "y", 2500, None, None, True),
         ("diagram_creation", 12, "x", -400, None, None, True)]
    )  # fmt: skip
    spec = charts.slice_panels(long, title="By category", order=["y", "x", "z"], min_votes=50)
    spec = spec.to_dict()
    facet = spec["facet"]
    # One panel per slice, most votes first, the thin slice last; names with spaces.
    assert facet["sort"] == [
        "web design · 300 votes", "game development · 120 votes",
        "diagram creation · 12 votes (thin)",
    ]  # fmt: skip
    layers = spec["spec"]["layer"][0]["layer"]
    assert layers[0]["encoding"]["y"]["sort"] == ["y", "x", "z"]  # every panel, same rows
    # The shared axis fits the readable intervals, not the diverging one nor the thin points.
    low, high = layers[0]["encoding"]["x"]["scale"]["domain"]
    assert 800 < low < 850 and 1150 < high < 1200
    assert layers[0]["encoding"]["x"]["scale"]["clamp"] is True
    # The thin slice is grey; thin rows are hollow points.
    (rows,) = spec["datasets"].values()
    tones = {r["slice"]: r["tone"] for r in rows}
    assert tones == {"web_design": "slice", "game_development": "slice",
                     "diagram_creation": "thin slice"}  # fmt: skip
    assert layers[0]["encoding"]["color"]["scale"]["range"] == [charts.BLUE, charts.GREY]
    assert layers[2]["mark"]["filled"] is False and layers[2]["transform"][0]["filter"] == (
        "datum.thin"
    )
    subtitle = " / ".join(spec["title"]["subtitle"])
    assert "grey: fewer than 50 votes" in subtitle and "hollow" in subtitle
    assert "beyond the axis" in subtitle  # z's interval and the thin points are cut


def test_slice_panels_export_offline(tmp_path):
    long = _slices(
        [("web_design", 300, "x", 1100, 1050, 1150, False),
         ("web_design", 300, "y", 900, 850, 950, False),
         ("diagram_creation", 1, "x", 1000, None, None, True),
         ("diagram_creation", 1, "y", 1000, None, None, True)]
    )  # fmt: skip
    chart = charts.slice_panels(long, title="t", order=["x", "y"], min_votes=5)
    png = charts.save(chart, tmp_path / "panels.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    # A slice of one vote says "vote", not "votes".
    assert "diagram creation · 1 vote (thin)" in chart.to_dict()["facet"]["sort"]


def test_leaderboard_chart_follows_the_given_order_and_labels_categories():
    long = _slices(
        [("web_design", 300, "x", 1100, 1050, 1150, False),
         ("web_design", 300, "y", 900, 850, 950, False)]
    )  # fmt: skip
    spec = charts.leaderboard_chart(long, by="slice", order=["y", "x"]).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["y", "x"]
    (rows,) = spec["datasets"].values()
    assert {r["slice"] for r in rows} == {"web design"}


def test_battle_counts_leave_pairs_that_never_met_blank():
    import pandas as pd

    counts = pd.DataFrame([[0, 2, 0], [2, 0, 7], [0, 7, 0]], index=list("xyz"), columns=list("xyz"))
    spec = charts.heatmap(counts, title="t", value_format="d", blank_zeros=True,
                          scheme="blues").to_dict()  # fmt: skip
    (rows,) = spec["datasets"].values()
    assert sorted((r["row"], r["column"], r["value"]) for r in rows) == [
        ("x", "y", 2), ("y", "x", 2), ("y", "z", 7), ("z", "y", 7)
    ]  # fmt: skip
    # Counts are coloured from zero, with readable figures on the darkest cells.
    assert spec["layer"][0]["encoding"]["color"]["scale"] == {"scheme": "blues", "zero": True}
    assert {r["value"]: r["ink"] for r in rows} == {2: "black", 7: "white"}
    # Win rates keep their 0.0 cells (a real value) and centre the colours at 0.5.
    rates = counts.astype(float).where(counts > 0) / 10
    rates.loc["x", "z"] = 0.0
    spec = charts.heatmap(rates, title="t", midpoint=0.5).to_dict()
    (rows,) = spec["datasets"].values()
    assert ("x", "z", 0.0) in {(r["row"], r["column"], r["value"]) for r in rows}
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domainMid"] == 0.5


def test_distribution_chart_can_keep_the_tables_order():
    import pandas as pd

    turns = pd.DataFrame({"turns": ["1", "2", "3"], "n_votes": [5, 40, 2]})
    spec = charts.distribution_chart(turns, label="turns", title="t", largest_first=False)
    assert spec.to_dict()["layer"][0]["encoding"]["y"]["sort"] == ["1", "2", "3"]
    spec = charts.distribution_chart(turns, label="turns", title="t")
    assert spec.to_dict()["layer"][0]["encoding"]["y"]["sort"] == ["2", "1", "3"]


def test_outcome_chart_stacks_in_the_legend_order_that_tables_follow():
    import pandas as pd

    outcomes = pd.DataFrame(
        {"model": ["a"], "timeout": [1], "no code": [2], "ok": [3], "build_error": [1],
         "total": [7]}
    )  # fmt: skip
    assert charts.status_order(outcomes.columns) == ["ok", "build_error", "timeout", "no code"]
    spec = charts.outcome_chart(outcomes).to_dict()
    assert spec["encoding"]["order"]["field"] == "position"
    (rows,) = spec["datasets"].values()
    stacked = [r["status"] for r in sorted(rows, key=lambda r: r["position"])]
    assert stacked == spec["encoding"]["color"]["scale"]["domain"]
