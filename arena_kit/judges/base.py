"""The judge protocol, the verdicts table and the registry of judges by name.

A judge is a small class with a ``name`` and one method, :meth:`Judge.judge`, that takes
battles (and, for the with-execution mode, the executions table) and returns the verdicts
table below. Adding a judge is one class and one :func:`register_judge` line, as papermill's
engines.

The verdicts table (one row per game; a game is one battle shown in one order):

=================  ==========================================================================
column             meaning
=================  ==========================================================================
``battle_id``      the battle
``judge``          the judge's name
``mode``           ``code_only`` or ``with_execution``
``swapped``        true when ``model_b`` was shown as A (the position-swap game)
``winner``         in **stored** sides: ``model_a``, ``model_b``, ``tie``, ``both_bad``;
                   missing when the answer could not be read
``strong``         a ``>>`` verdict (AutoCodeArena weights these 3×)
``label``          the verdict as shown to the judge (``A>B``…), missing when not read
``parse_status``   see :mod:`arena_kit.judges.verdicts`
``raw``            the judge's text (or the error)
``reason``         the judge's stated reason, when it gave one
``prompt_id``, ``category``, ``model_a``, ``model_b``, ``env_a``, ``env_b``: from the battle
``input_tokens``, ``output_tokens``, ``cached``: request accounting (0/false without a model)
=================  ==========================================================================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ArenaKitError
from .battles import BattleInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Judge",
    "Game",
    "MODES",
    "SIDES",
    "VERDICT_COLUMNS",
    "JUDGES",
    "register_judge",
    "get_judge",
    "executions_by_id",
    "verdict_row",
]

MODES: tuple[str, ...] = ("code_only", "with_execution")
SIDES: tuple[str, ...] = ("original", "swapped", "both")

VERDICT_COLUMNS: tuple[str, ...] = (
    "battle_id",
    "judge",
    "mode",
    "swapped",
    "winner",
    "strong",
    "label",
    "parse_status",
    "raw",
    "reason",
    "prompt_id",
    "category",
    "model_a",
    "model_b",
    "env_a",
    "env_b",
    "input_tokens",
    "output_tokens",
    "cached",
)

Game = tuple[BattleInput, bool]
"""One battle in one order: ``(battle, swapped)``."""


def executions_by_id(executions: pd.DataFrame | None) -> dict[str, dict[str, Any]] | None:
    """``execution_id -> row`` of an executions table (``None`` stays ``None``)."""
    if executions is None:
        return None
    return {
        str(row["execution_id"]): {str(k): v for k, v in row.items()}
        for row in executions.to_dict(orient="records")
    }


def verdict_row(
    judge: str,
    mode: str,
    battle: BattleInput,
    swapped: bool,
    *,
    winner: str | None,
    strong: bool,
    label: str | None,
    parse_status: str,
    raw: str = "",
    reason: str = "",
    input_tokens: int = 0,
    output_tokens: int = 0,
    cached: bool = False,
) -> dict[str, Any]:
    """One row of the verdicts table (``winner`` already in stored sides)."""
    return {
        "battle_id": battle.battle_id,
        "judge": judge,
        "mode": mode,
        "swapped": swapped,
        "winner": winner,
        "strong": bool(strong),
        "label": label,
        "parse_status": parse_status,
        "raw": raw,
        "reason": reason,
        "prompt_id": battle.prompt_id,
        "category": battle.category,
        "model_a": battle.model_a,
        "model_b": battle.model_b,
        "env_a": battle.env_a,
        "env_b": battle.env_b,
        "input_tokens": int(input_tokens),
        "output_tokens": int(output_tokens),
        "cached": bool(cached),
    }


def _as_battles(battles: Sequence[BattleInput] | pd.DataFrame) -> list[BattleInput]:
    import pandas as pd

    if isinstance(battles, pd.DataFrame):
        fields = set(BattleInput.__dataclass_fields__) - {"extra"}
        return [
            BattleInput(**{k: v for k, v in row.items() if k in fields})
            for row in battles.to_dict(orient="records")
        ]
    battles = list(battles)
    for battle in battles:
        if not isinstance(battle, BattleInput):
            raise ArenaKitError(
                f"judges take BattleInput objects (got {type(battle).__name__}). Fix: build them "
                "with arena_kit.judges.battle_inputs(battles, responses, prompts=...)"
            )
    return battles


class Judge(ABC):
    """Base class of judges: subclasses implement :meth:`judge_games`."""

    name: str = "judge"

    def judge(
        self,
        battles: Sequence[BattleInput] | pd.DataFrame,
        executions: pd.DataFrame | None = None,
        mode: str = "with_execution",
        *,
        sides: str = "original",
        progress: bool = True,
    ) -> pd.DataFrame:
        """Judge battles; the verdicts table (see the module docstring).

        Parameters
        ----------
        battles
            :class:`BattleInput` list (or the frame of :func:`battles_frame`).
        executions
            The executions table; needed for ``mode="with_execution"`` (without it that mode
            is the same as code-only, and a judge says so by raising).
        mode
            ``"with_execution"`` or ``"code_only"``.
        sides
            ``"original"``, ``"swapped"`` or ``"both"`` (two games per battle, for the
            position-bias check and for AutoCodeArena).
        """
        import pandas as pd

        if mode not in MODES:
            raise ArenaKitError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
        if sides not in SIDES:
            raise ArenaKitError(f"sides must be one of {', '.join(SIDES)} (got {sides!r})")
        if mode == "with_execution" and executions is None:
            raise ArenaKitError(
                f"{self.name}: mode 'with_execution' needs the executions table. Fix: pass "
                "executions=..., or use mode='code_only'"
            )
        items = _as_battles(battles)
        if mode == "with_execution" and executions is not None:
            from ..execution import check_links, has_runnable_code

            # Before judging (an LLM judge is paid per game): sides that cannot find their run
            # would all be judged "no run", which scores as if the code never ran.
            check_links(
                [b.execution_id_a for b in items] + [b.execution_id_b for b in items],
                executions,
                what="battle sides with code",
                where=f"{self.name} judge, with execution",
                runnable=[has_runnable_code(b.messages_a) for b in items]
                + [has_runnable_code(b.messages_b) for b in items],
            )
        orders = {"original": (False,), "swapped": (True,), "both": (False, True)}[sides]
        games: list[Game] = [(battle, swapped) for battle in items for swapped in orders]
        runs = executions_by_id(executions) if mode == "with_execution" else None
        rows = self.judge_games(games, runs, mode, progress=progress)
        return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))

    @abstractmethod
    def judge_games(
        self,
        games: Sequence[Game],
        executions: Mapping[str, Mapping[str, Any]] | None,
        mode: str,
        *,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        """Verdict rows (:func:`verdict_row`) for ``games``, in order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


JUDGES: dict[str, type[Judge]] = {}
"""Registered judge classes by name (``llm``, ``heuristic``, ``ensemble``…)."""

_J = TypeVar("_J", bound=type[Judge])


def register_judge(name: str) -> Callable[[_J], _J]:
    """Class decorator: make a judge class available to :func:`get_judge` as ``name``."""

    def add(cls: _J) -> _J:
        JUDGES[name] = cls
        return cls

    return add


def get_judge(name: str, /, **options: Any) -> Judge:
    """A judge by registered name, built with ``options`` (e.g. ``client=``, ``model=``)."""
    try:
        cls = JUDGES[name]
    except KeyError:
        raise ArenaKitError(
            f"unknown judge {name!r}; registered: {', '.join(sorted(JUDGES))}"
        ) from None
    return cls(**options)
