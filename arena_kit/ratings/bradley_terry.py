"""Bradley-Terry ratings on the Elo scale with bootstrap and sandwich intervals.

The model: ``P(a beats b) = 1 / (1 + base ** ((R_b - R_a) / scale))`` with ``base = 10`` and
``scale = 400`` (the Elo scale). Internally strengths are natural logs ``theta`` and
``R = centre + scale / ln(base) * theta`` — *not* ``400 * theta``, the original leaderboard's
mistake that made gaps 2.3 times too wide.

See ``docs/ratings.md`` for the choices (ties, both-bad votes, prior, intervals, ranks).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ArenaDataError
from ._counts import BOTH_BAD, LOSS, TIE, WIN, VoteCounts, count_votes
from ._solver import DRAW, Engine, FitCells, newton, sandwich_covariance

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "BradleyTerryResult",
    "RatingsWarning",
    "fit_bradley_terry",
    "select_view",
    "VIEWS",
    "DEFAULT_PRIOR",
]

TieModel = Literal["half", "davidson", "drop"]
BothBad = Literal["tie", "drop"]
Interval = Literal["bootstrap", "sandwich"]

VIEWS: tuple[str, ...] = ("all", "env_matched", "lang_matched")
"""The three views of BigCodeArena's leaderboard (see :func:`select_view`)."""

DEFAULT_PRIOR = 1.0
"""Virtual ties per model (against a reference rated ``centre``) used when the MLE diverges."""

LEADERBOARD_COLUMNS = (
    "model", "rating", "ci_low", "ci_high", "rank", "rank_ub", "n_battles", "win_rate",
)  # fmt: skip

# Bootstrap rounds are drawn and fitted in chunks of at most this many counts (memory bound);
# the chunking does not change the draws, so results do not depend on it.
_CHUNK_CELLS = 4_000_000

# Mean votes per cell below which resample_counts draws Poisson counts (see there).
_POISSON_BELOW = 100


class RatingsWarning(UserWarning):
    """The data allow a fit, but something about them limits what the ratings mean."""


def select_view(votes: pd.DataFrame, view: str) -> pd.DataFrame:
    """Restrict votes to one of the three views of the original leaderboard.

    Parameters
    ----------
    votes
        A votes table.
    view
        ``"all"``: every vote. ``"env_matched"``: only votes where both sides ran in the same
        execution environment (``env_a == env_b``, both known). ``"lang_matched"``: only votes
        where both sides wrote their main code in the same language (``lang_a == lang_b``,
        both known).

    Returns
    -------
    DataFrame
        The selected rows (the same object for ``"all"``).
    """
    if view == "all":
        return votes
    pairs = {"env_matched": ("env_a", "env_b"), "lang_matched": ("lang_a", "lang_b")}
    if view not in pairs:
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    left, right = pairs[view]
    missing = [c for c in (left, right) if c not in votes.columns]
    if missing:
        raise ArenaDataError(
            f"view {view!r} needs column(s) {', '.join(map(repr, missing))}",
            fix=f"add {left} and {right} to the votes, or use view='all'",
        )
    same = votes[left].notna() & (votes[left] == votes[right])
    return votes[same.to_numpy(dtype=bool)]


