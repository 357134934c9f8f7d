"""``LiveArena``: the live arena in a notebook — your prompt, two anonymous models, both answers
streamed side by side, their code run at once, follow-ups, edits, and a vote.

>>> from arena_kit.labeling import LiveArena
>>> from arena_kit.models import ModelClient
>>> LiveArena(client=ModelClient("models.yaml"), store="votes.sqlite")   # doctest: +SKIP

It is a labeling session whose battles are made on the spot: the panels, the runs, **Try it
live**, the PyGame player, edit-and-re-run, the keys and the vote are
:class:`~arena_kit.labeling.ArenaSession`'s; what it adds is the prompt box, the streaming,
the follow-up turns and the round's life (:class:`~arena_kit.labeling.live_round.LiveRound`).
Everything lands in the store as it happens (``source="live"``), so ``03``, ``04``, the
judges and the report read a live session by being given the store.
"""

from __future__ import annotations

import contextlib
import html
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..models import DEFAULT_SYSTEM_PROMPT, ClientConfig, ModelClient
from ..sampling import SAMPLING_MODES, choose_pair
from ..schema import CATEGORIES, CATEGORY_LABELS
from ..store import VoteStore
from .controller import CHOICES, LabelingError
from .items import side_swapped
from .live_round import MAX_TURNS, SOURCE, LiveRound
from .render import STYLE, markdown_html, output_html, prompt_html
from .runs import Executor
from .session import LONG_PROMPT_CHARS, LONG_PROMPT_LINES, ArenaSession

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LiveArena", "recording_executor", "analysis_commands", "STREAM_INTERVAL_S"]

STREAM_INTERVAL_S = 0.04
"""The most often a streaming answer's text is sent to the browser (the first piece of an
answer goes at once): a fast model sends hundreds of pieces a second."""

LIVE_STYLE = """
<style>
.arena-session .arena-stream-text { white-space: pre-wrap; word-break: break-word;
  line-height: 1.4; margin-top: 4px; }
.arena-session .arena-notice { color: #9a6700; font-size: 0.9em; }
.arena-session .arena-failed { color: #cf222e; font-weight: 600; }
.arena-session .arena-composer textarea { font-family: inherit; }
.arena-session .arena-panel.arena-chat { flex-direction: column-reverse; }
/* bottom-up, yet a short conversation starts at the top: the free space goes under it */
.arena-session .arena-panel.arena-chat > :first-child { margin-bottom: auto; }
</style>
"""

LIVE_PANEL_HEIGHT = "clamp(16em, calc(100vh - 530px), 44em)"
"""Both panels' height: as the labeling session's, less the message box and its controls,
so that the prompt, the panels, the message box and the vote buttons fit a 900 px window
under JupyterLab's bars."""

PREVIEW_ENVIRONMENTS = ("html", "react", "vue", "markdown")
"""Pages shown live as soon as they are built, before their run's screenshot (Mermaid waits
for its drawing: the library is megabytes)."""

EMPTY_ANSWER_HTML = "<p><i>(the model sent an empty answer)</i></p>"

_WAITING = "<i>waiting for the first words…</i>"


def recording_executor(executor: Executor, store: VoteStore) -> Executor:
    """``executor``, with each run written to ``store``'s executions as it ends.

    A run's ``execution_id`` is a content hash of what ran, so a cached or repeated run is
    stored once (the store keeps the first write)."""

    def execute(code: str, language: str | None, environment: str | None, **options: Any) -> Any:
        result = executor(code, language, environment, **options)
        to_record = getattr(result, "to_record", None)
        if callable(to_record):
            store.record("executions", to_record())
        return result

    return execute


