"""Newton's method for Bradley-Terry (ties as half wins) and Davidson on aggregated counts.

Everything is batched over a leading axis of ``B`` problems that share one comparison graph:
the point fit is ``B = 1``, a bootstrap is ``B`` resampled count vectors. Parameters are
natural-log strengths ``theta`` (one per model) plus, for Davidson, ``eta = log(nu)``.

Why this is fast: the likelihood depends on per-pair sums only, gradients and Hessians are
analytic, and a bootstrap round starts at the point estimate, where the point fit's inverse
Hessian is an excellent fixed preconditioner (the "chord" variant of Newton's method: one
matrix product per iteration for all rounds). Rounds that do not settle within a few chord
steps finish with full, line-searched Newton steps.

Identifiability: without a prior the likelihood is flat along ``theta + c``; adding
``1 1ᵀ / n`` to the Hessian makes the Newton system regular and keeps ``sum(theta)`` fixed
(the gradient always sums to zero). The prior (``alpha`` virtual ties per model against a
reference of strength 0) removes the flat direction by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FitCells", "Engine", "newton", "sandwich_covariance"]

WIN, LOSS, DRAW = 0, 1, 2

# Up to this many entries in an incidence matrix, dense arrays replace sparse ones.
_DENSE_LIMIT = 20_000


@dataclass(frozen=True)
class FitCells:
    """The cells a fit uses: pair, kind (WIN/LOSS/DRAW for ``pair_i``), weight and count."""

    n_models: int
    pair_i: NDArray[np.int64]
    pair_j: NDArray[np.int64]
    cell_pair: NDArray[np.int64]
    cell_kind: NDArray[np.int64]
    cell_weight: NDArray[np.float64]
    cell_count: NDArray[np.int64]


def _softplus(x: Any) -> Any:
    import numpy as np

    return np.logaddexp(0.0, x)


def _sigmoid(x: Any) -> Any:
    from scipy.special import expit

    # Measured here: expit beats 1 / (1 + exp(-x)) with in-place numpy by 2-3 times.
    return expit(x)


class Engine:
    """Derivatives of the log-likelihood for one comparison graph (see the module docstring)."""

    def __init__(self, cells: FitCells, model: str) -> None:
        import numpy as np
        import scipy.sparse as sp

        if model not in ("half", "davidson"):
            raise ValueError(f"unknown model {model!r}")
        self.cells = cells
        self.model = model
        self.n = cells.n_models
        self.extra = 1 if model == "davidson" else 0
        self.m = self.n + self.extra
        # Layout: per-pair arrays are (P, B), pairs first, so that the products with the
        # (models × pairs) incidence matrices below read and write contiguous rows (scipy
        # copies a transposed operand on every call otherwise).
        n_pairs = len(cells.pair_i)
        columns = np.arange(n_pairs)
        ones = np.ones(n_pairs)
        shape = (self.n, n_pairs)
        self.first = sp.csr_matrix((ones, (cells.pair_i, columns)), shape=shape)
        self.second = sp.csr_matrix((ones, (cells.pair_j, columns)), shape=shape)
        self.signed = (self.first - self.second).tocsr()  # d = theta_i - theta_j
        self.unsigned = (self.first + self.second).tocsr()
        n_cells = len(cells.cell_pair)
        kind = cells.cell_kind
        w = cells.cell_weight

        def per_pair(values: Any) -> Any:
            return sp.csr_matrix(
                (values, (cells.cell_pair, np.arange(n_cells))), shape=(n_pairs, n_cells)
            )

        if model == "half":
            score = np.where(kind == WIN, 1.0, np.where(kind == LOSS, 0.0, 0.5))
            self.stat_maps = [per_pair(w), per_pair(w * score)]  # N, S
        else:
            self.stat_maps = [per_pair(w * (kind == k)) for k in (WIN, LOSS, DRAW)]
        if n_pairs * self.n <= _DENSE_LIMIT:
            # Small graphs: dense products beat scipy.sparse's per-call overhead.
            self.first, self.second = self.first.toarray(), self.second.toarray()
            self.signed, self.unsigned = self.signed.toarray(), self.unsigned.toarray()

    # -----------------------------------------------------------------------------------------
    def pair_stats(self, counts: Any) -> list[Any]:
        """Per-pair sufficient statistics, each ``(P, B)``, from cell counts ``(B, C)``."""
        import numpy as np

        counts = np.ascontiguousarray(np.atleast_2d(np.asarray(counts, dtype=float)).T)
        return [np.asarray(m @ counts) for m in self.stat_maps]

    def degenerate(self, stats: list[Any]) -> Any:
        """``(B,)`` True where some model never wins, never loses or never plays (no MLE)."""
        import numpy as np

        if self.model == "half":
            total, score = stats
            won = self.first @ score + self.second @ (total - score)
            played = self.unsigned @ total
        else:
            wins, losses, draws = stats
            won = self.first @ (wins + draws) + self.second @ (losses + draws)
            played = self.unsigned @ (wins + losses + draws)
        tiny = 1e-9 * np.maximum(played, 1.0)
        has = played > 0
        never_won = has & (won <= tiny)
        never_lost = has & (played - won <= tiny)
        # A resample can also leave a model with no battle at all: its rating is then not
        # identified (a zero row in the Hessian), which the prior fixes too.
        return np.asarray((never_won | never_lost | ~has).any(axis=0))

    # -----------------------------------------------------------------------------------------
    def _pair_terms(
        self, x: Any, stats: list[Any], want_ll: bool = True, want_h: bool = True
    ) -> tuple[Any, ...]:
        """Per-pair log-likelihood and its derivatives in ``d = theta_i - theta_j`` (and eta).

        The log-likelihood (``None`` unless ``want_ll``) is only needed by the line search,
        the second derivatives (``None`` unless ``want_h``) only by full Newton steps.
        """
        import numpy as np

        xt = np.ascontiguousarray(x.T)  # (m, B): gathering whole rows is cheap
        d = xt[self.cells.pair_i] - xt[self.cells.pair_j]  # (P, B)
        if self.model == "half":
            total, score = stats
            p = _sigmoid(d)
            ll = (score * d - total * _softplus(d)).sum(axis=0) if want_ll else None
            hdd = total * p * (1.0 - p) if want_h else None
            p *= total
            np.subtract(score, p, out=p)  # the gradient, in p's buffer
            return ll, p, hdd, None, None, None
        wins, losses, draws = stats
        eta = xt[self.n : self.n + 1]
        half = 0.5 * d
        top = np.abs(half)
        # Scale u = e^(d/2), v = e^(-d/2), nu by e^(-|d|/2): ratios stay exact, nothing overflows.
        u = np.exp(half - top)
        v = np.exp(-half - top)
        nu = np.exp(eta - top)
        z = u + v + nu
        total = wins + losses + draws
        ll = (
            ((wins - losses) * half + draws * eta - total * (top + np.log(z))).sum(axis=0)
            if want_ll
            else None
        )
        diff = (u - v) / z
        gd = 0.5 * ((wins - losses) - total * diff)
        hdd = 0.25 * total * ((u + v) * z - (u - v) ** 2) / z**2
        ge = (draws - total * nu / z).sum(axis=0)
        hde = -0.5 * total * (u - v) * nu / z**2
        hee = (total * nu * (u + v) / z**2).sum(axis=0)
        return ll, gd, hdd, ge, hde, hee

    def evaluate(
        self, x: Any, stats: list[Any], alpha: Any, *, hessian: bool, want_ll: bool = True
    ) -> tuple[Any, Any, Any]:
        """Log-posterior ``(B,)``, gradient ``(B, m)`` and negated Hessian ``(B, m, m)``.

        ``alpha`` is ``(B,)``: virtual ties per model against a strength-0 reference; rounds
        with ``alpha == 0`` get the ``1 1ᵀ / n`` gauge term in the Hessian instead.
        """
        import numpy as np

        n, m = self.n, self.m
        batch = x.shape[0]
        ll, gd, hdd, ge, hde, hee = self._pair_terms(x, stats, want_ll, hessian)
        theta = x[:, :n]
        a = np.asarray(alpha, dtype=float).reshape(batch, 1)
        p0 = _sigmoid(theta)
        if want_ll:
            ll = ll + (a * (0.5 * theta - _softplus(theta))).sum(axis=1)
        grad = np.empty((batch, m))
        grad[:, :n] = np.asarray(self.signed @ gd).T + a * (0.5 - p0)
        if self.extra:
            grad[:, n] = ge
        if not hessian:
            return ll, grad, None
        h = np.zeros((batch, m * m))
        i, j = self.cells.pair_i, self.cells.pair_j
        h[:, i * m + j] = -hdd.T
        h[:, j * m + i] = -hdd.T
        diagonal = np.arange(n) * (m + 1)
        h[:, diagonal] = np.asarray(self.unsigned @ hdd).T + a * p0 * (1.0 - p0)
        if self.extra:
            cross = np.asarray(self.signed @ hde).T
            h[:, np.arange(n) * m + n] = cross
            h[:, n * m + np.arange(n)] = cross
            h[:, n * m + n] = hee
        h = h.reshape(batch, m, m)
        gauge = (a[:, 0] == 0).astype(float) / n
        h[:, :n, :n] += gauge[:, None, None]
        return ll, grad, h

    def cell_scores(self, x: Any) -> tuple[Any, Any]:
        """Per-vote score in ``d`` and in ``eta`` for every cell, at parameters ``x`` ``(m,)``."""
        import numpy as np

        c = self.cells
        d = x[c.pair_i] - x[c.pair_j]
        d = d[c.cell_pair]
        kind = c.cell_kind
        if self.model == "half":
            y = np.where(kind == WIN, 1.0, np.where(kind == LOSS, 0.0, 0.5))
            return y - _sigmoid(d), None
        half = 0.5 * d
        top = np.abs(half)
        u, v, nu = np.exp(half - top), np.exp(-half - top), np.exp(x[self.n] - top)
        z = u + v + nu
        y = np.where(kind == WIN, 1.0, np.where(kind == LOSS, -1.0, 0.0))
        s_d = 0.5 * (y - (u - v) / z)
        s_e = (kind == DRAW).astype(float) - nu / z
        return s_d, s_e


@dataclass
class NewtonResult:
    x: Any
    converged: Any
    iterations: int
    chord_iterations: int = 0


def newton(
    engine: Engine,
    stats: list[Any],
    x0: Any,
    alpha: Any,
    *,
    tol: float = 1e-11,
    max_iter: int = 200,
    chord_inverse: Any = None,
    chord_steps: int = 12,
) -> NewtonResult:
    """Maximise the log-posterior of ``B`` problems at once.

    With ``chord_inverse`` (the inverse negated Hessian at a nearby point) the first
    ``chord_steps`` iterations reuse it; rows that have not converged then continue with full
    Newton steps and a backtracking line search (the log-likelihood is concave, so this always
    makes progress).
    """
    import numpy as np

    x = np.array(x0, dtype=float, copy=True)
    batch = x.shape[0]
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (batch,)).copy()
    converged = np.zeros(batch, dtype=bool)
    chord_iterations = 0
    if chord_inverse is not None:
        # All rows are evaluated every step (rows converge together; subsetting would copy
        # the (B, P) statistics each time); only unconverged rows move.
        for _ in range(chord_steps):
            chord_iterations += 1
            _, grad, _ = engine.evaluate(x, stats, alpha, hessian=False, want_ll=False)
            step = grad @ chord_inverse
            size = np.abs(step).max(axis=1)
            ok = np.isfinite(size) & (size < 2.0)  # a wild step means the chord is not enough
            move = ok & ~converged
            x[move] += step[move]
            converged |= move & (size < tol)
            if converged.all() or not ok.all():
                break
    iterations = 0
    for _ in range(max_iter):
        active = np.flatnonzero(~converged)
        if not len(active):
            break
        iterations += 1
        xa = x[active]
        sub = [s[:, active] for s in stats]
        aa = alpha[active]
        ll, grad, hess = engine.evaluate(xa, sub, aa, hessian=True)
        step = _newton_steps(hess, grad)
        t = np.ones(len(active))
        for _ in range(40):
            trial = xa + t[:, None] * step
            ll_new, _, _ = engine.evaluate(trial, sub, aa, hessian=False)
            worse = ~(ll_new >= ll - 1e-12 * np.abs(ll))
            if not worse.any():
                break
            t[worse] *= 0.5
        x[active] = xa + t[:, None] * step
        size = np.abs(t[:, None] * step).max(axis=1)
        converged[active[size < tol]] = True
    return NewtonResult(x, converged, iterations, chord_iterations)


def _newton_steps(hess: Any, grad: Any) -> Any:
    """Solve ``hess @ step = grad`` for a batch; a singular row (a resample whose comparison
    graph fell apart) gets the least-squares step instead of stopping the whole batch."""
    import numpy as np

    try:
        return np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.stack(
            [np.linalg.lstsq(h, g, rcond=None)[0] for h, g in zip(hess, grad, strict=True)]
        )


def sandwich_covariance(engine: Engine, x: Any, alpha: float, units: Any = None) -> Any:
    """Robust (sandwich) covariance ``H⁻¹ M H⁻¹`` of the parameters at the fit ``x`` ``(m,)``.

    ``H`` is the negated Hessian of the log-posterior (with the gauge term when there is no
    prior), ``M`` the sum over votes of the outer product of each vote's weighted score. Both
    annihilate the direction ``theta + c``, so the result is the covariance of the
    sum-to-zero parameterisation.

    With ``units`` (a sparse ``(G, cells)`` matrix: each cluster's votes per cell) ``M`` sums
    each cluster's scores first — ``Σ_g S_g S_gᵀ`` — times ``G / (G - 1)`` (the usual
    small-sample factor of clustered errors, CR1): votes of one cluster may move together.
    """
    import numpy as np

    c = engine.cells
    n, m = engine.n, engine.m
    counts = c.cell_count.astype(float)
    stats = engine.pair_stats(counts)
    _, _, hess = engine.evaluate(x[None, :], stats, np.array([alpha]), hessian=True)
    s_d, s_e = engine.cell_scores(x)
    if units is not None:
        meat = _cluster_meat(engine, units, c.cell_weight * s_d, None if s_e is None else (
            c.cell_weight * s_e
        ))  # fmt: skip
        g = units.shape[0]
        meat *= g / max(g - 1, 1)
    else:
        mass = counts * c.cell_weight**2
        n_pairs = len(c.pair_i)
        dd = np.bincount(c.cell_pair, weights=mass * s_d * s_d, minlength=n_pairs)
        meat = np.zeros((m, m))
        meat[c.pair_i, c.pair_j] = -dd
        meat[c.pair_j, c.pair_i] = -dd
        meat[np.arange(n), np.arange(n)] = np.asarray(engine.unsigned @ dd)
        if engine.extra and s_e is not None:
            de = np.bincount(c.cell_pair, weights=mass * s_d * s_e, minlength=n_pairs)
            cross = np.asarray(engine.signed @ de)
            meat[:n, n] = cross
            meat[n, :n] = cross
            meat[n, n] = float((mass * s_e * s_e).sum())
    bread = inverse_or_nan(hess[0])
    cov = bread @ meat @ bread
    return 0.5 * (cov + cov.T)


def inverse_or_nan(matrix: Any) -> Any:
    """The inverse of a Hessian, or all NaN when it is singular: what the votes do not identify
    (one vote, a side that always won) has no finite variance, so every interval built on it
    is NaN rather than a made-up width."""
    import numpy as np

    try:
        return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.full_like(matrix, np.nan, dtype=float)


def _cluster_meat(engine: Engine, units: Any, score_d: Any, score_e: Any) -> Any:
    """``Σ_g S_g S_gᵀ`` with ``S_g`` cluster ``g``'s summed score (sparse in the models)."""
    import numpy as np
    import scipy.sparse as sp

    c = engine.cells
    n, m = engine.n, engine.m
    n_cells = len(c.cell_pair)
    columns = np.arange(n_cells)
    pairs_i = c.pair_i[c.cell_pair]
    pairs_j = c.pair_j[c.cell_pair]
    # Each cell's score on the models: +s for its first model, -s for its second.
    to_models = sp.csr_matrix(
        (np.concatenate([score_d, -score_d]),
         (np.concatenate([columns, columns]), np.concatenate([pairs_i, pairs_j]))),
        shape=(n_cells, n),
    )  # fmt: skip
    scores = (units @ to_models).tocsc()
    meat = np.zeros((m, m))
    meat[:n, :n] = (scores.T @ scores).toarray()
    if engine.extra and score_e is not None:
        extra = np.asarray(units @ score_e).ravel()
        cross = np.asarray(scores.T @ extra).ravel()
        meat[:n, n] = cross
        meat[n, :n] = cross
        meat[n, n] = float(extra @ extra)
    return meat
