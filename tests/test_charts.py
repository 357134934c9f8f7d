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