@dataclass
class BradleyTerryResult:
    """A fitted leaderboard. Build it with :func:`fit_bradley_terry`.

    Attributes
    ----------
    leaderboard
        One row per model, best first: ``model, rating, ci_low, ci_high, rank, rank_ub,
        n_battles, win_rate`` (``rank`` by rating, 1 = best; ``rank_ub`` = 1 + the number of
        models whose lower bound exceeds this model's upper bound; ``win_rate`` = (wins + ½
        draws) / battles among the votes used).
    ratings
        Model → point rating (Elo scale).
    sandwich_se
        Model → robust standard error of the rating (Elo points).
    bootstrap_ratings
        Rounds × models ratings of the bootstrap (``None`` when ``n_bootstrap == 0``).
    tie_parameter
        Davidson's ``nu`` (``None`` for the other tie treatments): with equal ratings a draw
        has probability ``nu / (2 + nu)``.
    prior
        Virtual ties per model used in the point fit (0 when the MLE exists).
    warnings
        The warnings issued while fitting, as text.
    options
        The arguments that produced the fit.
    """

    leaderboard: pd.DataFrame
    ratings: pd.Series
    sandwich_se: pd.Series
    bootstrap_ratings: pd.DataFrame | None
    tie_parameter: float | None
    prior: float
    n_votes: int
    options: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    n_bootstrap_prior: int = 0
    n_bootstrap_unconverged: int = 0
    _wins: Any = field(default=None, repr=False)
    _draws: Any = field(default=None, repr=False)

    @property
    def models(self) -> list[str]:
        """Model names, best first."""
        return list(self.leaderboard["model"])

    def win_probability(self) -> pd.DataFrame:
        """Predicted ``P(row model beats column model)`` from the point ratings.

        ``1 / (1 + base ** ((R_col - R_row) / scale))``; for the Davidson model this is the
        probability of winning given the battle is not a draw. The diagonal is 0.5.
        """
        import pandas as pd

        r = self.ratings.reindex(self.models).to_numpy()
        base, scale = self.options["base"], self.options["scale"]
        p = 1.0 / (1.0 + base ** ((r[None, :] - r[:, None]) / scale))
        return pd.DataFrame(p, index=pd.Index(self.models, name="model"), columns=self.models)

    def battle_counts(self) -> pd.DataFrame:
        """Votes used in the fit between each pair of models (symmetric, 0 on the diagonal)."""
        import pandas as pd

        counts = self._wins + self._wins.T + self._draws
        order = [self._index[m] for m in self.models]
        return pd.DataFrame(
            counts[order][:, order].astype("int64"),
            index=pd.Index(self.models, name="model"),
            columns=self.models,
        )

    def observed_win_rate(self) -> pd.DataFrame:
        """Observed (wins + ½ draws) / battles of the row model against the column model.

        ``NaN`` where the two models never met.
        """
        import numpy as np
        import pandas as pd

        battles = self._wins + self._wins.T + self._draws
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(battles > 0, (self._wins + 0.5 * self._draws) / battles, np.nan)
        order = [self._index[m] for m in self.models]
        return pd.DataFrame(
            rate[order][:, order],
            index=pd.Index(self.models, name="model"),
            columns=self.models,
        )

    def decisive_votes(self) -> pd.Series:
        """Model → votes it won or lost (ties and both-bad votes left out), among those used.

        Unweighted counts, in leaderboard order.
        """
        import pandas as pd

        decided = self._wins.sum(axis=1) + self._wins.sum(axis=0)
        order = [self._index[m] for m in self.models]
        return pd.Series(
            decided[order].astype("int64"),
            index=pd.Index(self.models, name="model"),
            name="n_decisive",
        )

    @property
    def _index(self) -> dict[str, int]:
        return {m: k for k, m in enumerate(self.options["_models"])}

    def summary(self) -> str:
        """A plain-text report: the leaderboard and how it was fitted."""
        o = self.options
        ties = {"half": "half a win each", "davidson": "Davidson model", "drop": "dropped"}
        lines = [
            f"Bradley-Terry ratings: {len(self.models)} models, {self.n_votes} votes used",
            f"  scale: P(a beats b) = 1/(1 + {o['base']:g}^((R_b - R_a)/{o['scale']:g})); "
            + (
                f"anchored at {o['anchor']} = {o['anchor_rating']:g}"
                if o["anchor"]
                else f"centred at {o['center']:g}"
            ),
            f"  ties: {ties[o['ties']]}; both_bad: {o['both_bad']}"
            + (f"; nu = {self.tie_parameter:.4g}" if self.tie_parameter is not None else ""),
            f"  intervals: {o['ci']}, {o['level']:.0%}"
            + (
                f" ({o['n_bootstrap']} bootstrap rounds, seed {o['seed']})"
                if o["ci"] == "bootstrap"
                else ""
            ),
        ]
        if self.prior:
            lines.append(f"  prior: {self.prior:g} virtual tie(s) per model (the MLE diverges)")
        if self.n_bootstrap_prior:
            lines.append(f"  bootstrap rounds fitted with the prior: {self.n_bootstrap_prior}")
        if self.n_bootstrap_unconverged:
            lines.append(f"  bootstrap rounds not converged: {self.n_bootstrap_unconverged}")
        for text in self.warnings:
            lines.append(f"  warning: {text}")
        table = self.leaderboard.to_string(
            index=False,
            formatters={
                "rating": "{:.1f}".format,
                "ci_low": "{:.1f}".format,
                "ci_high": "{:.1f}".format,
                "win_rate": "{:.3f}".format,
            },
        )
        return "\n".join(lines) + "\n\n" + table

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return str(self.leaderboard.to_html(index=False, float_format=lambda v: f"{v:.1f}"))


