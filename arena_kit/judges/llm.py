"""The LLM judge: any chat model behind an OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import ModelClient
from .base import Game, Judge, register_judge, verdict_row
from .prompts import render_battle
from .verdicts import parse_verdict, to_stored

__all__ = ["LLMJudge"]


@register_judge("llm")
class LLMJudge(Judge):
    """Ask a model which side is better; read its answer robustly.

    Parameters
    ----------
    client
        The :class:`~arena_kit.models.ModelClient` (endpoint, concurrency, cache, retries).
    model
        The judge model's name in the client's configuration.
    style
        ``"reward"`` (JSON A/B/tie/both_bad, BigCodeReward) or ``"arena"`` (``[[A>B]]``
        labels, AutoCodeArena).
    vision
        Send screenshots as images; default: the model's ``vision`` setting.
    output_limit
        Characters of stdout and of stderr shown per side (1,000 as the original).
    name
        The judge's name in tables (default: the model's name).
    """

    def __init__(
        self,
        client: ModelClient,
        model: str,
        *,
        style: str = "reward",
        vision: bool | None = None,
        output_limit: int = 1000,
        name: str | None = None,
    ) -> None:
        if style not in ("reward", "arena"):
            raise ValueError(f"style must be 'reward' or 'arena' (got {style!r})")
        self.client = client
        self.model = model
        self.style = style
        self.vision = client.config.spec(model).vision if vision is None else vision
        self.output_limit = output_limit
        self.name = name or model

    def judge_games(
        self,
        games: Sequence[Game],
        executions: Mapping[str, Mapping[str, Any]] | None,
        mode: str,
        *,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        requests = [
            (
                self.model,
                render_battle(
                    battle,
                    swapped=swapped,
                    style=self.style,
                    executions=executions,
                    vision=self.vision,
                    output_limit=self.output_limit,
                ).messages(),
            )
            for battle, swapped in games
        ]
        answers = self.client.complete_many(
            requests, progress=progress, description=f"judge {self.name} ({mode})"
        )
        rows = []
        for (battle, swapped), answer in zip(games, answers, strict=True):
            if not answer.ok:
                rows.append(
                    verdict_row(
                        self.name,
                        mode,
                        battle,
                        swapped,
                        winner=None,
                        strong=False,
                        label=None,
                        parse_status="error",
                        raw=answer.error or "",
                    )
                )
                continue
            parsed = parse_verdict(answer.text)
            rows.append(
                verdict_row(
                    self.name,
                    mode,
                    battle,
                    swapped,
                    winner=to_stored(parsed.winner, swapped),
                    strong=parsed.strong,
                    label=parsed.label,
                    parse_status=parsed.status,
                    raw=answer.text,
                    reason=parsed.reason,
                    input_tokens=answer.input_tokens,
                    output_tokens=answer.output_tokens,
                    cached=answer.cached,
                )
            )
        return rows
