"""Bradley-Terry with covariates: ``P(i beats j) = σ(θ_i - θ_j + γᵀ(z_i - z_j))``, on rows.

A covariate (an answer's length, whether its code ran, which panel showed it) differs from vote
to vote, so the votes no longer collapse to (pair, outcome) cells: the fit runs on rows. Rows
whose pair, outcome, weight and covariates are all equal are merged first (exact: the
likelihood depends on them only through their number), which makes discrete covariates —
position, execution outcomes — as cheap as the plain fit; continuous ones (length) leave
about one row per vote.

Ties count half a win, as in the plain fit: each row contributes ``w · (y η - log(1 + e^η))``
with ``y ∈ {0, ½, 1}`` and ``η`` the linear predictor. Newton's method with exact derivatives
and a backtracking line search (the log-likelihood is concave) maximises it; without a prior
``1 1ᵀ / n`` in the Hessian fixes ``sum(θ)`` as in :mod:`._solver`.

**Intervals: the score bootstrap** (Kline and Santos 2012, "A Score Based Approach to Wild
Bootstrap Inference", *Journal of Econometric Methods*). A bootstrap round reweights the
units (votes, or clusters) by their multinomial counts and takes **one Newton step** from the
point estimate: ``x* = x̂ + H⁻¹ Σ_g (c_g - 1) S_g`` with ``S_g`` the unit's summed score and
``H`` the negated Hessian at ``x̂``. A full refit per round would need every row in every
round (a million rows × 100 rounds); the one-step round differs from it by ``O(1/N)``, below
the bootstrap's own noise, and the coverage tests check the intervals where it matters most
(small data sets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["DesignRows", "CovariateEngine", "compress_rows"]

# Covariates with at most this many distinct values each are merged into rows exactly (see the
# module docstring); with more (a continuous covariate) rows stay one per vote.
_DISCRETE_LEVELS = 64


@dataclass(frozen=True)
class DesignRows:
    """Rows of a covariate fit. Covariates are oriented ``pair_i`` minus ``pair_j``."""

    n_models: int
    pair_i: NDArray[np.int64]
    pair_j: NDArray[np.int64]
    row_pair: NDArray[np.int64]
    score: NDArray[np.float64]
    """1 (``pair_i`` won), 0 (lost), ½ (a draw)."""
    weight: NDArray[np.float64]
    count: NDArray[np.float64]
    z: NDArray[np.float64]
    """``(rows, k)`` covariate differences."""


def compress_rows(
    n_models: int,
    pair_i: Any,
    pair_j: Any,
    vote_pair: Any,
    vote_score: Any,
    vote_weight: Any,
    vote_z: Any,
) -> tuple[DesignRows, Any]:
    """Per-vote arrays → merged :class:`DesignRows` and the row of each vote.

    Votes merge when pair, score, weight and every covariate are equal — only attempted when
    every covariate has at most ``_DISCRETE_LEVELS`` values (otherwise one row per vote).
    """
    import numpy as np

    n_votes = len(vote_pair)
    z = np.asarray(vote_z, dtype=float).reshape(n_votes, -1)
    weights = np.asarray(vote_weight, dtype=float)
    # A continuous covariate usually shows itself in the first rows: no full sort needed then.
    discrete = all(len(np.unique(z[:4096, c])) <= _DISCRETE_LEVELS for c in range(z.shape[1]))
    if discrete:
        key = np.asarray(vote_pair, dtype=np.int64) * 3 + np.rint(
            np.asarray(vote_score) * 2
        ).astype(np.int64)
        if n_votes and weights.min() != weights.max():
            _, weight_code = np.unique(weights, return_inverse=True)
            key = key * (int(weight_code.max()) + 1) + weight_code
    for column in range(z.shape[1] if discrete else 0):
        levels, codes = np.unique(z[:, column], return_inverse=True)
        if len(levels) > _DISCRETE_LEVELS or key.max(initial=0) > 2**62 // max(len(levels), 1):
            discrete = False
            break
        key = key * len(levels) + codes
    if discrete:
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        rows = DesignRows(
            n_models=n_models,
            pair_i=pair_i,
            pair_j=pair_j,
            row_pair=vote_pair[first].astype(np.int64),
            score=np.asarray(vote_score, dtype=float)[first],
            weight=np.asarray(vote_weight, dtype=float)[first],
            count=counts.astype(float),
            z=np.ascontiguousarray(z[first]),
        )
        return rows, inverse.astype(np.int64)
    # One row per vote, sorted by pair so that per-pair sums are contiguous (np.add.reduceat).
    pairs = np.asarray(vote_pair)
    # A stable sort of 16-bit keys is a radix sort in numpy: several times faster than int64.
    order = np.argsort(pairs.astype(np.uint16) if len(pair_i) < 2**16 else pairs, kind="stable")
    rows = DesignRows(
        n_models=n_models,
        pair_i=pair_i,
        pair_j=pair_j,
        row_pair=np.asarray(vote_pair, dtype=np.int64)[order],
        score=np.asarray(vote_score, dtype=float)[order],
        weight=weights[order],
        count=np.ones(n_votes),
        z=z[order],
    )
    vote_row = np.empty(n_votes, dtype=np.int64)
    vote_row[order] = np.arange(n_votes)
    return rows, vote_row


class CovariateEngine:
    """Log-posterior, gradient and Hessian of BT with covariates (module docstring)."""

    def __init__(self, rows: DesignRows) -> None:
        import numpy as np
        import scipy.sparse as sp

        self.rows = rows
        self.n = rows.n_models
        self.k = rows.z.shape[1]
        self.m = self.n + self.k
        n_pairs = len(rows.pair_i)
        self.n_pairs = n_pairs
        ones = np.ones(n_pairs)
        columns = np.arange(n_pairs)
        shape = (self.n, n_pairs)
        first = sp.csr_matrix((ones, (rows.pair_i, columns)), shape=shape)
        second = sp.csr_matrix((ones, (rows.pair_j, columns)), shape=shape)
        self.signed = (first - second).tocsr()
        self.unsigned = (first + second).tocsr()
        self.mass = rows.count * rows.weight  # votes × weight per row
        # Rows come sorted by pair (compress_rows): a pair's rows are one slice.
        self.starts = np.searchsorted(rows.row_pair, np.arange(n_pairs))
        if not (np.diff(rows.row_pair) >= 0).all() or len(np.unique(rows.row_pair)) < n_pairs:
            raise ValueError("rows must be sorted by pair and cover every pair")

    def pair_sums(self, values: Any) -> Any:
        """Sums of ``values`` (rows first, any trailing shape) over each pair's rows."""
        import numpy as np

        return np.add.reduceat(values, self.starts, axis=0)

    def _eta(self, x: Any) -> Any:
        r = self.rows
        theta = x[: self.n]
        return (theta[r.pair_i] - theta[r.pair_j])[r.row_pair] + r.z @ x[self.n :]

    def assemble(self, per_row: Any, alpha: float = 0.0, gauge: bool = False) -> Any:
        """``Σ_rows per_row · x_r x_rᵀ`` (``x_r = (e_i - e_j, z_r)``), an ``(m, m)`` matrix.

        With ``per_row = mass · p(1 - p)`` it is the negated Hessian; with squared scores, the
        sandwich's meat for votes as units.
        """
        import numpy as np

        r = self.rows
        n, k = self.n, self.k
        out = np.zeros((self.m, self.m))
        pair_sum = self.pair_sums(per_row)
        out[r.pair_i, r.pair_j] -= pair_sum
        out[r.pair_j, r.pair_i] -= pair_sum
        out[np.arange(n), np.arange(n)] += np.asarray(self.unsigned @ pair_sum)
        if k:
            weighted = r.z * per_row[:, None]
            cross = np.asarray(self.signed @ self.pair_sums(weighted))
            out[:n, n:] = cross
            out[n:, :n] = cross.T
            out[n:, n:] = r.z.T @ weighted
        return out

    def loglik(self, x: Any, alpha: float) -> float:
        """The log-posterior at ``x``."""
        import numpy as np

        eta = self._eta(x)
        ll = float((self.mass * (self.rows.score * eta - np.logaddexp(0.0, eta))).sum())
        if alpha:
            theta = x[: self.n]
            ll += float((alpha * (0.5 * theta - np.logaddexp(0.0, theta))).sum())
        return ll

    def evaluate(self, x: Any, alpha: float, *, hessian: bool) -> tuple[Any, Any]:
        """Gradient ``(m,)`` of the log-posterior and its negated Hessian ``(m, m)`` (or
        ``None``); without a prior the Hessian carries the ``1 1ᵀ / n`` gauge term."""
        import numpy as np
        from scipy.special import expit

        r = self.rows
        n = self.n
        p = expit(self._eta(x))
        resid = self.mass * (r.score - p)
        grad = np.empty(self.m)
        grad[:n] = np.asarray(self.signed @ self.pair_sums(resid))
        grad[n:] = r.z.T @ resid
        theta = x[:n]
        p0 = expit(theta)
        if alpha:
            grad[:n] += alpha * (0.5 - p0)
        if not hessian:
            return grad, None
        h = self.assemble(self.mass * p * (1.0 - p))
        h[np.arange(n), np.arange(n)] += alpha * p0 * (1.0 - p0)
        if not alpha:
            h[:n, :n] += 1.0 / n
        return grad, h

    def fit(
        self, x0: Any, alpha: float, *, tol: float = 1e-5, max_iter: int = 100
    ) -> tuple[Any, bool, Any]:
        """Newton's method with a backtracking line search from ``x0``.

        Returns the maximum, whether it converged and the negated Hessian of the last
        iteration. Newton converges quadratically near the maximum (measured on a million
        votes: steps of 0.1, 0.002, 1.3e-6, 5e-13), so once a full step is smaller than
        ``tol`` (1e-5 in natural-log strength) the point it reaches is within about ``tol²``
        of the maximum: the loop stops there, and the Hessian returned (from just before that
        last step) differs from the one at the maximum by ``O(tol)``. Steps smaller than 0.01
        are taken without a line search (the log-likelihood is concave and smooth; so close,
        a full step goes uphill).
        """
        import numpy as np

        x = np.array(x0, dtype=float)
        ll = None
        hess = None
        for _ in range(max_iter):
            grad, hess = self.evaluate(x, alpha, hessian=True)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(hess, grad, rcond=None)[0]
            size = float(np.abs(step).max())
            if size < 1e-2:
                x = x + step
                if size < tol:
                    return x, True, hess
                ll = None
                continue
            if ll is None:
                ll = self.loglik(x, alpha)
            t = 1.0
            for _ in range(40):
                trial = self.loglik(x + t * step, alpha)
                if trial >= ll - 1e-12 * abs(ll):
                    break
                t *= 0.5
            x = x + t * step
            ll = trial
        return x, False, hess

    def vote_scores(self, x: Any, vote_row: Any) -> tuple[Any, Any]:
        """Per vote: its weighted residual ``w (y - p)`` and its row (for unit sums)."""
        from scipy.special import expit

        r = self.rows
        p = expit(self._eta(x))
        resid = r.weight * (r.score - p)
        return resid[vote_row], vote_row

    def _by_vote(self, x: Any, vote_row: Any, units: Any) -> tuple[Any, Any, Any, Any]:
        """Residual, pair, covariates and unit of every vote.

        When each row is one vote (continuous covariates) the rows themselves are returned
        with the units moved to row order: no copy of the covariates per vote.
        """
        import numpy as np
        from scipy.special import expit

        r = self.rows
        resid = r.weight * (r.score - expit(self._eta(x)))
        if len(vote_row) == len(r.count) and (r.count == 1).all():
            row_unit = np.empty(len(vote_row), dtype=np.int64)
            row_unit[vote_row] = units
            return resid, r.row_pair, r.z, row_unit
        return resid[vote_row], r.row_pair[vote_row], r.z[vote_row], units

    def unit_scores(self, x: Any, vote_row: Any, units: Any, n_units: int) -> Any:
        """``(n_units, m)`` summed score of each unit's votes (dense; ``n_units`` is bounded)."""
        import numpy as np

        r = self.rows
        n = self.n
        resid, pair, z, units = self._by_vote(x, vote_row, units)
        out = np.empty((n_units, self.m))
        size = n_units * n
        base = units * n
        theta = np.bincount(base + r.pair_i[pair], weights=resid, minlength=size)
        theta -= np.bincount(base + r.pair_j[pair], weights=resid, minlength=size)
        out[:, :n] = theta.reshape(n_units, n)
        for c in range(self.k):
            out[:, n + c] = np.bincount(units, weights=resid * z[:, c], minlength=n_units)
        return out

    def cluster_meat(self, x: Any, vote_row: Any, units: Any, n_units: int) -> Any:
        """``Σ_g S_g S_gᵀ`` over clusters (any number of them; sparse in the models)."""
        import numpy as np
        import scipy.sparse as sp

        resid, pair, z, units = self._by_vote(x, vote_row, units)
        s_theta = sp.csr_matrix((resid, (units, pair)), shape=(n_units, self.n_pairs))
        s_theta = (s_theta @ self.signed.T).tocsr()
        s_gamma = np.stack(
            [np.bincount(units, weights=resid * z[:, c], minlength=n_units) for c in range(self.k)],
            axis=1,
        ) if self.k else np.zeros((n_units, 0))  # fmt: skip
        meat = np.zeros((self.m, self.m))
        meat[: self.n, : self.n] = (s_theta.T @ s_theta).toarray()
        if self.k:
            cross = np.asarray(s_theta.T @ s_gamma)
            meat[: self.n, self.n :] = cross
            meat[self.n :, : self.n] = cross.T
            meat[self.n :, self.n :] = s_gamma.T @ s_gamma
        return meat