def analysis_commands(store_path: str | Path) -> str:
    """Markdown: the commands that analyse a store a live arena wrote — ``03``, ``04`` and
    the report on its votes (:func:`arena_kit.report.analysis_commands`), then the report
    with the execution section and the judges, which read its answers, runs and battles."""
    import shlex
    import sys

    from ..report import analysis_commands as vote_commands

    store = shlex.quote(str(Path(store_path).expanduser().resolve()))
    out = shlex.quote(str(Path(store_path).expanduser().resolve().parent / "reports" / "live"))
    tool = shlex.quote(str(Path(sys.executable).parent / "arena-kit"))
    return (
        vote_commands(store_path)
        + "\n\nThe store also holds the live rounds' answers, runs and battles: the report "
        "with how the code ran and the judges scored against these votes:\n\n```bash\n"
        f"{tool} report --votes {store} --responses {store} --executions {store} \\\n"
        f"    --battles {store} --judges --out {out}\n```"
    )


class _Throttle:
    """Calls ``push`` at most every ``interval`` seconds, and always once after the last poke:
    the first piece of text shows at once, the last one is never left out."""

    def __init__(self, push: Callable[[], None], interval: float) -> None:
        self._push = push
        self._interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._timer: threading.Timer | None = None

    def poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                return  # a push is due: it will show this piece too
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = time.monotonic()
        self._push()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._push()


