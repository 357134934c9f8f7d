"""Judge a finished run: exactly one status and a one-line message (DESIGN.md's table)."""

from __future__ import annotations

import re
import signal as signals

from ..schema import Status
from .limits import Limits
from .process import RawRun
from .result import ExecutionResult

__all__ = ["classify_run", "classify_build", "first_error_line", "BUILD_ERROR_EXIT"]

BUILD_ERROR_EXIT = 97
"""Exit code of the Python launcher when the program does not compile (a syntax error)."""

_MEMORY_PATTERNS = re.compile(
    r"MemoryError|std::bad_alloc|java\.lang\.OutOfMemoryError|JavaScript heap out of memory|"
    r"fatal error: runtime: out of memory|memory allocation of \d+ bytes failed|"
    r"Cannot allocate memory|out of memory",
)
_FILE_LIMIT_PATTERNS = re.compile(r"File too large|No space left on device|Disk quota exceeded")
_PY_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")
_JS_MISSING = re.compile(
    r"Cannot find (?:module|package) '([^']+)'|ERR_MODULE_NOT_FOUND.*?'([^']+)'"
)


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def first_error_line(text: str) -> str:
    """The most telling line of an error output (the first that says error, else the last)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if re.search(r"\berror\b|Error\b|SyntaxError|error\[", line):
            return line[:200]
    return lines[-1][:200] if lines else ""


def missing_module(stderr: str, language: str) -> str | None:
    """The module a program failed to import, from its error output (None if not that)."""
    match = (_PY_MISSING if language == "python" else _JS_MISSING).search(stderr)
    if not match:
        return None
    return next(group for group in match.groups() if group)


def _limit_notes(raw: RawRun, limits: Limits) -> str:
    if raw.stats.pids_refused:
        return f"; the process limit ({limits.pids}) was reached"
    return ""


def classify_build(raw: RawRun, limits: Limits, tool: str) -> tuple[Status, str] | None:
    """The status of a build step, or None when it succeeded."""
    log = (raw.stdout + raw.stderr).decode("utf-8", "replace")
    if raw.timed_out:
        return Status.TIMEOUT, f"timeout: the build ({tool}) ran over {limits.build_wall_s:g} s"
    if raw.stats.oom_kills:
        return Status.MEMORY_LIMIT, f"memory_limit: the build ({tool}) ran out of memory"
    if raw.exit_code == 0:
        return None
    return Status.BUILD_ERROR, f"build error: {first_error_line(log) or tool + ' failed'}"


def classify_run(raw: RawRun, limits: Limits, language: str) -> tuple[Status, str]:
    """The status and message of a program run."""
    stderr = raw.stderr.decode("utf-8", "replace")
    notes = _limit_notes(raw, limits)
    signal_number = raw.signal
    if raw.timed_out:
        return (
            Status.TIMEOUT,
            f"timeout: killed after {limits.wall_s:g} s of wall-clock time{notes}",
        )
    if raw.cpu_exceeded:
        return (
            Status.TIMEOUT,
            f"timeout: the CPU time limit ({limits.cpu_s:g} s, all its processes together) "
            f"was reached{notes}",
        )
    if (
        signal_number in (signals.SIGXCPU, signals.SIGKILL)
        and raw.cpu_s is not None
        and (raw.cpu_s >= limits.cpu_s * 0.95 or signal_number == signals.SIGXCPU)
    ):
        return Status.TIMEOUT, f"timeout: the CPU time limit ({limits.cpu_s:g} s) was reached"
    if raw.stats.oom_kills:
        return (
            Status.MEMORY_LIMIT,
            f"memory_limit: killed at the {limits.memory_mb} MB memory limit",
        )
    if raw.output_exceeded:
        return (
            Status.OUTPUT_LIMIT,
            f"output_limit: more than {limits.output_bytes} bytes of output; stopped",
        )
    if signal_number == signals.SIGXFSZ:
        return Status.OUTPUT_LIMIT, f"output_limit: a file went over {limits.file_mb} MB"
    if language == "python" and raw.exit_code == BUILD_ERROR_EXIT and "Error" in stderr:
        return Status.BUILD_ERROR, f"build error: {first_error_line(stderr)}"
    if raw.exit_code == 0 and signal_number is None:
        if raw.stats.pids_refused:  # it exited cleanly, but only because forks were refused
            return (
                Status.RUNTIME_ERROR,
                f"runtime error: the process limit ({limits.pids}) was reached "
                f"({raw.stats.pids_refused} forks refused)",
            )
        return Status.OK, f"ok in {raw.wall_s:.2f} s"
    module = missing_module(stderr, "python" if language == "python" else "javascript")
    if module and language in ("python", "javascript", "typescript"):
        from ..extract import distribution_for

        hint = distribution_for(module) if language == "python" else module
        installer = "pip" if language == "python" else "npm"
        return (
            Status.MISSING_DEPENDENCY,
            f"missing dependency: {module!r} is not installed ({installer} install {hint})",
        )
    if _MEMORY_PATTERNS.search(stderr) and (limits.memory_mb and raw.exit_code != 0):
        return (
            Status.MEMORY_LIMIT,
            f"memory_limit: out of memory at the {limits.memory_mb} MB limit",
        )
    if _FILE_LIMIT_PATTERNS.search(stderr):
        return (
            Status.OUTPUT_LIMIT,
            f"output_limit: the file-size ({limits.file_mb} MB) or disk ({limits.disk_mb} MB) "
            "limit was reached",
        )
    if signal_number is not None:
        return (
            Status.RUNTIME_ERROR,
            f"runtime error: killed by {_signal_name(signal_number)}{notes}",
        )
    detail = first_error_line(stderr)
    return (
        Status.RUNTIME_ERROR,
        f"runtime error: exit code {raw.exit_code}" + (f": {detail}" if detail else "") + notes,
    )


def record_build(
    result: ExecutionResult, raw: RawRun, limits: Limits, tool: str, enforced: list[str]
) -> bool:
    """Put a build step's log into ``result``, and its verdict when it failed.

    Returns True when the build failed (``result`` is final: the program must not run).
    """
    result.build_log = (raw.stdout + raw.stderr).decode("utf-8", "replace")
    verdict = classify_build(raw, limits, tool)
    if verdict is None:
        return False
    result.status, result.message = verdict
    result.exit_code, result.signal = raw.exit_code, raw.signal
    result.limits_enforced = enforced
    return True


def record_run(
    result: ExecutionResult, raw: RawRun, limits: Limits, language: str, enforced: list[str]
) -> None:
    """Put what a program run did (status, outputs, times, memory) into ``result``."""
    result.status, result.message = classify_run(raw, limits, language)
    result.exit_code, result.signal = raw.exit_code, raw.signal
    result.stdout = raw.stdout.decode("utf-8", "replace")
    result.stderr = raw.stderr.decode("utf-8", "replace")
    result.truncated = raw.truncated
    result.wall_s = round(raw.wall_s, 4)
    result.cpu_s = round(raw.cpu_s, 4) if raw.cpu_s is not None else None
    result.peak_mb = round(raw.peak_mb, 2) if raw.peak_mb is not None else None
    result.limits_enforced = enforced