# ---------------------------------------------------------------------------------------------


def _check_options(
    ties: str, both_bad: str, ci: str, level: float, n_bootstrap: int, prior: Any, scale: float
) -> None:
    if ties not in ("half", "davidson", "drop"):
        raise ValueError(f"ties must be 'half', 'davidson' or 'drop', got {ties!r}")
    if both_bad not in ("tie", "drop"):
        raise ValueError(f"both_bad must be 'tie' or 'drop', got {both_bad!r}")
    if ci not in ("bootstrap", "sandwich"):
        raise ValueError(f"ci must be 'bootstrap' or 'sandwich', got {ci!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a whole number ≥ 0, got {n_bootstrap!r}")
    if not (prior == "auto" or (isinstance(prior, (int, float)) and prior >= 0)):
        raise ValueError(f"prior must be 'auto' or a number ≥ 0, got {prior!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")


def _fit_cells(counts: VoteCounts, ties: str, both_bad: str) -> tuple[FitCells, list[str]]:
    """Select and merge the cells the tie treatment uses; drop models left without votes."""
    import numpy as np

    outcome = counts.cell_outcome
    keep = np.ones(len(outcome), dtype=bool)
    if both_bad == "drop" or ties == "drop":
        keep &= outcome != BOTH_BAD
    if ties == "drop":
        keep &= outcome != TIE
    kind = np.where(outcome == WIN, 0, np.where(outcome == LOSS, 1, DRAW))[keep]
    ci, cj = counts.cell_i[keep], counts.cell_j[keep]
    weight, count = counts.cell_weight[keep], counts.cell_count[keep]
    if not len(count):
        raise ArenaDataError(
            "no votes left to fit: every vote is a tie or both-bad and those are dropped",
            column="winner",
            fix="count ties as half wins (ties='half') or keep both_bad votes (both_bad='tie')",
        )
    used = np.zeros(len(counts.models), dtype=bool)
    used[ci] = True
    used[cj] = True
    models = [m for m, u in zip(counts.models, used, strict=True) if u]
    remap = np.cumsum(used) - 1
    ci, cj = remap[ci], remap[cj]
    n = len(models)
    # Merge tie and both-bad cells of the same pair and weight: same likelihood term, and
    # merging categories of a multinomial is again a multinomial (the bootstrap stays exact).
    weight_levels, weight_code = np.unique(weight, return_inverse=True)
    key = ((ci * n + cj) * 3 + kind) * len(weight_levels) + weight_code
    cells, inverse = np.unique(key, return_inverse=True)
    merged = np.bincount(inverse, weights=count).astype(np.int64)
    level = cells % len(weight_levels)
    rest = cells // len(weight_levels)
    cell_kind = rest % 3
    pair = rest // 3
    pairs, cell_pair = np.unique(pair, return_inverse=True)
    return (
        FitCells(
            n_models=n,
            pair_i=(pairs // n).astype(np.int64),
            pair_j=(pairs % n).astype(np.int64),
            cell_pair=cell_pair.astype(np.int64),
            cell_kind=cell_kind.astype(np.int64),
            cell_weight=weight_levels[level].astype(float),
            cell_count=merged,
        ),
        models,
    )


def _graph_diagnostics(cells: FitCells, models: list[str], ties: str) -> list[str]:
    """Problems that make the maximum-likelihood estimate diverge, in words (empty: none)."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = cells.n_models
    pi = cells.pair_i[cells.cell_pair]
    pj = cells.pair_j[cells.cell_pair]
    kind = cells.cell_kind
    mass = cells.cell_weight * cells.cell_count > 0
    # Edge a → b: a took something (a win, or half of a draw) from b.
    forward = mass & (kind != 1)
    backward = mass & (kind != 0)
    src = np.concatenate([pi[forward], pj[backward]])
    dst = np.concatenate([pj[forward], pi[backward]])
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    problems: list[str] = []
    n_weak, weak = connected_components(graph, directed=True, connection="weak")
    if n_weak > 1:
        pieces = [sorted(models[k] for k in np.flatnonzero(weak == c)) for c in range(n_weak)]
        pieces.sort(key=lambda p: (-len(p), p))
        shown = "; ".join("{" + ", ".join(p) + "}" for p in pieces)
        problems.append(
            f"the comparison graph has {n_weak} disconnected pieces: {shown}. Models in "
            "different pieces never met, directly or through others, and cannot be compared: "
            "their relative ratings come from the prior only"
        )
    n_strong, _ = connected_components(graph, directed=True, connection="strong")
    if n_strong > n_weak:
        won = np.asarray(graph.sum(axis=1)).ravel() > 0
        lost = np.asarray(graph.sum(axis=0)).ravel() > 0
        never_won = [models[k] for k in np.flatnonzero(~won)]
        never_lost = [models[k] for k in np.flatnonzero(~lost)]
        if never_won:
            problems.append(f"never won (nor drew) a vote: {', '.join(never_won)}")
        if never_lost:
            problems.append(f"never lost (nor drew) a vote: {', '.join(never_lost)}")
        if not never_won and not never_lost:
            problems.append(
                "one group of models beat another in every vote between them, so the gap "
                "between the groups is unbounded"
            )
    return problems


def _transform(
    models: list[str], anchor: str | None, anchor_rating: float, center: float, factor: float
) -> tuple[Any, float]:
    """Matrix ``T`` and offset with ``ratings = offset + T @ theta`` (centred or anchored)."""
    import numpy as np

    n = len(models)
    if anchor is None:
        return factor * (np.eye(n) - 1.0 / n), center
    if anchor not in models:
        raise ArenaDataError(
            f"anchor model {anchor!r} has no votes in this fit",
            value=anchor,
            fix=f"anchor to one of: {', '.join(models)}",
        )
    k = models.index(anchor)
    t = np.eye(n)
    t[:, k] -= 1.0
    return factor * t, anchor_rating


def fit_bradley_terry(
    votes: pd.DataFrame,
    *,
    n_bootstrap: int = 100,
    ci: Interval = "bootstrap",
    level: float = 0.95,
    seed: int | None = 0,
    ties: TieModel = "half",
    both_bad: BothBad = "tie",
    anchor: str | None = None,
    anchor_rating: float = 1000.0,
    center: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
    weights: Any = None,
    prior: float | Literal["auto"] = "auto",
    view: str = "all",
) -> BradleyTerryResult:
    """Fit Bradley-Terry ratings (Elo scale) with intervals and uncertainty-aware ranks.

    Parameters
    ----------
    votes
        A votes table: at least ``model_a``, ``model_b``, ``winner`` (``model_a``, ``model_b``,
        ``tie``, ``both_bad`` or a public spelling such as ``vote_model_A``).
    n_bootstrap
        Bootstrap rounds (multinomial resampling of the vote counts, exactly equivalent to
        resampling votes with replacement). ``0`` gives the point fit alone.
    ci
        Which intervals fill ``ci_low``/``ci_high`` (and so ``rank_ub``): ``"bootstrap"``
        percentile intervals (``NaN`` when ``n_bootstrap == 0``) or ``"sandwich"`` (robust,
        closed-form: rating ± z·SE).
    level
        Coverage of the intervals (0.95).
    seed
        Seed of the bootstrap's random generator: the same seed gives the same intervals.
    ties
        ``"half"``: a tie is half a win for each side (the field's convention).
        ``"davidson"``: Davidson's tie-aware model (a tie parameter ``nu`` is fitted).
        ``"drop"``: ties (and both-bad votes) are left out.
    both_bad
        ``"tie"``: a both-bad vote counts as a tie (as in the original); ``"drop"``: left out.
    anchor, anchor_rating
        Pin model ``anchor`` at ``anchor_rating``; otherwise ratings average ``center``.
    center, scale, base
        ``P(a beats b) = 1 / (1 + base ** ((R_b - R_a) / scale))``; defaults 1000, 400, 10.
    weights
        Per-vote weights: a column name, an array, or ``"inverse_pair_frequency"``.
    prior
        ``"auto"``: no prior when the maximum-likelihood estimate exists; when it diverges (a
        model never wins or never loses, or the comparison graph is in pieces) warn by name
        and add :data:`DEFAULT_PRIOR` virtual ties per model against a reference rated at the
        centre. A number forces that many virtual ties (``0`` = never; a divergent fit then
        raises).
    view
        ``"all"``, ``"env_matched"`` or ``"lang_matched"`` (see :func:`select_view`).

    Returns
    -------
    BradleyTerryResult

    Raises
    ------
    ArenaDataError
        Empty votes, fewer than two models, unknown winners (naming the row), a bad anchor,
        or a divergent fit with ``prior=0``.

    Warns
    -----
    RatingsWarning
        When the MLE diverges or the comparison graph is disconnected (naming the models).
    """
    _check_options(ties, both_bad, ci, level, n_bootstrap, prior, scale)
    with _single_threaded_blas():
        return _fit(
            votes, n_bootstrap=n_bootstrap, ci=ci, level=level, seed=seed, ties=ties,
            both_bad=both_bad, anchor=anchor, anchor_rating=anchor_rating, center=center,
            scale=scale, base=base, weights=weights, prior=prior, view=view,
        )  # fmt: skip


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run the fit with one BLAS thread when ``threadpoolctl`` is installed.

    Every matrix here is small (models × models); a threaded BLAS only adds hand-offs, and on
    a busy machine its spinning threads made a 200 × 200 inverse take 0.3 s instead of 1 ms
    (measured). Without ``threadpoolctl`` the fit runs unchanged.
    """
    global _THREADPOOLS
    if _THREADPOOLS is None:
        try:
            import numpy  # noqa: F401  (loads the BLAS the controller must see)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _THREADPOOLS = False
        else:
            # Finding the loaded libraries reads /proc maps: ~15 ms, so it is done once.
            _THREADPOOLS = ThreadpoolController()
    if _THREADPOOLS is False:
        yield
        return
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        yield


_THREADPOOLS: Any = None


def _fit(
    votes: pd.DataFrame,
    *,
    n_bootstrap: int,
    ci: Interval,
    level: float,
    seed: int | None,
    ties: TieModel,
    both_bad: BothBad,
    anchor: str | None,
    anchor_rating: float,
    center: float,
    scale: float,
    base: float,
    weights: Any,
    prior: float | Literal["auto"],
    view: str,
) -> BradleyTerryResult:
    from statistics import NormalDist

    import numpy as np
    import pandas as pd

    options: dict[str, Any] = {
        "n_bootstrap": int(n_bootstrap),
        "ci": ci,
        "level": level,
        "seed": seed,
        "ties": ties,
        "both_bad": both_bad,
        "anchor": anchor,
        "anchor_rating": anchor_rating,
        "center": center,
        "scale": scale,
        "base": base,
        "weights": weights if isinstance(weights, (str, type(None))) else "array",
        "prior": prior,
        "view": view,
    }
    votes = select_view(votes, view)
    if len(votes) == 0 and view != "all":
        raise ArenaDataError(
            f"no votes in view {view!r}", fix="use view='all' or add votes whose sides match"
        )
    if weights is not None and not isinstance(weights, str) and view != "all":
        raise ValueError("give weights as a column name when a view selects rows")
    counts = count_votes(votes, weights=weights)
    if len(counts.models) < 2:
        raise ArenaDataError(
            f"only one model ({counts.models[0]!r}): a ranking needs votes between two models"
        )
    cells, models = _fit_cells(counts, ties, both_bad)
    if len(models) < 2:
        raise ArenaDataError(
            f"only one model ({models[0]!r}) has votes left to fit",
            fix="keep ties or both-bad votes, or add votes",
        )
    n = len(models)
    options["_models"] = models
    model = "davidson" if ties == "davidson" else "half"
    if model == "davidson" and not (cells.cell_kind == DRAW).any():
        raise ArenaDataError(
            "the Davidson tie model needs at least one tie, and there is none",
            column="winner",
            fix="use ties='half' or ties='drop'",
        )

    fit_warnings: list[str] = []
    dropped = [m for m in counts.models if m not in models]
    if dropped:
        fit_warnings.append(f"no votes left to fit for: {', '.join(dropped)} (left out)")
    problems = _graph_diagnostics(cells, models, ties)
    alpha = (DEFAULT_PRIOR if problems else 0.0) if prior == "auto" else float(prior)
    if problems:
        if alpha == 0:
            raise ArenaDataError(
                "the maximum-likelihood ratings do not exist: " + "; ".join(problems),
                fix="use prior='auto' (a small prior), or add votes that connect the models",
            )
        fit_warnings.append(
            "the maximum-likelihood ratings diverge: "
            + "; ".join(problems)
            + f". Using a prior of {alpha:g} virtual tie(s) per model against a reference "
            "rated at the centre"
        )
    for text in fit_warnings:
        warnings.warn(text, RatingsWarning, stacklevel=3)

    engine = Engine(cells, model)
    stats = engine.pair_stats(cells.cell_count)
    x0 = np.zeros((1, engine.m))
    if engine.extra:
        draws = cells.cell_count[cells.cell_kind == DRAW].sum() / cells.cell_count.sum()
        x0[0, n] = math.log(max(2 * draws / max(1 - draws, 1e-9), 1e-6))
    point = newton(engine, stats, x0, np.array([alpha]), tol=1e-12)
    x_hat = point.x[0]
    if not point.converged[0]:
        fit_warnings.append("the point fit did not converge to full precision")
        warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)

    factor = scale / math.log(base)
    transform, offset = _transform(models, anchor, anchor_rating, center, factor)
    theta = x_hat[:n]
    rating = offset + transform @ theta

    cov = sandwich_covariance(engine, x_hat, alpha)[:n, :n]
    rating_cov = transform @ cov @ transform.T
    se = np.sqrt(np.clip(np.diag(rating_cov), 0.0, None))

    boot = None
    n_prior_rounds = 0
    n_unconverged = 0
    if n_bootstrap > 0:
        boot, n_prior_rounds, n_unconverged = _bootstrap(
            engine, cells, x_hat, alpha, int(n_bootstrap), seed
        )
        boot = offset + boot[:, :n] @ transform.T
        if n_unconverged:
            fit_warnings.append(f"{n_unconverged} bootstrap round(s) did not converge")
            warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)

    tail = (1.0 - level) / 2.0
    if ci == "bootstrap":
        if boot is not None:
            # The (B + 1) p order-statistic rule (Hyndman-Fan type 6, numpy's "weibull"):
            # B exchangeable draws then bracket a further draw with probability exactly
            # ``level``; numpy's default (type 7) gives 0.93 instead of 0.95 when B = 100.
            low, high = np.quantile(boot, [tail, 1.0 - tail], axis=0, method="weibull")
        else:
            low = high = np.full(n, np.nan)
    else:
        z = NormalDist().inv_cdf(1.0 - tail)
        low, high = rating - z * se, rating + z * se

    # Observed tallies among the votes used (unweighted counts), for win rates and matrices.
    wins = np.zeros((n, n))
    draws_m = np.zeros((n, n))
    pi = cells.pair_i[cells.cell_pair]
    pj = cells.pair_j[cells.cell_pair]
    k = cells.cell_kind
    c = cells.cell_count.astype(float)
    np.add.at(wins, (pi[k == 0], pj[k == 0]), c[k == 0])
    np.add.at(wins, (pj[k == 1], pi[k == 1]), c[k == 1])
    np.add.at(draws_m, (pi[k == DRAW], pj[k == DRAW]), c[k == DRAW])
    draws_m = draws_m + draws_m.T
    battles = (wins + wins.T + draws_m).sum(axis=1)
    win_rate = (wins.sum(axis=1) + 0.5 * draws_m.sum(axis=1)) / battles

    board = pd.DataFrame(
        {
            "model": models,
            "rating": rating,
            "ci_low": low,
            "ci_high": high,
            "n_battles": battles.astype("int64"),
            "win_rate": win_rate,
        }
    )
    board["rank"] = board["rating"].rank(ascending=False, method="min").astype("int64")
    board["rank_ub"] = uncertain_ranks(board)
    board = board.sort_values(["rating", "model"], ascending=[False, True], kind="stable")
    board = board[list(LEADERBOARD_COLUMNS)].reset_index(drop=True)

    index = pd.Index(models, name="model")
    tie_parameter = float(np.exp(x_hat[n])) if engine.extra else None
    return BradleyTerryResult(
        leaderboard=board,
        ratings=pd.Series(rating, index=index, name="rating"),
        sandwich_se=pd.Series(se, index=index, name="se"),
        bootstrap_ratings=None if boot is None else pd.DataFrame(boot, columns=index),
        tie_parameter=tie_parameter,
        prior=alpha,
        n_votes=int(cells.cell_count.sum()),
        options=options,
        warnings=fit_warnings,
        n_bootstrap_prior=n_prior_rounds,
        n_bootstrap_unconverged=n_unconverged,
        _wins=wins,
        _draws=draws_m,
    )


