"""The logic of a labeling session, without widgets: what to show next, votes, skips, undo.

:class:`LabelingController` serves one annotator's battles: it picks the next battle (pair
sampling, quality-control repeats and gold battles), randomises the sides, starts the code
runs (the next battle's in the background while the current one is judged), and writes every
vote, skip and undo to the :class:`~arena_kit.store.VoteStore` before it moves on. The widget
UI (:class:`arena_kit.labeling.ArenaSession`) is a thin layer over it.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ArenaKitError
from ..sampling import SAMPLING_MODES, choose_pair, current_ratings
from ..schema import WINNERS, normalize_winner
from ..store import StoreEvent, VoteStore, new_event_id
from .items import BattleView, build_view, side_swapped
from .render import markdown_html, redact
from .runs import Executor, RunCache, RunOutput, code_hash

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LabelingController", "Item", "CHOICES", "LabelingError", "SERVED_CODE_CHARS"]

CHOICES: tuple[str, ...] = ("A", "B", "tie", "both_bad")
"""What a person can say, in screen terms: the left panel (A), the right (B), tie, both bad."""


class LabelingError(ArenaKitError, RuntimeError):
    """A labeling action that cannot be done now (no annotator, outputs not ready…)."""


INTERACTION_GAP_S = 2.0
"""The most a pause between two clicks or keys counts as time spent trying an output."""

SERVED_CODE_CHARS = 100_000
"""The longest edited code a served session runs (a browser can send any text as the editor's
value; the sandbox bounds the run, this bounds what the kernel hashes, stores and ships)."""


def _public(counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "clicks": int(counts["clicks"]),
        "keys": int(counts["keys"]),
        "seconds": round(float(counts["seconds"]), 2),
        "live": bool(counts["live"]),
    }


@dataclass
class Item:
    """A battle being served: its sides on screen, its runs, its edits and its timing."""

    view: BattleView
    swapped: bool
    qc: str | None = None
    expected: str | None = None
    shown_at: float | None = None
    runs: dict[tuple[str, int], Future[RunOutput]] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    html: dict[str, str] = field(default_factory=dict)
    """Text → its HTML (redacted, highlighted), made in the background before the battle
    is shown, so that showing it costs no highlighting."""
    samples: dict[str, Future[RunOutput]] = field(default_factory=dict)
    """Screen side → the run of its program on the prompt's sample input (when the prompt
    has one, see :func:`arena_kit.extract.sample_io`)."""
    sample: tuple[str, str] | None = None
    """The prompt's ``(sample input, expected output)``, if it shows one."""
    interactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Screen side → how the person tried that side's running output (see
    :meth:`LabelingController.record_interaction`)."""

    def stored_side(self, screen: str) -> str:
        """``"a"`` or ``"b"``: the stored side shown in screen panel ``"A"`` or ``"B"``."""
        left = "b" if self.swapped else "a"
        right = "a" if self.swapped else "b"
        return left if screen == "A" else right

    def turns(self, screen: str) -> tuple[Any, ...]:
        side = self.stored_side(screen)
        return self.view.turns_a if side == "a" else self.view.turns_b

    def main_run(self, screen: str) -> Future[RunOutput] | None:
        """The run of the last turn's main code on screen side ``screen`` (None: no code)."""
        turns = self.turns(screen)
        if not turns:
            return None
        return self.runs.get((screen, len(turns) - 1))

    def ready(self) -> bool:
        """Both sides' outputs are there (a side without runnable code counts as ready)."""
        for screen in ("A", "B"):
            run = self.main_run(screen)
            if run is not None and not run.done():
                return False
        return True

    def winner(self, choice: str) -> str:
        """The stored winner for a screen choice (``"A"``, ``"B"``, ``"tie"``, ``"both_bad"``)."""
        if choice in ("A", "B"):
            return "model_" + self.stored_side(choice)
        return choice


