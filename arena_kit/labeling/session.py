"""``ArenaSession``: blind side-by-side judging of executed code, in a notebook.

>>> from arena_kit.labeling import ArenaSession
>>> session = ArenaSession(store="votes.sqlite")   # doctest: +SKIP
>>> session                                          # doctest: +SKIP

The widgets are a thin layer over :class:`~arena_kit.labeling.controller.LabelingController`;
every click goes through the same methods a program (or a test) can call: :meth:`click`,
:meth:`press`, :meth:`start`.
"""

from __future__ import annotations

import html
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .controller import CHOICES, Item, LabelingController, LabelingError
from .keys import KEYS, KeyListener
from .render import STYLE, markdown_html, output_html, prompt_html, redact, sample_html
from .runs import RunOutput

if TYPE_CHECKING:
    import pandas as pd

    from ..store import VoteStore

__all__ = ["ArenaSession", "BUTTON_LABELS"]

BUTTON_LABELS: dict[str, str] = {
    "A": "A is better",
    "B": "B is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
}
"""Vote button labels, by screen choice."""

_PENDING = RunOutput(status="running", message="the code is running in the sandbox…")

PANEL_HEIGHT = "clamp(18em, calc(100vh - 440px), 44em)"
"""Both panels' height: the session's header, the folded prompt, the panels and the vote
buttons fit the browser's window under JupyterLab's own bars (a 900 px high window too)."""

LONG_PROMPT_CHARS = 420
"""A prompt longer than this (or than :data:`LONG_PROMPT_LINES` lines) shows its first lines
and a "show all" toggle."""
LONG_PROMPT_LINES = 6

LIVE_APPS_AT_ONCE = 2
"""Live apps a session keeps running; opening a third stops the oldest."""
LIVE_IDLE_S = 600.0
"""A live app left alone this long is stopped."""
_LIVE_KINDS = ("streamlit", "gradio", "server")
_STARTING_LIVE = (
    "<div class='arena-status' style='color:#9a6700'>starting the app in the sandbox…</div>"
)


