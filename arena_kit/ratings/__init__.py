"""Ratings: votes → a Bradley-Terry leaderboard with intervals, slices and reference methods.

>>> from arena_kit.ratings import fit_bradley_terry
>>> result = fit_bradley_terry(votes)            # doctest: +SKIP
>>> result.leaderboard                           # doctest: +SKIP

See ``docs/ratings.md`` for the model, the options and the measured speed.
"""

from __future__ import annotations

from .bradley_terry import (
    DEFAULT_PRIOR,
    VIEWS,
    BradleyTerryResult,
    RatingsWarning,
    fit_bradley_terry,
    select_view,
)
from .online import online_elo
from .slices import compare_slices, fit_slices, flag_thin, iter_slices, min_decisive_votes

__all__ = [
    "BradleyTerryResult",
    "RatingsWarning",
    "fit_bradley_terry",
    "fit_slices",
    "compare_slices",
    "iter_slices",
    "flag_thin",
    "min_decisive_votes",
    "select_view",
    "online_elo",
    "VIEWS",
    "DEFAULT_PRIOR",
]