class LabelingController:
    """Serve battles to one annotator and record what they say.

    Parameters
    ----------
    battles
        The battles table (:class:`arena_kit.schema.Battle` columns).
    responses
        The responses table (``response_id``, ``messages``) the battles point into.
    store
        A :class:`VoteStore` or the path of one.
    annotator
        The annotator id (can also be given later to :meth:`start`).
    sampling
        ``"uniform"``, ``"balanced"`` (default) or ``"active"`` (:mod:`arena_kit.sampling`).
    seed
        Seeds the sides, the sampling and the quality-control draws.
    executor
        ``execute(code, language, environment) -> result``; default:
        :func:`~arena_kit.labeling.runs.default_executor` (sandbox and visual rendering).
    prefetch
        Start the next battle's runs while the current one is judged.
    repeat_share
        Share of served battles that are battles already voted, served again (to this or
        another annotator) to measure agreement (``qc == "repeat"``).
    gold
        Battles with known answers: battle id → stored winner (or a DataFrame with
        ``battle_id`` and ``winner``). Every annotator gets them (``qc == "gold"``).
    gold_share
        Share of served battles drawn from the gold set while some are left.
    votes_per_battle
        A battle leaves the pool once it has this many votes (from anyone).
    max_workers
        Code runs at the same time.
    source
        The ``source`` of the votes written.
    allow_install
        Programs whose imports the sandbox lacks install them first (from ``index_url``,
        default pip's), in the background runs already: the person judges what would run.
        The install is recorded in the vote's ``edits``. Without it, a panel offers
        **Install and run** for a ``missing_dependency`` output.
    served
        The session is driven by an annotator's browser that is not trusted
        (``arena-kit label --serve``): a browser can send any widget value or click, hidden
        buttons included. Nothing installs packages then (``allow_install`` and ``index_url``
        are refused, and so is :meth:`rerun` with ``install=True``: installing is the one
        step of a run that reaches the network), and edited code is at most
        :data:`SERVED_CODE_CHARS` characters (it runs in the sandbox like every answer).
    """

    def __init__(
        self,
        battles: pd.DataFrame,
        responses: pd.DataFrame,
        store: VoteStore | str,
        *,
        annotator: str | None = None,
        sampling: str = "balanced",
        seed: int = 0,
        executor: Executor | None = None,
        prefetch: bool = True,
        repeat_share: float = 0.05,
        gold: Mapping[str, str] | pd.DataFrame | None = None,
        gold_share: float = 0.05,
        votes_per_battle: int = 1,
        max_workers: int = 2,
        source: str = "arena-kit",
        allow_install: bool = False,
        index_url: str | None = None,
        served: bool = False,
    ) -> None:
        from ..schema import validate

        if served and (allow_install or index_url):
            raise ValueError(
                "a served session never installs packages: drop allow_install and index_url"
            )

        if sampling not in SAMPLING_MODES:
            raise ValueError(
                f"unknown sampling mode {sampling!r}: use one of {', '.join(SAMPLING_MODES)}"
            )
        if not 0 <= repeat_share < 1 or not 0 <= gold_share < 1:
            raise ValueError("repeat_share and gold_share must be in [0, 1)")
        # An empty table serves no battle of its own: the live arena serves the rounds it
        # makes (:meth:`serve`).
        if len(battles):
            battles = validate(battles, "battles", source="battles")
        self.store = store if isinstance(store, VoteStore) else VoteStore(store)
        self._records: dict[str, dict[str, Any]] = {
            str(r["battle_id"]): {str(k): v for k, v in r.items()}
            for r in battles.to_dict("records")
        }
        self._order = list(self._records)
        self._messages = {
            str(rid): list(messages)
            for rid, messages in zip(responses["response_id"], responses["messages"], strict=True)
        }
        self.sampling = sampling
        self.seed = seed
        self.repeat_share = repeat_share
        self.gold = _gold_mapping(gold)
        unknown = [b for b in self.gold if b not in self._records]
        if unknown:
            raise ValueError(f"gold battles not among the battles: {unknown[:5]}")
        self.gold_share = gold_share
        self.votes_per_battle = votes_per_battle
        self.prefetch = prefetch
        self.source = source
        if executor is None:
            from .runs import default_executor

            executor = default_executor()
        self.runs = RunCache(executor, max_workers=max_workers)
        self.allow_install = allow_install
        self.index_url = index_url
        self.served = served
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-plan")
        self._lock = threading.RLock()
        self.annotator: str | None = None
        self.current: Item | None = None
        self._next: Future[Item | None] | None = None
        self._stack: list[Item] = []
        self._rng = random.Random(seed)
        self.last_vote: dict[str, Any] | None = None
        if annotator:
            self.start(annotator)

    # ------------------------------------------------------------------------------------
    # Starting and serving.

    def start(self, annotator: str) -> Item | None:
        """Begin (or resume) ``annotator``'s session; returns the first battle to show."""
        annotator = (annotator or "").strip()
        if not annotator:
            raise LabelingError("type an annotator id first (any name or code you choose)")
        with self._lock:
            self.annotator = annotator
            # One stream per annotator: two people with the same seed get different orders.
            self._rng = random.Random(f"{self.seed}:{annotator}")
            self._stack.clear()
            self._next = None
            self.current = None
            return self.advance()

    def _require_annotator(self) -> str:
        if not self.annotator:
            raise LabelingError("no annotator: call start(annotator) first")
        return self.annotator

    def _state(self) -> tuple[list[StoreEvent], set[str], set[str], Counter[str]]:
        """(active events, my done battles, my repeated battles, votes per battle)."""
        events = self.store.active_events()
        mine = [e for e in events if e.annotator == self.annotator]
        done = {str(e.battle_id) for e in mine if e.payload.get("qc") != "repeat"}
        repeated = {str(e.battle_id) for e in mine if e.payload.get("qc") == "repeat"}
        counts: Counter[str] = Counter(
            str(e.battle_id) for e in events if e.kind == "vote" and e.payload.get("qc") is None
        )
        return events, done, repeated, counts

    def _pool(self, done: set[str], counts: Counter[str], reserved: set[str]) -> list[str]:
        return [
            b
            for b in self._order
            if b not in done
            and b not in reserved
            and (b in self.gold or counts[b] < self.votes_per_battle)
        ]

    def _reserved(self) -> set[str]:
        reserved = {item.view.battle_id for item in self._stack}
        if self.current is not None:
            reserved.add(self.current.view.battle_id)
        return reserved

    def _plan(self, reserved: set[str]) -> Item | None:
        """Pick the next battle (in the planner thread) and start its runs."""
        events, done, repeated, counts = self._state()
        qc: str | None = None
        pool = self._pool(done, counts, reserved)
        voted = sorted(
            {
                str(e.battle_id)
                for e in events
                if e.kind == "vote" and e.payload.get("qc") is None and e.battle_id
            }
            - repeated
            - reserved
        )
        draw = self._rng.random()
        gold_pool = [b for b in pool if b in self.gold]
        plain_pool = [b for b in pool if b not in self.gold]
        if voted and draw < self.repeat_share:
            qc, candidates = "repeat", voted
        elif gold_pool and (draw < self.repeat_share + self.gold_share or not plain_pool):
            qc, candidates = "gold", gold_pool
        elif plain_pool:
            candidates = plain_pool
        else:
            return None
        if qc is None:
            taken = self.store.claimed_by_others(self.annotator)
            candidates = [b for b in candidates if b not in taken] or candidates
            votes = _votes_frame(events)
            ratings = current_ratings(votes) if self.sampling == "active" else None
            while True:
                pairs = [
                    (self._records[b]["model_a"], self._records[b]["model_b"]) for b in candidates
                ]
                battle_id = candidates[
                    choose_pair(pairs, votes, self.sampling, self._rng, ratings=ratings)
                ]
                # Another annotator may have claimed it since: then pick again.
                if len(candidates) == 1 or self.store.claim(battle_id, str(self.annotator)):
                    break
                candidates = [b for b in candidates if b != battle_id]
        else:
            battle_id = candidates[self._rng.randrange(len(candidates))]
        return self._item(battle_id, qc)

    def _item(self, battle_id: str, qc: str | None) -> Item:
        view = build_view(self._records[battle_id], self._messages)
        item = Item(
            view=view,
            swapped=side_swapped(self.seed, battle_id, self.annotator),
            qc=qc,
            expected=self.gold.get(battle_id) if qc == "gold" else None,
        )
        self.start_runs(item)
        prerender(item)
        return item

    def start_runs(self, item: Item) -> None:
        """Start the last turn's main code of both sides (cached by content), and, when the
        prompt shows a sample input and its expected output, each side's program on it."""
        self._start_samples(item)
        for screen in ("A", "B"):
            turns = item.turns(screen)
            if turns:
                self.start_run(item, screen, len(turns) - 1)

    def start_run(self, item: Item, screen: str, index: int) -> Future[RunOutput] | None:
        """Start (once) the main code of turn ``index`` on screen side ``screen``; its run, or
        None when that turn has no runnable code. With ``allow_install`` a program that
        imports what the sandbox lacks installs it first, recorded in the edits."""
        turn = item.turns(screen)[index]
        if turn.code is None or turn.environment is None:
            return None
        key = (screen, index)
        if key not in item.runs:
            install = self.install_options(turn.code, turn.language, turn.environment)
            if install and self.allow_install:
                # The person judges what would run: installed first, and recorded.
                item.runs[key] = self._edit_run(item, screen, index, turn.code, install)
            else:
                item.runs[key] = self.runs.submit(turn.code, turn.language, turn.environment)
        return item.runs[key]

    def _start_samples(self, item: Item) -> None:
        from ..sampleio import sample_io
        from ..web.execute import is_browser_javascript
        from .runs import is_program

        if item.samples:
            return
        item.sample = sample_io(item.view.prompt)
        if item.sample is None:
            return
        for screen in ("A", "B"):
            turns = item.turns(screen)
            last = turns[-1] if turns else None
            if last is None or last.code is None or not is_program(last.environment):
                continue
            if last.environment == "javascript" and is_browser_javascript(last.code):
                continue  # shown as a page: it reads no input
            item.samples[screen] = self.runs.submit(
                last.code, last.language, last.environment, options={"stdin": item.sample[0]}
            )

    def run_turn(self, screen: str, turn: int) -> Future[RunOutput] | None:
        """Run (or return the run of) turn ``turn``'s main code on screen side ``screen``."""
        item = self._require_current()
        turns = item.turns(screen)
        chosen = turns[turn]
        if chosen.code is None or chosen.environment is None:
            return None
        key = (screen, turn)
        if key not in item.runs:
            item.runs[key] = self.runs.submit(chosen.code, chosen.language, chosen.environment)
        return item.runs[key]

    def _schedule_next(self) -> None:
        if self.prefetch:
            reserved = self._reserved()
            self._next = self._planner.submit(self._plan, reserved)
        else:
            self._next = None

    def advance(self) -> Item | None:
        """Show the next battle (``None`` when none is left) and prefetch the one after."""
        with self._lock:
            self._require_annotator()
            if self._stack:
                item: Item | None = self._stack.pop()
            elif self._next is not None:
                item = self._next.result()
                if item is not None and item.view.battle_id in self._done_now():
                    item = self._plan(self._reserved())  # judged meanwhile (e.g. an undo race)
            else:
                item = self._plan(self._reserved())
            self.current = item
            if item is not None:
                item.shown_at = time.time()
                self._schedule_next()
            else:
                self._next = None
            return item

    def serve(self, item: Item | None) -> None:
        """Judge ``item``, built elsewhere (a live round), from now on; None: nothing.

        Votes, skips, re-runs and interactions then go to it as to a battle of the pool."""
        with self._lock:
            self._require_annotator()
            if item is not None and item.shown_at is None:
                item.shown_at = time.time()
            self.current = item

    def _done_now(self) -> set[str]:
        return self._state()[1]

    def _require_current(self) -> Item:
        if self.current is None:
            raise LabelingError("no battle is being shown (none left, or not started)")
        return self.current

    # ------------------------------------------------------------------------------------
    # Actions.

    def vote(
        self, choice: str, *, reason: str | None = None, force: bool = False
    ) -> dict[str, Any]:
        """Record a vote on the current battle, then move on. Returns the vote as stored.

        Parameters
        ----------
        choice
            ``"A"`` (left panel better), ``"B"``, ``"tie"`` or ``"both_bad"``.
        reason
            Optional free text.
        force
            Vote even though an output is not ready (for programs; the UI never does).

        Raises
        ------
        LabelingError
            Not started, nothing shown, or the outputs are not ready yet.
        """
        choice = {"a": "A", "b": "B"}.get(choice, choice)
        if choice not in CHOICES:
            choice = normalize_winner(choice)
            if choice not in ("tie", "both_bad"):
                raise LabelingError(f"unknown choice {choice!r}: use one of {CHOICES}")
        with self._lock:
            annotator = self._require_annotator()
            item = self._require_current()
            if not force and not item.ready():
                raise LabelingError("both outputs must be shown before voting")
            now = time.time()
            view = item.view
            vote = {
                "vote_id": new_event_id(),
                "battle_id": view.battle_id,
                "prompt_id": view.prompt_id,
                "category": view.category,
                "model_a": view.model_a,
                "model_b": view.model_b,
                "winner": item.winner(choice),
                "env_a": view.env("a"),
                "env_b": view.env("b"),
                "lang_a": view.lang_a or (view.turns_a[-1].language if view.turns_a else None),
                "lang_b": view.lang_b or (view.turns_b[-1].language if view.turns_b else None),
                "annotator": annotator,
                "swapped": item.swapped,
                "tstamp": now,
                "duration_s": round(now - (item.shown_at or now), 3),
                "turns": view.n_turns or 1,
                "reason": (reason or "").strip() or None,
                "edits": [dict(e) for e in item.edits],
                "interactions": {
                    item.stored_side(screen): _public(item.interactions[screen])
                    for screen in ("A", "B")
                    if screen in item.interactions
                },
                "source": self.source,
                "qc": item.qc,
            }
            assert vote["winner"] in WINNERS
            self.store.record_vote(vote)  # durable before the session moves on
            vote["expected"] = item.expected
            self.last_vote = vote
            self.advance()
            return vote

    def skip(self) -> str:
        """Record a skip of the current battle and move on; returns the event id."""
        with self._lock:
            annotator = self._require_annotator()
            item = self._require_current()
            event_id = self.store.record_skip(
                item.view.battle_id,
                annotator,
                qc=item.qc,
                duration_s=round(time.time() - (item.shown_at or time.time()), 3),
            )
            self.advance()
            return event_id

    def undo(self) -> Item | None:
        """Retract this annotator's last vote or skip and show that battle again.

        Returns the battle shown again, or ``None`` when there was nothing to undo.
        """
        with self._lock:
            annotator = self._require_annotator()
            event = self.store.undo_last(annotator)
            if event is None:
                return None
            if self.current is not None:
                self._stack.append(self.current)
            battle_id = str(event.battle_id)
            qc = event.payload.get("qc")
            view = build_view(self._records[battle_id], self._messages)
            item = Item(
                view=view,
                swapped=side_swapped(self.seed, battle_id, annotator),
                qc=qc,
                expected=self.gold.get(battle_id) if qc == "gold" else None,
                edits=list(event.payload.get("edits") or []),
            )
            self.start_runs(item)
            item.shown_at = time.time()
            self.current = item
            self.last_vote = None
            return item

    def install_options(
        self, code: str, language: str | None, environment: str | None = None
    ) -> dict[str, Any]:
        """Executor options that install what a Python program imports and the sandbox lacks
        (empty when it lacks nothing, the code is not a program that can install, or the
        session is served)."""
        if self.served or language != "python" or environment not in (None, "python"):
            return {}
        from ..sandbox.install import missing_requirements

        try:
            missing = missing_requirements(code)
        except Exception:  # unparsable code: it cannot import anything anyway
            return {}
        if not missing:
            return {}
        options: dict[str, Any] = {"allow_install": True, "install": missing}
        if self.index_url:
            options["index_url"] = self.index_url
        return options

    def rerun(
        self,
        screen: str,
        code: str,
        *,
        turn: int = -1,
        wall_s: float | None = None,
        install: bool = False,
    ) -> Future[RunOutput]:
        """Run (edited) code of screen side ``screen`` in the sandbox; the run joins the edits.

        ``wall_s`` runs it with that wall-clock limit (a timeout's **Re-run with 60 s**);
        ``install=True`` installs the Python packages it imports and the sandbox lacks first
        (**Install and run**). The edit (stored side, turn, code hash, what was installed or
        the limit, status, execution id) is recorded with the vote; its status is
        ``"running"`` until the run ends.
        """
        if self.served and install:
            raise LabelingError("installing packages is off in this served session")
        if self.served and len(code) > SERVED_CODE_CHARS:
            raise LabelingError(
                f"the edited code is too long to run here ({len(code):,} characters; at most "
                f"{SERVED_CODE_CHARS:,})"
            )
        item = self._require_current()
        turns = item.turns(screen)
        index = turn % len(turns)
        options: dict[str, Any] = {}
        if install:
            options.update(self.install_options(code, turns[index].language))
        if wall_s is not None:
            options["limits"] = {"wall_s": float(wall_s)}
        return self._edit_run(item, screen, index, code, options)

    def _edit_run(
        self, item: Item, screen: str, index: int, code: str, options: dict[str, Any]
    ) -> Future[RunOutput]:
        turn = item.turns(screen)[index]
        installed = list(options.pop("install", []))
        future = self.runs.submit(
            code, turn.language, turn.environment, fresh=True, options=options or None
        )
        edit: dict[str, Any] = {
            "side": item.stored_side(screen),
            "turn": index + 1,
            "code_hash": code_hash(code),
            "language": turn.language,
            "status": "running",
            "execution_id": None,
            "tstamp": time.time(),
        }
        if installed:
            edit["installed"] = installed
        if "limits" in options:
            edit["wall_s"] = options["limits"]["wall_s"]
        item.edits.append(edit)

        def finished(done: Future[RunOutput]) -> None:
            output = done.result()
            edit["status"] = output.status
            edit["execution_id"] = output.execution_id

        future.add_done_callback(finished)
        return future

    # ------------------------------------------------------------------------------------
    # Interaction with the running outputs.

    def record_interaction(self, screen: str, kind: str, *, now: float | None = None) -> None:
        """Count a click or key press (``kind``) in screen side ``screen``'s running output,
        or ``"live"`` when its live view (an app, a game) was opened.

        Seconds interacting add up the gaps between consecutive events of a side, each gap
        counted up to :data:`INTERACTION_GAP_S` (a pause longer than that is not trying).
        """
        item = self.current
        if item is None or screen not in ("A", "B"):
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            counts = item.interactions.setdefault(
                screen, {"clicks": 0, "keys": 0, "seconds": 0.0, "live": False, "_last": None}
            )
            if kind == "live":
                counts["live"] = True
                return
            if kind not in ("click", "key"):
                return
            counts["clicks" if kind == "click" else "keys"] += 1
            if counts["_last"] is not None:
                counts["seconds"] += min(now - counts["_last"], INTERACTION_GAP_S)
            counts["_last"] = now

    def add_interactions(
        self, screen: str, *, keys: int, clicks: int, seconds: float, live: bool
    ) -> None:
        """Add counts kept elsewhere (a game played live counts its own input on the host)."""
        item = self.current
        if item is None or screen not in ("A", "B"):
            return
        with self._lock:
            counts = item.interactions.setdefault(
                screen, {"clicks": 0, "keys": 0, "seconds": 0.0, "live": False, "_last": None}
            )
            counts["keys"] += int(keys)
            counts["clicks"] += int(clicks)
            counts["seconds"] += float(seconds)
            counts["live"] = counts["live"] or bool(live)

    # ------------------------------------------------------------------------------------
    # Progress.

    def tally(self) -> tuple[int, int]:
        """(votes, skips) in force for this annotator (repeats of quality checks included)."""
        events, _, _, _ = self._state()
        mine = [e for e in events if e.annotator == self.annotator]
        return sum(e.kind == "vote" for e in mine), sum(e.kind == "skip" for e in mine)

    def progress(self) -> tuple[int, int]:
        """(battles this annotator has done, battles left for them)."""
        _, done, _, counts = self._state()
        left = len(self._pool(done, counts, set()))
        return len(done), left

    def close(self) -> None:
        """Stop background work (runs under way finish on their own); free claimed battles."""
        self._planner.shutdown(wait=False, cancel_futures=True)
        if self.annotator:
            # Closing must not fail on a store that went away.
            with contextlib.suppress(Exception):
                self.store.release(self.annotator)
        self.runs.shutdown()


