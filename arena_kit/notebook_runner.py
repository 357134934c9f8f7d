"""Run one notebook with papermill: its kernel on private sockets, its progress shown live.

:func:`execute_notebook` is what the report (:mod:`arena_kit.report`) runs each notebook with.
Compared with a plain ``papermill.execute_notebook`` it changes two things a person sees:

* **Progress inside a notebook.** A line names the notebook and its current step (the
  notebook's code cells, titled by the markdown heading above them), and every progress bar
  the notebook's own code shows (``tqdm.auto``: a widget in the kernel, e.g. the sandbox's
  ``run_many`` in ``01_execute``) is mirrored as a bar of its own, with its count of runs: a
  cold cache is no longer three silent minutes.
* **No kernel noise.** The kernel talks to papermill over IPC (Unix sockets in a temporary
  folder only this user may enter) instead of TCP on 127.0.0.1. ipykernel warns, for every
  kernel started over TCP without CurveZMQ keys, that any local process could read its
  traffic; over IPC that is not so (the folder is 0700), so the warning is not silenced but
  made untrue. The kernel process's own stderr (not the cells' output, which goes into the
  notebook) is collected and shown after the notebook, less one line: jupyter_client sends
  every kernel a SIGINT as the first step of shutting it down, and ipykernel logs
  ``KeyboardInterrupt caught in kernel.`` when that signal lands during a message handler.
  The notebook has finished by then (its cells ran and were saved), so the line reports
  nothing that happened to it (:data:`SHUTDOWN_NOISE`).

It is papermill's own engine (:class:`papermill.engines.NBClientEngine`) with a notebook
client that watches the kernel's messages; it is registered with papermill under
:data:`ENGINE` (papermill's registry of engines, as its docs describe).
"""

from __future__ import annotations

import functools
import html
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm as Bar

__all__ = ["ENGINE", "SHUTDOWN_NOISE", "execute_notebook", "step_titles"]

ENGINE = "arena-kit"
"""The name of the engine in papermill's registry."""

SHUTDOWN_NOISE = re.compile(r"^\[IPKernelApp\] ERROR \| KeyboardInterrupt caught in kernel\.$")
"""The kernel's stderr line that only says it was shut down (see the module docstring)."""

_PROGRESS_MODELS = {"FloatProgressModel", "IntProgressModel"}
_UNIT = re.compile(r"([A-Za-z_]+)/s\]|s/([A-Za-z_]+)\]")
_HEADING = re.compile(r"^\s*#+\s*(.+?)\s*$", re.MULTILINE)


def step_titles(cells: list[Any]) -> list[str | None]:
    """The title of each cell's step: the nearest markdown heading above it (None for markdown
    cells and empty code cells, which are not steps)."""
    titles: list[str | None] = []
    current = "set-up"
    for cell in cells:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            heading = _HEADING.search(source)
            if heading:
                current = re.sub(r"[`*_]", "", heading.group(1))
            titles.append(None)
        else:
            titles.append(current if cell.get("cell_type") == "code" and source.strip() else None)
    return titles


