"""How well a judge agrees with people, with itself (sides swapped) and with other judges.

Classes: the four winners (``model_a, model_b, tie, both_bad``) or three, with ``tie`` and
``both_bad`` merged into ``tie`` (the original BigCodeReward's view). A verdict that could not
be read is its own prediction, ``unparsed``: it is never right, so an unreadable judge is
scored as the poor judge it is rather than on its readable subset.

Point estimates come from :mod:`sklearn.metrics` (:func:`classification_scores`); the
bootstrap intervals from a vectorised version of the same formulas, which scores every
resample's confusion matrix at once (scikit-learn called once per resample would be a
thousand calls per row of a table); ``tests/test_judges_metrics.py`` checks the two agree, by
hand-computed tables and on edge cases. Conventions:

* accuracy = share of votes whose verdict equals the human winner (``accuracy_score``);
* macro-F1 = mean over the classes that occur (in the truth or the readable predictions) of
  F1 = 2·TP / (2·TP + FP + FN) (``f1_score(average="macro")`` over those classes);
* Cohen's κ = (p_o − p_e) / (1 − p_e) (``cohen_kappa_score``; ``unparsed`` is a class of its
  own); 0 when undefined, i.e. when both sides only ever name one and the same class;
* MCC = Gorodkin's multi-class R_K = (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²))
  (``matthews_corrcoef``); 0 when a marginal is constant (undefined);
* intervals: percentile bootstrap over vote rows, ``numpy.random.default_rng(seed)``;
* thin rows: a score from fewer votes than :func:`arena_kit.ratings.min_decisive_votes` (6 at
  the 95 % level) is marked ``thin`` and gets no interval (``NaN``). Below that even a judge
  that matched every vote cannot be told from a coin toss (exact two-sided test: 5 of 5
  happen by chance with p = 0.0625), and a bootstrap of one or two votes gives an interval of
  zero width — 1.0 [1.0, 1.0] for one vote — that looks decisive and is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import require_columns

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "UNPARSED",
    "METRICS",
    "merge_classes",
    "class_labels",
    "confusion_matrix",
    "classification_scores",
    "bootstrap_scores",
    "score_judge",
    "execution_lift",
    "position_consistency",
    "agreement",
    "fleiss_kappa",
    "orient",
]

UNPARSED = "unparsed"
METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "kappa", "mcc")
_FOUR = ("model_a", "model_b", "tie", "both_bad")
_THREE = ("model_a", "model_b", "tie")


VERDICT_NEEDS = ("judge", "mode", "battle_id", "swapped", "winner")
"""The verdict columns every score reads (the rest of VERDICT_COLUMNS is optional here)."""


def class_labels(classes: int) -> tuple[str, ...]:
    """The label set of the 3-class or 4-class view."""
    if classes not in (3, 4):
        raise ValueError(f"classes must be 3 or 4 (got {classes})")
    return _THREE if classes == 3 else _FOUR


def merge_classes(winners: Sequence[Any], classes: int = 3) -> list[str]:
    """Winners in the 3- or 4-class view; missing or unknown values become ``unparsed``."""
    labels = class_labels(classes)
    merged = []
    for value in winners:
        if classes == 3 and value == "both_bad":
            value = "tie"
        merged.append(value if value in labels else UNPARSED)
    return merged


def _codes(truth: Sequence[str], pred: Sequence[str], classes: int) -> tuple[Any, Any, int]:
    import numpy as np

    index = {label: i for i, label in enumerate((*class_labels(classes), UNPARSED))}
    t = np.fromiter((index[v] for v in truth), dtype=np.int64, count=len(truth))
    p = np.fromiter((index[v] for v in pred), dtype=np.int64, count=len(pred))
    return t, p, len(index)


def confusion_matrix(truth: Sequence[str], pred: Sequence[str], classes: int = 3) -> pd.DataFrame:
    """Counts: rows the human winner, columns the verdict (``unparsed`` last)."""
    import pandas as pd

    t, p, k = _codes(truth, pred, classes)
    labels = [*class_labels(classes), UNPARSED]
    return pd.DataFrame(_matrix(t, p, k), index=labels, columns=labels)


def _matrix(t: Any, p: Any, k: int) -> np.ndarray:
    import numpy as np

    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _scores_from_matrices(matrices: np.ndarray) -> dict[str, np.ndarray]:
    """The four metrics of a stack of (k × k) confusion matrices, vectorised over the stack:
    the bootstrap's scores, the same as :func:`classification_scores` per matrix."""
    import numpy as np

    m = matrices.astype(float)
    n = m.sum(axis=(1, 2))
    diagonal = np.diagonal(m, axis1=1, axis2=2)
    truth_totals = m.sum(axis=2)
    pred_totals = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = diagonal.sum(axis=1) / n
        # F1 over real classes (not the unparsed column) that occur in truth or prediction.
        tp = diagonal[:, :-1]
        fp = pred_totals[:, :-1] - tp
        fn = truth_totals[:, :-1] - tp
        present = (truth_totals[:, :-1] + pred_totals[:, :-1]) > 0
        f1 = np.where(present, 2 * tp / np.where(present, 2 * tp + fp + fn, 1), 0.0)
        macro_f1 = f1.sum(axis=1) / present.sum(axis=1)
        chance = (truth_totals * pred_totals).sum(axis=1)
        expected = chance / (n * n)
        kappa = np.where(expected < 1, (accuracy - expected) / (1 - expected), 0.0)
        covariance = diagonal.sum(axis=1) * n - chance
        spread = (n * n - (pred_totals**2).sum(axis=1)) * (n * n - (truth_totals**2).sum(axis=1))
        mcc = np.where(spread > 0, covariance / np.sqrt(np.where(spread > 0, spread, 1)), 0.0)
    empty = n == 0
    return {
        "accuracy": np.where(empty, np.nan, accuracy),
        "macro_f1": np.where(empty, np.nan, macro_f1),
        "kappa": np.where(empty, np.nan, kappa),
        "mcc": np.where(empty, np.nan, mcc),
    }


