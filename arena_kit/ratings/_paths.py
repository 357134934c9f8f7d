"""The two ways a fit runs: on (pair, outcome) cells, or on rows with covariates.

Both return a :class:`Fitted`: the parameters (``θ`` first), their sandwich covariance and the
bootstrap rounds, so that the leaderboard, the intervals and the rank sets are built once, the
same way, from either (:mod:`.bradley_terry`).

* :func:`cell_fit` — plain Bradley-Terry or Davidson on cell counts (:mod:`._solver`). Its
  bootstrap refits every round exactly: rounds draw the cells' counts, or with ``cluster=``
  whole clusters (each cluster's votes per cell, summed over the clusters drawn).
* :func:`covariate_fit` — Bradley-Terry with controls on rows (:mod:`._covariates`), with the
  score bootstrap over votes or clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._covariates import CovariateEngine, compress_rows
from ._solver import DRAW, LOSS, WIN, Engine, FitCells, inverse_or_nan, newton, sandwich_covariance
from ._units import block_units, resample_counts, resample_units, unit_cell_matrix

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Fitted", "VoteUnits", "cell_fit", "covariate_fit", "DEFAULT_PRIOR"]

DEFAULT_PRIOR = 1.0
"""Virtual ties per model (against a reference rated ``centre``) used when the MLE diverges."""

# Bootstrap rounds are drawn and fitted in chunks of at most this many numbers (memory bound);
# the chunking does not change the draws, so results do not depend on it.
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class VoteUnits:
    """The votes a fit uses, each with its fit cell and its resampling unit (``0 … n - 1``)."""

    cell: NDArray[np.int64]
    unit: NDArray[np.int64]
    n_units: int
    clustered: bool
    """True when units are clusters named by the user (the sandwich then gets G / (G - 1))."""


@dataclass
class Fitted:
    """A fit's parameters, sandwich covariance and bootstrap rounds (``θ`` first)."""

    x: Any
    cov: Any
    boot: Any
    converged: bool
    n_prior_rounds: int = 0
    n_unconverged: int = 0


def cell_fit(
    cells: FitCells,
    model: str,
    alpha: float,
    n_bootstrap: int,
    seed: int | None,
    units: VoteUnits | None = None,
) -> Fitted:
    """Plain (``"half"``) or Davidson fit on cells, its sandwich and its bootstrap."""
    import numpy as np

    n = cells.n_models
    engine = Engine(cells, model)
    stats = engine.pair_stats(cells.cell_count)
    x0 = np.zeros((1, engine.m))
    if engine.extra:
        draws = cells.cell_count[cells.cell_kind == DRAW].sum() / cells.cell_count.sum()
        x0[0, n] = math.log(max(2 * draws / max(1 - draws, 1e-9), 1e-6))
    point = newton(engine, stats, x0, np.array([alpha]), tol=1e-12)
    x_hat = point.x[0]
    n_cells = len(cells.cell_count)
    matrix = None
    if units is not None and units.clustered:
        matrix = unit_cell_matrix(units.unit, units.cell, units.n_units, n_cells)
    cov = sandwich_covariance(engine, x_hat, alpha, units=matrix)
    fitted = Fitted(x=x_hat, cov=cov, boot=None, converged=bool(point.converged[0]))
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        if units is not None and units.clustered:
            codes, n_blocks = block_units(units.unit, units.n_units, rng)
            blocks = unit_cell_matrix(codes, units.cell, n_blocks, n_cells).T.tocsr()

            def draw(size: int) -> Any:
                return np.asarray((blocks @ resample_units(rng, n_blocks, size).T).T)

            chunk_width = max(n_cells, n_blocks)
        else:

            def draw(size: int) -> Any:
                return resample_counts(rng, cells.cell_count, size)

            chunk_width = n_cells
        fitted.boot, fitted.n_prior_rounds, fitted.n_unconverged = _refit_rounds(
            engine, x_hat, alpha, int(n_bootstrap), draw, chunk_width
        )
    return fitted


