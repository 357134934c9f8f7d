"""``run`` and ``run_many``: the sandbox's public entry points."""

from __future__ import annotations

import concurrent.futures
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from ..errors import ArenaDataError
from ..schema import ENVIRONMENTS, Status, content_id
from . import cache as result_cache
from .artifacts import portable_artifacts
from .backend import Job, get_backend
from .limits import Limits
from .result import ExecutionResult
from .runtimes import ALIASES, resolve, runtime_for

__all__ = ["run", "run_many", "job_id", "check_file_names", "error_result"]

CACHE_FORMAT = 2
"""Bumped when a change in the sandbox should invalidate every cached result (2: stdin is
empty and closed, and keys the cache)."""


def _names(language: str | None, environment: str | None) -> tuple[str, str]:
    """(language, environment) in the schema's vocabulary."""
    language_name = ALIASES.get(language.lower(), language.lower()) if language else None
    env_name = environment.lower() if environment else None
    if env_name is None:
        env_name = language_name or "python"
    if language_name is None:
        runtime = runtime_for(None, env_name)
        language_name = runtime.name if runtime else env_name
    if env_name not in ENVIRONMENTS:
        env_name = ALIASES.get(env_name, env_name)
    return language_name, env_name


def job_id(
    code: str,
    environment: str,
    limits: Limits,
    versions: str,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The content hash that identifies a run (and keys the result cache)."""
    return content_id(CACHE_FORMAT, code, environment, limits.as_dict(), versions, extra or {})


def check_file_names(files: Mapping[str, Any]) -> None:
    """Refuse input file names that would land outside the work folder or cannot be made.

    Raises
    ------
    ArenaDataError
        A name is not text, is empty, holds a NUL, is absolute or has a ``..`` component
        (the message names it).
    """
    for name in files:
        problem = None
        if not isinstance(name, str):
            problem = f"is a {type(name).__name__}, not text"
        elif "\0" in name:
            problem = "holds a NUL character"
        elif not PurePosixPath(name).parts:
            problem = "is empty (or names the folder itself)"
        elif PurePosixPath(name).is_absolute():
            problem = "is absolute"
        elif ".." in PurePosixPath(name).parts:
            problem = "has a '..' component"
        if problem:
            raise ArenaDataError(
                f"the input file name {name!r} {problem}",
                source="run(files=...)",
                fix="name each file relative to the program's folder, e.g. 'data.csv'",
            )


def error_result(
    code: Any, language: Any, environment: Any, error: BaseException
) -> ExecutionResult:
    """A ``sandbox_error`` result for a job whose run raised ``error`` (so that a batch keeps
    every other job's result)."""
    code_text = code if isinstance(code, str) else repr(code)
    try:
        language_name, env_name = _names(language, environment)
    except Exception:  # noqa: BLE001 - the job's own arguments may be what was wrong
        language_name, env_name = None, "python"
    env_name = env_name if env_name in ENVIRONMENTS else "python"
    detail = " ".join(f"{type(error).__name__}: {error}".split())
    return ExecutionResult(
        execution_id=content_id(CACHE_FORMAT, code_text, env_name, "sandbox_error"),
        code=code_text,
        language=language_name,
        environment=env_name,
        status=Status.SANDBOX_ERROR,
        message=f"sandbox error: {detail[:500]}",
    )


def _unsupported(code: str, language: str, environment: str, message: str) -> ExecutionResult:
    return ExecutionResult(
        execution_id=content_id(CACHE_FORMAT, code, environment, "unsupported"),
        code=code,
        language=language,
        environment=environment if environment in ENVIRONMENTS else "python",
        status=Status.UNSUPPORTED,
        message=f"unsupported: {message}",
    )


def run(
    code: str,
    language: str | None = None,
    environment: str | None = None,
    limits: Limits | Mapping[str, Any] | None = None,
    backend: str | None = None,
    *,
    allow_install: bool = False,
    index_url: str | None = None,
    refresh: bool = False,
    cache: bool = True,
    files: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> ExecutionResult:
    """Run ``code`` in a sandbox and say what it did.

    Parameters
    ----------
    code
        The program (one file).
    language
        ``python``, ``javascript``, ``typescript``, ``c``, ``cpp``, ``java``, ``go``,
        ``rust`` (or an alias: ``py``, ``js``, ``ts``, ``c++``, ``golang``, ``rs``).
    environment
        The execution environment (defaults to the language's own; ``pygame``,
        ``streamlit`` and ``gradio`` run as Python).
    limits
        A :class:`Limits` or a dict of its fields (defaults: 10 s, 512 MB, 64 processes).
    backend
        ``"bwrap"`` or ``"docker"``; None picks the first available.
    allow_install
        Install missing Python packages into a per-job layer first (the network is open
        during that step only).
    index_url
        The package index for ``allow_install`` (default: pip's).
    refresh
        Run even when the result cache has this run.
    cache
        Use the result cache at all.
    files
        Extra input files (name → text) placed next to the code.
    stdin
        Text the program reads on its standard input (e.g. a sample input from
        :func:`arena_kit.sampleio.sample_io`). None or empty: its stdin is empty and closed,
        so ``input()`` gets EOF at once instead of waiting out the wall limit.

    Returns
    -------
    ExecutionResult
        Never raises for the code's faults: those are statuses.

    Raises
    ------
    SandboxUnavailableError
        The asked-for backend is unknown or cannot run here (the message names the fix).
    ArenaDataError
        A name in ``files`` is empty, absolute, has a ``..`` component or a NUL; ``stdin``
        is not text.
    """
    check_file_names(files or {})
    stdin_text = _stdin_text(stdin)
    limits = Limits.coerce(limits)
    language_name, env_name = _names(language, environment)
    runtime = runtime_for(language_name, env_name)
    if runtime is None:
        return _unsupported(
            code, language_name, env_name,
            f"no code runtime for {env_name!r} here (visual environments are rendered by "
            "arena_kit.web)",
        )  # fmt: skip
    resolved = resolve(runtime, code)
    if isinstance(resolved, str):
        return _unsupported(code, language_name, env_name, resolved)
    chosen = get_backend(backend)
    layer_requirements: list[str] = []
    if allow_install and runtime.name == "python":
        from .install import missing_requirements

        layer_requirements = missing_requirements(code)
    extra = {
        "files": dict(files or {}),
        "install": layer_requirements,
        "index": index_url,
        "stdin": stdin_text,  # the same program fed other input is another run
    }
    execution_id = job_id(code, env_name, limits, resolved.version, extra)
    if cache and not refresh:
        hit = result_cache.load(execution_id)
        if hit is not None:
            return hit
    layer = None
    if layer_requirements:
        from .install import InstallError

        try:
            layer = chosen.install_layer(layer_requirements, index_url)
        except InstallError as error:
            return ExecutionResult(
                execution_id=execution_id,
                code=code,
                language=runtime.name,
                environment=env_name,
                status=Status.MISSING_DEPENDENCY,
                message=f"missing dependency: could not install {', '.join(error.packages)}",
                build_log=error.log,
                backend=chosen.name,
            )
    job = Job(
        execution_id=execution_id,
        code=code,
        language=runtime.name,
        environment=env_name,
        runtime=resolved,
        limits=limits,
        layer=layer,
        files=dict(files or {}),
        stdin=stdin_text,
    )
    result = chosen.execute(job)
    _note_artifacts(result)
    if cache:
        try:
            result_cache.store(result)
        except (OSError, ValueError, TypeError) as error:
            # The cache only saves time: a result it cannot keep is still the result.
            warnings.warn(f"arena-kit: result not cached: {error}", RuntimeWarning, stacklevel=2)
    return result


def _stdin_text(stdin: Any) -> str:
    """``run(stdin=...)`` as text ("" for none); refuse anything else with the fix."""
    if stdin is None:
        return ""
    if not isinstance(stdin, str):
        raise ArenaDataError(
            f"stdin must be text, not {type(stdin).__name__}",
            source="run(stdin=...)",
            fix="pass the program's input as a str, e.g. stdin='3\\n1 2 3\\n'",
        )
    return stdin


def _note_artifacts(result: ExecutionResult) -> None:
    """Say in the message what the run's files lost (left out or renamed), and make every
    artifact name UTF-8 whatever the backend handed back: names from a run are data."""
    notes = list(getattr(result.artifacts, "notes", []))
    notes += portable_artifacts(result.artifacts)
    if notes:
        result.message = f"{result.message}; artifacts: {'; '.join(notes)}"


def _as_kwargs(job: Any) -> dict[str, Any]:
    if isinstance(job, str):
        return {"code": job}
    if isinstance(job, Mapping):
        return dict(job)
    if isinstance(job, tuple):
        return dict(zip(("code", "language", "environment"), job, strict=False))
    raise TypeError(
        f"a job must be code (str), a (code, language) tuple or a dict of run()'s "
        f"arguments, not {type(job).__name__}"
    )


def _run_job(kwargs: dict[str, Any]) -> ExecutionResult:
    """Module-level so that process pools and Dask workers can import it."""
    return run(**kwargs)


def _job_result(
    future: concurrent.futures.Future[ExecutionResult], kwargs: dict[str, Any]
) -> ExecutionResult:
    """The job's result, or a ``sandbox_error`` one when its run raised (a worker that died
    included): one job's failure never costs the batch the others' results."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - any failure is this job's, said in its result
        return error_result(
            kwargs.get("code"), kwargs.get("language"), kwargs.get("environment"), error
        )


def run_many(
    jobs: Iterable[Any],
    executor: concurrent.futures.Executor | None = None,
    progress: bool = True,
    max_workers: int | None = None,
    **common: Any,
) -> list[ExecutionResult]:
    """Run many jobs in parallel; results in the order of ``jobs``.

    Parameters
    ----------
    jobs
        Each a string of code, a ``(code, language)`` tuple, or a dict of :func:`run`'s
        arguments.
    executor
        Any :class:`concurrent.futures.Executor`: a thread pool by default; a process pool;
        or a Dask cluster's ``Client.get_executor()`` to run on many machines.
    progress
        Show a progress bar (``tqdm.auto``: a widget in notebooks, text in terminals).
    max_workers
        Threads of the default pool (default: twice the CPU count; runs mostly wait).
    common
        Arguments of :func:`run` given to every job (a job's own win).

    Returns
    -------
    list of ExecutionResult
        One per job, in order. A job whose run raised (a bad argument, an unavailable backend,
        a worker that died) gets a ``sandbox_error`` result whose message names the exception;
        the other jobs are not affected.
    """
    prepared = [{**common, **_as_kwargs(job)} for job in jobs]
    own = executor is None
    pool = executor or concurrent.futures.ThreadPoolExecutor(
        max_workers=max_workers or 2 * (os.cpu_count() or 1)
    )
    try:
        futures = {pool.submit(_run_job, kwargs): index for index, kwargs in enumerate(prepared)}
        results: list[ExecutionResult | None] = [None] * len(prepared)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(prepared), desc="sandbox", unit="run")
        try:
            for future in concurrent.futures.as_completed(futures):
                index = futures[future]
                results[index] = _job_result(future, prepared[index])
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    finally:
        if own:
            pool.shutdown(wait=True)
    return [r for r in results if r is not None]  # every slot is filled by now
