"""Quality control of labels: agreement on battles judged twice, accuracy on gold battles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["agreement"]


def agreement(votes: pd.DataFrame, gold: Mapping[str, str] | None = None) -> dict[str, Any]:
    """How consistent the votes are.

    Parameters
    ----------
    votes
        A votes table (e.g. :meth:`arena_kit.store.VoteStore.votes`).
    gold
        Battle id → known winner (stored sides).

    Returns
    -------
    dict
        ``repeat_pairs`` (pairs of votes on the same battle, at least one a ``repeat``),
        ``repeat_agreement`` (share of those pairs with the same winner; None without pairs),
        ``same_annotator_pairs`` / ``cross_annotator_pairs``, ``gold_votes``,
        ``gold_accuracy`` (share of gold votes equal to the known answer) and
        ``gold_accuracy_by_annotator``.
    """
    report: dict[str, Any] = {
        "repeat_pairs": 0,
        "repeat_agreement": None,
        "same_annotator_pairs": 0,
        "cross_annotator_pairs": 0,
        "gold_votes": 0,
        "gold_accuracy": None,
        "gold_accuracy_by_annotator": {},
    }
    if len(votes) == 0:
        return report
    qc: list[Any] = list(votes["qc"]) if "qc" in votes.columns else [None] * len(votes)
    agree = same = cross = pairs = 0
    for _, group in votes.assign(_qc=qc).groupby("battle_id", sort=False):
        if len(group) < 2 or not (group["_qc"] == "repeat").any():
            continue
        rows = list(group[["winner", "annotator"]].itertuples(index=False, name=None))
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                pairs += 1
                agree += rows[i][0] == rows[j][0]
                if rows[i][1] == rows[j][1]:
                    same += 1
                else:
                    cross += 1
    report.update(repeat_pairs=pairs, same_annotator_pairs=same, cross_annotator_pairs=cross)
    if pairs:
        report["repeat_agreement"] = agree / pairs
    if gold:
        judged = votes[votes["battle_id"].isin(list(gold))]
        if len(judged):
            correct = [
                gold[b] == w for b, w in zip(judged["battle_id"], judged["winner"], strict=True)
            ]
            report["gold_votes"] = len(judged)
            report["gold_accuracy"] = sum(correct) / len(correct)
            by: dict[str, list[bool]] = {}
            for annotator, ok in zip(judged["annotator"], correct, strict=True):
                by.setdefault(str(annotator), []).append(bool(ok))
            report["gold_accuracy_by_annotator"] = {a: sum(v) / len(v) for a, v in by.items()}
    return report
