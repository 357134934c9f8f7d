"""Leaderboards per slice of the votes (category, language, environment, annotator, view).

Slice definitions (explicit, because a vote has two sides):

``"category"``, ``"annotator"`` or any other column
    One slice per value of the column; votes with a missing value belong to no slice.
``"language"``
    Language-matched votes (``lang_a == lang_b``), one slice per shared language. A vote whose
    two sides used different languages belongs to no language slice.
``"environment"``
    Environment-matched votes (``env_a == env_b``), one slice per shared environment.
``"view"``
    The three views of BigCodeArena's leaderboard, which overlap: ``all`` (every vote),
    ``env_matched`` (both sides ran in the same environment) and ``lang_matched`` (both sides
    used the same language).

Thin slices. A slice cuts the votes small, and a model with a handful of votes there can look
decisive: one vote gave 1131 [1131, 1131] against 869 [869, 869] and a separated rank (every
bootstrap resample of one vote is that vote). So every slice's leaderboard carries
``n_decisive`` (the votes the model won or lost in the slice) and ``thin``: fewer than
:func:`min_decisive_votes` (6 at the 95 % level). Below that, even a model that won every one
of its votes cannot be told from a coin toss (exact two-sided sign test: 5 wins of 5 happen
by chance with p = 2 · 0.5⁵ = 0.0625 > 0.05; 6 of 6 with p = 0.031). A thin model's interval
is ``NaN`` and it is separated from no one (``rank_ub`` counts neither it above others nor
others above it).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError
from .bradley_terry import (
    VIEWS,
    BradleyTerryResult,
    RatingsWarning,
    fit_bradley_terry,
    select_view,
    uncertain_ranks,
)
from .rank_sets import ranks_from_above

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "iter_slices",
    "fit_slices",
    "compare_slices",
    "min_decisive_votes",
    "flag_thin",
    "SLICE_KINDS",
]

SLICE_KINDS: dict[str, tuple[str, str] | None] = {
    "language": ("lang_a", "lang_b"),
    "environment": ("env_a", "env_b"),
}
"""Slices defined by a pair of side columns (matched votes only); others use one column."""


def iter_slices(votes: pd.DataFrame, by: str) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(slice name, votes of the slice)`` as defined in the module docstring."""
    import numpy as np

    if by == "view":
        for view in VIEWS:
            yield view, select_view(votes, view)
        return
    pair = SLICE_KINDS.get(by)
    if pair is not None:
        left, right = pair
        missing = [c for c in pair if c not in votes.columns]
        if missing:
            raise ArenaDataError(
                f"slicing by {by!r} needs column(s) {', '.join(map(repr, missing))}",
                fix=f"add {left} and {right} to the votes",
            )
        matched = votes[(votes[left].notna() & (votes[left] == votes[right])).to_numpy(bool)]
        key = matched[left]
    else:
        if by not in votes.columns:
            raise ArenaDataError(
                f"no column {by!r} to slice by",
                fix="use category, language, environment, annotator, view or a column name",
            )
        matched = votes[votes[by].notna().to_numpy(bool)]
        key = matched[by]
    codes, values = matched.index.to_numpy(), key.to_numpy()
    del codes
    for value in sorted({str(v) for v in values}):
        yield value, matched[np.asarray(key.astype(str) == value)]


