"""Running the code of a battle: an injectable executor, a content cache and a thread pool.

An *executor* is any callable ``execute(code, language, environment) -> result``. The
default, :func:`default_executor`, runs programs in :func:`arena_kit.sandbox.run` and renders
pages, apps, games and diagrams with :mod:`arena_kit.web` (a screenshot in the output);
:func:`sandbox_executor` runs everything with the sandbox alone. A result may be the
sandbox's ``ExecutionResult`` or anything with ``status``, ``stdout``, ``stderr`` and
``message`` attributes (or such a dict).

:class:`RunCache` starts each distinct (code, language, environment) once, in background
threads, so the next battle's runs are under way while the person judges the current one.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import ENVIRONMENTS

__all__ = [
    "is_program",
    "Executor",
    "RunOutput",
    "RunCache",
    "code_hash",
    "environment_for",
    "sandbox_executor",
    "default_executor",
]

Executor = Callable[..., Any]
"""``execute(code, language, environment, **options) -> result``; ``options`` (given only
when a person asks for them: ``limits``, ``allow_install``, ``index_url``) may be refused by
an executor that has none (a ``TypeError``, shown as the run's failure)."""

_EXTRA_ENVIRONMENTS = {"css": "html"}


def code_hash(code: str) -> str:
    """A short content hash of a piece of code (stored with every run of an edit)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


def environment_for(language: str | None) -> str | None:
    """The execution environment of code in ``language`` (None: not runnable)."""
    if language is None:
        return None
    if language in ENVIRONMENTS:
        return language
    return _EXTRA_ENVIRONMENTS.get(language)


@dataclass
class RunOutput:
    """What a panel shows of one run."""

    status: str
    message: str = ""
    stdout: str = ""
    stderr: str = ""
    rich_html: str = ""
    execution_id: str | None = None
    code_hash: str = ""
    wall_s: float | None = None
    started: float = field(default_factory=time.time)
    environment: str | None = None
    page: str | None = None
    """The built page's HTML file (pages, React, Vue …): shown live in the panel."""
    images: list[str] = field(default_factory=list)
    """Pictures of the run, the most telling first: the screenshot, a game's animation, the
    figures a program saved."""
    build_log: str = ""

    @classmethod
    def from_result(cls, result: Any, code: str) -> RunOutput:
        """Normalise an executor's result (an ``ExecutionResult``, an object or a dict)."""

        def get(name: str, default: Any = None) -> Any:
            if isinstance(result, dict):
                return result.get(name, default)
            return getattr(result, name, default)

        rich = ""
        renderer = getattr(result, "_repr_html_", None)
        if callable(renderer):
            try:
                rich = str(renderer() or "")
            except Exception as exc:  # a broken renderer must not hide the output
                rich = f"<pre>(could not render the output: {exc})</pre>"
        status = get("status", "sandbox_error")
        page, images = _visuals(get("artifacts") or [], get("screenshot"))
        return cls(
            status=str(getattr(status, "value", status)),
            message=str(get("message", "") or ""),
            stdout=str(get("stdout", "") or ""),
            stderr=str(get("stderr", "") or ""),
            rich_html=rich,
            execution_id=get("execution_id"),
            code_hash=code_hash(code),
            wall_s=get("wall_s"),
            environment=get("environment"),
            page=page,
            images=images,
            build_log=str(get("build_log", "") or ""),
        )

    @classmethod
    def failure(cls, exc: BaseException, code: str) -> RunOutput:
        """The output shown when the executor itself raised."""
        return cls(
            status="sandbox_error",
            message=f"{type(exc).__name__}: {exc}",
            code_hash=code_hash(code),
        )


def _visuals(artifacts: list[Any], screenshot: Any) -> tuple[str | None, list[str]]:
    """The page file and the picture files of a result, pictures best first: a game's
    animation, the screenshot, then figures (at most four), each one once."""
    files = {
        str(a.get("name")): (str(a.get("path")), str(a.get("mime", "")))
        for a in artifacts
        if isinstance(a, dict) and a.get("path") and Path(str(a.get("path"))).is_file()
    }
    page = files["page.html"][0] if "page.html" in files else None
    images: list[str] = []
    if "capture.gif" in files:
        images.append(files["capture.gif"][0])
    elif screenshot and Path(str(screenshot)).is_file():
        images.append(str(screenshot))
    for name, (path, mime) in files.items():
        other = name not in ("capture.png", "capture.gif") and path not in images
        if mime.startswith("image/") and other and len(images) < 4:
            images.append(path)
    return page, images


def default_executor(**options: Any) -> Executor:
    """Programs in the sandbox, pages/apps/games/diagrams rendered and screenshotted.

    Uses :func:`arena_kit.web.execute_code` (which runs programs with
    :func:`arena_kit.sandbox.run` and renders visual environments in an offline Chromium);
    ``options`` are passed on to it.
    """
    from .. import web

    def execute(code: str, language: str | None, environment: str | None, **extra: Any) -> Any:
        chosen = {**options, **extra}
        sandbox_only = chosen.get("allow_install") or chosen.get("stdin") is not None
        if environment is None or (sandbox_only and is_program(environment)):
            from .. import sandbox

            return sandbox.run(code, language=language, environment=environment, **chosen)
        chosen.pop("allow_install", None)  # pages and apps have no install step
        chosen.pop("index_url", None)
        return web.execute_code(code, environment, language=language, **chosen)

    return execute


def is_program(environment: str | None) -> bool:
    """Whether code of ``environment`` is a program the sandbox runs (stdin, an install
    step), not a page, an app or a game rendered in the browser."""
    from ..web.execute import APP_ENVIRONMENTS, WEB_ENVIRONMENTS

    return environment is not None and environment not in (
        WEB_ENVIRONMENTS + APP_ENVIRONMENTS + ("pygame",)
    )


def sandbox_executor(**options: Any) -> Executor:
    """An executor that runs code with :func:`arena_kit.sandbox.run` (``options`` passed on).

    Raises
    ------
    ImportError
        When the sandbox package is not available.
    """
    from .. import sandbox

    def execute(code: str, language: str | None, environment: str | None, **extra: Any) -> Any:
        # A person's choice for one run (more time, an install) wins over the session's.
        return sandbox.run(code, language=language, environment=environment,
                           **{**options, **extra})  # fmt: skip

    return execute


class RunCache:
    """Background runs, one per distinct (code, language, environment), kept by content.

    Parameters
    ----------
    executor
        ``execute(code, language, environment) -> result``.
    max_workers
        Runs at the same time.
    """

    def __init__(self, executor: Executor, *, max_workers: int = 2) -> None:
        self.executor = executor
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="arena-run")
        self._futures: dict[tuple[str, str | None, str | None, str], Future[RunOutput]] = {}
        self._lock = threading.Lock()

    def submit(
        self,
        code: str,
        language: str | None,
        environment: str | None,
        *,
        fresh: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Future[RunOutput]:
        """The (possibly already finished) run of ``code``; ``fresh`` forces a new run;
        ``options`` go to the executor (e.g. ``{"limits": {"wall_s": 60}}``)."""
        key = (code_hash(code) + str(len(code)), language, environment, repr(sorted(
            (options or {}).items())))  # fmt: skip
        with self._lock:
            future = self._futures.get(key)
            if future is None or fresh:
                future = self._pool.submit(self._run, code, language, environment, options or {})
                self._futures[key] = future
            return future

    def _run(
        self, code: str, language: str | None, environment: str | None, options: dict[str, Any]
    ) -> RunOutput:
        started = time.time()
        try:
            result = self.executor(code, language, environment, **options)
            output = RunOutput.from_result(result, code)
        except Exception as exc:
            output = RunOutput.failure(exc, code)
        output.started = started
        return output

    def shutdown(self) -> None:
        """Stop taking runs; runs under way finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
