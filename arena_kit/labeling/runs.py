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
from typing import Any

from ..schema import ENVIRONMENTS

__all__ = [
    "Executor",
    "RunOutput",
    "RunCache",
    "code_hash",
    "environment_for",
    "sandbox_executor",
    "default_executor",
]

Executor = Callable[[str, str | None, str | None], Any]
"""``execute(code, language, environment) -> result``."""

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
        return cls(
            status=str(get("status", "sandbox_error")),
            message=str(get("message", "") or ""),
            stdout=str(get("stdout", "") or ""),
            stderr=str(get("stderr", "") or ""),
            rich_html=rich,
            execution_id=get("execution_id"),
            code_hash=code_hash(code),
            wall_s=get("wall_s"),
        )

    @classmethod
    def failure(cls, exc: BaseException, code: str) -> RunOutput:
        """The output shown when the executor itself raised."""
        return cls(
            status="sandbox_error",
            message=f"{type(exc).__name__}: {exc}",
            code_hash=code_hash(code),
        )


def default_executor(**options: Any) -> Executor:
    """Programs in the sandbox, pages/apps/games/diagrams rendered and screenshotted.

    Uses :func:`arena_kit.web.execute_code` (which runs programs with
    :func:`arena_kit.sandbox.run` and renders visual environments in an offline Chromium);
    ``options`` are passed on to it.
    """
    from .. import web

    def execute(code: str, language: str | None, environment: str | None) -> Any:
        if environment is None:
            from .. import sandbox

            return sandbox.run(code, language=language)
        return web.execute_code(code, environment, language=language, **options)

    return execute


def sandbox_executor(**options: Any) -> Executor:
    """An executor that runs code with :func:`arena_kit.sandbox.run` (``options`` passed on).

    Raises
    ------
    ImportError
        When the sandbox package is not available.
    """
    from .. import sandbox

    def execute(code: str, language: str | None, environment: str | None) -> Any:
        return sandbox.run(code, language=language, environment=environment, **options)

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
        self._futures: dict[tuple[str, str | None, str | None], Future[RunOutput]] = {}
        self._lock = threading.Lock()

    def submit(
        self, code: str, language: str | None, environment: str | None, *, fresh: bool = False
    ) -> Future[RunOutput]:
        """The (possibly already finished) run of ``code``; ``fresh`` forces a new run."""
        key = (code_hash(code) + str(len(code)), language, environment)
        with self._lock:
            future = self._futures.get(key)
            if future is None or fresh:
                future = self._pool.submit(self._run, code, language, environment)
                self._futures[key] = future
            return future

    def _run(self, code: str, language: str | None, environment: str | None) -> RunOutput:
        started = time.time()
        try:
            output = RunOutput.from_result(self.executor(code, language, environment), code)
        except Exception as exc:
            output = RunOutput.failure(exc, code)
        output.started = started
        return output

    def shutdown(self) -> None:
        """Stop taking runs; runs under way finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
