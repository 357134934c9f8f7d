"""Votes → unique (pair, outcome, weight) counts: the only form the fitting code ever sees.

A vote table of a million rows collapses to a few thousand cells: one per unordered model pair
``(i, j)`` with ``i < j`` (models sorted by name), outcome as seen from ``i`` and per-vote
weight. The Bradley-Terry likelihood depends on the votes only through these counts, and
resampling votes with replacement is the same as drawing the counts from a multinomial over
the cells, so the fit and the bootstrap are both exact on this form.

The input check here is vectorised (factorised codes), not :func:`arena_kit.schema.validate`'s
per-cell loop: only the three columns the fit needs are checked, each error names the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError
from ..schema import WINNER_ALIASES, WINNERS, looks_numeric, normalize_winner, numeric_winner_fix

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

__all__ = ["VoteCounts", "count_votes", "WIN", "LOSS", "TIE", "BOTH_BAD"]

# Outcome codes, as seen from the first model of the (sorted) pair.
WIN, LOSS, TIE, BOTH_BAD = 0, 1, 2, 3

# Above this many possible keys, np.unique replaces np.bincount (memory of the bin array).
_BINCOUNT_LIMIT = 8_000_000


@dataclass(frozen=True)
class VoteCounts:
    """Votes aggregated to unique cells (see the module docstring).

    Attributes
    ----------
    models
        Model names, sorted; indices below refer to this tuple.
    cell_i, cell_j
        The pair of each cell, ``cell_i < cell_j``.
    cell_outcome
        :data:`WIN`, :data:`LOSS`, :data:`TIE` or :data:`BOTH_BAD` for model ``cell_i``.
    cell_weight
        The per-vote weight shared by the cell's votes (1.0 without weights).
    cell_count
        Number of votes in the cell.
    row_cell
        The cell of each vote row, when :func:`count_votes` was asked for it.
    n_votes
        Number of vote rows counted.
    """

    models: tuple[str, ...]
    cell_i: NDArray[np.int64]
    cell_j: NDArray[np.int64]
    cell_outcome: NDArray[np.int64]
    cell_weight: NDArray[np.float64]
    cell_count: NDArray[np.int64]
    n_votes: int
    row_cell: NDArray[np.int64] | None = None
    """The cell of each vote row (only when asked for: clusters need it)."""
    row_flip: NDArray[np.bool_] | None = None
    """Per vote row, True when its ``model_a`` is the cell's second model (``cell_j``)."""


def _row_error(problem: str, position: int, column: str, value: Any, fix: str) -> ArenaDataError:
    return ArenaDataError(
        problem, location=f"row {position + 1}", column=column, value=value, fix=fix
    )


def _factorize(column: pd.Series) -> tuple[Any, Any]:
    """``pd.factorize`` (NA → -1), faster on object columns of strings.

    pandas' own path for object columns is about twice slower than its string hash table
    called directly; the hash table treats non-strings as missing, so any such row sends the
    column back to the general path.
    """
    import pandas as pd

    if column.dtype == object:
        try:
            from pandas._libs import hashtable  # type: ignore[attr-defined]

            values = column.to_numpy()
            uniques, codes = hashtable.StringHashTable(64).factorize(values)
        except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
            pass
        else:
            missing = codes < 0
            if not missing.any() or pd.isna(values[missing]).all():
                return codes, uniques
    return pd.factorize(column, use_na_sentinel=True)


def _model_codes(column: pd.Series, name: str) -> tuple[NDArray[np.int64], list[str]]:
    import numpy as np

    codes, uniques = _factorize(column)
    if len(codes) and codes.min() < 0:
        position = int(np.flatnonzero(codes < 0)[0])
        raise _row_error(
            f"missing model name ({int((codes < 0).sum())} such row(s))",
            position,
            name,
            None,
            f"give every vote a {name} or drop the row",
        )
    return codes, [str(u) for u in uniques]


def _weights_array(votes: pd.DataFrame, weights: Any) -> NDArray[np.float64] | None:
    import numpy as np

    if weights is None or (isinstance(weights, str) and weights == "inverse_pair_frequency"):
        return None
    if isinstance(weights, str):
        if weights not in votes.columns:
            raise ArenaDataError(
                f"weights column {weights!r} not found",
                column=weights,
                fix="name an existing column, give an array, or use 'inverse_pair_frequency'",
            )
        values = votes[weights].to_numpy(dtype=float, na_value=np.nan)
        column = weights
    else:
        values = np.asarray(weights, dtype=float)
        column = "weights"
        if values.shape != (len(votes),):
            raise ArenaDataError(
                f"weights has shape {values.shape}, expected ({len(votes)},): one per vote",
                column=column,
                fix="give one weight per vote row",
            )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise _row_error(
            f"weight {values[position]!r} is not a finite number ≥ 0",
            position,
            column,
            values[position],
            "give every vote a finite, non-negative weight",
        )
    return values


