"""Resampling units: the independent pieces of evidence a bootstrap draws with replacement.

By default every vote is its own unit. Votes that share a prompt, an annotator or a battle are
not independent (one hard prompt or one lenient person moves all of its votes together), so
``cluster=`` names the column whose values are the units: whole clusters are drawn, and the
sandwich sums each cluster's scores before squaring them.

A bootstrap round draws ``n_units`` units with replacement: ``Multinomial(n_units, 1/n_units)``
counts per unit. With very many units (a million votes) that draw alone costs seconds, so above
:data:`MAX_UNITS` the units are first dealt at random (seeded) into :data:`MAX_UNITS` blocks
and the blocks are drawn. Units are independent, so blocks of randomly chosen units are
independent too: this is the cluster bootstrap on random clusters, with the same covariance as
drawing the units one by one (up to a factor ``1 - (m - 1) / (N - 1)`` for blocks of ``m`` of
``N`` units: ``1 - 5e-5`` for a million votes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "MAX_UNITS",
    "unit_codes",
    "block_units",
    "unit_cell_matrix",
    "resample_units",
    "resample_counts",
]

# Mean votes per cell below which resample_counts draws Poisson counts (see there).
_POISSON_BELOW = 100

MAX_UNITS = 20_000
"""Above this many units, the bootstrap draws random blocks of units (module docstring)."""


def unit_codes(votes: pd.DataFrame, cluster: str | None) -> tuple[NDArray[np.int64], int]:
    """The unit of each vote row (``0 … n_units - 1``) and the number of units.

    ``cluster=None``: every vote is a unit. A vote with no value in the cluster column is a
    unit of its own (it shares nothing known with any other vote).
    """
    import numpy as np
    import pandas as pd

    if cluster is None:
        return np.arange(len(votes), dtype=np.int64), len(votes)
    if not isinstance(cluster, str):
        raise ValueError(f"cluster must be a column name or None, got {cluster!r}")
    if cluster not in votes.columns:
        raise ArenaDataError(
            f"no column {cluster!r} to cluster by (found: {', '.join(map(str, votes.columns))})",
            column=cluster,
            fix="name a column whose equal values mark dependent votes, e.g. cluster='prompt_id', "
            "'annotator' or 'battle_id'",
        )
    codes, uniques = pd.factorize(votes[cluster], use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    n_units = len(uniques)
    if missing.any():
        codes[missing] = n_units + np.arange(int(missing.sum()))
        n_units += int(missing.sum())
    return codes, n_units


def block_units(
    codes: NDArray[np.int64], n_units: int, rng: Any, max_units: int | None = None
) -> tuple[NDArray[np.int64], int]:
    """Deal units at random into ``max_units`` (default :data:`MAX_UNITS`) blocks when there
    are more (module docstring)."""
    max_units = MAX_UNITS if max_units is None else max_units
    if n_units <= max_units:
        return codes, n_units
    block_of_unit = rng.permutation(n_units) % max_units
    return block_of_unit[codes], max_units


def unit_cell_matrix(
    codes: NDArray[np.int64], cells: NDArray[np.int64], n_units: int, n_cells: int
) -> Any:
    """Sparse ``(n_units, n_cells)`` counts: the votes of each unit in each cell.

    Rows whose cell is ``-1`` (votes the fit leaves out) are not counted.
    """
    import numpy as np
    import scipy.sparse as sp

    keep = cells >= 0
    ones = np.ones(int(keep.sum()))
    matrix = sp.csr_matrix((ones, (codes[keep], cells[keep])), shape=(n_units, n_cells))
    matrix.sum_duplicates()
    return matrix


def resample_units(rng: Any, n_units: int, size: int) -> Any:
    """``(size, n_units)`` counts: each row draws ``n_units`` units with replacement.

    Equal chances, so the draw is literally that: ``n_units`` uniform picks, counted
    (``Multinomial(n_units, 1/n_units)``; faster than Poisson draws for many units).
    """
    import numpy as np

    picks = rng.integers(0, n_units, size=(size, n_units))
    offsets = (np.arange(size) * n_units)[:, None]
    return np.bincount((picks + offsets).ravel(), minlength=size * n_units).reshape(size, n_units)


def resample_counts(rng: Any, counts: Any, size: int) -> Any:
    """``size`` draws of ``Multinomial(counts.sum(), counts / counts.sum())``, shape ``(size, C)``.

    The counts of a resample of the votes with replacement. Drawn exactly, but about twice
    faster than ``rng.multinomial`` when there are many cells: each cell gets an independent
    ``Poisson(count)``; given their total ``T``, the cells are ``Multinomial(T, p)`` — ``T``
    independent votes. Adding ``N - T`` further independent votes (when ``T < N``), or removing
    ``T - N`` of the ``T`` votes chosen uniformly without replacement (when ``T > N``), leaves
    ``N`` independent votes: ``Multinomial(N, p)`` exactly. Used when cells hold fewer than
    ``_POISSON_BELOW`` votes on average; otherwise ``rng.multinomial``.
    """
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    n_cells = len(counts)
    if total >= _POISSON_BELOW * n_cells:
        # Many votes per cell: numpy's multinomial (binomials) is as fast (measured).
        return rng.multinomial(total, counts / total, size=size)
    cdf = np.cumsum(counts / total)
    cdf[-1] = 1.0
    draws = rng.poisson(counts.astype(float), size=(size, n_cells))
    sums = draws.sum(axis=1)
    for row in range(size):
        gap = total - int(sums[row])
        if gap > 0:
            extra = np.searchsorted(cdf, rng.random(gap), side="right")
            draws[row] += np.bincount(np.minimum(extra, n_cells - 1), minlength=n_cells)
        elif gap < 0:
            # Votes are numbered 0..T-1 cell by cell; remove a uniform subset of |gap| of them.
            removed = rng.choice(int(sums[row]), size=-gap, replace=False)
            where = np.searchsorted(np.cumsum(draws[row]), removed, side="right")
            draws[row] -= np.bincount(where, minlength=n_cells)
    return draws
