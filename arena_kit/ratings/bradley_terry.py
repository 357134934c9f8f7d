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
from ._paths import DEFAULT_PRIOR, VoteUnits, cell_fit, covariate_fit
from ._solver import DRAW, FitCells
from ._units import resample_counts
from .rank_sets import rank_sets

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
    "resample_counts",
]

TieModel = Literal["half", "davidson", "drop"]
BothBad = Literal["tie", "drop"]
Interval = Literal["bootstrap", "sandwich"]

VIEWS: tuple[str, ...] = ("all", "env_matched", "lang_matched")
"""The three views of BigCodeArena's leaderboard (see :func:`select_view`)."""

LEADERBOARD_COLUMNS = (
    "model", "rating", "ci_low", "ci_high", "rank", "rank_ub", "rank_low", "rank_high",
    "n_battles", "win_rate",
)  # fmt: skip

Position = Literal["ignore", "report", "adjust"]

MIN_CLUSTERS = 30
"""Fewer clusters than this draw a warning: the cluster bootstrap and the clustered sandwich
need many clusters to estimate the spread between them (Cameron and Miller 2015, "A
Practitioner's Guide to Cluster-Robust Inference", put the trouble zone below 20-50)."""


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
        rank_low, rank_high, n_battles, win_rate`` (``rank`` by rating, 1 = best; ``rank_ub`` =
        1 + the number of models whose lower bound exceeds this model's upper bound;
        ``rank_low``…``rank_high`` a confidence set for the rank that holds for all models
        jointly, :mod:`arena_kit.ratings.rank_sets`; ``win_rate`` = (wins + ½ draws) / battles
        among the votes used). With controls, the ratings are the controlled ones.
    ratings
        Model → point rating (Elo scale).
    sandwich_se
        Model → robust standard error of the rating (Elo points).
    covariance
        The ratings' robust (sandwich) covariance, models × models (Elo points squared).
    bootstrap_ratings
        Rounds × models ratings of the bootstrap (``None`` when ``n_bootstrap == 0``).
    tie_parameter
        Davidson's ``nu`` (``None`` for the other tie treatments): with equal ratings a draw
        has probability ``nu / (2 + nu)``.
    prior
        Virtual ties per model used in the point fit (0 when the MLE exists).
    controls
        With ``controls=``: one row per control — ``control, coefficient, ci_low, ci_high,
        se`` — the Elo points a side gains per unit of the control (see
        :mod:`arena_kit.ratings.controls`); ``None`` otherwise.
    position
        With ``position="report"`` or ``"adjust"``: the left panel's advantage as one such row
        (``control == "position"``, in Elo points, plus ``p_left``: the probability that the
        left side wins between equal models); ``None`` otherwise.
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
    controls: pd.DataFrame | None = None
    position: pd.DataFrame | None = None
    covariance: pd.DataFrame | None = None
    _above: Any = field(default=None, repr=False)
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

    def surely_above(self) -> pd.DataFrame:
        """``[row, column]`` True where the row model is surely better than the column model,
        jointly for all pairs at the fit's level (what ``rank_low``/``rank_high`` count)."""
        import pandas as pd

        order = [self._index[m] for m in self.models]
        return pd.DataFrame(
            self._above[order][:, order],
            index=pd.Index(self.models, name="model"),
            columns=self.models,
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
        if o.get("cluster"):
            lines.append(f"  resampling unit: clusters of {o['cluster']!r}")
        if self.controls is not None:
            shown = ", ".join(
                f"{r.control} {r.coefficient:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]"
                for r in self.controls.itertuples()
            )
            lines.append(f"  controlled for (Elo points per unit): {shown}")
        if self.position is not None and o.get("position") == "report":
            row = self.position.iloc[0]
            lines.append(
                f"  left panel advantage (reported, not adjusted): {row['coefficient']:+.1f} Elo "
                f"[{row['ci_low']:+.1f}, {row['ci_high']:+.1f}], P(left wins | equal) "
                f"{row['p_left']:.3f}"
            )
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
    ties: str,
    both_bad: str,
    ci: str,
    level: float,
    n_bootstrap: int,
    prior: Any,
    scale: float,
    position: str = "ignore",
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
    if position not in ("ignore", "report", "adjust"):
        raise ValueError(f"position must be 'ignore', 'report' or 'adjust', got {position!r}")


def _fit_cells(
    counts: VoteCounts, ties: str, both_bad: str
) -> tuple[FitCells, list[str], NDArray[np.int64]]:
    """Select and merge the cells the tie treatment uses; drop models left without votes.

    Also returns, for each of ``counts``' cells, the fit cell it went into (-1: left out).
    """
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
    cell_map = np.full(len(outcome), -1, dtype=np.int64)
    cell_map[np.flatnonzero(keep)] = inverse
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
        cell_map,
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
    cluster: str | None = None,
    controls: str | list[str] | None = None,
    battles: pd.DataFrame | None = None,
    responses: pd.DataFrame | None = None,
    executions: pd.DataFrame | None = None,
    position: Position = "ignore",
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
    cluster
        A column whose equal values mark votes that are not independent: ``"prompt_id"``
        (one prompt's votes), ``"annotator"`` (one person's), ``"battle_id"`` (several votes
        on one battle). The bootstrap then resamples whole clusters and the sandwich sums
        each cluster's scores (see ``docs/ratings.md``, "Which resampling unit"). ``None``:
        votes are the units.
    controls
        Control names or groups (``"style"``, ``"execution"``, ``"position"``; see
        :mod:`arena_kit.ratings.controls`), or columns of ``votes`` holding a per-vote
        ``a - b`` difference. The ratings are then those of Bradley-Terry with these
        covariates (ties as half wins; not with ``ties="davidson"``) and ``result.controls``
        gives each control's coefficient; intervals come from the score bootstrap.
    battles, responses, executions
        Where computed controls come from: ``battle_id`` → ``response_a``/``response_b`` →
        the last answer and its ``execution_id`` (re-runs in ``edits`` count).
    position
        The left panel's advantage, from ``swapped``: ``"ignore"``, ``"report"`` (estimated
        with its interval in ``result.position``, the ratings unchanged) or ``"adjust"`` (a
        control: the ratings are corrected for it).

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
    _check_options(ties, both_bad, ci, level, n_bootstrap, prior, scale, position)
    with _single_threaded_blas():
        return _fit(
            votes, n_bootstrap=n_bootstrap, ci=ci, level=level, seed=seed, ties=ties,
            both_bad=both_bad, anchor=anchor, anchor_rating=anchor_rating, center=center,
            scale=scale, base=base, weights=weights, prior=prior, view=view, cluster=cluster,
            controls=controls, battles=battles, responses=responses, executions=executions,
            position=position,
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
    cluster: str | None,
    controls: Any,
    battles: pd.DataFrame | None,
    responses: pd.DataFrame | None,
    executions: pd.DataFrame | None,
    position: Position,
) -> BradleyTerryResult:
    from statistics import NormalDist

    import numpy as np
    import pandas as pd

    from .controls import resolve_controls

    control_names = resolve_controls(controls)
    if position == "adjust" and "position" not in control_names:
        control_names.append("position")
    if control_names and ties == "davidson":
        raise ValueError(
            "controls need ties='half' or ties='drop' (Davidson's tie model with covariates is "
            "not implemented)"
        )
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
        "cluster": cluster,
        "controls": control_names,
        "position": position,
    }
    votes = select_view(votes, view)
    if len(votes) == 0 and view != "all":
        raise ArenaDataError(
            f"no votes in view {view!r}", fix="use view='all' or add votes whose sides match"
        )
    if weights is not None and not isinstance(weights, str) and view != "all":
        raise ValueError("give weights as a column name when a view selects rows")
    need_rows = cluster is not None or bool(control_names) or position == "report"
    counts = count_votes(votes, weights=weights, row_cells=need_rows)
    if len(counts.models) < 2:
        raise ArenaDataError(
            f"only one model ({counts.models[0]!r}): a ranking needs votes between two models"
        )
    cells, models, cell_map = _fit_cells(counts, ties, both_bad)
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

    units = None
    kept = None
    if need_rows:
        assert counts.row_cell is not None
        from ._units import unit_codes

        vote_cell = cell_map[counts.row_cell]
        kept = vote_cell >= 0
        if cluster is None:
            unit_index, n_units = np.arange(int(kept.sum()), dtype=np.int64), int(kept.sum())
        else:
            codes, _ = unit_codes(votes, cluster)
            unit, unit_index = np.unique(codes[kept], return_inverse=True)
            n_units = len(unit)
        units = VoteUnits(
            cell=vote_cell[kept],
            unit=unit_index.astype(np.int64),
            n_units=n_units,
            clustered=cluster is not None,
        )
        if cluster is not None and units.n_units < MIN_CLUSTERS:
            fit_warnings.append(
                f"only {units.n_units} clusters of {cluster!r}: with fewer than {MIN_CLUSTERS} "
                "the clustered intervals are themselves unreliable (too few independent pieces "
                "to tell their spread)"
            )
            warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)
    plain = cell_fit(
        cells, model, alpha, 0 if control_names else int(n_bootstrap), seed, units=units
    )
    fitted = plain
    estimable = control_names
    if control_names:
        assert units is not None and kept is not None and counts.row_flip is not None
        z = _control_matrix(votes, control_names, battles, responses, executions)[kept]
        constant = [name for k, name in enumerate(control_names) if not z[:, k].any()]
        if constant:
            fit_warnings.append(
                f"control(s) {', '.join(constant)} are 0 in every vote (the two sides never "
                "differ): they cannot be estimated and are left out"
            )
            warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)
        estimable = [name for name in control_names if name not in constant]
        z = z[:, [control_names.index(name) for name in estimable]]
        _check_collinear(z, estimable)
        fitted = covariate_fit(
            cells, alpha, units, counts.row_flip[kept], z, int(n_bootstrap), seed, plain.x[:n]
        )
    if not fitted.converged:
        fit_warnings.append("the point fit did not converge to full precision")
        warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)
    if fitted.n_unconverged:
        fit_warnings.append(f"{fitted.n_unconverged} bootstrap round(s) did not converge")
        warnings.warn(fit_warnings[-1], RatingsWarning, stacklevel=3)

    factor = scale / math.log(base)
    transform, offset = _transform(models, anchor, anchor_rating, center, factor)
    x_hat = fitted.x
    rating = offset + transform @ x_hat[:n]
    rating_cov = transform @ fitted.cov[:n, :n] @ transform.T
    se = np.sqrt(np.clip(np.diag(rating_cov), 0.0, None))
    boot = None if fitted.boot is None else offset + fitted.boot[:, :n] @ transform.T

    tail = (1.0 - level) / 2.0
    z_value = NormalDist().inv_cdf(1.0 - tail)
    if ci == "bootstrap":
        if boot is not None:
            # The (B + 1) p order-statistic rule (Hyndman-Fan type 6, numpy's "weibull"):
            # B exchangeable draws then bracket a further draw with probability exactly
            # ``level``; numpy's default (type 7) gives 0.93 instead of 0.95 when B = 100.
            low, high = np.quantile(boot, [tail, 1.0 - tail], axis=0, method="weibull")
        else:
            low = high = np.full(n, np.nan)
    else:
        low, high = rating - z_value * se, rating + z_value * se
    joint = (
        rank_sets(rating, draws=boot, level=level)
        if ci == "bootstrap" and boot is not None
        else rank_sets(rating, cov=rating_cov, level=level, seed=seed)
    )

    control_frame = None
    if control_names:
        gamma = x_hat[n:] * factor
        gamma_se = np.sqrt(np.clip(np.diag(fitted.cov)[n:], 0.0, None)) * factor
        if ci == "bootstrap" and fitted.boot is not None:
            g_low, g_high = np.quantile(
                fitted.boot[:, n:] * factor, [tail, 1.0 - tail], axis=0, method="weibull"
            )
        elif ci == "bootstrap":
            g_low = g_high = np.full(len(gamma), np.nan)
        else:
            g_low, g_high = gamma - z_value * gamma_se, gamma + z_value * gamma_se
        control_frame = pd.DataFrame(
            {
                "control": estimable,
                "coefficient": gamma,
                "ci_low": g_low,
                "ci_high": g_high,
                "se": gamma_se,
            }
        )
        # Controls left out (no variation) keep their row, with nothing estimated.
        control_frame = (
            control_frame.set_index("control").reindex(control_names).rename_axis("control")
        ).reset_index()
    position_frame = None
    if "position" in control_names:
        assert control_frame is not None
        position_frame = _with_p_left(
            control_frame[control_frame["control"] == "position"].reset_index(drop=True), factor
        )
    elif position == "report":
        assert units is not None and kept is not None and counts.row_flip is not None
        z = _control_matrix(votes, ["position"], None, None, None)[kept]
        side = covariate_fit(cells, alpha, units, counts.row_flip[kept], z, 0, seed, plain.x[:n])
        coefficient = float(side.x[n] * factor)
        side_se = float(np.sqrt(max(side.cov[n, n], 0.0)) * factor)
        position_frame = _with_p_left(
            pd.DataFrame(
                {
                    "control": ["position"],
                    "coefficient": [coefficient],
                    "ci_low": [coefficient - z_value * side_se],
                    "ci_high": [coefficient + z_value * side_se],
                    "se": [side_se],
                }
            ),
            factor,
        )

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
    battles_n = (wins + wins.T + draws_m).sum(axis=1)
    win_rate = (wins.sum(axis=1) + 0.5 * draws_m.sum(axis=1)) / battles_n

    board = pd.DataFrame(
        {
            "model": models,
            "rating": rating,
            "ci_low": low,
            "ci_high": high,
            "rank_low": joint.rank_low,
            "rank_high": joint.rank_high,
            "n_battles": battles_n.astype("int64"),
            "win_rate": win_rate,
        }
    )
    board["rank"] = board["rating"].rank(ascending=False, method="min").astype("int64")
    board["rank_ub"] = uncertain_ranks(board)
    board = board.sort_values(["rating", "model"], ascending=[False, True], kind="stable")
    board = board[list(LEADERBOARD_COLUMNS)].reset_index(drop=True)

    index = pd.Index(models, name="model")
    tie_parameter = float(np.exp(x_hat[n])) if model == "davidson" else None
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
        n_bootstrap_prior=fitted.n_prior_rounds,
        n_bootstrap_unconverged=fitted.n_unconverged,
        controls=control_frame,
        position=position_frame,
        covariance=pd.DataFrame(rating_cov, index=index, columns=index),
        _above=joint.above,
        _wins=wins,
        _draws=draws_m,
    )


