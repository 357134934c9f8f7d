"""BigCodeReward: how well do judges agree with the people who voted, with and without execution?

One call judges every battle with every judge in both modes (code only, and with the runs'
output and screenshots), each battle twice with the sides swapped, and scores the verdicts
against the human votes. Beyond the original: several judges side by side, every turn shown,
the position-swap consistency, 4-class as well as 3-class scores, bootstrap intervals and a
paired interval for the lift from execution.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ArenaKitError
from ..execution import UnlinkedRunsWarning, check_links, has_runnable_code
from .base import Judge
from .battles import BattleInput
from .metrics import agreement, execution_lift, position_consistency, score_judge

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BigCodeRewardResult", "bigcodereward"]


@dataclass
class BigCodeRewardResult:
    """The verdicts and every table computed from them.

    Attributes
    ----------
    verdicts
        All games (judge × mode × battle × order).
    scores
        :func:`~arena_kit.judges.score_judge` for the ``original`` order and, when sides were
        swapped, the ``consensus`` of both orders (column ``orientation``).
    lift
        :func:`~arena_kit.judges.execution_lift` (empty with one mode).
    consistency
        :func:`~arena_kit.judges.position_consistency` (empty without swapped games).
    parse_counts
        Verdicts per judge, mode and ``parse_status`` (how many could not be read).
    agreement
        :func:`~arena_kit.judges.agreement` between the judges (empty with one judge).
    """

    verdicts: pd.DataFrame
    scores: pd.DataFrame
    lift: pd.DataFrame
    consistency: pd.DataFrame
    parse_counts: pd.DataFrame
    agreement: pd.DataFrame

    def summary(self, *, classes: int = 3) -> pd.DataFrame:
        """One line per judge and mode: overall metrics (original order) and consistency."""
        scores = self.scores
        overall = scores[
            (scores["category"] == "all")
            & (scores["classes"] == classes)
            & (scores["orientation"] == "original")
        ][["judge", "mode", "n", "n_unparsed", "accuracy", "macro_f1", "kappa", "mcc"]]
        if len(self.consistency):
            overall = overall.merge(
                self.consistency[["judge", "mode", "consistency_3class", "first_shown_wins"]],
                on=["judge", "mode"],
                how="left",
            )
        return overall.reset_index(drop=True)


def bigcodereward(
    battles: Sequence[BattleInput],
    judges: Judge | Sequence[Judge],
    votes: pd.DataFrame,
    executions: pd.DataFrame | None = None,
    *,
    modes: Sequence[str] | None = None,
    swap: bool = True,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = True,
) -> BigCodeRewardResult:
    """Judge human-voted battles and score the judges against the votes.

    Parameters
    ----------
    battles
        Judge inputs (:func:`~arena_kit.judges.battle_inputs` of the votes and responses).
    judges
        One judge or several (each needs a distinct ``name``).
    votes
        The human votes (joined on ``battle_id``).
    executions
        The executions table; without it only the code-only mode runs.
    modes
        Default: ``("code_only", "with_execution")`` when ``executions`` is given.
    swap
        Judge every battle a second time with the sides swapped (position-bias check).
    n_bootstrap, level, seed
        Bootstrap of the metrics' intervals (seeded, percentile).
    """
    import pandas as pd

    members = [judges] if isinstance(judges, Judge) else list(judges)
    if not members:
        raise ArenaKitError("give at least one judge")
    names = [j.name for j in members]
    if len(set(names)) != len(names):
        raise ArenaKitError(f"judges need distinct names (got {names}); pass name=... to each")
    if modes is None:
        modes = ("code_only", "with_execution") if executions is not None else ("code_only",)
    battles = list(battles)
    voted = set(map(str, votes["battle_id"]))
    unvoted = [b.battle_id for b in battles if b.battle_id not in voted]
    if len(unvoted) == len(battles):
        # Checked before judging: an LLM judge would otherwise be paid for nothing.
        raise ArenaKitError(
            f"none of the {len(battles)} battles has a vote (battle ids such as "
            f"{battles[0].battle_id!r} are not in votes['battle_id']). Fix: build the battles "
            "from the votes (battle_inputs(votes, responses, ...)) or pass the matching votes"
            if battles
            else "no battles to judge"
        )
    if unvoted:
        warnings.warn(
            f"{len(unvoted)} of {len(battles)} battles have no vote; they are judged but not "
            f"scored (first: {unvoted[0]!r})",
            stacklevel=2,
        )
    if executions is not None and "with_execution" in modes:
        # Before any judge runs (an LLM judge is paid for the code-only games too): sides
        # that find no run would all be judged "no run" and score as if nothing ran.
        check_links(
            [b.execution_id_a for b in battles] + [b.execution_id_b for b in battles],
            executions,
            what="battle sides with code",
            where="bigcodereward(), with execution",
            runnable=[has_runnable_code(b.messages_a) for b in battles]
            + [has_runnable_code(b.messages_b) for b in battles],
        )
    frames = []
    for judge in members:
        for mode in modes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnlinkedRunsWarning)  # said once, above
                frames.append(
                    judge.judge(
                        battles,
                        executions if mode == "with_execution" else None,
                        mode,
                        sides="both" if swap else "original",
                        progress=progress,
                    )
                )
    verdicts = pd.concat(frames, ignore_index=True)
    options: dict[str, Any] = {"n_bootstrap": n_bootstrap, "level": level, "seed": seed}
    scores = [score_judge(verdicts, votes, orientation="original", **options)]
    if swap:
        scores.append(score_judge(verdicts, votes, orientation="consensus", **options))
    lift = (
        execution_lift(verdicts, votes, classes=(3, 4), **options)
        if {"code_only", "with_execution"} <= set(modes)
        else execution_lift(verdicts.iloc[0:0], votes, **options)
    )
    consistency = position_consistency(verdicts) if swap else position_consistency(verdicts[0:0])
    parse_counts = (
        verdicts.groupby(["judge", "mode", "parse_status"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    return BigCodeRewardResult(
        verdicts=verdicts,
        scores=pd.concat(scores, ignore_index=True),
        lift=lift,
        consistency=consistency,
        parse_counts=parse_counts,
        agreement=agreement(verdicts) if len(members) > 1 else agreement(verdicts[0:0]),
    )
