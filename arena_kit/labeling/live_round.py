"""One round of the live arena, without widgets: a prompt, two anonymous models, their answers
streamed turn by turn, their code run, every finished turn written to the store.

A :class:`LiveRound` holds both models' conversations (each with its own history, system
message included), streams each turn's answers with :meth:`arena_kit.models.ModelClient.stream`
in two threads, and starts each side's run as soon as *its* answer is complete (through the
labeling controller, so runs, re-runs, edits and interactions are the labeling session's).
The round is an :class:`~arena_kit.labeling.controller.Item` like a battle of the pool: the
controller votes on it, skips it and records its edits.

What is written, and when (every write its own durable transaction, ``source="live"``):

* the prompt, when the round starts;
* each execution, when its run ends (the executor the arena gives the controller records it);
* a turn's two responses (the whole conversation so far, with the run of its main code) and
  its battle (``live-<round>-<turn>``), when both answers are complete and both runs ended;
* the vote or skip, by the controller, when the person casts it;
* a ``round_failed`` event when a side fails for good (or the person cancels the first turn).

So a kernel killed mid-round loses at most the turn under way, never a finished turn or a vote.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..schema import LANGUAGES, content_id
from .controller import Item, LabelingError
from .items import BattleView, build_view
from .render import redact

if TYPE_CHECKING:
    from ..models import Completion, ModelClient, RetryNotice
    from ..store import VoteStore
    from .controller import LabelingController
    from .runs import RunOutput

__all__ = ["LiveRound", "LiveSide", "PHASES", "MAX_TURNS", "SOURCE"]

SOURCE = "live"
"""The ``source`` of everything a live session writes."""

MAX_TURNS = 50
"""The most user turns a round takes (the original arena's limit)."""

PHASES: tuple[str, ...] = (
    "streaming", "running", "ready", "voted", "skipped", "failed", "cancelled", "abandoned",
)  # fmt: skip
"""Where a round is: answers arriving; both answers in, code still running; the turn is
complete (vote or follow up); then how it ended."""

OVER: frozenset[str] = frozenset({"voted", "skipped", "failed", "cancelled", "abandoned"})
"""The phases of a round that has ended."""

Listener = Callable[[str, "str | None"], None]
"""``listener(kind, screen)``: ``"text"``, ``"notice"``, ``"answer"`` (one side's answer is
complete), ``"turn"`` (the turn is complete), ``"failed"``, ``"cancelled"`` (a follow-up
was dropped); ``screen`` is ``"A"``/``"B"`` or None."""


@dataclass
class LiveSide:
    """One model's side of a round (a *stored* side, ``"a"`` or ``"b"``)."""

    side: str
    model: str
    messages: list[dict[str, Any]]
    """The whole conversation: system message, then user and assistant turns."""
    text: str = ""
    """The answer of the turn under way, as far as it arrived (redacted when shown)."""
    answered: int = 0
    """The turns this side has answered completely."""
    notices: list[str] = field(default_factory=list)
    """What went wrong and was retried during the turn under way (redacted)."""
    completion: Completion | None = None
    """The last complete answer (tokens, attempts, latency)."""
    cancel: threading.Event = field(default_factory=threading.Event)


class LiveRound:
    """A prompt put to two models, answered turn by turn, judged once.

    Parameters
    ----------
    client
        The :class:`~arena_kit.models.ModelClient` that streams the answers.
    controller
        The labeling controller (started with the annotator): its runs, edits and votes serve
        this round.
    models
        The stored sides' models ``(model_a, model_b)``.
    swapped
        model_a is shown in the right-hand panel (screen ``"B"``).
    prompt
        The prompts-table row of the first user message (``prompt_id``, ``instruction``,
        ``category``…); written to the store when the round begins.
    system_prompt
        The system message each conversation starts with (None: none).
    listener
        ``listener(kind, screen)`` (see :data:`Listener`); called without the round's lock.
    max_turns
        The most user turns.
    round_id
        The round's id (default: a random one); its battles are ``live-<round_id>-<turn>``.
    """

    def __init__(
        self,
        *,
        client: ModelClient,
        controller: LabelingController,
        models: tuple[str, str],
        swapped: bool,
        prompt: Mapping[str, Any],
        system_prompt: str | None,
        listener: Listener | None = None,
        max_turns: int = MAX_TURNS,
        round_id: str | None = None,
    ) -> None:
        if models[0] == models[1]:
            raise LabelingError(f"a round needs two different models (got {models[0]!r} twice)")
        self.round_id = round_id or uuid.uuid4().hex[:12]
        self.client = client
        self.controller = controller
        self.prompt = dict(prompt)
        self.listener = listener
        self.max_turns = max_turns
        start = [{"role": "system", "content": system_prompt}] if system_prompt else []
        self.sides = {
            side: LiveSide(side=side, model=model, messages=list(start))
            for side, model in zip("ab", models, strict=True)
        }
        self.turn = 0
        """The user turns sent (the turn under way, or the last complete one)."""
        self.phase = "streaming"
        self.failure: dict[str, Any] | None = None
        """Why the round failed: ``reason``, ``side``, … (the ``round_failed`` payload)."""
        self.settled = threading.Event()
        """Set whenever the round waits for the person (a turn complete, or the round over)."""
        self._lock = threading.RLock()
        self._generation = itertools.count(1)
        self._current = 0
        self._marks: dict[str, int] = {}
        self._finished: dict[str, tuple[int, RunOutput | None]] = {}
        self._hidden = self._names(models)
        self.item = Item(view=self._view(), swapped=swapped)

    # ------------------------------------------------------------------------------------
    # What the person sees.

    @property
    def store(self) -> VoteStore:
        return self.controller.store

    def screen(self, side: str) -> str:
        """The screen panel (``"A"`` left, ``"B"`` right) that shows stored side ``side``."""
        return "A" if self.item.stored_side("A") == side else "B"

    def side_of(self, screen: str) -> LiveSide:
        return self.sides[self.item.stored_side(screen)]

    def redact(self, text: str) -> str:
        """``text`` without the round's model names (table and served names) and endpoints:
        what a panel may show before the vote."""
        for url in sorted(self._urls(), key=len, reverse=True):
            text = text.replace(url, "[endpoint]")
        return redact(text, self._hidden)

    def battle_id(self, turn: int | None = None) -> str:
        """The id of the battle of ``turn`` (default: the turn under way or last complete)."""
        return f"live-{self.round_id}-{turn if turn is not None else max(self.turn, 1)}"

    @property
    def over(self) -> bool:
        return self.phase in OVER

    def streaming(self, screen: str) -> bool:
        """Whether screen side ``screen``'s answer of the turn under way is still arriving."""
        side = self.side_of(screen)
        return self.phase == "streaming" and side.answered < self.turn

    def wait(self, timeout: float | None = None) -> str:
        """Block until the turn under way is complete or the round ended; the phase."""
        self.settled.wait(timeout)
        return self.phase

    # ------------------------------------------------------------------------------------
    # Actions.

    def begin(self, *, before_streams: Callable[[], None] | None = None) -> None:
        """Write the prompt, make the round the controller's current battle, send turn 1."""
        self.store.record("prompts", self.prompt)
        self.controller.serve(self.item)
        self.send(str(self.prompt["instruction"]), before_streams=before_streams, _first=True)

    def send(
        self,
        text: str,
        *,
        before_streams: Callable[[], None] | None = None,
        _first: bool = False,
    ) -> None:
        """Send the person's next message to both models (each with its own history).

        ``before_streams()`` is called once the turn is under way and before its streams
        start (a user interface lays out its panels then, not while the first words arrive).
        """
        text = text.strip()
        with self._lock:
            if not text:
                raise LabelingError("type a message first")
            if self.over:
                raise LabelingError("this round is over: start a new round")
            if not _first and self.phase != "ready":
                raise LabelingError("wait until both answers are in and their code has run")
            if self.turn >= self.max_turns:
                raise LabelingError(f"a round takes at most {self.max_turns} turns: vote now")
            self.turn += 1
            self._current = next(self._generation)
            self._finished.clear()
            self.phase = "streaming"
            self.settled.clear()
            for side in self.sides.values():
                self._marks[side.side] = len(side.messages)
                side.messages.append({"role": "user", "content": text})
                side.text, side.notices = "", []
                side.cancel = threading.Event()
            self.item.view = self._view()
            generation, turn = self._current, self.turn
            jobs = [(side, list(side.messages), side.cancel) for side in self.sides.values()]
        if before_streams is not None:
            before_streams()
        for side, messages, cancel in jobs:
            threading.Thread(
                target=self._stream,
                args=(side, messages, cancel, generation, turn),
                name=f"arena-live-{self.round_id}-{side.side}",
                daemon=True,  # a stalled server must not keep the kernel from exiting
            ).start()

    def cancel(self) -> bool:
        """Stop both streams of the turn under way. Returns whether anything was stopped.

        The turn is dropped; the round goes on from the last complete turn (vote on it or
        follow up again). Cancelling the first turn ends the round (logged as failed)."""
        with self._lock:
            if self.phase not in ("streaming", "running"):
                return False
            for side in self.sides.values():
                side.cancel.set()
            self._current = next(self._generation)  # late pieces and answers are ignored
            if self.turn <= 1:
                self._end_failed({"reason": "cancelled by the annotator", "side": None})
                kind = "failed"
            else:
                self._drop_turn()
                kind = "cancelled"
        self._tell(kind, None)
        return True

    def finish(self, phase: str) -> None:
        """End the round as ``"voted"``, ``"skipped"`` or ``"abandoned"`` (streams stopped)."""
        with self._lock:
            for side in self.sides.values():
                side.cancel.set()
            self._current = next(self._generation)
            if not self.over:
                self.phase = phase
            self.settled.set()

    # ------------------------------------------------------------------------------------
    # Streaming (one thread per side and turn).

    def _stream(
        self,
        side: LiveSide,
        messages: list[dict[str, Any]],
        cancel: threading.Event,
        generation: int,
        turn: int,
    ) -> None:
        screen = self.screen(side.side)

        def text(piece: str) -> None:
            with self._lock:
                if generation != self._current:
                    return
                side.text += piece
            self._tell("text", screen)

        def retry(notice: RetryNotice) -> None:
            with self._lock:
                if generation != self._current:
                    return
                side.text = ""  # the next attempt starts the answer over
                side.notices.append(self.redact(str(notice)))
            self._tell("notice", screen)

        try:
            completion = self.client.stream(
                side.model, messages, on_text=text, on_retry=retry, cancel=cancel
            )
        except Exception as exc:  # a set-up error (no key in the environment…): the side fails
            from ..models import Completion

            completion = Completion(text="", model=side.model, error=f"{exc}")
        self._answered(side, completion, generation, turn)

    def _answered(self, side: LiveSide, completion: Completion, generation: int, turn: int) -> None:
        screen = self.screen(side.side)
        run: Future[RunOutput] | None = None
        with self._lock:
            if generation != self._current or completion.cancelled:
                return
            if not completion.ok:
                self._end_failed({"reason": completion.error, "side": side.side})
                failed = True
            else:
                failed = False
                side.messages.append({"role": "assistant", "content": completion.text})
                side.text = completion.text
                side.answered = turn
                side.completion = completion
                self.item.view = self._view()
                if all(s.answered == turn for s in self.sides.values()):
                    self.phase = "running"
                run = self.controller.start_run(self.item, screen, turn - 1)
        if failed:
            self._tell("failed", screen)
            return
        self._tell("answer", screen)
        if run is None:
            self._ran(side, None, generation, turn)
        else:
            run.add_done_callback(lambda f: self._ran(side, f, generation, turn))

    def _ran(
        self, side: LiveSide, run: Future[RunOutput] | None, generation: int, turn: int
    ) -> None:
        output = run.result() if run is not None else None
        with self._lock:
            if generation != self._current:
                return
            self._finished[side.side] = (turn, output)
            if len(self._finished) < 2:
                return
            try:
                self._write_turn(turn)
            except Exception as exc:  # the store went away, the disk is full…
                self._end_failed({"reason": f"the store could not be written: {exc}"})
                kind = "failed"
            else:
                self.phase = "ready"
                self.settled.set()
                kind = "turn"
        self._tell(kind, None)

    # ------------------------------------------------------------------------------------
    # Writing.

    def _write_turn(self, turn: int) -> None:
        """Both responses of ``turn`` (whole conversations, linked to their runs), then its
        battle: the rows a later notebook reads."""
        ids: dict[str, str] = {}
        for name, side in self.sides.items():
            _, output = self._finished[name]
            messages = list(side.messages)
            response_id = "r" + content_id(self.round_id, side.model, turn, messages, length=15)
            self.store.record(
                "responses",
                {
                    "response_id": response_id,
                    "prompt_id": self.prompt["prompt_id"],
                    "model": side.model,
                    "turn": turn,
                    "messages": messages,
                    "execution_id": output.execution_id if output is not None else None,
                    "source": SOURCE,
                },
            )
            ids[name] = response_id
        view = self.item.view
        self.store.record(
            "battles",
            {
                "battle_id": self.battle_id(turn),
                "prompt_id": self.prompt["prompt_id"],
                "category": self.prompt.get("category"),
                "model_a": self.sides["a"].model,
                "model_b": self.sides["b"].model,
                "response_a": ids["a"],
                "response_b": ids["b"],
                "lang_a": view.lang_a,
                "lang_b": view.lang_b,
                "source": SOURCE,
            },
        )

    def _end_failed(self, why: dict[str, Any]) -> None:
        """The round cannot be judged: stop both streams, log it, tell the controller."""
        for side in self.sides.values():
            side.cancel.set()
        self._current = next(self._generation)
        self.phase = "failed"
        payload = {
            **why,
            "model_a": self.sides["a"].model,
            "model_b": self.sides["b"].model,
            "prompt_id": self.prompt.get("prompt_id"),
            "turn": self.turn,
            "source": SOURCE,
        }
        self.failure = payload
        try:
            self.store.record_failed_round(
                payload, annotator=self.controller.annotator, battle_id=self.battle_id()
            )
        except Exception as exc:  # said to the person with the failure itself
            payload["not_logged"] = f"the store could not be written: {exc}"
        self.controller.serve(None)
        self.settled.set()

    def _drop_turn(self) -> None:
        """Back to the last complete turn: its conversations, runs and edits as they were."""
        index = self.turn - 1
        for side in self.sides.values():
            del side.messages[self._marks[side.side] :]
            side.answered = min(side.answered, self.turn - 1)
            side.text, side.notices = "", []
        for screen in ("A", "B"):
            self.item.runs.pop((screen, index), None)
        self.item.edits[:] = [e for e in self.item.edits if e.get("turn") != self.turn]
        self.turn -= 1
        self._finished.clear()
        self.item.view = self._view()
        self.phase = "ready"
        self.settled.set()

    # ------------------------------------------------------------------------------------
    # Helpers.

    def _view(self) -> BattleView:
        record = {
            "battle_id": self.battle_id(),
            "prompt_id": self.prompt.get("prompt_id"),
            "category": self.prompt.get("category"),
            "model_a": self.sides["a"].model,
            "model_b": self.sides["b"].model,
            "response_a": "a",
            "response_b": "b",
        }
        view = build_view(record, {name: s.messages for name, s in self.sides.items()})

        def language(turns: tuple[Any, ...]) -> str | None:
            value = turns[-1].language if turns else None
            return value if value in LANGUAGES else None

        return dataclasses.replace(
            view, lang_a=language(view.turns_a), lang_b=language(view.turns_b)
        )

    def _names(self, models: tuple[str, str]) -> tuple[str, ...]:
        served = {self.client.config.spec(m).model for m in models}
        return tuple(sorted({*models, *served}))

    def _urls(self) -> set[str]:
        urls = set()
        for side in self.sides.values():
            spec = self.client.config.spec(side.model)
            urls.add((spec.base_url or self.client.config.base_url).rstrip("/"))
        return urls

    def _tell(self, kind: str, screen: str | None) -> None:
        if self.listener is not None:
            self.listener(kind, screen)