def _bootstrap_matrices(t: Any, p: Any, k: int, samples: np.ndarray) -> np.ndarray:
    """Confusion matrices of every resample at once: ``samples`` is (rounds × n) row indices."""
    import numpy as np

    rounds = samples.shape[0]
    cells = (t * k + p)[samples] + (k * k) * np.arange(rounds)[:, None]
    return np.bincount(cells.ravel(), minlength=rounds * k * k).reshape(rounds, k, k)


def _group_matrices(t: Any, p: Any, k: int, groups: Any, rounds: int, rng: Any) -> Any:
    """Confusion matrices of ``rounds`` resamples of whole groups, ``(rounds, k, k)``."""
    import numpy as np
    import pandas as pd

    if rounds < 1:
        return np.zeros((0, k, k), dtype=np.int64)
    codes, uniques = pd.factorize(pd.Series(list(groups), dtype=object))
    n_groups = len(uniques)
    per_group = np.bincount(codes * k * k + t * k + p, minlength=n_groups * k * k)
    drawn = rng.integers(0, n_groups, size=(rounds, n_groups))
    counts = np.stack([np.bincount(row, minlength=n_groups) for row in drawn])
    return (counts @ per_group.reshape(n_groups, k * k)).reshape(rounds, k, k)


def classification_scores(
    truth: Sequence[str], pred: Sequence[str], classes: int = 3
) -> dict[str, float]:
    """Accuracy, macro-F1, Cohen's κ and MCC of ``pred`` against ``truth`` (merged first), by
    :mod:`sklearn.metrics`; NaN for no votes (see the module docstring for the conventions)."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, matthews_corrcoef

    y_true, y_pred = merge_classes(truth, classes), merge_classes(pred, classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} human winners but {len(y_pred)} verdicts")
    if not y_true:
        return dict.fromkeys(METRICS, math.nan)
    occurring = [c for c in class_labels(classes) if c in set(y_true) | set(y_pred)]
    labels = sorted(set(y_true) | set(y_pred))
    # Both sides name one and the same class throughout: κ is 0/0 and MCC 0/0 (scikit-learn
    # warns, and its κ is NaN); both are reported as 0, no better than chance.
    single = len(labels) == 1
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": (
            float(f1_score(y_true, y_pred, labels=occurring, average="macro", zero_division=0.0))
            if occurring
            else math.nan
        ),
        "kappa": 0.0 if single else float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "mcc": 0.0 if single else float(matthews_corrcoef(y_true, y_pred)),
    }


def bootstrap_scores(
    truth: Sequence[str],
    pred: Sequence[str],
    classes: int = 3,
    *,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap interval of each metric.

    ``groups`` (one label per row, e.g. the battle of each vote) resamples whole groups: the
    votes of one battle share one judge verdict, so they are not independent evidence about
    the judge (resampling rows made the intervals 1.46 times too narrow on real data).
    Without ``groups``, rows are resampled. :func:`score_judge` and :func:`execution_lift`
    pass the battles.
    """
    import numpy as np

    t, p, k = _codes(merge_classes(truth, classes), merge_classes(pred, classes), classes)
    n = len(t)
    if n == 0 or n_bootstrap < 1:
        return {m: (math.nan, math.nan) for m in METRICS}
    rng = np.random.default_rng(seed)
    if groups is not None:
        draws = _scores_from_matrices(_group_matrices(t, p, k, groups, n_bootstrap, rng))
    else:
        samples = rng.integers(0, n, size=(n_bootstrap, n))
        draws = _scores_from_matrices(_bootstrap_matrices(t, p, k, samples))
    tail = (1 - level) / 2 * 100
    return {
        m: (float(np.nanpercentile(d, tail)), float(np.nanpercentile(d, 100 - tail)))
        for m, d in draws.items()
    }


