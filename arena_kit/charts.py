"""Vega-Altair charts of votes, rankings and executions, and their offline export.

Every chart aggregates before it plots, so it works on a million votes (Altair's 5,000-row
limit applies to what is drawn, never to the votes). :func:`save` writes PNG or SVG with
vl-convert (no browser, no network); :func:`use_static_rendering` makes notebooks embed charts
as SVG so an exported HTML report needs no JavaScript from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .schema import STATUS_COLORS

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "leaderboard_chart",
    "heatmap",
    "distribution_chart",
    "outcome_chart",
    "save",
    "use_static_rendering",
    "STATUS_COLORS",
]


FONT = "DejaVu Sans"
"""The charts' font: installed by scripts/setup-system.sh, so vl-convert (which lays out the
text) and the browser (which draws an exported SVG) measure labels with the same font and no
label is clipped."""


def _altair() -> Any:
    import altair as alt

    if "arena_kit" not in alt.theme.names():

        @alt.theme.register("arena_kit", enable=True)
        def _theme() -> Any:
            return alt.theme.ThemeConfig(config={"font": FONT})

    return alt


def leaderboard_chart(
    board: pd.DataFrame, *, by: str | None = None, title: str = "Leaderboard"
) -> alt.Chart:
    """Ratings as points with interval rules, best model on top.

    ``board`` is a leaderboard (``model, rating, ci_low, ci_high``) or the long output of
    :func:`arena_kit.ratings.compare_slices`; with ``by`` (e.g. ``"slice"``) the slices are
    coloured and offset so their intervals can be compared model by model. Rows flagged
    ``thin`` (too few votes for an interval, :func:`arena_kit.ratings.flag_thin`) are hollow
    points without a rule, so a point alone never passes for a zero-width interval.
    """
    alt = _altair()
    wanted = ("model", "rating", "ci_low", "ci_high", "rank", by, "thin")
    data = board[[c for c in wanted if c is not None and (c != "thin" or c in board)]].copy()
    if "thin" not in data:
        data["thin"] = False
    order = data.groupby("model")["rating"].mean().sort_values(ascending=False).index.tolist()
    y = alt.Y("model:N", sort=order, title=None)
    color = alt.Color(f"{by}:N", title=by) if by else alt.value("#1565c0")
    y_offset = {"yOffset": alt.YOffset(f"{by}:N")} if by else {}
    tooltip = ["model", alt.Tooltip("rating:Q", format=".0f")]
    tooltip += [alt.Tooltip("ci_low:Q", format=".0f"), alt.Tooltip("ci_high:Q", format=".0f")]
    if by:
        tooltip.append(by)
    base = alt.Chart(data)
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="rating (Elo scale) with interval", scale=alt.Scale(zero=False)),
        x2="ci_high:Q",
        y=y,
        color=color,
        **y_offset,
    )
    tooltip.append("thin:N")
    points = (
        base.mark_point(filled=True, size=70)
        .encode(x="rating:Q", y=y, color=color, tooltip=tooltip, **y_offset)
        .transform_filter("!datum.thin")
    )
    hollow = (
        base.mark_point(filled=False, size=70, strokeWidth=2)
        .encode(x="rating:Q", y=y, color=color, tooltip=tooltip, **y_offset)
        .transform_filter("datum.thin")
    )
    height = max(160, 26 * len(order) * (1 if not by else max(1, data[by].nunique() // 2)))
    heading: Any = title
    if data["thin"].any():
        heading = alt.Title(title, subtitle="hollow: too few votes for an interval (thin)")
    return (rules + points + hollow).properties(title=heading, width=460, height=height)


def heatmap(
    matrix: pd.DataFrame, *, title: str, value_format: str = ".2f", value_title: str = "value"
) -> alt.Chart:
    """A labelled heatmap of a square model × model matrix (win rate, battle counts …)."""
    alt = _altair()
    long = matrix.stack().reset_index()
    long.columns = ["row", "column", "value"]
    long = long.dropna(subset=["value"])  # the diagonal: a model never meets itself
    order = list(matrix.index)
    base = alt.Chart(long).encode(
        x=alt.X("column:N", sort=order, title="opponent (model B)"),
        y=alt.Y("row:N", sort=order, title="model A"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("value:Q", title=value_title, scale=alt.Scale(scheme="blueorange")),
        tooltip=["row", "column", alt.Tooltip("value:Q", format=value_format)],
    )
    text = base.mark_text(fontSize=10).encode(text=alt.Text("value:Q", format=value_format))
    size = max(220, 34 * len(order))
    return (cells + text).properties(title=title, width=size, height=size)


def distribution_chart(
    table: pd.DataFrame,
    *,
    label: str,
    value: str = "n_votes",
    title: str,
    color: str | None = None,
) -> alt.Chart:
    """Horizontal bars of an aggregated table (one row per label), largest first."""
    alt = _altair()
    order = table.sort_values(value, ascending=False)[label].astype(str).tolist()
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{label}:N", sort=order, title=None),
        "x": alt.X(f"{value}:Q", title=value.replace("_", " ")),
        "tooltip": list(table.columns),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
    bars = alt.Chart(table).mark_bar().encode(**encoding)
    text = (
        alt.Chart(table)
        .mark_text(align="left", dx=3, fontSize=10)
        .encode(y=alt.Y(f"{label}:N", sort=order), x=f"{value}:Q", text=alt.Text(f"{value}:Q"))
    )
    return (bars + text).properties(title=title, width=420, height=max(120, 22 * len(order)))


def outcome_chart(
    outcomes: pd.DataFrame, *, by: str = "model", title: str = "Execution outcomes"
) -> alt.Chart:
    """Stacked shares of execution statuses per ``by`` value (model, language, environment).

    ``outcomes`` is a counts table: a ``by`` column and one column of counts per status (as
    :func:`arena_kit.execution.outcome_table` returns; a ``total`` column is ignored).
    """
    alt = _altair()
    counts = outcomes.set_index(by).drop(columns=["total"], errors="ignore")
    shares = counts.div(counts.sum(axis=1), axis=0)
    long = shares.stack().reset_index()
    long.columns = [by, "status", "share"]
    long["n"] = counts.stack().to_numpy()
    long = long[long["n"] > 0]
    statuses = [s for s in [*STATUS_COLORS, "no code"] if s in set(long["status"])]
    colors = {**STATUS_COLORS, "no code": "#e0e0e0"}
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=None),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of responses"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=statuses, range=[colors[s] for s in statuses]),
            ),
            order=alt.Order("status:N"),
            tooltip=[by, "status", "n", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(title=title, width=420, height=max(100, 24 * counts.shape[0]))
    )


def save(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write ``chart`` as PNG or SVG (by suffix) with vl-convert: offline, atomic."""
    import vl_convert as vlc

    from .io import atomic_path

    path = Path(path)
    spec = chart.to_json()
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".png":
            temporary.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
        elif path.suffix.lower() == ".svg":
            temporary.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
        else:
            raise ValueError(f"save charts as .png or .svg, not {path.suffix!r}")
    return path


def use_static_rendering() -> None:
    """Render charts in notebooks as inline SVG (vl-convert): reports then open offline."""
    alt = _altair()
    alt.renderers.enable("svg")
    alt.data_transformers.disable_max_rows()