class _Display:
    """What one notebook's run shows: a bar of steps, and one bar per progress bar of the
    kernel's (``tqdm.auto`` widgets), closed when their cell ends."""

    def __init__(self, name: str, *, enabled: bool, position: int) -> None:
        self.name = name
        self.enabled = enabled
        self.position = position
        self.titles: list[str | None] = []
        self.steps: Bar | None = None
        self.bars: dict[str, Bar] = {}
        self.seen: set[str] = set()

    def start(self, cells: list[Any]) -> None:
        """The notebook as it runs (the injected parameters cell included)."""
        from tqdm.auto import tqdm

        self.titles = step_titles(cells)
        if self.enabled:
            self.steps = tqdm(
                total=sum(t is not None for t in self.titles),
                desc=Path(self.name).stem,
                unit="step",
                position=self.position,
                leave=False,
                bar_format="{desc}: step {n_fmt}/{total_fmt}{postfix}",
                mininterval=_mininterval(),
            )

    def cell_started(self, cell_index: int) -> None:
        if self.steps is None or cell_index >= len(self.titles) or not self.titles[cell_index]:
            return
        self.steps.set_postfix_str(str(self.titles[cell_index]), refresh=False)
        self.steps.update(1)
        self.steps.refresh()  # every step is shown, however quick

    def cell_ended(self) -> None:
        for model_id in list(self.bars):
            self.widget_closed(model_id)

    def widget_closed(self, model_id: str) -> None:
        bar = self.bars.pop(model_id, None)
        if bar is not None:
            bar.close()

    def widgets_changed(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        """Mirror the kernel's tqdm widgets: an HBox of a label, a FloatProgress (``value``
        of ``max``) and the counts (``12/484 [00:03<00:10, 3.5run/s]``)."""
        if not self.enabled:
            return
        for model_id, box in state.items():
            children = box.get("children")
            if box.get("_model_name") != "HBoxModel" or not isinstance(children, list):
                continue
            if len(children) != 3 or not all(isinstance(c, str) for c in children):
                continue
            if model_id in self.seen and model_id not in self.bars:
                continue  # mirrored before, and finished
            label, progress, counts = (
                state.get(c.removeprefix("IPY_MODEL_"), {}) for c in children
            )
            if progress.get("_model_name") not in _PROGRESS_MODELS:
                continue
            finished = progress.get("bar_style") in ("success", "danger")
            if finished:
                self.widget_closed(model_id)
                self.seen.add(model_id)
                continue
            self._mirror(model_id, label, progress, counts)

    def _mirror(
        self,
        model_id: str,
        label: Mapping[str, Any],
        progress: Mapping[str, Any],
        counts: Mapping[str, Any],
    ) -> None:
        from tqdm.auto import tqdm

        # tqdm shows an unknown total as a full bar of max 1 in the "info" style.
        unknown = progress.get("bar_style") == "info" and progress.get("max") == 1
        total = None if unknown else progress.get("max")
        if isinstance(total, float) and total.is_integer():
            total = int(total)
        bar = self.bars.get(model_id)
        if bar is None:
            self.seen.add(model_id)
            left = html.unescape(str(label.get("value") or ""))
            bar = self.bars[model_id] = tqdm(
                total=total,
                desc="  " + (left.split(":")[0].strip() or "progress"),
                position=self.position + len(self.bars) + 1,
                leave=False,
                mininterval=_mininterval(),
            )
        unit = _UNIT.search(html.unescape(str(counts.get("value") or "")))
        if unit:
            bar.unit = next(u for u in unit.groups() if u)
        if total is not None and bar.total != total:
            bar.total = total
        value = progress.get("value") or 0
        done = 0 if unknown else int(value) if float(value).is_integer() else value
        if done != bar.n:
            bar.update(done - bar.n)

    def close(self) -> None:
        self.cell_ended()
        if self.steps is not None:
            self.steps.close()


def _mininterval() -> float:
    # In a terminal (or as widgets in a notebook) the bars redraw in place; written to a file
    # or a pipe each redraw is a line, so a log gets one every few seconds, not ten a second.
    return 0.1 if sys.stderr.isatty() or "ipykernel" in sys.modules else 5.0


def _client_class() -> type:
    from papermill.clientwrap import PapermillNotebookClient

    class ProgressClient(PapermillNotebookClient):
        """papermill's client, telling a :class:`_Display` about cells and widgets."""

        def __init__(self, nb_man: Any, display: _Display, **kwargs: Any) -> None:
            super().__init__(nb_man, **kwargs)
            self.arena_display = display

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            output = super().process_message(msg, cell, cell_index)
            kind = msg.get("msg_type")
            if kind in ("comm_open", "comm_msg"):
                self.arena_display.widgets_changed(self.widget_state)
            elif kind == "comm_close":
                self.arena_display.widget_closed(str(msg["content"].get("comm_id")))
            return output

    return ProgressClient


def _engine_class() -> type:
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class ProgressEngine(NBClientEngine):
        """papermill's nbclient engine with :func:`_client_class`'s client and an IPC kernel."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            **kwargs: Any,
        ) -> Any:
            from papermill.log import logger
            from traitlets.config import Config

            display: _Display = kwargs.pop("arena_display")
            sockets: str = kwargs.pop("arena_sockets")
            kernel_stderr = kwargs.pop("arena_kernel_stderr")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            display.start(nb_man.nb.cells)
            # The client makes (and so stops) the kernel manager, configured here: the kernel's
            # sockets are the files <sockets>/kernel-1 … -5, removed when it stops.
            ipc = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})
            client = _client_class()(
                nb_man,
                display,
                **merge_kwargs(
                    kwargs,
                    config=ipc,
                    timeout=execution_timeout,
                    startup_timeout=start_timeout,
                    kernel_name=kernel_name,
                    log=logger,
                    log_output=log_output,
                    stdout_file=stdout_file,
                    stderr_file=stderr_file,
                    on_cell_start=lambda cell, cell_index: display.cell_started(cell_index),
                    on_cell_complete=lambda cell, cell_index: display.cell_ended(),
                ),
            )
            return client.execute(stderr=kernel_stderr)  # the kernel process's file 2

    return ProgressEngine


@functools.cache
def _register() -> None:
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE, _engine_class())


def execute_notebook(
    source: Path,
    target: Path,
    *,
    parameters: Mapping[str, Any],
    cwd: Path,
    progress: bool = True,
    position: int = 1,
) -> None:
    """Execute ``source`` with ``parameters`` into ``target`` (papermill), showing progress.

    Parameters
    ----------
    source, target
        The notebook to run and where the executed copy is written.
    parameters
        Values for the notebook's cell tagged ``parameters``.
    cwd
        The kernel's working folder.
    progress
        Show the notebook's steps and the kernel's progress bars (terminal lines from
        ``position`` down, or widgets in a notebook).

    Raises
    ------
    papermill.PapermillExecutionError
        A cell failed (papermill's error: notebook, cell, exception).
    """
    import papermill as pm

    _register()
    display = _Display(source.name, enabled=progress, position=position)
    with tempfile.TemporaryDirectory(prefix="arena-kit-kernel-") as sockets:
        log = Path(sockets) / "stderr.log"
        try:
            with log.open("wb") as kernel_stderr:
                pm.execute_notebook(
                    str(source),
                    str(target),
                    parameters=dict(parameters),
                    kernel_name="python3",
                    engine_name=ENGINE,
                    progress_bar=False,
                    cwd=str(cwd),
                    arena_display=display,
                    arena_sockets=sockets,
                    arena_kernel_stderr=kernel_stderr,
                )
        finally:
            display.close()
            _show_kernel_stderr(log.read_text("utf-8", errors="replace"))


def _show_kernel_stderr(text: str) -> None:
    """What the kernel process wrote to its stderr, less :data:`SHUTDOWN_NOISE`."""
    kept = [line for line in text.splitlines() if not SHUTDOWN_NOISE.match(line.strip())]
    if any(line.strip() for line in kept):
        sys.stderr.write("\n".join(kept) + "\n")