def _refit_rounds(
    engine: Engine, x_hat: Any, alpha: float, n_rounds: int, draw: Any, width: int
) -> tuple[Any, int, int]:
    """Exact refits of ``n_rounds`` resampled count vectors, ``(B, m)``."""
    import numpy as np

    chunk = max(1, _CHUNK_CELLS // max(width, 1))
    stats0 = engine.pair_stats(engine.cells.cell_count)
    _, _, hess = engine.evaluate(x_hat[None, :], stats0, np.array([alpha]), hessian=True)
    chord = np.linalg.inv(hess[0])
    out = np.empty((n_rounds, engine.m))
    prior_rounds = 0
    unconverged = 0
    for start in range(0, n_rounds, chunk):
        size = min(chunk, n_rounds - start)
        counts = draw(size)
        stats = engine.pair_stats(counts)
        del counts
        round_alpha = np.full(size, alpha)
        if alpha == 0:
            # A resample can lose a model's only win: the MLE of that round diverges. Those
            # rounds get the same small prior the point fit would have used.
            bad = engine.degenerate(stats)
            if bad.any():
                round_alpha[bad] = DEFAULT_PRIOR
                prior_rounds += int(bad.sum())
        x0 = np.broadcast_to(x_hat, (size, engine.m))
        result = newton(engine, stats, x0, round_alpha, tol=1e-8, max_iter=100, chord_inverse=chord)
        unconverged += int((~result.converged).sum())
        out[start : start + size] = result.x
    return out, prior_rounds, unconverged


def covariate_fit(
    cells: FitCells,
    alpha: float,
    units: VoteUnits,
    flip: Any,
    z: Any,
    n_bootstrap: int,
    seed: int | None,
    theta_start: Any,
) -> Fitted:
    """Bradley-Terry with covariates ``z`` (``(votes, k)``, ``a`` minus ``b``) on the votes
    of ``units`` (``flip``: the vote's ``model_a`` is its cell's second model)."""
    import numpy as np

    n = cells.n_models
    kind = cells.cell_kind[units.cell]
    score = np.where(kind == WIN, 1.0, np.where(kind == LOSS, 0.0, 0.5))
    oriented = z * np.where(np.asarray(flip, dtype=bool), -1.0, 1.0)[:, None]
    rows, vote_row = compress_rows(
        n,
        cells.pair_i,
        cells.pair_j,
        cells.cell_pair[units.cell],
        score,
        cells.cell_weight[units.cell],
        oriented,
    )
    engine = CovariateEngine(rows)
    x0 = np.concatenate([np.asarray(theta_start, dtype=float), np.zeros(engine.k)])
    x_hat, converged, hess = engine.fit(x0, alpha)
    bread = inverse_or_nan(hess)
    if units.clustered:
        g = units.n_units
        meat = engine.cluster_meat(x_hat, vote_row, units.unit, g) * (g / max(g - 1, 1))
    else:
        resid, _ = engine.vote_scores(x_hat, np.arange(len(rows.count)))
        meat = engine.assemble(rows.count * resid**2)
    cov = bread @ meat @ bread
    fitted = Fitted(x=x_hat, cov=0.5 * (cov + cov.T), boot=None, converged=converged)
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        codes, n_blocks = block_units(units.unit, units.n_units, rng)
        scores = engine.unit_scores(x_hat, vote_row, codes, n_blocks)
        step = scores @ bread  # one Newton step per unit's score (bread is symmetric)
        chunk = max(1, _CHUNK_CELLS // max(n_blocks, 1))
        boot = np.empty((int(n_bootstrap), engine.m))
        for start in range(0, int(n_bootstrap), chunk):
            size = min(chunk, int(n_bootstrap) - start)
            weights = resample_units(rng, n_blocks, size) - 1.0
            boot[start : start + size] = x_hat + weights @ step
        fitted.boot = boot
    return fitted