def _check_collinear(z: Any, names: list[str]) -> None:
    """Refuse controls that carry the same information (their coefficients are not defined)."""
    import numpy as np

    if z.shape[1] < 2:
        return
    gram = z.T @ z
    if np.linalg.matrix_rank(gram, tol=1e-9 * max(float(np.abs(gram).max()), 1.0)) == len(names):
        return
    for k in range(1, len(names)):
        part = gram[: k + 1, : k + 1]
        if np.linalg.matrix_rank(part, tol=1e-9 * max(float(np.abs(part).max()), 1.0)) <= k:
            raise ArenaDataError(
                f"control {names[k]!r} is a combination of {', '.join(map(repr, names[:k]))} in "
                "these votes: their effects cannot be told apart",
                column=names[k],
                fix=f"leave {names[k]!r} (or one of the others) out of controls",
            )


def _with_p_left(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Add ``p_left``: P(the left side wins) between equal models, from the Elo advantage."""
    import numpy as np

    frame = frame.copy()
    frame["p_left"] = 1.0 / (1.0 + np.exp(-frame["coefficient"].to_numpy() / factor))
    return frame


def _control_matrix(
    votes: pd.DataFrame,
    names: list[str],
    battles: pd.DataFrame | None,
    responses: pd.DataFrame | None,
    executions: pd.DataFrame | None,
) -> Any:
    """``(votes, k)`` control values (``a - b``): a column of the votes when it has one, else
    computed (:func:`arena_kit.ratings.controls.control_features`)."""
    import numpy as np

    from .controls import control_features

    given = [n for n in names if n in votes.columns]
    computed = [n for n in names if n not in votes.columns]
    values = {}
    if computed:
        frame = control_features(
            votes, computed, battles=battles, responses=responses, executions=executions
        )
        values.update({n: frame[n].to_numpy(dtype=float) for n in computed})
    for name in given:
        try:
            column = votes[name].to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ArenaDataError(
                f"control column {name!r} does not hold numbers",
                column=name,
                fix="give the a - b difference of the control as a number per vote",
            ) from None
        values[name] = column
    matrix = np.column_stack([values[n] for n in names])
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise ArenaDataError(
            f"control {names[col]!r} has no finite value ({int(bad.any(axis=1).sum())} such "
            "row(s))",
            location=f"row {row + 1}",
            column=names[col],
            value=matrix[row, col],
            fix="give every vote a value for each control, or drop the votes",
        )
    return matrix


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
