"""Descriptive analysis of votes: who voted what, where, and how reliably.

Everything takes a votes table (:class:`arena_kit.schema.Vote`) and returns a DataFrame ready
for a chart or a report table. Rankings live in :mod:`arena_kit.ratings`.

Definitions used throughout:

- a **draw** is a ``tie`` or ``both_bad`` vote;
- the **left panel** shows ``model_a`` unless ``swapped`` is true;
- **position bias** of an annotator: the share of their non-draw votes that went to the left
  panel (0.5 = none), with an exact binomial test against 0.5;
- **agreement** on a battle judged more than once: the share of pairs of its votes with the same
  winner (in stored-side terms, so a swapped display does not matter).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "vote_shares",
    "turns_distribution",
    "position_bias",
    "repeat_agreement",
    "gold_accuracy",
    "thin_slices",
    "slice_column",
    "describe",
    "describe_agreement",
    "rank_changes",
    "slice_order",
]

DRAWS = ("tie", "both_bad")


def slice_column(votes: pd.DataFrame, by: str) -> pd.Series:
    """The label of each vote under a slicing: ``category``, ``language``, ``environment``,
    ``annotator`` or any column. Language and environment count a vote once under each side's
    value when the two differ (``"python | html"`` style labels would scatter the counts)."""
    import pandas as pd

    if by in ("language", "environment"):
        prefix = "lang" if by == "language" else "env"
        left = votes[f"{prefix}_a"].fillna("unknown")
        right = votes[f"{prefix}_b"].fillna("unknown")
        return pd.Series(
            [a if a == b else "mixed" for a, b in zip(left, right, strict=True)],
            index=votes.index,
            name=by,
        )
    if by not in votes.columns:
        raise KeyError(f"votes have no column {by!r}")
    return votes[by].fillna("unknown").rename(by)


def vote_shares(votes: pd.DataFrame, by: str = "category") -> pd.DataFrame:
    """Counts and shares of votes per slice, with the outcome mix.

    Returns one row per slice value: ``n_votes, share, model_a, model_b, tie, both_bad`` (the
    shares of each winner within the slice) and ``draw_rate``; sorted by ``n_votes``.
    """
    import pandas as pd

    labels = slice_column(votes, by)
    counts = pd.crosstab(labels, votes["winner"])
    for winner in ("model_a", "model_b", "tie", "both_bad"):
        if winner not in counts.columns:
            counts[winner] = 0
    total = counts.sum(axis=1)
    table = counts[["model_a", "model_b", "tie", "both_bad"]].div(total, axis=0)
    table.insert(0, "share", total / total.sum())
    table.insert(0, "n_votes", total)
    table["draw_rate"] = table["tie"] + table["both_bad"]
    table.index.name = by
    table.columns.name = None  # the crosstab's "winner" would head the row numbers
    return table.sort_values("n_votes", ascending=False).reset_index()


def turns_distribution(votes: pd.DataFrame) -> pd.DataFrame:
    """How many votes came after 1, 2, 3 … turns: ``turns, n_votes, share``."""
    counts = votes["turns"].astype("Int64").value_counts().sort_index()
    frame = counts.rename("n_votes").rename_axis("turns").reset_index()
    frame["share"] = frame["n_votes"] / frame["n_votes"].sum()
    return frame


def _left_won(votes: pd.DataFrame) -> pd.Series:
    shown_left = votes["swapped"].map({True: "model_b", False: "model_a"})
    return votes["winner"] == shown_left


def position_bias(votes: pd.DataFrame) -> pd.DataFrame:
    """Per annotator: ``n_decisive, left_share, p_value`` (exact binomial test vs 0.5), and
    ``biased`` (p < 0.01). Draws are left out (they favour no side)."""
    import pandas as pd
    from scipy.stats import binomtest

    decisive = votes[~votes["winner"].isin(DRAWS)]
    rows = []
    for annotator, part in decisive.groupby(decisive["annotator"].fillna("unknown"), sort=True):
        left = int(_left_won(part).sum())
        n = len(part)
        p_value = binomtest(left, n, 0.5).pvalue if n else float("nan")
        rows.append(
            {
                "annotator": annotator,
                "n_decisive": n,
                "left_share": left / n if n else float("nan"),
                "p_value": p_value,
                "biased": bool(p_value < 0.01),
            }
        )
    return pd.DataFrame(
        rows, columns=["annotator", "n_decisive", "left_share", "p_value", "biased"]
    )


def repeat_agreement(votes: pd.DataFrame) -> dict[str, Any]:
    """Agreement on battles judged more than once.

    Returns ``n_battles`` (judged ≥ 2 times), ``n_pairs`` (pairs of votes on the same battle),
    ``agreement`` (share of pairs with the same winner), ``agreement_3class`` (tie and both-bad
    merged) and ``chance`` (the agreement two independent votes drawn from the overall winner
    mix would reach), so a reader can see how far above chance people are.
    """
    repeated = votes[votes["battle_id"].duplicated(keep=False)]
    pairs = same = same3 = 0
    for _, part in repeated.groupby("battle_id"):
        for first, second in itertools.combinations(part["winner"].tolist(), 2):
            pairs += 1
            same += first == second
            same3 += (first in DRAWS and second in DRAWS) or first == second
    mix = votes["winner"].value_counts(normalize=True)
    return {
        "n_battles": int(repeated["battle_id"].nunique()),
        "n_pairs": pairs,
        "agreement": same / pairs if pairs else float("nan"),
        "agreement_3class": same3 / pairs if pairs else float("nan"),
        "chance": float((mix**2).sum()),
    }


def gold_accuracy(votes: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Per annotator, accuracy on gold battles (``gold``: ``battle_id, winner``, known answers).

    Returns ``annotator, n_gold, accuracy`` (annotators who met no gold battle are left out).
    """
    import pandas as pd

    from .schema import normalize_winner

    answers = gold.set_index("battle_id")["winner"].map(normalize_winner)
    judged = votes[votes["battle_id"].isin(answers.index)]
    correct = judged["winner"].to_numpy() == answers.loc[judged["battle_id"]].to_numpy()
    frame = pd.DataFrame({"annotator": judged["annotator"].fillna("unknown"), "ok": correct})
    table = frame.groupby("annotator")["ok"].agg(n_gold="size", accuracy="mean")
    return table.reset_index()


