"""Labeling sessions: blind side-by-side voting on executed code, in a notebook.

>>> from arena_kit.labeling import ArenaSession
>>> ArenaSession(store="votes.sqlite", annotator="alice")   # doctest: +SKIP

The live arena — your prompt, two anonymous models streamed side by side, follow-ups, a vote:

>>> from arena_kit.labeling import LiveArena
>>> LiveArena(client="models.yaml", store="votes.sqlite")   # doctest: +SKIP

See ``docs/labeling.md``. The widget classes need ipywidgets and anywidget; the controller
(:class:`LabelingController`) and a live round (:class:`LiveRound`) work without a notebook.
"""

from __future__ import annotations

from typing import Any

from .controller import CHOICES, Item, LabelingController, LabelingError
from .items import BattleView, Turn, build_view, side_swapped
from .live_round import LiveRound
from .quality import agreement
from .runs import (
    RunCache,
    RunOutput,
    code_hash,
    default_executor,
    environment_for,
    sandbox_executor,
)

__all__ = [
    "ArenaSession",
    "LiveArena",
    "LiveRound",
    "LabelingController",
    "LabelingError",
    "Item",
    "CHOICES",
    "BattleView",
    "Turn",
    "build_view",
    "side_swapped",
    "RunCache",
    "RunOutput",
    "code_hash",
    "environment_for",
    "sandbox_executor",
    "default_executor",
    "agreement",
]


def __getattr__(name: str) -> Any:
    # The widget layer imports ipywidgets and anywidget: only when asked for.
    if name == "ArenaSession":
        from .session import ArenaSession

        return ArenaSession
    if name == "LiveArena":
        from .live import LiveArena

        return LiveArena
    raise AttributeError(name)
