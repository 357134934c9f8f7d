"""A battle made ready to judge: its prompt, each side's turns and the code to run."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..blocks import block_language, main_block
from ..errors import ArenaDataError
from .runs import environment_for

__all__ = ["Turn", "BattleView", "build_view", "side_swapped"]


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation: the user's message, the answer and its main code."""

    user: str
    answer: str
    code: str | None
    language: str | None
    environment: str | None


@dataclass(frozen=True)
class BattleView:
    """What a session needs of one battle (``turns_a``/``turns_b`` are the *stored* sides)."""

    battle_id: str
    prompt_id: str | None
    category: str | None
    model_a: str
    model_b: str
    prompt: str
    turns_a: tuple[Turn, ...]
    turns_b: tuple[Turn, ...]
    lang_a: str | None = None
    lang_b: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_turns(self) -> int:
        return max(len(self.turns_a), len(self.turns_b))

    def env(self, side: str) -> str | None:
        """Environment of the last turn's main code of stored side ``"a"`` or ``"b"``."""
        turns = self.turns_a if side == "a" else self.turns_b
        return turns[-1].environment if turns else None


def side_swapped(seed: int | str, battle_id: str, annotator: str | None) -> bool:
    """Whether model_a is shown on the right: a fair coin, fixed per (seed, battle, annotator).

    Deterministic so that a restarted session shows a battle with the same sides.
    """
    digest = hashlib.sha256(f"{seed}\x00{battle_id}\x00{annotator}".encode()).digest()
    return bool(digest[0] & 1)


def _turn(user: str, answer: str) -> Turn:
    """A turn whose code and environment follow :func:`arena_kit.extract.extract` (the
    main block, a page merged from HTML/CSS/JS blocks, React/Vue/Streamlit… detection)."""
    from ..extract import extract

    try:
        found = extract(answer)
    except Exception:  # a detection bug must not hide the answer: fall back to the main block
        found = None
    if found is not None and found.environment is not None and found.code.strip():
        return Turn(
            user=user,
            answer=answer,
            code=found.code,
            language=found.language,
            environment=found.environment,
        )
    block = main_block(answer)
    language = block_language(block) if block is not None else None
    return Turn(
        user=user,
        answer=answer,
        code=block.code if block is not None else None,
        language=language,
        environment=environment_for(language),
    )


def _turns(messages: list[dict[str, str]]) -> tuple[str, tuple[Turn, ...]]:
    """(first user message, turns) of a conversation."""
    turns: list[Turn] = []
    user = ""
    first_user: str | None = None
    for message in messages:
        role, content = message.get("role"), message.get("content", "")
        if role == "user":
            user = content
            if first_user is None:
                first_user = content
        elif role == "assistant":
            turns.append(_turn(user, content))
            user = ""
    return first_user or "", tuple(turns)


def build_view(
    battle: Mapping[str, Any], messages: Mapping[str, list[dict[str, str]]]
) -> BattleView:
    """A :class:`BattleView` from a battles-table row and response id → messages.

    Raises
    ------
    ArenaDataError
        A response id of the battle is not among the responses.
    """
    sides = {}
    for side in ("a", "b"):
        response_id = battle[f"response_{side}"]
        if response_id not in messages:
            raise ArenaDataError(
                f"battle {battle['battle_id']!r}: response {response_id!r} is not among the "
                "responses given",
                column=f"response_{side}",
                value=response_id,
                fix="give the responses table the battles were made from",
            )
        sides[side] = _turns(list(messages[response_id]))
    prompt = sides["a"][0] or sides["b"][0]
    known = {
        "battle_id",
        "prompt_id",
        "category",
        "model_a",
        "model_b",
        "response_a",
        "response_b",
        "lang_a",
        "lang_b",
    }
    return BattleView(
        battle_id=str(battle["battle_id"]),
        prompt_id=battle.get("prompt_id"),
        category=battle.get("category"),
        model_a=str(battle["model_a"]),
        model_b=str(battle["model_b"]),
        prompt=prompt,
        turns_a=sides["a"][1],
        turns_b=sides["b"][1],
        lang_a=battle.get("lang_a"),
        lang_b=battle.get("lang_b"),
        extra={k: v for k, v in battle.items() if k not in known},
    )
