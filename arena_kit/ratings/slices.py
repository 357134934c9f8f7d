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
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError
from .bradley_terry import VIEWS, BradleyTerryResult, RatingsWarning, fit_bradley_terry, select_view

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["iter_slices", "fit_slices", "compare_slices", "SLICE_KINDS"]

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


def fit_slices(
    votes: pd.DataFrame, by: str, *, min_votes: int = 1, **fit_options: Any
) -> dict[str, BradleyTerryResult]:
    """Fit one leaderboard per slice (see the module docstring for the slice definitions).

    Slices with fewer than ``min_votes`` votes or fewer than two models are skipped with a
    :class:`RatingsWarning` that names them. ``fit_options`` go to
    :func:`~arena_kit.ratings.fit_bradley_terry` (same seed in every slice).
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
        Passed to :func:`~arena_kit.ratings.fit_bradley_terry` (e.g. ``n_bootstrap``).

    Returns
    -------
    DataFrame
        Columns ``by, slice, n_votes`` and the leaderboard columns (``model, rating, ci_low,
        ci_high, rank, rank_ub, n_battles, win_rate``), one row per (slicing, slice, model).
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
        return pd.DataFrame(columns=["by", "slice", "n_votes", *LEADERBOARD_COLUMNS])
    return pd.concat(frames, ignore_index=True)