def uncertain_ranks(board: pd.DataFrame) -> Any:
    """``rank_ub`` of a leaderboard: 1 + the number of models whose ``ci_low`` exceeds this
    model's ``ci_high``.

    A model without an interval (``NaN``) is above no one and no one is above it. When no model
    has an interval (``n_bootstrap=0``), ``rank_ub`` is the ``rank``.
    """
    import numpy as np

    low = board["ci_low"].to_numpy(dtype=float)
    high = board["ci_high"].to_numpy(dtype=float)
    if np.isnan(low).all():
        return board["rank"].to_numpy(dtype="int64")
    above = (low[None, :] > high[:, None]).sum(axis=1)
    return (1 + above).astype("int64")


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


def _bootstrap(
    engine: Engine,
    cells: FitCells,
    x_hat: NDArray[np.float64],
    alpha: float,
    n_rounds: int,
    seed: int | None,
) -> tuple[Any, int, int]:
    """Parameters of ``n_rounds`` multinomial resamples of the cell counts, ``(B, m)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = cells.cell_count
    n_cells = len(counts)
    chunk = max(1, _CHUNK_CELLS // max(n_cells, 1))
    stats0 = engine.pair_stats(counts)
    _, _, hess = engine.evaluate(x_hat[None, :], stats0, np.array([alpha]), hessian=True)
    chord = np.linalg.inv(hess[0])
    out = np.empty((n_rounds, engine.m))
    prior_rounds = 0
    unconverged = 0
    for start in range(0, n_rounds, chunk):
        size = min(chunk, n_rounds - start)
        draws = resample_counts(rng, counts, size)
        stats = engine.pair_stats(draws)
        del draws
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
