"""A judge made of judges: majority vote or mean score, with their agreement kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ArenaKitError
from .base import VERDICT_COLUMNS, Game, Judge, get_judge, register_judge, verdict_row

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EnsembleJudge", "VERDICT_SCORES"]

VERDICT_SCORES: dict[tuple[str, bool], int] = {
    ("model_a", True): 2,
    ("model_a", False): 1,
    ("tie", False): 0,
    ("tie", True): 0,
    ("both_bad", False): 0,
    ("both_bad", True): 0,
    ("model_b", False): -1,
    ("model_b", True): -2,
}
"""A verdict as a number for the ``mean`` method: +2 strong win of model_a … −2 of model_b."""


@register_judge("ensemble")
class EnsembleJudge(Judge):
    """Combine several judges' verdicts on each game.

    Parameters
    ----------
    judges
        The member judges (instances, or registered names with no options).
    method
        ``"majority"``: the most frequent readable winner (a tie between winners is ``tie``;
        strong when most of the majority said strong). ``"mean"``: the mean of
        :data:`VERDICT_SCORES`; ≥ 0.5 a win of model_a, ≤ −0.5 of model_b, strong beyond
        ±1.5, otherwise ``both_bad`` when most members said so, else ``tie``.
    name
        The ensemble's name in tables.

    Attributes
    ----------
    member_verdicts
        The members' verdicts of the last call (one verdicts table), for
        :func:`arena_kit.judges.agreement`.
    """

    def __init__(
        self,
        judges: Sequence[Judge | str],
        *,
        method: str = "majority",
        name: str = "ensemble",
    ) -> None:
        if method not in ("majority", "mean"):
            raise ArenaKitError(f"method must be 'majority' or 'mean' (got {method!r})")
        members = [get_judge(j) if isinstance(j, str) else j for j in judges]
        if len(members) < 2:
            raise ArenaKitError("an ensemble needs at least two judges")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise ArenaKitError(f"the ensemble's judges need distinct names (got {names})")
        self.judges = members
        self.method = method
        self.name = name
        self.member_verdicts: pd.DataFrame | None = None

    def judge_games(
        self,
        games: Sequence[Game],
        executions: Mapping[str, Mapping[str, Any]] | None,
        mode: str,
        *,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        import pandas as pd

        per_member = [
            j.judge_games(games, executions, mode, progress=progress) for j in self.judges
        ]
        self.member_verdicts = pd.DataFrame(
            [row for rows in per_member for row in rows], columns=list(VERDICT_COLUMNS)
        )
        combined = []
        for index, (battle, swapped) in enumerate(games):
            readable = [
                rows[index] for rows in per_member if isinstance(rows[index]["winner"], str)
            ]
            winner, strong = (
                self._majority(readable) if self.method == "majority" else self._mean(readable)
            )
            shown_first = "model_b" if swapped else "model_a"
            if winner is None:
                label = None
            elif winner in ("tie", "both_bad"):
                label = "A=B"
            elif winner == shown_first:
                label = "A>>B" if strong else "A>B"
            else:
                label = "B>>A" if strong else "B>A"
            summary = "; ".join(
                f"{j.name}: {rows[index]['winner']}"
                for j, rows in zip(self.judges, per_member, strict=True)
            )
            combined.append(
                verdict_row(
                    self.name,
                    mode,
                    battle,
                    swapped,
                    winner=winner,
                    strong=strong,
                    label=label,
                    parse_status="rule" if winner is not None else "unparseable",
                    raw=summary,
                    input_tokens=sum(rows[index]["input_tokens"] for rows in per_member),
                    output_tokens=sum(rows[index]["output_tokens"] for rows in per_member),
                    cached=all(rows[index]["cached"] for rows in per_member),
                )
            )
        return combined

    def agreement(self, *, classes: int = 3) -> pd.DataFrame:
        """How the members agreed on the last call: pairwise agreement and κ, Fleiss' κ."""
        from .metrics import agreement

        if self.member_verdicts is None:
            raise ArenaKitError("the ensemble has not judged anything yet; call judge() first")
        return agreement(self.member_verdicts, classes=classes)

    @staticmethod
    def _majority(readable: list[dict[str, Any]]) -> tuple[str | None, bool]:
        if not readable:
            return None, False
        counts = Counter(row["winner"] for row in readable).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            return "tie", False
        winner = counts[0][0]
        backers = [row for row in readable if row["winner"] == winner]
        strong = sum(bool(row["strong"]) for row in backers) * 2 > len(backers)
        return winner, strong and winner in ("model_a", "model_b")

    @staticmethod
    def _mean(readable: list[dict[str, Any]]) -> tuple[str | None, bool]:
        if not readable:
            return None, False
        scores = [VERDICT_SCORES[(row["winner"], bool(row["strong"]))] for row in readable]
        mean = sum(scores) / len(scores)
        if mean >= 0.5:
            return "model_a", mean >= 1.5
        if mean <= -0.5:
            return "model_b", mean <= -1.5
        bad = sum(row["winner"] == "both_bad" for row in readable)
        return ("both_bad" if bad * 2 > len(readable) else "tie"), False