def prerender(item: Item) -> None:
    """Fill ``item.html`` with the HTML of its prompt, user turns and answers."""
    names = (item.view.model_a, item.view.model_b)
    texts = [item.view.prompt]
    for turn in (*item.view.turns_a, *item.view.turns_b):
        texts.extend((turn.user, turn.answer))
    for text in texts:
        if text and text not in item.html:
            item.html[text] = markdown_html(redact(text, names))


def _votes_frame(events: list[StoreEvent]) -> pd.DataFrame:
    import pandas as pd

    rows = [
        {
            "model_a": e.payload["model_a"],
            "model_b": e.payload["model_b"],
            "winner": e.payload["winner"],
        }
        for e in events
        if e.kind == "vote"
    ]
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def _gold_mapping(gold: Mapping[str, str] | pd.DataFrame | None) -> dict[str, str]:
    if gold is None:
        return {}
    pairs: list[tuple[Any, Any]]
    if hasattr(gold, "to_dict") and hasattr(gold, "columns"):
        frame: Any = gold
        pairs = list(zip(frame["battle_id"], frame["winner"], strict=True))
    else:
        pairs = list(dict(gold).items())
    mapping = {}
    for battle_id, winner in pairs:
        normal = normalize_winner(winner)
        if normal not in WINNERS:
            raise ValueError(f"gold battle {battle_id!r}: unknown winner {winner!r}")
        mapping[str(battle_id)] = normal
    return mapping