def min_decisive_votes(level: float = 0.95) -> int:
    """The fewest decisive votes (won or lost) with which a model can look better than a coin.

    The smallest ``n`` for which ``n`` wins out of ``n`` reject a fair coin in an exact
    two-sided sign test at ``1 - level``: ``2 · 0.5ⁿ < 1 - level`` (6 at 0.95, 8 at 0.99).
    Below it no record, however one-sided, separates a model from anyone: its interval says
    nothing and is not shown (see :func:`flag_thin`).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    n = 1
    while 2 * 0.5**n >= 1 - level:
        n += 1
    return n


def flag_thin(result: BradleyTerryResult, min_decisive: int | None = None) -> pd.DataFrame:
    """``result``'s leaderboard with ``n_decisive`` and ``thin``, thin models' intervals removed.

    Parameters
    ----------
    result
        A fitted leaderboard (:func:`~arena_kit.ratings.fit_bradley_terry`).
    min_decisive
        A model with fewer decisive votes (won or lost; ties and both-bad votes do not count)
        is ``thin``; ``None``: :func:`min_decisive_votes` at the fit's ``level``.

    Returns
    -------
    DataFrame
        The leaderboard columns plus ``n_decisive`` and ``thin``. Thin rows keep their point
        ``rating`` but get ``NaN`` ``ci_low``/``ci_high``, ``rank_ub = 1`` and the rank set
        ``1 … n``; every other ``rank_ub``, ``rank_low`` and ``rank_high`` is counted again
        without them, so no rank is separated by a thin model.
    """
    import numpy as np

    minimum = _minimum(result, min_decisive)
    board = result.leaderboard.copy()
    board["n_decisive"] = board["model"].map(result.decisive_votes()).astype("int64")
    thin = (board["n_decisive"] < minimum).to_numpy(bool)
    board["thin"] = thin
    if thin.any():
        board.loc[thin, ["ci_low", "ci_high"]] = np.nan
        board["rank_ub"] = uncertain_ranks(board)
        board.loc[thin, "rank_ub"] = 1
        # The joint sets again, with the thin models separating no one (their own: 1 … n).
        above = result.surely_above().reindex(index=board["model"], columns=board["model"])
        low, high = ranks_from_above(above.to_numpy(), keep=~thin)
        board["rank_low"], board["rank_high"] = low, high
    return board


def _minimum(result: BradleyTerryResult, min_decisive: int | None) -> int:
    return min_decisive_votes(result.options["level"]) if min_decisive is None else min_decisive


def fit_slices(
    votes: pd.DataFrame,
    by: str,
    *,
    min_votes: int = 1,
    min_decisive: int | None = None,
    **fit_options: Any,
) -> dict[str, BradleyTerryResult]:
    """Fit one leaderboard per slice (see the module docstring for the slice definitions).

    Slices with fewer than ``min_votes`` votes or fewer than two models are skipped with a
    :class:`RatingsWarning` that names them. ``fit_options`` go to
    :func:`~arena_kit.ratings.fit_bradley_terry` (same seed in every slice). Each result's
    ``leaderboard`` is :func:`flag_thin`'s (``n_decisive``, ``thin``; ``min_decisive`` is
    passed on), and a slice with thin models says so in a :class:`RatingsWarning`.
    """
    results: dict[str, BradleyTerryResult] = {}
    for name, part in iter_slices(votes, by):
        models = set(part["model_a"]) | set(part["model_b"])
        if len(part) < max(1, min_votes) or len(models) < 2:
            warnings.warn(
                f"slice {by}={name!r} skipped: {len(part)} vote(s), {len(models)} model(s)",
                RatingsWarning,
                stacklevel=2,
            )
            continue
        with warnings.catch_warnings():
            # A slice's own warnings are kept on its result and repeated once with its name.
            warnings.simplefilter("ignore", RatingsWarning)
            result = fit_bradley_terry(part, **fit_options)
        board = result.leaderboard = flag_thin(result, min_decisive)
        if board["thin"].any():
            minimum = _minimum(result, min_decisive)
            result.warnings.append(
                f"thin: {', '.join(board.loc[board['thin'], 'model'])} won or lost fewer than "
                f"{minimum} votes here; their intervals are left empty and separate no rank"
            )
        for text in result.warnings:
            warnings.warn(f"slice {by}={name!r}: {text}", RatingsWarning, stacklevel=2)
        results[name] = result
    return results


def compare_slices(
    votes: pd.DataFrame, by: str | list[str] = "view", **fit_options: Any
) -> pd.DataFrame:
    """One long DataFrame of leaderboards per slice, for charts.

    Parameters
    ----------
    votes
        A votes table.
    by
        One slicing (``"view"``, ``"category"``, ``"language"``, ``"environment"``,
        ``"annotator"`` or a column) or a list of them.
    fit_options
        Passed to :func:`fit_slices` (``min_votes``, ``min_decisive``) and
        :func:`~arena_kit.ratings.fit_bradley_terry` (e.g. ``n_bootstrap``).

    Returns
    -------
    DataFrame
        Columns ``by, slice, n_votes``, the leaderboard columns (``model, rating, ci_low,
        ci_high, rank, rank_ub, n_battles, win_rate``) and ``n_decisive, thin`` (see
        :func:`flag_thin`), one row per (slicing, slice, model).
    """
    import pandas as pd

    from .bradley_terry import LEADERBOARD_COLUMNS

    frames = []
    for slicing in [by] if isinstance(by, str) else list(by):
        for name, result in fit_slices(votes, slicing, **fit_options).items():
            board = result.leaderboard.copy()
            board.insert(0, "n_votes", result.n_votes)
            board.insert(0, "slice", name)
            board.insert(0, "by", slicing)
            frames.append(board)
    if not frames:
        return pd.DataFrame(
            columns=["by", "slice", "n_votes", *LEADERBOARD_COLUMNS, "n_decisive", "thin"]
        )
    return pd.concat(frames, ignore_index=True)
