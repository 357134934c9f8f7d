"""Can we trust this order? Probes that fire only when the evidence clears a stated bar.

:func:`audit` fits the votes once more in several ways and returns one row per probe —
``probe, fired, evidence, message, statistic, threshold``. A probe that fires names what is
wrong and what to do; one that does not fire says what it checked. Every bar below was fixed
before the planted-defect boards of ``tests/test_ratings_audit.py`` were made, and each
probe's false-alarm rate is measured there on 100+ clean simulated boards (≤ 5 %).

========================  ===================================================================
probe                     fires when
========================  ===================================================================
``rank_volatility``       some model's bootstrap rank differs from its point rank in more than
                          half of the rounds (:data:`VOLATILITY_SHARE`)
``separation``            at least one pair of neighbours (by rating) has a bootstrap interval
                          of their difference that contains 0 (:data:`SEPARATION_MIN_PAIRS`)
``position_bias``         the left panel's advantage (Bradley-Terry with position as a
                          control) differs from 0 at p < :data:`POSITION_ALPHA`
``tie_convention``        counting ties as half wins and Davidson's tie model order some pair
                          of models differently (:data:`TIE_MIN_SWAPS`)
``intransitivity``        Bradley-Terry fits the pairwise results worse than chance allows:
                          a Pearson test against the saturated model (one rate per pair),
                          p < :data:`INTRANSITIVITY_ALPHA`; the strongest 3-cycle is named
``annotator_concentration``  leaving out one annotator reverses a pair of models whose
                          difference the full board separates (:data:`ANNOTATOR_MIN_REVERSALS`)
``thin_pairs``            a model has fewer decisive votes than a sign test needs, or two
                          neighbours met in fewer than that many decisive votes
                          (:func:`~arena_kit.ratings.min_decisive_votes`: 6 at 95 %)
========================  ===================================================================
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

    from .bradley_terry import BradleyTerryResult

__all__ = [
    "audit",
    "summarize",
    "as_markdown",
    "AUDIT_COLUMNS",
    "PROBES",
    "VOLATILITY_SHARE",
    "SEPARATION_MIN_PAIRS",
    "POSITION_ALPHA",
    "TIE_MIN_SWAPS",
    "INTRANSITIVITY_ALPHA",
    "INTRANSITIVITY_MIN_PAIR_VOTES",
    "ANNOTATOR_MIN_REVERSALS",
]

AUDIT_COLUMNS = ("probe", "fired", "evidence", "message", "statistic", "threshold")
PROBES = (
    "rank_volatility", "separation", "position_bias", "tie_convention", "intransitivity",
    "annotator_concentration", "thin_pairs",
)  # fmt: skip

# --- The bars (fixed before the planted boards were made; see the module docstring). ---------

VOLATILITY_SHARE = 0.5
"""A model whose bootstrap rank differs from its point rank in more than half of the rounds
has a place that is more often wrong than right."""

SEPARATION_MIN_PAIRS = 1
"""One pair of neighbours that cannot be told apart already makes the order between them a
coin toss; the message names every such pair."""

POSITION_ALPHA = 0.01
"""Two-sided test of "no left-panel advantage". 1 %, not 5 %: the probe runs on every board,
and a position effect that small is better left to ``position="adjust"`` than alarmed on."""

TIE_MIN_SWAPS = 1
"""Any pair of models ordered differently by the two tie conventions means the order depends
on a convention, not only on the votes."""

INTRANSITIVITY_ALPHA = 0.001
"""Lack of fit must be strong: the Pearson statistic uses each pair's own vote variance, an
approximation that a stricter bar keeps from firing on noise."""

INTRANSITIVITY_MIN_PAIR_VOTES = 10
"""Pairs with fewer votes are left out of the lack-of-fit test (their normal approximation is
poor); they still count in the fit."""

ANNOTATOR_MIN_REVERSALS = 1
"""A single person whose votes, left out, reverse a difference the full board calls clear."""


def audit(
    votes: pd.DataFrame,
    *,
    n_bootstrap: int = 100,
    level: float = 0.95,
    seed: int | None = 0,
    ties: str = "half",
    both_bad: str = "tie",
    weights: Any = None,
    cluster: str | None = None,
    annotator: str = "annotator",
    max_annotators: int = 100,
) -> pd.DataFrame:
    """Probe a leaderboard's votes for the defects that make its order untrustworthy.

    Parameters
    ----------
    votes
        A votes table (``model_a, model_b, winner``; ``swapped`` for the position probe,
        ``annotator`` for the annotator probe).
    n_bootstrap, level, seed, ties, both_bad, weights, cluster
        As for :func:`~arena_kit.ratings.fit_bradley_terry` (the fit being audited). The bars
        were tested with 100 rounds; fewer give the volatility and separation probes a coarser
        view.
    annotator
        The column naming who voted.
    max_annotators
        Leave-one-out refits for at most this many annotators, those with the most votes.

    Returns
    -------
    DataFrame
        One row per probe (:data:`PROBES`): ``probe, fired, evidence, message, statistic,
        threshold``. ``fired`` is False, with the reason in ``message``, when a probe cannot
        run (no ``swapped`` column, one annotator, no ties; ``n_bootstrap=0`` leaves out the
        three probes that need resamples).
    """
    import pandas as pd

    from .bradley_terry import RatingsWarning, fit_bradley_terry

    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be ≥ 0, got {n_bootstrap}")
    options = {"level": level, "seed": seed, "both_bad": both_bad, "weights": weights}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        has_sides = bool("swapped" in votes.columns and votes["swapped"].notna().all())
        result = fit_bradley_terry(
            votes,
            n_bootstrap=n_bootstrap,
            ties=ties,  # type: ignore[arg-type]
            cluster=cluster,
            position="report" if has_sides else "ignore",
            **options,
        )
        resampled = result.bootstrap_ratings is not None
        rows = [
            _volatility(result, level) if resampled else _unchecked("rank_volatility"),
            _separation(result, level) if resampled else _unchecked("separation"),
            _position(result, has_sides),
            _tie_convention(votes, result, options),
            _intransitivity(result),
            _annotators(votes, result, annotator, max_annotators, ties, options)
            if resampled
            else _unchecked("annotator_concentration"),
            _thin_pairs(result, level),
        ]
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["fired"] = frame["fired"].astype(bool)
    return frame


def _row(probe: str, fired: bool, evidence: str, message: str, stat: float, bar: float) -> dict:
    return {
        "probe": probe,
        "fired": bool(fired),
        "evidence": evidence,
        "message": message,
        "statistic": float(stat),
        "threshold": float(bar),
    }


_BARS = {
    "rank_volatility": VOLATILITY_SHARE,
    "separation": SEPARATION_MIN_PAIRS,
    "annotator_concentration": ANNOTATOR_MIN_REVERSALS,
}


def _unchecked(probe: str) -> dict:
    return _row(
        probe, False, "no bootstrap rounds (n_bootstrap=0)",
        "not checked: it needs bootstrap rounds (n_bootstrap > 0)", math.nan, _BARS[probe],
    )  # fmt: skip


def _bootstrap(result: BradleyTerryResult) -> Any:
    assert result.bootstrap_ratings is not None
    return result.bootstrap_ratings[result.models].to_numpy()


def _volatility(result: BradleyTerryResult, level: float) -> dict:
    import numpy as np

    draws = _bootstrap(result)
    point = np.arange(1, len(result.models) + 1)  # models are in point-rank order
    # Rank in each round: 1 + the number of models rated higher (ties share the best rank).
    ranks = 1 + (draws[:, None, :] > draws[:, :, None]).sum(axis=2)
    moved = (ranks != point[None, :]).mean(axis=0)
    # A thin model's stable bootstrap is the same few votes drawn again: not stability.
    thin = _thin(result, level)
    moved = np.where(thin, 1.0, moved)
    worst = int(np.argmax(moved))
    share = float(moved[worst])
    low, high = np.quantile(ranks[:, worst], [0.05, 0.95])
    evidence = (
        f"{result.models[worst]} (rank {worst + 1}) is at another rank in {share:.0%} of "
        f"{len(draws)} bootstrap rounds (90 % of rounds: ranks {low:.0f}-{high:.0f})"
    )
    if thin[worst]:
        evidence = (
            f"{', '.join(m for m, t in zip(result.models, thin, strict=True) if t)}: too few "
            "decided votes for a resample to say anything about their places"
        )
    fired = share > VOLATILITY_SHARE
    unstable = [m for m, s in zip(result.models, moved, strict=True) if s > VOLATILITY_SHARE]
    message = (
        f"the places of {', '.join(unstable)} change in most resamples of the votes: read the "
        "rank sets (rank_low-rank_high), not the single rank"
        if fired
        else "every model keeps its rank in most resamples"
    )
    return _row("rank_volatility", fired, evidence, message, share, VOLATILITY_SHARE)


def _thin(result: BradleyTerryResult, level: float) -> list[bool]:
    """Models with too few decided votes to be placed at all (see ``slices.min_decisive_votes``):
    resampling a handful of votes repeats them, so their bootstrap looks stable and proves
    nothing."""
    from .slices import min_decisive_votes

    decided = result.decisive_votes()
    return [bool(decided[m] < min_decisive_votes(level)) for m in result.models]


def _separation(result: BradleyTerryResult, level: float) -> dict:
    import numpy as np

    draws = _bootstrap(result)
    models = result.models
    tail = (1 - level) / 2
    gaps = draws[:, :-1] - draws[:, 1:]
    low = np.quantile(gaps, tail, axis=0, method="weibull")
    thin = _thin(result, level)
    blurred = [k for k in range(len(models) - 1) if low[k] <= 0 or thin[k] or thin[k + 1]]
    pairs = [f"{models[k]} / {models[k + 1]}" for k in blurred]
    fired = len(blurred) >= SEPARATION_MIN_PAIRS
    evidence = (
        f"{len(blurred)} of {len(models) - 1} neighbouring pairs have a {level:.0%} interval of "
        "their difference that contains 0, or a model with too few decided votes"
        + (f": {'; '.join(pairs[:6])}" if pairs else "")
    )
    message = (
        "these neighbours cannot be told apart by the votes; their order is not evidence"
        if fired
        else "every model is separated from the next one"
    )
    return _row("separation", fired, evidence, message, len(blurred), SEPARATION_MIN_PAIRS)


def _position(result: BradleyTerryResult, has_sides: bool) -> dict:
    from scipy.stats import norm

    if not has_sides or result.position is None:
        return _row(
            "position_bias", False, "no display side recorded (column 'swapped')",
            "not checked: record which side was shown on the left", math.nan, POSITION_ALPHA,
        )  # fmt: skip
    row = result.position.iloc[0]
    z = row["coefficient"] / row["se"] if row["se"] > 0 else 0.0
    p_value = float(2 * norm.sf(abs(z)))
    fired = p_value < POSITION_ALPHA
    evidence = (
        f"left panel {row['coefficient']:+.1f} Elo [{row['ci_low']:+.1f}, {row['ci_high']:+.1f}]"
        f" (P(left wins | equal models) = {row['p_left']:.3f}); p = {p_value:.2g}"
    )
    message = (
        "people favour the left panel beyond what the models explain: fit with "
        "position='adjust' to correct the ratings, and randomise the sides"
        if fired
        else "no left-panel advantage beyond chance"
    )
    return _row("position_bias", fired, evidence, message, p_value, POSITION_ALPHA)


def _tie_convention(
    votes: pd.DataFrame, result: BradleyTerryResult, options: dict[str, Any]
) -> dict:
    import numpy as np

    from .bradley_terry import fit_bradley_terry

    other_ties = "half" if result.options["ties"] == "davidson" else "davidson"
    try:
        other = fit_bradley_terry(votes, n_bootstrap=0, ties=other_ties, **options)  # type: ignore[arg-type]
    except ArenaDataError:
        return _row(
            "tie_convention", False, "no ties in the votes",
            "not checked: without ties both conventions give the same order", math.nan,
            TIE_MIN_SWAPS,
        )  # fmt: skip
    models = result.models
    a = result.ratings.reindex(models).to_numpy()
    b = other.ratings.reindex(models).to_numpy()
    j, k = np.triu_indices(len(models), 1)
    swapped = np.sign(a[j] - a[k]) * np.sign(b[j] - b[k]) < 0
    pairs = [f"{models[x]} / {models[y]}" for x, y in zip(j[swapped], k[swapped], strict=True)]
    fired = len(pairs) >= TIE_MIN_SWAPS
    evidence = f"{len(pairs)} pair(s) ordered differently by half-win and Davidson fits" + (
        f": {'; '.join(pairs[:6])}" if pairs else ""
    )
    message = (
        "the order of these models depends on how ties are counted: report both, or the "
        "convention chosen and why"
        if fired
        else "half-win and Davidson fits give the same order"
    )
    return _row("tie_convention", fired, evidence, message, len(pairs), TIE_MIN_SWAPS)


def _intransitivity(result: BradleyTerryResult) -> dict:
    import numpy as np
    from scipy.stats import chi2

    models = result.models
    order = [result._index[m] for m in models]
    wins = result._wins[np.ix_(order, order)]
    draws = result._draws[np.ix_(order, order)]
    n = len(models)
    j, k = np.triu_indices(n, 1)
    w, l_, d = wins[j, k], wins[k, j], draws[j, k]
    total = w + l_ + d
    used = total >= INTRANSITIVITY_MIN_PAIR_VOTES
    df = int(used.sum()) - (n - 1)
    if df <= 0:
        return _row(
            "intransitivity", False,
            f"{int(used.sum())} pairs with ≥ {INTRANSITIVITY_MIN_PAIR_VOTES} votes: too few to "
            "test the fit", "not checked: too few pairs met often enough", math.nan,
            INTRANSITIVITY_ALPHA,
        )  # fmt: skip
    # Observed score of the first model (a draw ½) against Bradley-Terry's expectation.
    expected = result.win_probability().to_numpy()[j, k]
    score = w + 0.5 * d
    mean = np.where(total > 0, score / np.maximum(total, 1), 0.5)
    # Each pair's own per-vote variance (draws score ½), floored for pairs whose votes all
    # agree (a variance of 0 would make any residual infinite).
    second = (w + 0.25 * d) / np.maximum(total, 1)
    variance = np.maximum(second - mean**2, expected * (1 - expected) / 4)
    statistic = float((((score - total * expected) ** 2) / (total * variance))[used].sum())
    p_value = float(chi2.sf(statistic, df))
    fired = p_value < INTRANSITIVITY_ALPHA
    cycle = _strongest_cycle(models, wins, draws)
    evidence = f"Pearson X² = {statistic:.1f} on {df} df, p = {p_value:.2g}" + (
        f"; strongest cycle: {cycle}" if cycle else ""
    )
    message = (
        "one strength per model does not explain the pairwise results (some models beat "
        "others in a circle): the order depends on who met whom"
        if fired
        else "Bradley-Terry fits the pairwise results"
    )
    return _row("intransitivity", fired, evidence, message, p_value, INTRANSITIVITY_ALPHA)


def _strongest_cycle(models: list[str], wins: Any, draws: Any) -> str | None:
    """The 3-cycle a > b > c > a (observed score > ½ each) whose weakest link is strongest."""
    import itertools

    import numpy as np

    battles = wins + wins.T + draws
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(
            battles >= INTRANSITIVITY_MIN_PAIR_VOTES, (wins + 0.5 * draws) / battles, np.nan
        )
    best: tuple[float, tuple[int, int, int]] | None = None
    n = len(models)
    if n > 40:  # the cycle is illustration only; 40 choose 3 = 9,880 triangles at most
        top = np.argsort(-np.nan_to_num(np.abs(rate - 0.5)).sum(axis=1))[:40]
    else:
        top = np.arange(n)
    for a, b, c in itertools.permutations(top, 3):
        if a > min(b, c):
            continue  # each cycle once, starting at its smallest index
        links = (rate[a, b], rate[b, c], rate[c, a])
        if all(x > 0.5 for x in links):
            weakest = float(min(links))
            if best is None or weakest > best[0]:
                best = (weakest, (a, b, c))
    if best is None:
        return None
    a, b, c = best[1]
    return (
        f"{models[a]} beats {models[b]} ({rate[a, b]:.0%}), {models[b]} beats {models[c]} "
        f"({rate[b, c]:.0%}), {models[c]} beats {models[a]} ({rate[c, a]:.0%})"
    )


def _annotators(
    votes: pd.DataFrame,
    result: BradleyTerryResult,
    column: str,
    max_annotators: int,
    ties: str,
    options: dict[str, Any],
) -> dict:
    import numpy as np
    import pandas as pd

    if column not in votes.columns or votes[column].nunique(dropna=True) < 2:
        return _row(
            "annotator_concentration", False, f"fewer than two annotators in {column!r}",
            "not checked: name who voted to see whether one person carries the order",
            math.nan, ANNOTATOR_MIN_REVERSALS,
        )  # fmt: skip
    counts = votes[column].value_counts(dropna=True)
    share = counts / len(votes)
    top = list(counts.index[:max_annotators])
    refits = _leave_one_out(votes, column, top, ties, options, result)
    models = result.models
    draws = _bootstrap(result)
    tail = (1 - options["level"]) / 2
    j, k = np.triu_indices(len(models), 1)
    low = np.quantile(draws[:, j] - draws[:, k], tail, axis=0, method="weibull")
    separated = low > 0  # models are best first, so j above k
    worst: tuple[str, int, list[str]] = ("", 0, [])
    for name, ratings in refits.items():
        r = pd.Series(ratings).reindex(models).to_numpy()
        reversed_ = separated & (r[j] < r[k])
        if reversed_.sum() > worst[1]:
            pairs = [
                f"{models[x]} / {models[y]}"
                for x, y in zip(j[reversed_], k[reversed_], strict=True)
            ]
            worst = (str(name), int(reversed_.sum()), pairs)
    fired = worst[1] >= ANNOTATOR_MIN_REVERSALS
    evidence = (
        f"top annotator {counts.index[0]} cast {share.iloc[0]:.0%} of the votes (top 3: "
        f"{share.iloc[:3].sum():.0%}); leaving out any one of {len(top)} annotators reverses "
        + (
            f"up to {worst[1]} clearly separated pair(s) (without {worst[0]}: "
            f"{'; '.join(worst[2][:4])})"
            if worst[1]
            else "no clearly separated pair"
        )
    )
    message = (
        f"the order of these models rests on one annotator ({worst[0]}): check their votes, "
        "or weigh annotators equally"
        if fired
        else "no single annotator carries a clear difference"
    )
    return _row(
        "annotator_concentration", fired, evidence, message, worst[1], ANNOTATOR_MIN_REVERSALS
    )


def _leave_one_out(
    votes: pd.DataFrame,
    column: str,
    names: list[Any],
    ties: str,
    options: dict[str, Any],
    result: BradleyTerryResult,
) -> dict[Any, Any]:
    """Model → rating of the point fit without each named annotator's votes, all at once.

    The votes are counted once per (annotator, cell); a left-out fit is the total counts minus
    one annotator's row, refitted exactly with the batched solver (like bootstrap rounds).
    """
    import numpy as np

    from . import bradley_terry as bt
    from ._paths import _refit_rounds
    from ._solver import Engine
    from ._units import unit_cell_matrix

    counts = bt.count_votes(votes, weights=options["weights"], row_cells=True)
    cells, models, cell_map = bt._fit_cells(counts, ties, options["both_bad"])
    assert counts.row_cell is not None
    vote_cell = cell_map[counts.row_cell]
    import pandas as pd

    codes = pd.Index(names).get_indexer(votes[column]).astype(np.int64)  # -1: not among them
    inside = codes >= 0
    per_annotator = unit_cell_matrix(
        codes[inside], vote_cell[inside], len(names), len(cells.cell_count)
    ).toarray()
    remaining = cells.cell_count[None, :] - per_annotator
    model = "davidson" if ties == "davidson" else "half"
    engine = Engine(cells, model)
    theta = (result.ratings.reindex(models).to_numpy() - result.ratings.mean()) / (
        result.options["scale"] / math.log(result.options["base"])
    )
    x_hat = np.zeros(engine.m)
    x_hat[: len(models)] = theta
    if engine.extra:
        x_hat[len(models)] = math.log(result.tie_parameter or 1.0)
    position = [0]

    def draw(size: int) -> Any:
        chunk = remaining[position[0] : position[0] + size]
        position[0] += size
        return chunk

    fits, _, _ = _refit_rounds(engine, x_hat, result.prior, len(names), draw, len(cells.cell_count))
    return {
        name: dict(zip(models, fit[: len(models)], strict=True))
        for name, fit in zip(names, fits, strict=True)
    }


def _thin_pairs(result: BradleyTerryResult, level: float) -> dict:
    import numpy as np

    from .slices import min_decisive_votes

    minimum = min_decisive_votes(level)
    models = result.models
    decisive = result.decisive_votes().reindex(models)
    thin_models = [m for m in models if decisive[m] < minimum]
    order = [result._index[m] for m in models]
    wins = result._wins[np.ix_(order, order)]
    direct = wins + wins.T
    thin_neighbours = [
        f"{models[k]} / {models[k + 1]} ({int(direct[k, k + 1])})"
        for k in range(len(models) - 1)
        if direct[k, k + 1] < minimum
    ]
    count = len(thin_models) + len(thin_neighbours)
    fired = count >= 1
    parts = []
    if thin_models:
        parts.append(f"models with < {minimum} decisive votes: {', '.join(thin_models)}")
    if thin_neighbours:
        parts.append(
            f"neighbours with < {minimum} decisive votes between them: "
            + "; ".join(thin_neighbours[:6])
        )
    evidence = "; ".join(parts) or (
        f"every model and every pair of neighbours has ≥ {minimum} decisive votes"
    )
    message = (
        "these places rest on too few decided votes (a sign test needs "
        f"{minimum}): collect votes between them"
        if fired
        else "no place rests on a handful of votes"
    )
    return _row("thin_pairs", fired, evidence, message, count, 1)


def summarize(table: pd.DataFrame) -> str:
    """One Markdown line for an :func:`audit` table: how many probes fired, and which."""
    fired = [str(p).replace("_", " ") for p in table.loc[table["fired"], "probe"]]
    if not fired:
        return f"**No flag** from the {len(table)} checks: the order holds up against each of them."
    return (
        f"**{len(fired)} of {len(table)} checks raise a flag**: {', '.join(fired)}. Each row says "
        "what was found and what to do."
    )


def as_markdown(table: pd.DataFrame) -> str:
    """An :func:`audit` table as Markdown people read: the summary, then one line per probe
    (⚠️ or ✓, what it means, the evidence in small type)."""
    lines = [summarize(table), ""]
    for row in table.itertuples():
        mark = "⚠️" if row.fired else "✓"
        name = str(row.probe).replace("_", " ")
        lines.append(f"- {mark} **{name}**: {row.message}. <small>{row.evidence}</small>")
    return "\n".join(lines)