def orient(verdicts: pd.DataFrame, orientation: str = "original") -> pd.DataFrame:
    """One verdict per (judge, mode, battle) from the games.

    ``original``: the game as stored; ``swapped``: the mirrored game; ``consensus``: the two
    games' common verdict, ``tie`` when they disagree, the readable one when one is not.
    """
    import pandas as pd

    require_columns(
        verdicts, VERDICT_NEEDS, "the verdicts table",
        "pass what Judge.judge() or bigcodereward() returned (arena_kit.judges.VERDICT_COLUMNS)",
    )  # fmt: skip
    keys = ["judge", "mode", "battle_id"]
    if orientation == "original":
        return verdicts[~verdicts["swapped"].astype(bool)].drop_duplicates(keys)
    if orientation == "swapped":
        return verdicts[verdicts["swapped"].astype(bool)].drop_duplicates(keys)
    if orientation != "consensus":
        raise ValueError(f"orientation must be original, swapped or consensus ({orientation!r})")
    first = verdicts[~verdicts["swapped"].astype(bool)].drop_duplicates(keys)
    second = verdicts[verdicts["swapped"].astype(bool)].drop_duplicates(keys)
    second = second[[*keys, "winner"]].rename(columns={"winner": "winner_swapped"})
    joined = first.merge(second, on=keys, how="outer")
    winners = []
    for one, two in zip(joined["winner"], joined["winner_swapped"], strict=True):
        one = one if isinstance(one, str) else None
        two = two if isinstance(two, str) else None
        if one is None or two is None:
            winners.append(one or two)
        else:
            winners.append(one if one == two else "tie")
    joined["winner"] = pd.array(winners, dtype=object)
    return joined.drop(columns=["winner_swapped"]).reset_index(drop=True)