def count_votes(votes: pd.DataFrame, *, weights: Any = None, row_cells: bool = False) -> VoteCounts:
    """Check the three vote columns and count unique (pair, outcome, weight) cells.

    Parameters
    ----------
    votes
        A DataFrame with at least ``model_a``, ``model_b`` and ``winner`` (any public winner
        spelling, see :data:`arena_kit.schema.WINNER_ALIASES`).
    weights
        ``None``, the name of a column, an array with one weight per row, or
        ``"inverse_pair_frequency"`` (each vote weighs
        ``n_votes / (n_pairs * n_votes_of_its_pair)``: every compared pair counts the same and
        the mean weight is 1).
    row_cells
        Also return the cell of each row (``VoteCounts.row_cell``), to group votes by cluster.

    Raises
    ------
    ArenaDataError
        No rows, a missing column, a missing model name, a self-battle, an unknown winner or a
        bad weight — naming the first offending row.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(votes, pd.DataFrame):
        raise ArenaDataError(
            f"votes must be a pandas DataFrame, got {type(votes).__name__}",
            fix="load the votes with arena_kit.schema.validate(path, 'votes') or pd.DataFrame",
        )
    missing = [c for c in ("model_a", "model_b", "winner") if c not in votes.columns]
    if missing:
        raise ArenaDataError(
            f"missing column(s) {', '.join(map(repr, missing))} "
            f"(found: {', '.join(map(str, votes.columns))})",
            fix="a votes table needs model_a, model_b and winner",
        )
    if len(votes) == 0:
        raise ArenaDataError(
            "no votes: the table is empty", fix="give at least one vote between two models"
        )

    codes_a, names_a = _model_codes(votes["model_a"], "model_a")
    codes_b, names_b = _model_codes(votes["model_b"], "model_b")
    models = tuple(sorted(set(names_a) | set(names_b)))
    index = {name: k for k, name in enumerate(models)}
    # Narrow integer types keep the peak memory of a million-row table low.
    a = np.array([index[n] for n in names_a], dtype=np.int32)[codes_a]
    b = np.array([index[n] for n in names_b], dtype=np.int32)[codes_b]
    del codes_a, codes_b

    same = a == b
    if same.any():
        position = int(np.flatnonzero(same)[0])
        raise _row_error(
            f"self-battle: model_a and model_b are both {models[a[position]]!r} "
            f"({int(same.sum())} such row(s))",
            position,
            "model_b",
            models[a[position]],
            "drop the row or correct one of the two model names",
        )
    del same

    winner_codes, winner_values = _factorize(votes["winner"])
    lookup = np.array(
        [
            WINNERS.index(normalize_winner(v)) if normalize_winner(v) in WINNERS else -1
            for v in winner_values
        ]
        + [-1],  # the NA sentinel -1 indexes this last entry
        dtype=np.int8,
    )
    outcome = lookup[winner_codes]
    if (outcome < 0).any():
        bad = outcome < 0
        position = int(np.flatnonzero(bad)[0])
        value = votes["winner"].iloc[position]
        value = value.item() if hasattr(value, "item") else value
        if winner_codes[position] < 0:
            raise _row_error(
                f"missing winner ({int((winner_codes < 0).sum())} such row(s))",
                position,
                "winner",
                None,
                f"give every vote a winner: one of {', '.join(WINNERS)}",
            )
        if looks_numeric(value):
            raise _row_error(
                f"the winner is a number ({value!r}), not a name ({int(bad.sum())} such row(s))",
                position,
                "winner",
                value,
                numeric_winner_fix(value),
            )
        raise _row_error(
            f"unknown winner {value!r} ({int(bad.sum())} such row(s))",
            position,
            "winner",
            value,
            f"use one of {', '.join(WINNERS)} (or a public spelling: "
            f"{', '.join(sorted(WINNER_ALIASES))})",
        )
    del winner_codes

    weight_values = _weights_array(votes, weights)
    n_models = len(models)
    flip = a > b
    low = np.where(flip, b, a).astype(np.int64)
    high = np.where(flip, a, b).astype(np.int64)
    del a, b
    # Seen from the lower-indexed model, a win of model_b is a win when the pair is flipped.
    outcome = outcome ^ (flip & (outcome < TIE)).astype(np.int8)
    row_flip = flip if row_cells else None
    del flip
    key = (low * n_models + high) * 4 + outcome
    del low, high, outcome
    if weight_values is not None:
        weight_levels, weight_code = np.unique(weight_values, return_inverse=True)
        key = key * len(weight_levels) + weight_code
        n_levels = len(weight_levels)
    else:
        weight_levels = np.ones(1)
        n_levels = 1

    size = n_models * n_models * 4 * n_levels
    row_cell = None
    if size <= _BINCOUNT_LIMIT:
        binned = np.bincount(key, minlength=size)
        cells = np.flatnonzero(binned)
        counts = binned[cells]
        del binned
        if row_cells:
            where = np.full(size, -1, dtype=np.int64)
            where[cells] = np.arange(len(cells))
            row_cell = where[key]
            del where
    elif row_cells:
        cells, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        row_cell = inverse.astype(np.int64)
    else:
        cells, counts = np.unique(key, return_counts=True)
    del key

    level = cells % n_levels
    cells //= n_levels
    cell_outcome = cells % 4
    pair = cells // 4
    cell_i, cell_j = pair // n_models, pair % n_models
    cell_weight = weight_levels[level].astype(float)
    if isinstance(weights, str) and weights == "inverse_pair_frequency":
        pair_codes, pair_inverse = np.unique(pair, return_inverse=True)
        per_pair = np.bincount(pair_inverse, weights=counts)
        cell_weight = len(votes) / (len(pair_codes) * per_pair[pair_inverse])

    return VoteCounts(
        models=models,
        cell_i=cell_i.astype(np.int64),
        cell_j=cell_j.astype(np.int64),
        cell_outcome=cell_outcome.astype(np.int64),
        cell_weight=cell_weight,
        cell_count=counts.astype(np.int64),
        n_votes=len(votes),
        row_cell=row_cell,
        row_flip=row_flip,
    )
