"""Confidence sets for ranks that hold jointly: every model's set covers its true rank at once.

A model's rank is ``1 +`` the number of models better than it. If every pairwise difference
``R_j - R_k`` lies in an interval that holds for **all pairs simultaneously**, then every
model's rank lies between

* ``rank_low  = 1 + #{k : R_k - R_j is surely > 0}`` (models surely above it), and
* ``rank_high = n - #{k : R_j - R_k is surely > 0}`` (all but those surely below it),

for all models at once — the construction of Mogstad, Romano, Shaikh and Wilhelm (2023,
"Inference for Ranks with Applications to Mobility across Neighbourhoods and Academic
Achievement across Countries", *Review of Economic Studies*) for simultaneous rank sets.
The simultaneous intervals are ``d̂_jk ± c · se_jk`` with ``c`` the ``level`` quantile of the
**max-statistic** ``max_{j<k} |d*_jk - d̂_jk| / se_jk`` over bootstrap rounds (or over draws
from the sandwich covariance's normal distribution): it accounts for how the differences move
together (they share models) instead of adjusting each one separately.

The simple alternative — each model's own interval at level ``1 - α/n`` (Bonferroni), and a
model surely above another when their intervals do not overlap — is also jointly valid but
wider: non-overlap asks for a gap of two half-widths at the stricter level, where a difference
needs about ``c · se`` of it (``method="bonferroni"`` computes those sets, for comparison; the
tests check ours are never wider).

Compared with ``rank_ub`` (one model's interval against the others', each at 95 %): ``rank_ub``
is a marginal statement about one model; ``rank_low``/``rank_high`` are a statement about the
whole leaderboard at once, so they are wider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["RankSets", "rank_sets", "GAUSSIAN_DRAWS"]

GAUSSIAN_DRAWS = 4000
"""Draws from the sandwich's normal distribution for the max-statistic (no bootstrap)."""


@dataclass(frozen=True)
class RankSets:
    """Joint rank sets of ``n`` models (in the order of the ratings given)."""

    rank_low: NDArray[np.int64]
    rank_high: NDArray[np.int64]
    above: NDArray[np.bool_]
    """``above[j, k]``: model ``j`` is surely better than model ``k`` (jointly over all pairs)."""
    critical_value: float
    """``c``: half-width of the simultaneous difference intervals in standard errors."""


def rank_sets(
    ratings: Any,
    *,
    draws: Any = None,
    cov: Any = None,
    level: float = 0.95,
    method: Literal["max", "bonferroni"] = "max",
    seed: int | None = 0,
) -> RankSets:
    """Joint ``level`` confidence sets for the ranks of ``ratings`` (see the module docstring).

    Parameters
    ----------
    ratings
        ``(n,)`` point ratings.
    draws
        ``(B, n)`` bootstrap ratings; the differences' standard errors and the max-statistic
        come from them.
    cov
        ``(n, n)`` covariance of the ratings, used when ``draws`` is ``None``: standard errors
        from it and the max-statistic from :data:`GAUSSIAN_DRAWS` normal draws (seeded).
    level
        Joint coverage (0.95).
    method
        ``"max"`` (the max-statistic) or ``"bonferroni"``: Bonferroni-adjusted marginal sets,
        for comparison — each model's own interval at level ``1 - α/n`` (normal, its standard
        error from the same draws or covariance), jointly valid by Bonferroni's inequality, and
        a model surely above another when their intervals do not overlap.
    """
    import numpy as np
    from scipy.stats import norm

    r = np.asarray(ratings, dtype=float)
    n = len(r)
    if n < 2:
        one = np.ones(n, dtype=np.int64)
        return RankSets(one, one, np.zeros((n, n), dtype=bool), 0.0)
    j, k = np.triu_indices(n, 1)
    diff = r[j] - r[k]
    if draws is not None:
        d = np.asarray(draws, dtype=float)
        sample = d[:, j] - d[:, k]
        se = sample.std(axis=0, ddof=1) if len(d) > 1 else np.zeros(len(j))
        deviation = sample - diff
    else:
        if cov is None:
            raise ValueError("give draws (bootstrap ratings) or cov (a covariance)")
        c_ = np.asarray(cov, dtype=float)
        se = np.sqrt(np.clip(c_[j, j] + c_[k, k] - 2 * c_[j, k], 0.0, None))
        rng = np.random.default_rng(seed)
        # Draws of N(0, cov) through a factor that tolerates a singular covariance (anchored
        # ratings have one zero row).
        values, vectors = np.linalg.eigh(0.5 * (c_ + c_.T))
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        z = rng.standard_normal((GAUSSIAN_DRAWS, n)) @ factor.T
        deviation = z[:, j] - z[:, k]
    alpha = 1.0 - level
    if method == "bonferroni":
        # Marginal intervals, each at 1 - α/n, jointly valid by Bonferroni; a model is surely
        # above another when their intervals do not overlap.
        if draws is not None:
            model_se = np.asarray(draws, dtype=float).std(axis=0, ddof=1)
        else:
            model_se = np.sqrt(np.clip(np.diag(np.asarray(cov, dtype=float)), 0.0, None))
        critical = float(norm.ppf(1.0 - alpha / (2 * n)))
        low_r, high_r = r - critical * model_se, r + critical * model_se
        above = low_r[:, None] > high_r[None, :]
        np.fill_diagonal(above, False)
        return RankSets(
            rank_low=(1 + above.sum(axis=0)).astype(np.int64),
            rank_high=(n - above.sum(axis=1)).astype(np.int64),
            above=above,
            critical_value=critical,
        )
    if method == "max":
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(se > 0, np.abs(deviation) / np.where(se > 0, se, 1.0), 0.0)
        # The (B + 1) p order-statistic rule, as for the percentile intervals.
        critical = float(np.quantile(t.max(axis=1), level, method="weibull"))
    else:
        raise ValueError(f"method must be 'max' or 'bonferroni', got {method!r}")
    low_bound = diff - critical * se
    high_bound = diff + critical * se
    above = np.zeros((n, n), dtype=bool)
    above[j, k] = low_bound > 0
    above[k, j] = high_bound < 0
    return RankSets(
        rank_low=(1 + above.sum(axis=0)).astype(np.int64),
        rank_high=(n - above.sum(axis=1)).astype(np.int64),
        above=above,
        critical_value=critical,
    )


def ranks_from_above(above: Any, keep: Any = None) -> tuple[Any, Any]:
    """``rank_low, rank_high`` from a "surely better" matrix, ignoring models not in ``keep``.

    A model left out (e.g. a thin one) is above no one and no one is above it: its own set is
    ``1 … n``.
    """
    import numpy as np

    above = np.asarray(above, dtype=bool).copy()
    n = len(above)
    if keep is not None:
        out = ~np.asarray(keep, dtype=bool)
        above[out, :] = False
        above[:, out] = False
    return (1 + above.sum(axis=0)).astype(np.int64), (n - above.sum(axis=1)).astype(np.int64)