def thin_slices(votes: pd.DataFrame, by: str, *, min_votes: int = 100) -> list[str]:
    """Slice values with fewer than ``min_votes`` votes: read their rankings with care.

    The slices are those :func:`arena_kit.ratings.compare_slices` ranks (language and
    environment: matched votes only), so ``mixed`` sides or a missing value, which have no
    leaderboard, are never listed.
    """
    from .ratings import iter_slices

    return sorted(name for name, part in iter_slices(votes, by) if len(part) < min_votes)


def describe(votes: pd.DataFrame) -> pd.DataFrame:
    """The data description of a report: one row per fact (``fact, value``)."""
    import pandas as pd

    models = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    facts: list[tuple[str, Any]] = [
        ("votes", f"{len(votes):,}"),
        ("battles", f"{votes['battle_id'].nunique():,}"),
        ("models", f"{len(models)}"),
        ("annotators", f"{votes['annotator'].nunique()}"),
        ("categories", f"{votes['category'].nunique()}"),
        ("sources", ", ".join(sorted(votes["source"].fillna("unknown").unique()))),
        ("draw rate (tie + both bad)", f"{votes['winner'].isin(DRAWS).mean():.1%}"),
    ]
    stamps = votes["tstamp"].dropna()
    if len(stamps):
        first, last = pd.to_datetime([stamps.min(), stamps.max()], unit="s")
        facts.append(("period", f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"))
    return pd.DataFrame(facts, columns=["fact", "value"])


def describe_agreement(agreement: dict[str, Any]) -> str:
    """One markdown sentence for :func:`repeat_agreement`'s result (none judged twice: says so,
    rather than "nan %")."""
    if not agreement["n_pairs"]:
        return "No battle was judged more than once, so there is no agreement to measure."
    return (
        f"Battles judged more than once: **{agreement['n_battles']}**; agreement "
        f"**{agreement['agreement']:.1%}** (3-class {agreement['agreement_3class']:.1%}), "
        f"chance {agreement['chance']:.1%}."
    )


def slice_order(long: pd.DataFrame, *, min_votes: int = 0) -> list[str]:
    """The slices of :func:`arena_kit.ratings.compare_slices`'s table in reading order: most
    votes first, and slices with fewer than ``min_votes`` votes (thin) after all the others.
    The three views keep their own order (all, env_matched, lang_matched)."""
    sizes = long.groupby("slice", sort=False)["n_votes"].first()
    if "by" in long and (long["by"] == "view").all():
        return list(sizes.index)
    return sorted(sizes.index, key=lambda name: (bool(sizes[name] < min_votes), -sizes[name]))


def rank_changes(
    long: pd.DataFrame,
    *,
    base: str = "all",
    order: Sequence[str] | None = None,
    slices: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Ranks per slice side by side (from :func:`arena_kit.ratings.compare_slices`), with the
    change of each slice's rank against the ``base`` slice (positive = moved up).

    Ranks are integers (``pd.NA`` where a model has no rank in a slice: it had no vote there).
    Rows follow ``order`` (e.g. the overall leaderboard's models, best first), else the
    ``base`` slice's ranks; columns follow ``slices`` (e.g. :func:`slice_order`), else their
    names.
    """
    ranks = long.pivot_table(index="model", columns="slice", values="rank", aggfunc="first")
    ranks = ranks.astype("Int64")
    ranks.columns.name = None
    if slices is not None:
        ranks = ranks[[s for s in slices if s in ranks.columns]]
    if order is not None:
        ranks = ranks.reindex([m for m in order if m in ranks.index] +
                              [m for m in ranks.index if m not in set(order)])  # fmt: skip
    elif base in ranks.columns:
        ranks = ranks.sort_values(base)
    if base in ranks.columns:
        for column in [c for c in ranks.columns if c != base]:
            ranks[f"Δ {column}"] = ranks[base] - ranks[column]
    ranks.index.name = "model"
    return ranks.reset_index()