class ArenaSession:
    """A labeling session: log in, judge battles side by side, vote, skip, undo, resume.

    Parameters
    ----------
    battles, responses
        The battles and the responses they point into. Default: the bundled Arena-Hard
        battles (:func:`arena_kit.datasets.bundled_battles`).
    store
        A :class:`~arena_kit.store.VoteStore` or a path (created if missing).
    annotator
        The annotator id; when missing the session asks for it first.
    **options
        ``warm_apps`` (default True): once a battle shows a Streamlit or Gradio app, keep one
        sandbox of that kind started ahead for **Try it live** (~200–400 MB while idle).
        ``served`` (default False): the session is shown to an annotator's browser that is
        not trusted (``arena-kit label --serve``, :mod:`arena_kit.serve`): no installing, no
        **Try it live** (it is shown through JupyterLab's server, which a served page does not
        have), the annotator cannot change once started, and failures other than a
        :class:`~arena_kit.labeling.controller.LabelingError` show a generic line (the details
        go to the server's log, never to the page).
        The rest go to :class:`~arena_kit.labeling.controller.LabelingController`: ``sampling``,
        ``seed``, ``executor``, ``prefetch``, ``repeat_share``, ``gold``, ``gold_share``,
        ``votes_per_battle``, ``max_workers``, ``source``.
    """

    def __init__(
        self,
        battles: pd.DataFrame | None = None,
        responses: pd.DataFrame | None = None,
        store: VoteStore | str = "votes.sqlite",
        *,
        annotator: str | None = None,
        **options: Any,
    ) -> None:
        if battles is None:
            from ..datasets import bundled_battles, bundled_responses

            battles = bundled_battles()
            if responses is None:
                responses = bundled_responses()[1]
        if responses is None:
            raise ValueError("give the responses table that the battles point into")
        self.served = bool(options.get("served", False))
        self._warm_apps = bool(options.pop("warm_apps", True)) and not self.served
        self._warmed: set[str] = set()
        self.controller = LabelingController(battles, responses, store, **options)
        self._lock = threading.RLock()
        self._shown = threading.Event()
        self._listeners: list[Callable[[Item | None], None]] = []
        self.transition_s: list[float] = []
        """Seconds from each vote / skip to the next battle fully shown (outputs included)."""
        self._pending_since: float | None = None
        self._fixed: dict[str, dict[str, Any]] = {}
        self._live: list[tuple[Item, str, Any, threading.Timer]] = []
        self._live_starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-live")
        self._build()
        if annotator:
            self.start(annotator)

    # ------------------------------------------------------------------------------------
    # Widgets.

    def _build(self) -> None:
        self.title = widgets.HTML(
            STYLE + "<b>arena-kit labeling</b> — judge the two answers by what their code does"
        )
        self.annotator_box = widgets.Text(
            placeholder="your annotator id (a name or code; nothing else is stored)",
            description="Annotator:",
            layout=widgets.Layout(width="32em"),
            continuous_update=False,  # the value arrives on Enter (or leaving the box)
        )
        self.start_button = widgets.Button(description="Start", button_style="primary")
        self.start_button.on_click(lambda _: self.start(self.annotator_box.value))
        self.annotator_box.observe(self._typed, "value")
        self.login = widgets.HBox([self.annotator_box, self.start_button])

        self.count = widgets.HTML("")
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="20em"))
        self.prompt = widgets.HTML("")
        # Panels scroll on their own so that the vote buttons stay in view under them; both
        # have the same height, whatever each side shows.
        self.panel_a = widgets.VBox(
            layout=widgets.Layout(width="50%", height=PANEL_HEIGHT, overflow="auto")
        )
        self.panel_b = widgets.VBox(
            layout=widgets.Layout(width="50%", height=PANEL_HEIGHT, overflow="auto")
        )
        for screen, panel in (("A", self.panel_a), ("B", self.panel_b)):
            panel.add_class("arena-panel")
            panel.add_class(f"arena-panel-{screen}")  # the live pages' clicks find their side
        self.panels = widgets.HBox([self.panel_a, self.panel_b])
        self.reason = widgets.Text(
            placeholder="optional: why? (a few words)",
            description="Reason:",
            layout=widgets.Layout(width="40em"),
        )
        self.buttons = {
            choice: widgets.Button(
                description=BUTTON_LABELS[choice],
                disabled=True,
                tooltip=f"key {key}",
                layout=widgets.Layout(width="11em"),
            )
            for key, choice in (("1", "A"), ("2", "B"), ("3", "tie"), ("4", "both_bad"))
        }
        for choice, button in self.buttons.items():
            button.on_click(lambda _, c=choice: self.click(c))
        self.skip_button = widgets.Button(description="Skip", tooltip="key s")
        self.undo_button = widgets.Button(description="Undo", tooltip="key u")
        self.skip_button.on_click(lambda _: self.click("skip"))
        self.undo_button.on_click(lambda _: self.click("undo"))
        self.status = widgets.HTML("")
        self.keys = KeyListener()
        self.keys.on_key(self.press)
        self.keys.on_interaction(self.controller.record_interaction)
        self.main = widgets.VBox(
            [
                widgets.HBox([self.count, self.bar]),
                self.prompt,
                self.panels,
                self.reason,
                widgets.HBox([*self.buttons.values(), self.skip_button, self.undo_button]),
                self.status,
                self.keys,
            ],
            layout=widgets.Layout(display="none"),
        )
        self.widget = widgets.VBox([self.title, self.login, self.main])
        self.widget.add_class("arena-session")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------------------------
    # Actions (the buttons and keys call these).

    def _typed(self, change: dict[str, Any]) -> None:
        if change["new"].strip() and self.controller.annotator is None:
            self.start(change["new"])

    def start(self, annotator: str) -> None:
        """Log ``annotator`` in and show their next battle (resuming where they stopped)."""
        if self.controller.annotator and self.controller.annotator == annotator.strip():
            return  # already started (Enter, then a click on Start)
        if self.served and self.controller.annotator:
            # A browser can still send the hidden login box's value and a click on Start: in
            # a served session that must not turn the page into another annotator's.
            self._say_error(LabelingError("this page's annotator cannot change"))
            return
        try:
            item = self.controller.start(annotator)
        except LabelingError as exc:
            self._say_error(exc)
            return
        except Exception as exc:
            self._hide_failure(exc)
            return
        self.annotator_box.value = self.controller.annotator or ""
        self.login.layout.display = "none"
        self.main.layout.display = None
        self.title.value = (
            STYLE + "<b>arena-kit labeling</b> — annotator "
            f"<code>{html.escape(self.controller.annotator or '')}</code>"
        )
        votes, skips = self.controller.tally()
        welcome = f"Welcome back: {votes} vote{'s' if votes != 1 else ''}"
        self.status.value = (welcome + (f", {skips} skipped." if skips else ".")) if (
            votes or skips) else ""  # fmt: skip
        self._show(item)

    def click(self, action: str) -> None:
        """Do what a button does: ``"A"``, ``"B"``, ``"tie"``, ``"both_bad"``, ``"skip"``,
        ``"undo"``."""
        try:
            if action in CHOICES:
                self._vote(action)
            elif action == "skip":
                self._pending_since = time.perf_counter()
                self._show(None, advance="skip")
            elif action == "undo":
                item = self.controller.undo()
                if item is None:
                    self.status.value = "Nothing to undo."
                else:
                    self._show(item, message="Undone: judge this battle again.")
            else:
                raise ValueError(f"unknown action {action!r}")
        except LabelingError as exc:
            self._say_error(exc)
        except Exception as exc:
            self._hide_failure(exc)

    def _say_error(self, exc: LabelingError) -> None:
        self.status.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"

    def _hide_failure(self, exc: Exception) -> None:
        """A failure that is not the person's doing: raised in a notebook; in a served session
        a generic line, the details in the server's log (an error's text can name the store)."""
        if not self.served:
            raise exc
        # The kernel's own stderr (the Voila server's log), not the page's output stream.
        log = sys.__stderr__
        if log is not None:
            traceback.print_exception(exc, file=log)
            log.flush()
        self.status.value = (
            "<span style='color:#cf222e'>That did not work (the server's log says why). "
            "Votes marked ✓ Saved are stored: reload the page to go on.</span>"
        )

    def _action(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """``callback`` as a button's handler: a refusal is shown in the status line, other
        failures as :meth:`_hide_failure` says."""

        def handler(argument: Any) -> None:
            try:
                callback(argument)
            except LabelingError as exc:
                self._say_error(exc)
            except Exception as exc:
                self._hide_failure(exc)

        return handler

    def press(self, key: str) -> None:
        """Do what a key press does (``1``–``4``, ``s``, ``u``)."""
        action = KEYS.get(key.lower())
        if action is not None:
            self.click(action)

    def _vote(self, choice: str) -> None:
        item = self.controller.current
        if item is None:
            raise LabelingError("no battle to vote on")
        if not item.ready():
            raise LabelingError("wait until both outputs are shown, then vote")
        self._pending_since = time.perf_counter()
        self._fold_game_counts(item)
        vote = self.controller.vote(choice, reason=self.reason.value)
        said = {"A": "A is better", "B": "B is better", "tie": "a tie", "both_bad": "both bad"}
        shown_a = vote["model_b"] if vote["swapped"] else vote["model_a"]
        shown_b = vote["model_a"] if vote["swapped"] else vote["model_b"]
        message = (
            f"✓ Saved ({html.escape(said[choice])}). Revealed: A was "
            f"<b>{html.escape(shown_a)}</b>, B was <b>{html.escape(shown_b)}</b>."
        )
        if vote.get("expected"):
            agree = "agrees" if vote["expected"] == vote["winner"] else "differs from"
            message += f" Gold battle: your answer {agree} the known answer."
        self._show(self.controller.current, message=message, fresh=False)

    # ------------------------------------------------------------------------------------
    # Showing a battle.

    def _show(
        self,
        item: Item | None,
        *,
        message: str | None = None,
        advance: str | None = None,
        fresh: bool = True,
    ) -> None:
        if advance == "skip":
            self.controller.skip()
            item = self.controller.current
            message = "Skipped."
        with self._lock:
            self._shown.clear()
            # Buttons first: once the page shows anything of this battle, they are right.
            self._set_buttons(item)
            done, left = self.controller.progress()
            votes, skips = self.controller.tally()
            self.count.value = (
                f"<b>{votes}</b> vote{'s' if votes != 1 else ''} · <b>{skips}</b> skipped · "
                f"<b>{left}</b> left&nbsp;"
            )
            self.bar.max = max(done + left, 1)
            self.bar.value = done
            self.reason.value = ""
            notice = self.controller.store.pop_notice()  # e.g. reconnected after a restart
            if notice:
                note = f"<span style='color:#9a6700'>{html.escape(notice)}</span>"
                message = f"{message or ''} {note}"
            if message is not None:
                self.status.value = message
            if item is None:
                self.prompt.value = "<b>All done — thank you!</b> No battle is left for you."
                self._stop_live()
                for panel in self._fixed.values():
                    self._close_game(panel)
                self.panel_a.children = ()
                self.panel_b.children = ()
                self._set_buttons(None)
                self._mark_shown(None)
                return
            qc = " (quality check)" if item.qc else ""
            text = item.view.prompt
            long = len(text) > LONG_PROMPT_CHARS or text.count("\n") >= LONG_PROMPT_LINES
            self.prompt.value = prompt_html(f"Prompt{qc}", self._html(item, text), long=long)
            self._stop_live(keep=item)
            self.panel_a.children = self._panel(item, "A")
            self.panel_b.children = self._panel(item, "B")
            self._set_buttons(item)
            self.keys.focus()
        shown = item

        def ready(_: Future[RunOutput]) -> None:
            self._output_ready(shown)

        for screen in ("A", "B"):
            run = item.main_run(screen)
            if run is not None:
                run.add_done_callback(ready)
        if item.ready():
            self._output_ready(item)

    @staticmethod
    def _html(item: Item, text: str) -> str:
        """The HTML of a text of the battle (pre-rendered in the background when possible)."""
        cached = item.html.get(text)
        if cached is None:
            cached = markdown_html(redact(text, (item.view.model_a, item.view.model_b)))
            item.html[text] = cached
        return cached

    def _fixed_panel(self, screen: str) -> dict[str, Any]:
        """The widgets of a single-turn panel, made once and re-filled for every battle.

        Creating widgets is what costs most when a battle is shown (each one opens a comm);
        re-filling values costs a message per change. The output comes first (status, the
        live page or the pictures, stdout/stderr), then what a person can do with it (try an
        app live, re-run with more time, install what it imports), then the answer's text and
        code, folded, and the editor.
        """
        panel = self._fixed.get(screen)
        if panel is None:
            editor = widgets.Textarea(layout=widgets.Layout(width="100%", height="14em"))
            run = widgets.Button(description="▶ Run edited code", button_style="info")
            result = widgets.HTML("")
            box = widgets.Accordion(
                children=[widgets.VBox([editor, run, result])], selected_index=None
            )
            box.set_title(0, f"Edit and re-run {screen}'s code")
            output = widgets.HTML("")
            output.add_class("arena-output")
            answer = widgets.HTML("")
            text = widgets.Accordion(children=[answer], selected_index=None)
            text.set_title(0, f"{screen}'s answer: text and code")
            # Each button its own Layout: one shared Layout would show or hide all three.
            live = widgets.Button(
                description="▶ Try it live",
                button_style="success",
                layout=widgets.Layout(display="none"),
            )
            longer = widgets.Button(
                description="↻ Re-run with 60 s", layout=widgets.Layout(display="none")
            )
            install = widgets.Button(
                description="⤓ Install and run", layout=widgets.Layout(display="none")
            )
            actions = widgets.HBox([live, longer, install])
            live_view = widgets.HTML("")
            play_box = widgets.VBox([])  # a PyGame answer's PlayWidget, made per battle
            sample_view = widgets.HTML("")  # the answer on the prompt's sample input
            panel = {
                "header": widgets.HTML(f"<div class='arena-side'>Model {screen}</div>"),
                "answer": answer,
                "text": text,
                "output": output,
                "box": box,
                "editor": editor,
                "result": result,
                "actions": actions,
                "live": live,
                "longer": longer,
                "install": install,
                "live_view": live_view,
                "play_box": play_box,
                "sample": sample_view,
            }

            def current() -> Item | None:
                item = self.controller.current
                return item if item is not None and panel.get("item") is item else None

            def rerun(_: Any) -> None:
                item = current()
                if item is None:
                    return
                future = self.controller.rerun(screen, editor.value, turn=-1)
                result.value = output_html(_PENDING)
                self._bind(result, future, item)

            def again(install_first: bool) -> None:
                item = current()
                if item is None:
                    return
                (turn,) = item.turns(screen)
                future = self.controller.rerun(
                    screen, turn.code or "", wall_s=None if install_first else 60.0,
                    install=install_first,
                )  # fmt: skip
                output.value = output_html(_PENDING)
                self._bind(output, future, item, panel)

            run.on_click(self._action(rerun))
            longer.on_click(self._action(lambda _: again(False)))
            install.on_click(self._action(lambda _: again(True)))
            live.on_click(self._action(lambda _: self._open_live(screen)))
            self._fixed[screen] = panel
        return panel

    def _panel(self, item: Item, screen: str) -> tuple[widgets.Widget, ...]:
        turns = item.turns(screen)
        if len(turns) == 1:
            return self._single_turn_panel(item, screen)
        return self._multi_turn_panel(item, screen)

    def _single_turn_panel(self, item: Item, screen: str) -> tuple[widgets.Widget, ...]:
        panel = self._fixed_panel(screen)
        panel["item"] = item
        (turn,) = item.turns(screen)
        panel["answer"].value = self._html(item, turn.answer)
        panel["text"].selected_index = None
        panel["live_view"].value = ""
        self._close_game(panel)
        for name in ("live", "longer", "install"):
            panel[name].layout.display = "none"
        if turn.code is None or turn.environment is None:
            panel["output"].value = "<i>(no runnable code in this answer)</i>"
            panel["text"].selected_index = 0  # nothing ran: the answer is all there is
            return (panel["header"], panel["output"], panel["text"])
        panel["output"].value = output_html(_PENDING)
        run = item.runs.get((screen, 0))
        if run is not None:
            self._bind(panel["output"], run, item, panel)
        panel["sample"].value = ""
        sampled = item.samples.get(screen)
        if sampled is not None and item.sample is not None:
            panel["sample"].value = sample_html(item.sample, None)
            self._bind_sample(panel["sample"], sampled, item, item.sample)
        if turn.environment in _LIVE_KINDS and not self.served:
            panel["live"].layout.display = None
            self._warm(turn.environment)
        if turn.environment == "pygame":
            from ..web.pygame_live import PlayWidget

            # Play starts the game from the kernel's own thread (the widget's message).
            panel["play_box"].children = (PlayWidget(turn.code),)
        panel["box"].selected_index = None
        panel["editor"].value = turn.code
        panel["result"].value = ""
        return (
            panel["header"], panel["actions"], panel["live_view"], panel["play_box"],
            panel["output"], panel["sample"], panel["text"], panel["box"],
        )  # fmt: skip

    def _bind_sample(
        self, target: widgets.HTML, future: Future[RunOutput], item: Item, sample: tuple[str, str]
    ) -> None:
        def done(f: Future[RunOutput]) -> None:
            if self.controller.current is item:
                target.value = sample_html(sample, f.result())

        future.add_done_callback(done)

    def _close_game(self, panel: dict[str, Any]) -> None:
        """Stop and close the panel's game widget, after counting how it was played."""
        for game in panel["play_box"].children:
            game.close()
        panel["play_box"].children = ()

    def _fold_game_counts(self, item: Item) -> None:
        """The games played in this battle's panels count as their side's interactions."""
        for screen, panel in self._fixed.items():
            if panel.get("item") is not item:
                continue
            for game in panel["play_box"].children:
                counts = game.interactions
                self.controller.add_interactions(
                    screen, keys=counts["keys"], clicks=counts["clicks"],
                    seconds=counts["seconds"], live=counts["opened"],
                )  # fmt: skip

    # ------------------------------------------------------------------------------------
    # Live apps ("Try it live").

    def _open_live(self, screen: str) -> None:
        """Start the side's app or server in the sandbox and show it live in its panel."""
        if self.served:
            raise LabelingError("Try it live is off in this served session")
        item = self.controller.current
        panel = self._fixed.get(screen)
        if panel is None or panel.get("item") is not item or item is None:
            return
        (turn,) = item.turns(screen)
        if turn.code is None or turn.environment not in _LIVE_KINDS:
            return
        panel["live"].disabled = True
        panel["live_view"].value = _STARTING_LIVE
        self.controller.record_interaction(screen, "live")
        language = "javascript" if turn.language in ("javascript", "typescript") else "python"
        # Started from the session's own long-lived thread: the sandbox dies with the thread
        # that started it (bwrap's --die-with-parent is the parent *thread's* death signal).
        self._live_starter.submit(
            self._start_live, item, screen, turn.code, turn.environment, language
        )

    def _start_live(
        self, item: Item, screen: str, code: str, environment: str, language: str
    ) -> None:
        from ..web.apps import AppStartError, start_app
        from ..web.display import live_app_html

        panel = self._fixed[screen]
        try:
            app = start_app(code, environment, language=language)
        except AppStartError as error:
            if self.controller.current is item:
                panel["live_view"].value = output_html(
                    RunOutput(status=error.status, message=error.message, stderr=error.stderr)
                )
                panel["live"].disabled = False
            return
        with self._lock:
            if self.controller.current is not item:  # the person moved on meanwhile
                app.stop()
                return
            while len(self._live) >= LIVE_APPS_AT_ONCE:
                self._live.pop(0)[2].stop()
            timer = threading.Timer(LIVE_IDLE_S, app.stop)
            timer.daemon = True
            timer.start()
            self._live.append((item, screen, app, timer))
            panel["live_view"].value = live_app_html(app, height=420)
            panel["live"].disabled = False

    def _warm(self, kind: str) -> None:
        """Keep one sandbox of this app kind started ahead, its framework imported, once the
        session shows such an app: **Try it live** then takes ~1.5 s instead of ~3 s."""
        if not self._warm_apps or kind not in ("streamlit", "gradio") or kind in self._warmed:
            return
        from ..web.apps import keep_warm

        self._warmed.add(kind)
        keep_warm(kind, 1)

    def _stop_live(self, keep: Item | None = None) -> None:
        """Stop the live apps of every battle but ``keep``."""
        with self._lock:
            staying = [entry for entry in self._live if entry[0] is keep]
            leaving = [entry for entry in self._live if entry[0] is not keep]
            self._live = staying
        for _item, _screen, app, timer in leaving:
            timer.cancel()
            app.stop()

    def _multi_turn_panel(self, item: Item, screen: str) -> tuple[widgets.Widget, ...]:
        children: list[widgets.Widget] = [
            widgets.HTML(f"<div class='arena-side'>Model {screen}</div>")
        ]
        turns = item.turns(screen)
        if not turns:
            children.append(widgets.HTML("<i>(no answer)</i>"))
        for index, turn in enumerate(turns):
            if index > 0 and turn.user:
                children.append(
                    widgets.HTML(
                        f"<div class='arena-prompt'><b>User, turn {index + 1}</b>"
                        f"{self._html(item, turn.user)}</div>"
                    )
                )
            if len(turns) > 1:
                children.append(widgets.HTML(f"<b>Answer, turn {index + 1}</b>"))
            children.append(widgets.HTML(self._html(item, turn.answer)))
            if turn.code is None or turn.environment is None:
                children.append(widgets.HTML("<i>(no runnable code in this answer)</i>"))
                continue
            output = widgets.HTML(output_html(_PENDING))
            output.add_class("arena-output")
            last = index == len(turns) - 1
            run = item.runs.get((screen, index))
            if run is not None:
                self._bind(output, run, item)
            elif not last:
                output.value = ""
                run_button = widgets.Button(description=f"▶ Run turn {index + 1}")
                run_button.on_click(
                    self._action(partial(self._run_turn, item, screen, index, output))
                )
                children.append(run_button)
            children.append(output)
            children.append(self._editor(item, screen, index, turn.code, turn.language))
        return tuple(children)

    def _editor(
        self, item: Item, screen: str, index: int, code: str, language: str | None
    ) -> widgets.Widget:
        editor = widgets.Textarea(value=code, layout=widgets.Layout(width="100%", height="14em"))
        run = widgets.Button(description="▶ Run edited code", button_style="info")
        result = widgets.HTML("")

        def rerun(_: Any) -> None:
            if self.controller.current is not item:
                return
            future = self.controller.rerun(screen, editor.value, turn=index)
            result.value = output_html(_PENDING)
            self._bind(result, future, item)

        run.on_click(self._action(rerun))
        box = widgets.Accordion(children=[widgets.VBox([editor, run, result])], selected_index=None)
        box.set_title(0, f"Edit and re-run {screen}'s code")
        return box

    def _run_turn(
        self, item: Item, screen: str, index: int, output: widgets.HTML, _button: Any = None
    ) -> None:
        if self.controller.current is not item:
            return
        future = self.controller.run_turn(screen, index)
        if future is not None:
            output.value = output_html(_PENDING)
            self._bind(output, future, item)

    def _bind(
        self,
        target: widgets.HTML,
        future: Future[RunOutput],
        item: Item,
        panel: dict[str, Any] | None = None,
    ) -> None:
        def done(f: Future[RunOutput]) -> None:
            # A late run of an earlier battle must not write into a re-used widget.
            if self.controller.current is not item:
                return
            output = f.result()
            target.value = output_html(output)
            if panel is not None and panel.get("item") is item:
                # What a person can do about this outcome: more time, or the missing package.
                panel["longer"].layout.display = None if output.status == "timeout" else "none"
                (turn,) = item.turns(self._screen_of(panel))
                can_install = output.status == "missing_dependency" and bool(
                    self.controller.install_options(
                        turn.code or "", turn.language, turn.environment
                    )  # fmt: skip
                )
                panel["install"].layout.display = None if can_install else "none"

        future.add_done_callback(done)

    def _screen_of(self, panel: dict[str, Any]) -> str:
        return next(screen for screen, fixed in self._fixed.items() if fixed is panel)

    def _set_buttons(self, item: Item | None) -> None:
        ready = item is not None and item.ready()
        for button in self.buttons.values():
            button.disabled = not ready
        self.skip_button.disabled = item is None

    def _output_ready(self, item: Item) -> None:
        with self._lock:
            if self.controller.current is not item or not item.ready():
                return
            self._set_buttons(item)
            self._mark_shown(item)

    def _mark_shown(self, item: Item | None) -> None:
        if self._shown.is_set():
            return
        if self._pending_since is not None:
            self.transition_s.append(time.perf_counter() - self._pending_since)
            self._pending_since = None
        self._shown.set()
        for listener in list(self._listeners):
            listener(item)

    # ------------------------------------------------------------------------------------
    # For programs and tests.

    def wait_shown(self, timeout: float = 60.0) -> bool:
        """Block until the current battle is fully shown (both outputs in); False on timeout."""
        return self._shown.wait(timeout)

    def on_shown(self, listener: Callable[[Item | None], None]) -> None:
        """Call ``listener(item)`` each time a battle is fully shown."""
        self._listeners.append(listener)

    def iter_widgets(self) -> Iterator[widgets.Widget]:
        """Every widget of the session, depth first."""
        stack: list[Any] = [self.widget]
        while stack:
            widget = stack.pop()
            yield widget
            stack.extend(getattr(widget, "children", ()) or ())

    def html(self) -> str:
        """All text the session sends to the browser (values, labels, tooltips), joined.

        What the page's DOM can contain: the blind-judging tests search it for model names.
        """
        return "\n".join(self.html_of(widget) for widget in self.iter_widgets())

    @staticmethod
    def html_of(widget: widgets.Widget) -> str:
        """The text one widget sends to the browser (its string-valued state)."""
        texts: list[str] = []
        for value in widget.get_state().values():
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, (list, tuple)):
                texts.extend(v for v in value if isinstance(v, str))
        return "\n".join(texts)

    @property
    def store(self) -> VoteStore:
        return self.controller.store

    def close(self) -> None:
        """Stop background runs and live apps, and close the widgets."""
        self._stop_live()
        for panel in self._fixed.values():
            self._close_game(panel)
        self._live_starter.shutdown(wait=False, cancel_futures=True)
        if self._warmed:
            from ..web.apps import keep_warm

            for kind in self._warmed:
                keep_warm(kind, 0)
        self.controller.close()
        for widget in list(self.iter_widgets()):
            widget.close()
