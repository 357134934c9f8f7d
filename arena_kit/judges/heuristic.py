"""The execution-heuristic judge: a real, offline baseline that needs no model service.

With execution, each side earns one point for each of:

* **ran** — the run finished without an error (status ``ok`` or ``blank_render``);
* **showed something** — status ``ok`` and a screenshot file or non-blank stdout;
* **did not time out** — it was run and its status is not ``timeout``.

The side with more points wins (a strong win when it leads by two or more); equal points are a
tie, or ``both_bad`` when neither side ran. A side with no run (no code found, or not executed)
earns nothing. Code-only, the rule falls back to "has a runnable main code block".

It is deliberately simple: its BigCodeReward score is the floor an LLM judge must clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..blocks import main_block
from ..execution import last_answer
from .base import Game, Judge, register_judge, verdict_row
from .battles import BattleInput

__all__ = ["HeuristicJudge", "execution_points"]

_RAN = ("ok", "blank_render")


def execution_points(execution: Mapping[str, Any] | None) -> tuple[int, list[str]]:
    """Points of one side's run (0–3) and the reasons, as the module docstring says."""
    if execution is None:
        return 0, ["no run"]
    status = str(execution.get("status"))
    points, reasons = 0, [status]
    if status in _RAN:
        points += 1
        reasons.append("ran")
    screenshot = execution.get("screenshot")
    has_picture = isinstance(screenshot, str) and Path(screenshot).is_file()
    stdout = execution.get("stdout")
    has_output = isinstance(stdout, str) and bool(stdout.strip())
    if status == "ok" and (has_picture or has_output):
        points += 1
        reasons.append("showed something")
    if status != "timeout":
        points += 1
        reasons.append("no timeout")
    return points, reasons


def _code_points(messages: Sequence[Mapping[str, Any]]) -> tuple[int, list[str]]:
    block = main_block(last_answer(messages))
    if block is None:
        return 0, ["no main code block"]
    return 1, [f"{block.tag} code"]


@register_judge("heuristic")
class HeuristicJudge(Judge):
    """Prefer the side that ran, showed something and did not time out (no service needed)."""

    def __init__(self, *, name: str = "heuristic") -> None:
        self.name = name

    def _side(
        self,
        battle: BattleInput,
        side: str,
        executions: Mapping[str, Mapping[str, Any]] | None,
    ) -> tuple[int, list[str], bool]:
        if executions is None:
            messages = battle.messages_a if side == "a" else battle.messages_b
            points, reasons = _code_points(messages)
            return points, reasons, points > 0
        execution_id = battle.execution_id_a if side == "a" else battle.execution_id_b
        execution = executions.get(execution_id) if execution_id else None
        points, reasons = execution_points(execution)
        return points, reasons, "ran" in reasons

    def judge_games(
        self,
        games: Sequence[Game],
        executions: Mapping[str, Mapping[str, Any]] | None,
        mode: str,
        *,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        rows = []
        for battle, swapped in games:
            points_a, reasons_a, ran_a = self._side(battle, "a", executions)
            points_b, reasons_b, ran_b = self._side(battle, "b", executions)
            if points_a > points_b:
                winner = "model_a"
            elif points_b > points_a:
                winner = "model_b"
            else:
                winner = "tie" if (ran_a or ran_b) else "both_bad"
            strong = abs(points_a - points_b) >= 2
            # The label is written as the judge "saw" it, so swapped games read mirrored.
            shown_first = "model_b" if swapped else "model_a"
            if winner in ("tie", "both_bad"):
                label = "A=B"
            elif winner == shown_first:
                label = "A>>B" if strong else "A>B"
            else:
                label = "B>>A" if strong else "B>A"
            raw = (
                f"model_a: {points_a} ({', '.join(reasons_a)}); "
                f"model_b: {points_b} ({', '.join(reasons_b)})"
            )
            rows.append(
                verdict_row(
                    self.name,
                    mode,
                    battle,
                    swapped,
                    winner=winner,
                    strong=strong,
                    label=label,
                    parse_status="rule",
                    raw=raw,
                )
            )
        return rows