class LiveArena(ArenaSession):
    """Judge two anonymous models live: type a prompt (or sample one), watch both answers
    stream in, see their code run, follow up, edit and re-run, then vote.

    Parameters
    ----------
    models
        The model names to pair (keys of the client's configuration, or names the server
        knows); default: every model the configuration lists. At least two.
    client
        A :class:`~arena_kit.models.ModelClient`, or what makes one (the path of its YAML, a
        :class:`~arena_kit.models.ClientConfig`, a mapping). Keys are read from the
        environment variables the configuration names, never stored. Nothing is cached: the
        same prompt gets fresh answers.
    store
        A :class:`~arena_kit.store.VoteStore` or its path (created if missing).
    annotator
        The annotator id; when missing the arena asks for it first.
    sampling
        How a round's two models are picked: ``"uniform"``, ``"balanced"`` (the pair with the
        fewest votes in the store first, the default) or ``"active"``.
    seed
        Seeds the pairing, the sides and the sampled prompts (default: a new seed per arena).
    system_prompt
        The system message every conversation starts with (default: the sandbox-aware
        :data:`~arena_kit.models.DEFAULT_SYSTEM_PROMPT`; None: none).
    max_turns
        The most user turns a round takes.
    prompts
        The prompts **Sample a prompt** draws from (``instruction``, ``category``); default:
        the 600 bundled AutoCodeArena prompts.
    executor
        Runs the code (default: :func:`~arena_kit.labeling.runs.default_executor`, pages, apps
        and games rendered); each run is also written to the store's executions.
    **options
        ``allow_install``, ``index_url``, ``max_workers``, ``warm_apps``: as for
        :class:`~arena_kit.labeling.ArenaSession`.
    """

    def __init__(
        self,
        models: list[str] | tuple[str, ...] | None = None,
        client: ModelClient | ClientConfig | Mapping[str, Any] | str | Path | None = None,
        store: VoteStore | str | Path = "votes.sqlite",
        *,
        annotator: str | None = None,
        sampling: str = "balanced",
        seed: int | None = None,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        max_turns: int = MAX_TURNS,
        prompts: pd.DataFrame | None = None,
        executor: Executor | None = None,
        **options: Any,
    ) -> None:
        import pandas as pd

        if sampling not in SAMPLING_MODES:
            raise ValueError(
                f"unknown sampling mode {sampling!r}: use one of {', '.join(SAMPLING_MODES)}"
            )
        unknown = sorted(set(options) - {"allow_install", "index_url", "max_workers", "warm_apps"})
        if unknown:
            raise TypeError(f"LiveArena() got unexpected option(s): {', '.join(unknown)}")
        self.client = client if isinstance(client, ModelClient) else ModelClient(client)
        names = list(models) if models is not None else list(self.client.config.models)
        self.models = list(dict.fromkeys(str(m) for m in names))
        if len(self.models) < 2:
            raise LabelingError(
                f"the live arena pairs two models and was given {len(self.models)} "
                f"({', '.join(self.models) or 'none'}). Fix: list at least two under models: "
                "in the configuration, or pass models=[...]"
            )
        self.sampling = sampling
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._rng = random.Random(self.seed)
        self.system_prompt = system_prompt
        self.max_turns = max_turns
        self._prompt_pool = prompts
        self._sampled: tuple[str, str] | None = None
        self.round: LiveRound | None = None
        self.rounds = 0
        """Rounds started in this arena."""
        vote_store = store if isinstance(store, VoteStore) else VoteStore(store)
        if executor is None:
            from .runs import default_executor

            executor = default_executor()
            # The first page answer would otherwise wait for the page renderer's browser to
            # start (2-3 s): it starts now, while the person types.
            threading.Thread(target=_warm_renderer, daemon=True).start()
        super().__init__(
            pd.DataFrame(),
            pd.DataFrame(columns=["response_id", "messages"]),
            vote_store,
            executor=recording_executor(executor, vote_store),
            source=SOURCE,
            prefetch=False,
            repeat_share=0.0,
            gold_share=0.0,
            **options,
        )
        # The classifier trains at first use (about a second): not during the first prompt.
        threading.Thread(target=_warm_classifier, daemon=True).start()
        if annotator:
            self.start(annotator)

    # ------------------------------------------------------------------------------------
    # Widgets.

    def _build(self) -> None:
        super()._build()
        self.title.value = (
            STYLE + LIVE_STYLE + "<b>arena-kit live arena</b> — your prompt, two anonymous "
            "models; judge them by what their code does"
        )
        self.message = widgets.Textarea(
            placeholder="Your prompt: what should both models build? (or sample one)",
            layout=widgets.Layout(flex="1 1 auto", width="auto", height="4.7em"),
        )
        self.category = widgets.Dropdown(
            options=[("category: predicted from the prompt", "")]
            + [(f"category: {CATEGORY_LABELS[c]}", c) for c in CATEGORIES],
            value="",
            layout=widgets.Layout(width="22em"),
        )
        wide = widgets.Layout(width="13em")
        self.send_button = widgets.Button(
            description="Send ▶", button_style="primary", tooltip="send to both models",
            layout=wide,
        )  # fmt: skip
        self.sample_button = widgets.Button(
            description="🎲 Sample a prompt", tooltip="one of the 600 AutoCodeArena prompts",
            layout=widgets.Layout(width="13em"),
        )  # fmt: skip
        self.cancel_button = widgets.Button(
            description="■ Cancel", button_style="warning", tooltip="stop both answers",
            disabled=True, layout=widgets.Layout(width="11em"),
        )  # fmt: skip
        self.new_button = widgets.Button(
            description="↺ New round", disabled=True, layout=widgets.Layout(width="11em")
        )
        for button, action in (
            (self.send_button, "send"),
            (self.sample_button, "sample"),
            (self.cancel_button, "cancel"),
            (self.new_button, "new"),
        ):
            button.on_click(lambda _, a=action: self.click(a))
        # The message box beside its buttons, the round's controls under it: the panels get
        # the height, and the vote buttons stay on screen.
        self.composer = widgets.VBox(
            [
                widgets.HBox(
                    [self.message, widgets.VBox([self.send_button, self.sample_button])],
                    layout=widgets.Layout(width="100%"),
                ),
                widgets.HBox([self.category, self.cancel_button, self.new_button]),
            ]
        )
        self.composer.add_class("arena-composer")
        self.stream_views = {screen: widgets.HTML("") for screen in ("A", "B")}
        self.notes = {screen: widgets.HTML("") for screen in ("A", "B")}
        self._throttles = {
            screen: _Throttle(partial(self._push_stream, screen), STREAM_INTERVAL_S)
            for screen in ("A", "B")
        }
        self._done_widgets: dict[str, tuple[widgets.Widget, ...]] = {}
        self._previews = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-preview")
        self.undo_button.layout.display = "none"  # votes are final in a live round
        self.keys.hint = (
            "Keys: 1 A better · 2 B better · 3 tie · 4 both bad · s skip (click here first)"
        )
        self.panels.layout.display = "none"  # until the first round
        for panel in (self.panel_a, self.panel_b):
            panel.layout.height = LIVE_PANEL_HEIGHT
        self.main.children = (
            self.count,
            self.prompt,
            self.panels,
            self.composer,
            self.reason,
            widgets.HBox([*self.buttons.values(), self.skip_button]),
            self.status,
            self.keys,
        )

    # ------------------------------------------------------------------------------------
    # Actions (the buttons and keys call these).

    def start(self, annotator: str) -> None:
        """Log ``annotator`` in; the arena then waits for a prompt."""
        if self.controller.annotator and self.controller.annotator == annotator.strip():
            return
        try:
            self.controller.start(annotator)
        except LabelingError as exc:
            self._say_error(exc)
            return
        self.annotator_box.value = self.controller.annotator or ""
        self.login.layout.display = "none"
        self.main.layout.display = None
        self.title.value = (
            STYLE + LIVE_STYLE + "<b>arena-kit live arena</b> — annotator "
            f"<code>{html.escape(self.controller.annotator or '')}</code>"
        )
        self.status.value = "Type a prompt (or sample one) and send it to two anonymous models."
        self._refresh()

    def click(self, action: str) -> None:
        """Do what a button does: ``"send"``, ``"sample"``, ``"cancel"``, ``"new"``, a vote
        (``"A"``, ``"B"``, ``"tie"``, ``"both_bad"``) or ``"skip"``."""
        try:
            if action in CHOICES:
                self._vote(action)
            elif action == "skip":
                self._skip()
            elif action == "send":
                self.send(self.message.value)
            elif action == "sample":
                self.sample_prompt()
            elif action == "cancel":
                self.cancel()
            elif action == "new":
                self.new_round()
            elif action == "undo":
                raise LabelingError("a live round's vote is final (there is no undo)")
            else:
                raise ValueError(f"unknown action {action!r}")
        except LabelingError as exc:
            self._say_error(exc)

    def send(self, text: str, *, category: str | None = None) -> None:
        """Send ``text`` to both models: the prompt of a new round, or the next message of
        the round under way (a follow-up, once its turn is complete).

        ``category`` (a prompt only): one of :data:`~arena_kit.schema.CATEGORIES`; default:
        the category menu's, else predicted from the prompt."""
        if not self.controller.annotator:
            raise LabelingError("type an annotator id first (any name or code you choose)")
        current = self.round
        if current is not None and not current.over:
            self._shown.clear()

            def lay_out() -> None:
                self.message.value = ""
                self.status.value = f"Turn {current.turn}: both models are answering…"
                for screen in ("A", "B"):
                    self._render(current, screen, rebuild=False)
                self._refresh()

            current.send(text, before_streams=lay_out)
            return
        self._begin(text, category if category is not None else self.category.value)

    def sample_prompt(self) -> dict[str, Any]:
        """Put one of the prompts (default: AutoCodeArena's) in the prompt box, its category
        in the menu; returns it (``prompt_id``, ``instruction``, ``category``)."""
        if self.round is not None and not self.round.over:
            raise LabelingError("finish this round first (vote, skip or start a new round)")
        pool = self._prompts()
        row = pool.iloc[self._rng.randrange(len(pool))]
        instruction, category = str(row["instruction"]), row.get("category")
        category = category if category in CATEGORIES else ""
        self.message.value = instruction
        self.category.value = category
        self._sampled = (instruction, category)
        said = f" ({CATEGORY_LABELS[category]})" if category else ""
        self.status.value = f"A sampled prompt{said}: edit it if you like, then send it."
        return {"prompt_id": row.get("prompt_id"), "instruction": instruction,
                "category": category or None}  # fmt: skip

    def cancel(self) -> None:
        """Stop both answers of the turn under way (the turn is dropped)."""
        if self.round is None or not self.round.cancel():
            raise LabelingError("nothing to cancel: no answer is arriving")

    def new_round(self) -> None:
        """Leave the round (unvoted rounds are left as they are in the store) and clear the
        panels for a new prompt."""
        current = self.round
        with self._lock:
            if current is not None and not current.over:
                current.finish("abandoned")
                self.controller.serve(None)
            self._stop_live()
            for panel in self._fixed.values():
                self._close_game(panel)
            self.round = None
            self._done_widgets.clear()
            for panel in (self.panel_a, self.panel_b):
                panel.children = ()
                panel.remove_class("arena-chat")
            self.panels.layout.display = "none"
            self.prompt.value = ""
            self.reason.value = ""
        self.status.value = "New round: type a prompt (or sample one)."
        self._refresh()

    def wait(self, timeout: float = 120.0) -> str:
        """Block until the turn under way is complete (or the round ended) and shown; the
        round's phase (``"ready"``, ``"failed"``…). For programs and tests."""
        current = self.round
        if current is None:
            raise LabelingError("no round: send a prompt first")
        deadline = time.monotonic() + timeout
        current.wait(timeout)
        self._shown.wait(max(0.0, deadline - time.monotonic()))
        return current.phase

    # ------------------------------------------------------------------------------------
    # A round.

    def _begin(self, text: str, chosen: str | None) -> None:
        instruction = text.strip()
        if not instruction:
            raise LabelingError("type a prompt first (or sample one)")
        category, origin = self._category(instruction, chosen or None)
        model_a, model_b = self._pair()
        self.new_round()
        annotator = str(self.controller.annotator)
        round_id = f"{int(time.time()):x}{self._rng.getrandbits(24):06x}"
        prompt = {
            "prompt_id": f"live-{round_id}",
            "instruction": instruction,
            "category": category,
            "source": SOURCE,
            "category_source": origin,
        }
        current = LiveRound(
            client=self.client,
            controller=self.controller,
            models=(model_a, model_b),
            swapped=side_swapped(self.seed, round_id, annotator),
            prompt=prompt,
            system_prompt=self.system_prompt,
            max_turns=self.max_turns,
            round_id=round_id,
        )
        current.listener = partial(self._on_round, current)
        current.item.html[""] = EMPTY_ANSWER_HTML
        with self._lock:
            self.round = current
            self.rounds += 1
            self._shown.clear()
            long = len(instruction) > LONG_PROMPT_CHARS or instruction.count("\n") >= (
                LONG_PROMPT_LINES)  # fmt: skip
            said = CATEGORY_LABELS.get(category or "", "none")
            how = {"predicted": "predicted"}.get(origin, origin)
            self.prompt.value = prompt_html(
                f"Prompt · category: {said} ({how})",
                markdown_html(current.redact(instruction)),
                long=long,
            )
            self.panels.layout.display = None
            for screen in ("A", "B"):
                self.notes[screen].value = ""
                self.stream_views[screen].value = _WAITING
            self.message.value = ""
            self.category.value = ""
            self._sampled = None

        def lay_out() -> None:
            self.status.value = "Both models are answering…"
            for screen in ("A", "B"):
                self._render(current, screen)
            self._refresh()

        current.begin(before_streams=lay_out)

    def _category(self, instruction: str, chosen: str | None) -> tuple[str | None, str]:
        """The prompt's category and where it comes from (given, sampled or predicted)."""
        if chosen is not None and chosen not in CATEGORIES:
            raise LabelingError(f"unknown category {chosen!r}: use one of {', '.join(CATEGORIES)}")
        sampled = self._sampled
        if sampled is not None and chosen == sampled[1] and chosen:
            if instruction == sampled[0].strip():
                return chosen, self._pool_source()
            chosen = None  # the sampled prompt was edited: its category may no longer fit
        if chosen:
            return chosen, "given"
        from ..categories import classify

        with _CLASSIFIER_LOCK:
            return classify([instruction])[0], "predicted"

    def _pair(self) -> tuple[str, str]:
        """Two models for the next round (``sampling``), in a random stored order."""
        pairs = [
            (a, b) for i, a in enumerate(self.models) for b in self.models[i + 1 :]
        ]  # fmt: skip
        votes = self.store.votes() if self.sampling != "uniform" else None
        a, b = pairs[choose_pair(pairs, votes, self.sampling, self._rng)]
        return (a, b) if self._rng.random() < 0.5 else (b, a)

    def _prompts(self) -> pd.DataFrame:
        if self._prompt_pool is None:
            from ..datasets import bundled_prompts

            self._prompt_pool = bundled_prompts()
        if not len(self._prompt_pool):
            raise LabelingError("no prompts to sample from")
        return self._prompt_pool

    def _pool_source(self) -> str:
        pool = self._prompt_pool
        if pool is not None and "source" in pool.columns and len(pool):
            value = pool["source"].iloc[0]
            if isinstance(value, str) and value:
                return value
        return "sampled"

    # ------------------------------------------------------------------------------------
    # Showing a round (called from the streaming and run threads).

    def _on_round(self, current: LiveRound, kind: str, screen: str | None) -> None:
        if current is not self.round:
            return  # a round left behind
        if kind == "text" and screen is not None:
            self._throttles[screen].poke()
        elif kind == "notice" and screen is not None:
            self._push_stream(screen)
        elif kind == "answer" and screen is not None:
            self._render(current, screen)
            self._refresh()
            self._start_preview(current, screen)
        elif kind == "turn":
            self.status.value = (
                f"Turn {current.turn} complete: vote, or follow up (your next message goes to "
                "both models)."
            )
            self._refresh()
            self._shown.set()
        elif kind == "cancelled":
            for side in ("A", "B"):
                self._render(current, side)
            self.status.value = (
                f"Cancelled: the follow-up was dropped. The round is back at turn "
                f"{current.turn}: vote, or follow up again."
            )
            self._refresh()
            self._shown.set()
        elif kind == "failed":
            self._show_failure(current)
            self._refresh()
            self._shown.set()

    def _push_stream(self, screen: str) -> None:
        current = self.round
        if current is None or not current.streaming(screen):
            return
        side = current.side_of(screen)
        text = current.redact(side.text)
        said = f"{len(text):,} characters" if text else "waiting for the first words"
        notes = "".join(
            f"<div class='arena-notice'>⚠ {html.escape(note)}</div>" for note in side.notices
        )
        body = html.escape(text)
        self.stream_views[screen].value = (
            f"<div class='arena-status' style='color:#9a6700'>Model {screen} is answering… "
            f"({said})</div>{notes}<div class='arena-stream-text'>{body}</div>"
        )

    def _render(self, current: LiveRound, screen: str, *, rebuild: bool = True) -> None:
        """Screen side ``screen``'s panel: the complete turns as a labeling session shows
        them (outputs, live views, editors), then the answer arriving now. ``rebuild=False``
        keeps the complete turns' widgets as they are (an editor's text, a game being played)."""
        with self._lock:
            if current is not self.round:
                return
            item = current.item
            side = current.side_of(screen)
            children: list[widgets.Widget] = []
            done = self._done_widgets.get(screen)
            if done is None or rebuild:
                if item.turns(screen):
                    done = tuple(self._panel(item, screen))
                else:
                    done = (widgets.HTML(f"<div class='arena-side'>Model {screen}</div>"),)
                self._done_widgets[screen] = done
            children.extend(done)
            if current.streaming(screen):
                self.notes[screen].value = ""
                if current.turn > 1:
                    user = side.messages[-1]["content"]
                    children.append(
                        widgets.HTML(
                            f"<div class='arena-prompt'><b>User, turn {current.turn}</b>"
                            f"{markdown_html(current.redact(user))}</div>"
                        )
                    )
                children.append(self.stream_views[screen])
                self._push_stream(screen)
            elif side.notices:
                attempts = side.completion.attempts if side.completion is not None else 0
                self.notes[screen].value = (
                    f"<div class='arena-notice'>⚠ Turn {current.turn} was answered after "
                    f"{attempts} attempts: "
                    + "; ".join(html.escape(n) for n in side.notices)
                    + "</div>"
                )
                children.insert(1, self.notes[screen])
            panel = self.panel_a if screen == "A" else self.panel_b
            # A conversation (a later turn, or an answer arriving) is read from its end: the
            # panel is laid out bottom-up (its children in reverse, shown in order), so the
            # browser keeps its newest part in view as it grows. A single finished turn reads
            # from the top, its output first, as in a labeling session.
            chat = current.streaming(screen) or len(item.turns(screen)) > 1
            if chat:
                panel.add_class("arena-chat")
                panel.children = tuple(reversed(children))
            else:
                panel.children = tuple(children)
                panel.remove_class("arena-chat")

    def _start_preview(self, current: LiveRound, screen: str) -> None:
        """A page answer's run builds the page, renders it and checks the screenshot (about a
        second, the two sides' pages one after the other): the page itself, built alone in a
        few milliseconds, is shown live meanwhile, and the run's outcome replaces it."""
        from ..web.execute import is_browser_javascript

        item = current.item
        turns = item.turns(screen)
        if not turns:
            return
        turn = turns[-1]
        run = item.runs.get((screen, len(turns) - 1))
        page = turn.environment in PREVIEW_ENVIRONMENTS or (
            turn.environment == "javascript" and is_browser_javascript(turn.code or "")
        )
        if run is None or run.done() or not page or not turn.code:
            return
        outputs = [
            widget
            for widget in self._done_widgets.get(screen, ())
            if "arena-output" in getattr(widget, "_dom_classes", ())
        ]
        if outputs:
            self._previews.submit(self._preview, current, run, outputs[-1], turn)

    def _preview(self, current: LiveRound, run: Any, target: widgets.HTML, turn: Any) -> None:
        from ..web.build import build_page
        from ..web.display import iframe

        try:
            page = build_page(turn.code, turn.environment, language=turn.language)
        except Exception:  # noqa: BLE001 - the run itself reports a page that does not build
            return
        if current is not self.round or current.over or run.done():
            return
        target.value = (
            "<div class='arena-out'><div class='arena-status' style='color:#9a6700'>page "
            "built: live below; its screenshot and checks are still running…</div>"
            f"<div class='arena-live-page'>{iframe(page.html, height=420, count=True)}</div>"
            "</div>"
        )
        if run.done():  # it ended meanwhile: its outcome, not the preview
            target.value = output_html(run.result())

    def _show_failure(self, current: LiveRound) -> None:
        """A void round: why, in both panels and the status line; the names, since no vote
        can be cast on it any more."""
        failure = current.failure or {}
        side = failure.get("side")
        reason = str(failure.get("reason") or "unknown")
        shown_a = current.side_of("A").model
        shown_b = current.side_of("B").model
        if side in ("a", "b"):
            screen = current.screen(side)
            who = f"Model {screen}'s answer failed for good: {reason}."
        else:
            who = f"The round stopped: {reason}."
        logged = (
            f" It could not be logged: {failure['not_logged']}."
            if failure.get("not_logged")
            else " It is logged as a failed round."
        )
        message = (
            f"✗ {who} This round is void: no vote can be cast on it.{logged} "
            f"(A was {shown_a}, B was {shown_b}.) Start a new round."
        )
        with self._lock:
            for screen in ("A", "B"):
                failed_here = side is None or screen == current.screen(side)
                said = who if failed_here else "Stopped: the other model failed."
                self.stream_views[
                    screen
                ].value = f"<div class='arena-failed'>{html.escape(said)}</div>"
        self.status.value = f"<span class='arena-failed'>{html.escape(message)}</span>"

    # ------------------------------------------------------------------------------------
    # Judging.

    def _vote(self, choice: str) -> None:
        current = self.round
        if current is None or current.over:
            raise LabelingError("no round to vote on: send a prompt first")
        if current.phase != "ready":
            raise LabelingError("wait until both answers are in and their code has run")
        with self._lock:
            self._fold_game_counts(current.item)
            vote = self.controller.vote(choice, reason=self.reason.value)
            current.finish("voted")
            self.reason.value = ""
        said = {"A": "A is better", "B": "B is better", "tie": "a tie", "both_bad": "both bad"}
        shown_a = vote["model_b"] if vote["swapped"] else vote["model_a"]
        shown_b = vote["model_a"] if vote["swapped"] else vote["model_b"]
        turns = vote["turns"]
        self.status.value = (
            f"✓ Saved ({html.escape(said[choice])}, after {turns} turn"
            f"{'s' if turns != 1 else ''}). Revealed: A was <b>{html.escape(shown_a)}</b>, "
            f"B was <b>{html.escape(shown_b)}</b>. Type a new prompt for the next round."
        )
        self._refresh()

    def _skip(self) -> None:
        current = self.round
        if current is None or current.over:
            raise LabelingError("no round to skip")
        with self._lock:
            current.finish("skipped")
            self.controller.skip()
        self.status.value = "Skipped. Type a new prompt for the next round."
        self._refresh()

    def _refresh(self) -> None:
        """Buttons and counts for where the round is."""
        current = self.round
        phase = current.phase if current is not None else None
        ready = phase == "ready"
        under_way = phase in ("streaming", "running")
        for button in self.buttons.values():
            button.disabled = not ready
        self.skip_button.disabled = not (ready or under_way)
        self.cancel_button.disabled = not under_way
        self.send_button.disabled = under_way
        self.new_button.disabled = current is None
        follow_up = ready and current is not None and current.turn < current.max_turns
        self.send_button.description = "Follow up ▶" if follow_up else "Send ▶"
        self.sample_button.disabled = ready or under_way
        self.category.layout.display = "none" if (ready or under_way) else None
        self.message.placeholder = (
            "Follow up: your next message goes to both models (e.g. 'the button does "
            "nothing — fix it')"
            if ready
            else "Your prompt: what should both models build? (or sample one)"
        )
        votes, skips = self.controller.tally() if self.controller.annotator else (0, 0)
        self.count.value = (
            f"<b>{votes}</b> vote{'s' if votes != 1 else ''} · <b>{skips}</b> skipped · "
            f"round <b>{self.rounds}</b>"
            + (f", turn <b>{current.turn}</b>" if current is not None else "")
            + "&nbsp;"
        )

    def close(self) -> None:
        """Stop the streams, runs and live apps, and close the widgets."""
        if self.round is not None and not self.round.over:
            self.round.finish("abandoned")
        self._previews.shutdown(wait=False, cancel_futures=True)
        super().close()


def _warm_renderer() -> None:
    import tempfile

    from ..web.browser import get_browser

    # A failure here shows again, with its message, in the first page answer's output.
    with tempfile.TemporaryDirectory() as folder, contextlib.suppress(Exception):
        get_browser().render("<!DOCTYPE html><p>warm</p>", Path(folder) / "warm.png")


_CLASSIFIER_LOCK = threading.Lock()
"""One thread imports scikit-learn and trains the classifier at a time: two importing it at
once can see a half-initialised module."""


def _warm_classifier() -> None:
    from ..categories import default_classifier

    # A failure here shows again, with its message, at the first prediction.
    with _CLASSIFIER_LOCK, contextlib.suppress(Exception):
        default_classifier()