def _paired(verdicts: pd.DataFrame, votes: pd.DataFrame) -> pd.DataFrame:
    """Votes × verdicts on ``battle_id``: one row per (vote, judge, mode)."""
    require_columns(
        votes, ("battle_id", "winner"), "the votes table",
        "pass the votes of the judged battles (datasets.read_votes gives battle_id and winner)",
    )  # fmt: skip
    vote_part = votes[["battle_id", "winner", *(["category"] if "category" in votes else [])]]
    vote_part = vote_part.rename(columns={"winner": "human", "category": "vote_category"})
    merged = vote_part.merge(verdicts, on="battle_id", how="inner")
    if "vote_category" in merged:
        merged["category"] = merged["vote_category"].where(
            merged["vote_category"].notna(), merged["category"]
        )
    return merged


def score_judge(
    verdicts: pd.DataFrame,
    votes: pd.DataFrame,
    *,
    classes: Sequence[int] = (3, 4),
    by_category: bool = True,
    orientation: str = "original",
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Score judges' verdicts against human votes, overall and per category.

    Parameters
    ----------
    verdicts
        A verdicts table (several judges and modes allowed).
    votes
        The votes table; every vote of a judged battle counts once. Votes of battles the judge
        did not see are left out.
    classes
        3 (tie and both_bad merged) and/or 4.
    orientation
        Which game counts when sides were swapped (see :func:`orient`).

    Returns
    -------
    DataFrame
        One row per (judge, mode, classes, category — ``"all"`` first): ``n`` votes,
        ``n_unparsed``, ``thin`` (fewer than :func:`~arena_kit.ratings.min_decisive_votes`
        votes: no interval, see the module docstring), and each metric with ``_low`` /
        ``_high`` bootstrap bounds.
    """
    import pandas as pd

    minimum = _thin_minimum(level)
    paired = _paired(orient(verdicts, orientation), votes)
    rows = []
    for (judge, mode), group in paired.groupby(["judge", "mode"], sort=False):
        slices: list[tuple[str, pd.DataFrame]] = [("all", group)]
        if by_category and "category" in group:
            slices += [
                (str(c), g) for c, g in group.groupby("category", sort=True) if isinstance(c, str)
            ]
        for n_classes in classes:
            for category, part in slices:
                truth = merge_classes(list(part["human"]), n_classes)
                pred = merge_classes(list(part["winner"]), n_classes)
                scores = classification_scores(truth, pred, n_classes)
                thin = len(part) < minimum
                bounds = bootstrap_scores(
                    truth,
                    pred,
                    n_classes,
                    n_bootstrap=0 if thin else n_bootstrap,
                    level=level,
                    seed=seed,
                    groups=list(part["battle_id"]),
                )
                row: dict[str, Any] = {
                    "judge": judge,
                    "mode": mode,
                    "orientation": orientation,
                    "classes": n_classes,
                    "category": category,
                    "n": len(part),
                    "n_unparsed": sum(v == UNPARSED for v in pred),
                    "thin": thin,
                }
                for metric in METRICS:
                    row[metric] = scores[metric]
                    row[f"{metric}_low"], row[f"{metric}_high"] = bounds[metric]
                rows.append(row)
    columns = ["judge", "mode", "orientation", "classes", "category", "n", "n_unparsed", "thin"]
    for metric in METRICS:
        columns += [metric, f"{metric}_low", f"{metric}_high"]
    return pd.DataFrame(rows, columns=columns)


def execution_lift(
    verdicts: pd.DataFrame,
    votes: pd.DataFrame,
    *,
    classes: Sequence[int] = (3,),
    by_category: bool = True,
    orientation: str = "original",
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """What seeing the execution adds: each metric code-only vs with execution, per judge.

    The interval of the lift is a *paired* bootstrap: the same resampled votes score both
    modes, so the noise common to both cancels. Only votes that both modes judged count.

    Returns
    -------
    DataFrame
        ``judge, classes, category, metric, n, thin, code_only, with_execution, lift,
        lift_low, lift_high`` (a ``thin`` row, from too few votes, has no interval; see the
        module docstring).
    """
    import numpy as np
    import pandas as pd

    minimum = _thin_minimum(level)
    oriented = orient(verdicts, orientation)
    code = _paired(oriented[oriented["mode"] == "code_only"], votes)
    execd = _paired(oriented[oriented["mode"] == "with_execution"], votes)
    rows = []
    for judge in sorted(set(code["judge"]) & set(execd["judge"])):
        left = code[code["judge"] == judge].reset_index(drop=True)
        right = execd[execd["judge"] == judge].reset_index(drop=True)
        # Pair by vote: the k-th vote row of a battle in both tables.
        left["k"] = left.groupby("battle_id").cumcount()
        right["k"] = right.groupby("battle_id").cumcount()
        both = left.merge(right[["battle_id", "k", "winner"]], on=["battle_id", "k"],
                          suffixes=("_code", "_exec"))  # fmt: skip
        slices: list[tuple[str, pd.DataFrame]] = [("all", both)]
        if by_category:
            slices += [
                (str(c), g) for c, g in both.groupby("category", sort=True) if isinstance(c, str)
            ]
        for n_classes in classes:
            for category, part in slices:
                truth = merge_classes(list(part["human"]), n_classes)
                code_only = merge_classes(list(part["winner_code"]), n_classes)
                with_execution = merge_classes(list(part["winner_exec"]), n_classes)
                t, pc, k = _codes(truth, code_only, n_classes)
                _, pe, _ = _codes(truth, with_execution, n_classes)
                if not len(t):
                    continue
                base = classification_scores(truth, code_only, n_classes)
                seen = classification_scores(truth, with_execution, n_classes)
                # Whole battles, the same ones for both modes (paired): see bootstrap_scores.
                battles = list(part["battle_id"])
                before = _scores_from_matrices(
                    _group_matrices(t, pc, k, battles, n_bootstrap, np.random.default_rng(seed))
                )
                after = _scores_from_matrices(
                    _group_matrices(t, pe, k, battles, n_bootstrap, np.random.default_rng(seed))
                )
                diffs = {m: after[m] - before[m] for m in METRICS}
                tail = (1 - level) / 2 * 100
                thin = len(t) < minimum
                for metric in METRICS:
                    low, high = (
                        (
                            float(np.nanpercentile(diffs[metric], tail)),
                            float(np.nanpercentile(diffs[metric], 100 - tail)),
                        )
                        if n_bootstrap and not thin
                        else (math.nan, math.nan)
                    )
                    rows.append(
                        {
                            "judge": judge,
                            "classes": n_classes,
                            "category": category,
                            "metric": metric,
                            "n": len(t),
                            "thin": thin,
                            "code_only": base[metric],
                            "with_execution": seen[metric],
                            "lift": seen[metric] - base[metric],
                            "lift_low": low,
                            "lift_high": high,
                        }
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "judge", "classes", "category", "metric", "n", "thin", "code_only",
            "with_execution", "lift", "lift_low", "lift_high",
        ],
    )  # fmt: skip


def _thin_minimum(level: float) -> int:
    """The fewest votes a score needs for an interval: the ratings' rule, one definition."""
    from ..ratings.slices import min_decisive_votes

    return min_decisive_votes(level)


def _wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def position_consistency(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Does a judge give the same verdict when the sides are swapped?

    For each (judge, mode) with both games of a battle: ``n_pairs`` (both games read),
    ``consistency`` (same winner, 4 classes) and ``consistency_3class`` (tie and both_bad
    merged), with a 95 % Wilson interval for the latter; ``first_shown_wins``: among all read
    games with a winner, the share won by the side shown first (0.5 for an unbiased judge),
    and ``n_unreadable_pairs``.
    """
    import pandas as pd

    rows = []
    for (judge, mode), group in verdicts.groupby(["judge", "mode"], sort=False):
        first = group[~group["swapped"].astype(bool)].drop_duplicates("battle_id")
        second = group[group["swapped"].astype(bool)].drop_duplicates("battle_id")
        pairs = first.merge(second, on="battle_id", suffixes=("_1", "_2"))
        readable = pairs["winner_1"].map(lambda v: isinstance(v, str)) & pairs["winner_2"].map(
            lambda v: isinstance(v, str)
        )
        read = pairs[readable]
        same = int((read["winner_1"] == read["winner_2"]).sum())
        merged_1 = merge_classes(list(read["winner_1"]), 3)
        merged_2 = merge_classes(list(read["winner_2"]), 3)
        same3 = sum(a == b for a, b in zip(merged_1, merged_2, strict=True))
        low, high = _wilson(same3, len(read))
        decided = group[group["winner"].isin(["model_a", "model_b"])]
        shown_first = decided["swapped"].map({False: "model_a", True: "model_b"})
        first_wins = (decided["winner"] == shown_first).mean() if len(decided) else math.nan
        rows.append(
            {
                "judge": judge,
                "mode": mode,
                "n_pairs": len(read),
                "n_unreadable_pairs": int((~readable).sum()),
                "consistency": same / len(read) if len(read) else math.nan,
                "consistency_3class": same3 / len(read) if len(read) else math.nan,
                "consistency_3class_low": low,
                "consistency_3class_high": high,
                "first_shown_wins": float(first_wins),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "judge", "mode", "n_pairs", "n_unreadable_pairs", "consistency",
            "consistency_3class", "consistency_3class_low", "consistency_3class_high",
            "first_shown_wins",
        ],
    )  # fmt: skip


def fleiss_kappa(table: np.ndarray) -> float:
    """Fleiss' κ of a (items × categories) count table, every item rated by the same number."""
    import numpy as np

    counts = np.asarray(table, dtype=float)
    if counts.size == 0:
        return math.nan
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("every item needs the same number (≥ 2) of ratings")
    r = raters[0]
    p_item = ((counts * (counts - 1)).sum(axis=1)) / (r * (r - 1))
    p_bar = p_item.mean()
    shares = counts.sum(axis=0) / counts.sum()
    p_expected = float((shares**2).sum())
    return float((p_bar - p_expected) / (1 - p_expected)) if p_expected < 1 else 1.0


def agreement(
    verdicts: pd.DataFrame, *, classes: int = 3, orientation: str = "original"
) -> pd.DataFrame:
    """How often judges agree with each other (per mode), and Fleiss' κ of all of them.

    Returns one row per pair of judges (``judge_1, judge_2, mode, n, agreement, kappa``) and
    one row per mode with ``judge_1 = "all"`` whose ``kappa`` is Fleiss' κ over the battles
    that every judge read.
    """
    import numpy as np
    import pandas as pd

    oriented = orient(verdicts, orientation)
    rows = []
    labels = class_labels(classes)
    for mode, group in oriented.groupby("mode", sort=False):
        wide = group.pivot_table(
            index="battle_id", columns="judge", values="winner", aggfunc="first"
        )
        judges = list(wide.columns)
        for i, one in enumerate(judges):
            for two in judges[i + 1 :]:
                pair = wide[[one, two]].dropna()
                a = merge_classes(list(pair[one]), classes)
                b = merge_classes(list(pair[two]), classes)
                scores = classification_scores(a, b, classes) if len(pair) else {}
                rows.append(
                    {
                        "judge_1": one,
                        "judge_2": two,
                        "mode": mode,
                        "n": len(pair),
                        "agreement": scores.get("accuracy", math.nan),
                        "kappa": scores.get("kappa", math.nan),
                    }
                )
        complete = wide.dropna()
        if len(judges) >= 2 and len(complete):
            counts = np.zeros((len(complete), len(labels)))
            for column in judges:
                for row, value in enumerate(merge_classes(list(complete[column]), classes)):
                    if value in labels:
                        counts[row, labels.index(value)] += 1
            full = counts.sum(axis=1) == len(judges)
            rows.append(
                {
                    "judge_1": "all",
                    "judge_2": f"{len(judges)} judges",
                    "mode": mode,
                    "n": int(full.sum()),
                    "agreement": float(np.mean(counts[full].max(axis=1) == len(judges)))
                    if full.any()
                    else math.nan,
                    "kappa": fleiss_kappa(counts[full]) if full.any() else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["judge_1", "judge_2", "mode", "n", "agreement", "kappa"])
