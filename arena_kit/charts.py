"""Vega-Altair charts of votes, rankings and executions, and their offline export.

Every chart aggregates before it plots, so it works on a million votes (Altair's 5,000-row
limit applies to what is drawn, never to the votes). :func:`save` writes PNG or SVG with
vl-convert (no browser, no network); :func:`use_static_rendering` makes notebooks embed charts
as SVG so an exported HTML report needs no JavaScript from a CDN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .schema import CATEGORY_LABELS, STATUS_COLORS

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "leaderboard_chart",
    "slice_panels",
    "heatmap",
    "distribution_chart",
    "outcome_chart",
    "status_order",
    "display_label",
    "save",
    "use_static_rendering",
    "STATUS_COLORS",
]

BLUE = "#1565c0"
GREY = "#9e9e9e"
NO_CODE = "no code"
"""The status of responses without runnable code (:func:`arena_kit.execution.outcome_table`)."""


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


def display_label(value: Any) -> str:
    """How a name is shown to people: categories with spaces (``web design``), others as they
    are (a model, language or environment name is never changed)."""
    return CATEGORY_LABELS.get(str(value), str(value))


def _labelled(values: Iterable[Any]) -> list[str]:
    return [display_label(v) for v in values]


def leaderboard_chart(
    board: pd.DataFrame,
    *,
    by: str | None = None,
    title: str = "Leaderboard",
    order: Sequence[str] | None = None,
) -> alt.Chart:
    """Ratings as points with interval rules, best model on top.

    ``board`` is a leaderboard (``model, rating, ci_low, ci_high``) or the long output of
    :func:`arena_kit.ratings.compare_slices`; with ``by`` (e.g. ``"slice"``) the slices are
    coloured and offset so their intervals can be compared model by model — meant for a few
    slices (the three views); for many, :func:`slice_panels` draws one small chart per slice.
    Rows flagged ``thin`` (too few votes for an interval, :func:`arena_kit.ratings.flag_thin`)
    are hollow points without a rule, so a point alone never passes for a zero-width interval.
    Models run top to bottom in ``order`` (e.g. the overall leaderboard's), else by mean rating.
    """
    alt = _altair()
    wanted = ("model", "rating", "ci_low", "ci_high", "rank", by, "thin")
    data = board[[c for c in wanted if c is not None and (c != "thin" or c in board)]].copy()
    if "thin" not in data:
        data["thin"] = False
    if by:
        data[by] = _labelled(data[by])
    order = _model_order(data, order)
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


def _model_order(data: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    """``order`` (models it does not name go last, best first), else best mean rating first."""
    by_rating = data.groupby("model")["rating"].mean().sort_values(ascending=False).index.tolist()
    if order is None:
        return by_rating
    named = [m for m in order if m in set(data["model"])]
    return named + [m for m in by_rating if m not in set(named)]


def slice_panels(
    long: pd.DataFrame,
    *,
    title: str,
    order: Sequence[str] | None = None,
    min_votes: int = 0,
    columns: int = 3,
) -> alt.FacetChart:
    """One small leaderboard per slice of :func:`arena_kit.ratings.compare_slices`'s table.

    Every panel lists the models in the same ``order`` (the overall leaderboard's, best on
    top), so a model is read along one row; panels run from the slice with most votes, and
    slices with fewer than ``min_votes`` votes (thin slices) come last, in grey. A thin row
    (too few decisive votes, no interval) is a hollow point. The x axis is shared and fitted
    to the intervals of the slices that are not thin: a thin slice's point or interval beyond
    it is drawn at its edge (the subtitle says so), and its numbers are in the table.
    """
    import numpy as np

    from .analysis import slice_order

    alt = _altair()
    data = long[["slice", "n_votes", "model", "rating", "ci_low", "ci_high"]].copy()
    data["thin"] = long["thin"].to_numpy(bool) if "thin" in long else False
    slices = slice_order(long, min_votes=min_votes)
    sizes = {name: int(n) for name, n in long.groupby("slice")["n_votes"].first().items()}
    names = {
        s: f"{display_label(s)} · {sizes[s]:,} vote{'s' * (sizes[s] != 1)}"
        + (" (thin)" if sizes[s] < min_votes else "")
        for s in slices
    }
    data["panel"] = data["slice"].map(names)
    thin_slice = (data["n_votes"] < min_votes).to_numpy(bool)
    data["tone"] = np.where(thin_slice, "thin slice", "slice")
    order = _model_order(data, order)
    # The axis fits the readable rows (not thin, in slices that are not thin): their points
    # and intervals, leaving out intervals over 3 times the median width (a diverging fit),
    # which run to the edge: one of them would squeeze every other panel into a few pixels.
    readable = data[~thin_slice & ~data["thin"].to_numpy(bool)]
    if readable.empty:
        readable = data
    width = (readable["ci_high"] - readable["ci_low"]).to_numpy(float)
    usual = (
        np.isfinite(width) & (width <= 3 * np.nanmedian(width))
        if np.isfinite(width).any()
        else width == 0
    )
    ends = np.concatenate(
        [
            readable["rating"].to_numpy(float),
            readable.loc[usual, ["ci_low", "ci_high"]].to_numpy(float).ravel(),
        ]
    )
    ends = ends[np.isfinite(ends)]
    low, high = (float(ends.min()), float(ends.max())) if ends.size else (1000.0, 1000.0)
    pad = max(0.04 * (high - low), 10.0)
    domain = [low - pad, high + pad]
    drawn = data[["rating", "ci_low", "ci_high"]].to_numpy(float)
    clipped = bool(((drawn < domain[0]) | (drawn > domain[1])).any())

    x_scale = alt.Scale(domain=domain, clamp=True, zero=False, nice=False)
    y = alt.Y("model:N", sort=order, title=None)
    color = alt.Color(
        "tone:N", scale=alt.Scale(domain=["slice", "thin slice"], range=[BLUE, GREY]), legend=None
    )
    tooltip = ["panel:N", "model:N", alt.Tooltip("rating:Q", format=".0f")]
    tooltip += [alt.Tooltip("ci_low:Q", format=".0f"), alt.Tooltip("ci_high:Q", format=".0f")]
    tooltip.append("thin:N")
    rules = (
        alt.Chart()
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X("ci_low:Q", title=None, scale=x_scale),
            x2="ci_high:Q",
            y=y,
            color=color,
        )
    )
    points = (
        alt.Chart()
        .mark_point(filled=True, size=45)
        .encode(x="rating:Q", y=y, color=color, tooltip=tooltip)
        .transform_filter("!datum.thin")
    )
    hollow = (
        alt.Chart()
        .mark_point(filled=False, size=45, strokeWidth=1.5)
        .encode(x="rating:Q", y=y, color=color, tooltip=tooltip)
        .transform_filter("datum.thin")
    )
    notes = ["rating (Elo scale) and interval; models in the overall order"]
    if data["thin"].any():
        notes.append("hollow: too few decisive votes for an interval")
    if thin_slice.any():
        notes.append(f"grey: fewer than {min_votes} votes in the slice")
    if clipped:
        notes.append("what lies beyond the axis is drawn at its edge")
    heading = alt.Title(title, subtitle=notes)
    panel = alt.layer(rules, points, hollow).properties(width=230, height=max(60, 15 * len(order)))
    return (
        alt.layer(panel, data=data)
        .facet(
            facet=alt.Facet(
                "panel:N", sort=[names[s] for s in slices], title=None,
                header=alt.Header(labelFontSize=12, labelFontWeight="bold"),
            ),
            columns=columns,
        )
        # An axis under every panel: a wrapped facet would also draw one under empty places.
        .resolve_axis(x="independent")
        .properties(title=heading)
    )  # fmt: skip


def heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    value_format: str = ".2f",
    value_title: str = "value",
    blank_zeros: bool = False,
    scheme: str = "blueorange",
    midpoint: float | None = None,
) -> alt.Chart:
    """A labelled heatmap of a square model × model matrix (win rate, battle counts …).

    Missing cells (the diagonal: a model never meets itself) are left blank, and so are zeros
    with ``blank_zeros`` (battle counts: a pair that never met is no cell, not a dark "0").
    ``midpoint`` centres a diverging ``scheme`` (0.5 for win rates).
    """
    alt = _altair()
    long = matrix.stack().reset_index()
    long.columns = ["row", "column", "value"]
    long = long.dropna(subset=["value"])
    if blank_zeros:
        long = long[long["value"] != 0]
    order = list(matrix.index)
    if midpoint is not None:
        scale = alt.Scale(scheme=scheme, domainMid=midpoint)
        depth = (long["value"] - midpoint).abs() / max((long["value"] - midpoint).abs().max(), 1e-9)
    else:
        # Counts start at zero: a pair with few battles is light, not the darkest cell.
        scale = alt.Scale(scheme=scheme, zero=True)
        depth = long["value"] / max(long["value"].max(), 1e-9)
    # White figures on the darkest cells, black on the others: both stay readable.
    long = long.assign(ink=["white" if d > 0.6 else "black" for d in depth])
    base = alt.Chart(long).encode(
        x=alt.X("column:N", sort=order, title="opponent (model B)"),
        y=alt.Y("row:N", sort=order, title="model A"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("value:Q", title=value_title, scale=scale),
        tooltip=["row", "column", alt.Tooltip("value:Q", format=value_format)],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("value:Q", format=value_format),
        color=alt.condition("datum.ink == 'white'", alt.value("white"), alt.value("black")),
    )
    size = max(220, 34 * len(order))
    return (cells + text).properties(title=title, width=size, height=size)


def distribution_chart(
    table: pd.DataFrame,
    *,
    label: str,
    value: str = "n_votes",
    title: str,
    color: str | None = None,
    largest_first: bool = True,
) -> alt.Chart:
    """Horizontal bars of an aggregated table (one row per label), largest first — or in the
    table's own order (``largest_first=False``: turns 1, 2, 3 …). Categories read with spaces."""
    alt = _altair()
    table = table.assign(**{label: _labelled(table[label])})
    ordered = table.sort_values(value, ascending=False) if largest_first else table
    order = ordered[label].astype(str).tolist()
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
    statuses = status_order(long["status"])
    # Stacked left to right in the legend's order (Vega would sort the names).
    long["position"] = long["status"].map({s: i for i, s in enumerate(statuses)})
    colors = {**STATUS_COLORS, NO_CODE: "#e0e0e0"}
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=None),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of responses"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=statuses, range=[colors[s] for s in statuses]),
                # Named as in the table beside the chart: "build error", not "build_error".
                legend=alt.Legend(labelExpr="replace(datum.label, /_/g, ' ')"),
            ),
            order=alt.Order("position:Q"),
            tooltip=[by, "status", "n", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(title=title, width=420, height=max(100, 24 * counts.shape[0]))
    )


def status_order(statuses: Iterable[str]) -> list[str]:
    """The statuses present, in the order of the outcome chart's legend and stacks (``ok``
    first, then the failures as :data:`STATUS_COLORS` lists them, ``no code`` last); names
    that are not statuses (``total``, a ``model`` column) are left out."""
    present = set(statuses)
    return [s for s in [*STATUS_COLORS, NO_CODE] if s in present]


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
