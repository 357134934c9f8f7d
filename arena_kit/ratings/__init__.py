"""Ratings: votes → a Bradley-Terry leaderboard with intervals, slices and reference methods.

>>> from arena_kit.ratings import fit_bradley_terry, audit
>>> result = fit_bradley_terry(votes)            # doctest: +SKIP
>>> result.leaderboard                           # doctest: +SKIP
>>> audit(votes)                                 # "Can we trust this order?"  # doctest: +SKIP

See ``docs/ratings.md`` for the model, the options and the measured speed.
"""

from __future__ import annotations

from .audit import as_markdown as audit_markdown
from .audit import audit
from .audit import summarize as summarize_audit
from .bradley_terry import (
    DEFAULT_PRIOR,
    VIEWS,
    BradleyTerryResult,
    RatingsWarning,
    fit_bradley_terry,
    select_view,
)
from .controls import (
    CONTROL_GROUPS,
    EXECUTION_CONTROLS,
    STYLE_CONTROLS,
    compare_controlled,
    control_features,
)
from .online import online_elo
from .rank_sets import rank_sets
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
    "audit",
    "summarize_audit",
    "audit_markdown",
    "control_features",
    "compare_controlled",
    "rank_sets",
    "STYLE_CONTROLS",
    "EXECUTION_CONTROLS",
    "CONTROL_GROUPS",
    "VIEWS",
    "DEFAULT_PRIOR",
]
