"""Judge a finished run: exactly one status and a one-line message (DESIGN.md's table).

The message is the line that explains the failure, read from the toolchain's own output: a
Python or Java exception with the user-code line, a compiler's first diagnostic, a Rust or Go
panic, Node's ``SyntaxError``/``TypeError``. Sandbox-internal paths are shortened in it
(``/opt/arena/venv/…`` → ``<runtime>/…``), and a failed connection or host-name lookup is said
to be the sandbox's missing network.
"""

from __future__ import annotations

import re
import signal as signals

from ..schema import Status
from .limits import Limits
from .process import RawRun
from .result import ExecutionResult
from .runtimes import LAUNCHER_DIR, SANDBOX_RUNTIME

__all__ = [
    "classify_run",
    "classify_build",
    "compiler_diagnostic",
    "esbuild_error",
    "explain",
    "first_error_line",
    "is_local_import",
    "shorten_paths",
    "BUILD_ERROR_EXIT",
]

BUILD_ERROR_EXIT = 97
"""Exit code of the Python launcher when the program does not compile (a syntax error)."""

_WIDTH = 240
"""The most characters of the toolchain's own line a message quotes."""

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
# What a program sees when it reaches for a network the sandbox does not have: no resolver
# (every host-name lookup fails) and nothing listening on its private loopback.
_NO_NETWORK = re.compile(
    r"Temporary failure in name resolution|Name or service not known|NameResolutionError|"
    r"getaddrinfo (?:EAI_AGAIN|ENOTFOUND)|\bENOTFOUND\b|\bECONNREFUSED\b|Network is unreachable|"
    r"ENETUNREACH|Connection refused|ConnectionRefusedError|UnknownHostException|"
    r"ConnectException|no such host|failed to lookup address|Could not resolve host"
)
# Paths inside the sandbox that mean nothing outside it, longest first.
_SANDBOX_PATHS = (
    (SANDBOX_RUNTIME + "/", "<runtime>/"),
    (LAUNCHER_DIR + "/", "<launcher>/"),
    ("/work/", ""),
)


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def shorten_paths(text: str) -> str:
    """``text`` with sandbox-internal paths shortened (``/opt/arena/venv/x`` → ``<runtime>/venv/x``,
    ``/work/main.js`` → ``main.js``)."""
    for prefix, short in _SANDBOX_PATHS:
        text = re.sub(rf"(?<![\w/.-]){re.escape(prefix)}", short, text)
    return text


def _clip(line: str) -> str:
    line = re.sub(r"\s+", " ", shorten_paths(line)).strip()
    return line if len(line) <= _WIDTH else line[: _WIDTH - 1] + "…"


def _quoted_source(line: str) -> bool:
    """Whether an output line quotes source code (a compiler excerpt), not a diagnostic."""
    return bool(re.match(r"\s*\d*\s*[|│╵]", line)) or line.startswith((" ", "\t"))


def first_error_line(text: str) -> str:
    """The most telling line of an error output, when no toolchain rule below knows it.

    The first unindented line that says error (never a quoted source line, never a ``note:``),
    else the last unindented line, else the last line.
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    own = [line for line in lines if not _quoted_source(line) and not line.startswith("note:")]
    for line in own:
        if re.search(r"\berror\b|Error\b|error\[|panicked|Exception\b", line):
            return _clip(line)
    chosen = own[-1] if own else (lines[-1] if lines else "")
    return _clip(chosen)


def _user_file(path: str) -> bool:
    """Whether a path in a traceback is the answer's own code (in the work directory)."""
    return not path.startswith(("/", "<")) or path.startswith("/work/")


def python_exception(text: str) -> str | None:
    """``ValueError: bad value (main.py, line 4)`` from a Python traceback, or None.

    The line is the exception of the last traceback (the one that ended the program); the
    place is the deepest frame in the answer's own files, not in a library.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    start = starts[-1] + 1 if starts else 0
    place = None
    for line in lines[start:]:
        frame = re.match(r'\s*File "([^"]+)", line (\d+)', line)
        if frame:
            if _user_file(frame.group(1)):
                place = f"{shorten_paths(frame.group(1))}, line {frame.group(2)}"
            continue
        if not line.strip() or line.startswith((" ", "\t")):
            continue  # a quoted source line, a caret line
        if not re.match(r"[A-Za-z_][\w.]*(?::|$)", line) or not (starts or place):
            return None
        return _clip(line) + (f" ({place})" if place else "")
    return None


def _rust_diagnostic(lines: list[str], index: int) -> str:
    """A rustc ``error…:`` line with the place given on its ``-->`` line."""
    for follow in lines[index + 1 : index + 4]:
        arrow = re.match(r"\s*-->\s*(\S+)", follow)
        if arrow:
            return f"{_clip(lines[index])} ({shorten_paths(arrow.group(1))})"
    return _clip(lines[index])


_DIAGNOSTICS = (
    re.compile(r"^\S+?:\d+:\d+: (?:fatal )?error: "),  # gcc, clang
    re.compile(r"^\S+\.java:\d+: error: "),  # javac
    re.compile(r"^\S+\.go:\d+(?::\d+)?: "),  # go build
    re.compile(r"^\S+\.tsx?\(\d+,\d+\): error TS\d+: "),  # tsc
    re.compile(r"undefined reference to |ld: .*error"),  # the linker
)


def esbuild_error(log: str) -> str | None:
    """esbuild's first error with its place (``App.jsx:2:18: Unexpected "}"``), or None."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if "[ERROR]" in line:
            text = line.replace("✘", "").replace("[ERROR]", "")
            place = next((row.strip() for row in lines[index + 1 : index + 4] if row.strip()), "")
            where = place + " " if re.fullmatch(r"\S+:\d+:\d+:", place) else ""
            return _clip(where + text)
    return None


def compiler_diagnostic(log: str) -> str | None:
    """The first diagnostic of a compiler's log (``main.c:3:5: error: …``), or None."""
    lines = log.splitlines()
    esbuild = esbuild_error(log)
    if esbuild:
        return esbuild
    for index, line in enumerate(lines):
        if re.match(r"error(?:\[E\d+\])?: ", line) and not re.match(
            r"error: (?:aborting due to|could not compile)", line
        ):
            return _rust_diagnostic(lines, index)
        if any(pattern.search(line) for pattern in _DIAGNOSTICS):
            return _clip(re.sub(r"^\./", "", line))
    return None


def _first_place(lines: list[str], pattern: str) -> str | None:
    for line in lines:
        found = re.search(pattern, line)
        if found:
            return shorten_paths(found.group(1))
    return None


def node_exception(text: str) -> str | None:
    """``TypeError: … (main.js:2:15)`` from Node's error output, or None."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"(?:Uncaught )?(?:[A-Z]\w*)?(?:Error|Exception)(?: \[\w+\])?: ", line):
            place = _first_place(lines[index:], r"\((/work/[^():]+:\d+:\d+)\)|at (/work/\S+:\d+)")
            place = place or _first_place(lines[:index], r"^(/work/\S+:\d+)$")
            return _clip(line) + (f" ({place})" if place else "")
    return None


def java_exception(text: str) -> str | None:
    """``java.lang.IllegalStateException: boom (Main.java:3)``, or None."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        thrown = re.match(r'Exception in thread "[^"]*" (.*)', line)
        if thrown:
            # The first frame of the answer's classes: JDK frames name their module (java.base/).
            place = _first_place(lines[index:], r"^\s+at [\w$.<>]+\((\w+\.java:\d+)\)")
            return _clip(thrown.group(1)) + (f" ({place})" if place else "")
    return None


def panic_line(text: str) -> str | None:
    """A Rust or Go panic with its place (``panicked at main.rs:3:21: index out of …``)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        rust = re.match(r"thread '[^']*'(?: \(\d+\))? panicked at (\S+?):?$", line)
        if rust and index + 1 < len(lines):
            return _clip(f"panicked at {rust.group(1)}: {lines[index + 1]}")
        if line.startswith("panic: "):  # Go: the place is the first frame in the work directory
            place = _first_place(lines[index:], r"^\s+(?:/work/|\./)(\S+\.go:\d+)")
            return _clip(line) + (f" ({place})" if place else "")
    return None


def cpp_terminate(text: str) -> str | None:
    """An uncaught C++ exception: ``terminate called after throwing … what(): boom``."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("terminate called"):
            what = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return _clip(line + (f" ({what})" if what.startswith("what()") else ""))
    return None


def _last_line(text: str, width: int = 200) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return shorten_paths(lines[-1])[:width] if lines else ""


def explain(text: str, language: str) -> str:
    """The one line of ``text`` (a program's error output) that explains its failure."""
    readers = {
        "python": (python_exception,),
        "javascript": (node_exception,),
        "typescript": (node_exception,),
        "java": (java_exception,),
        "rust": (panic_line,),
        "go": (panic_line,),
        "cpp": (cpp_terminate,),
    }.get(language, ())
    for reader in (*readers, compiler_diagnostic):
        found = reader(text)
        if found:
            return found
    return first_error_line(text)


def is_local_import(spec: str) -> bool:
    """Whether a JavaScript import names the answer's own code, not an npm package.

    Relative and absolute paths (``./store.js``, ``/stores/notes``) and path aliases
    (``@/hooks``, ``~/lib``) are local: npm names a package ``name`` or ``@scope/name``.
    """
    return bool(re.match(r"\.{0,2}/|[@~#]/|~$|@$", spec))


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


def _raise_hint(field: str, value: float) -> str:
    """How to raise a time limit: to the original arena's 60 s, or double past it."""
    higher = 60.0 if value < 60 else value * 2
    return f'raise it with limits={{"{field}": {higher:g}}}'


def classify_build(raw: RawRun, limits: Limits, tool: str) -> tuple[Status, str] | None:
    """The status of a build step, or None when it succeeded."""
    log = (raw.stdout + raw.stderr).decode("utf-8", "replace")
    if raw.timed_out:
        return Status.TIMEOUT, (
            f"timeout: the build ({tool}) reached its wall-clock limit "
            f"({limits.build_wall_s:g} s); {_raise_hint('build_wall_s', limits.build_wall_s)}"
        )
    if raw.stats.oom_kills:
        return Status.MEMORY_LIMIT, f"memory limit: the build ({tool}) ran out of memory"
    if raw.exit_code == 0:
        return None
    detail = compiler_diagnostic(log) or node_exception(log) or first_error_line(log)
    return Status.BUILD_ERROR, f"build error: {detail or tool + ' failed'}"


def _short(detail: str) -> str:
    """A long exception line cut to its exception's name and place (a network failure's
    reason is already said; urllib3's nested reprs add nothing)."""
    if len(detail) <= 120:
        return detail
    place = re.search(r" \([^()]*line \d+\)$|( \([\w.]+:\d+(?::\d+)?\))$", detail)
    return detail.split(":", 1)[0] + (place.group(0) if place else "")


def _timeout(raw: RawRun, limits: Limits, notes: str) -> tuple[Status, str] | None:
    """The verdict when the run reached a time limit, else None."""
    if raw.timed_out:
        return Status.TIMEOUT, (
            f"timeout: the wall-clock limit ({limits.wall_s:g} s) was reached; "
            f"{_raise_hint('wall_s', limits.wall_s)}{notes}"
        )
    signal_number = raw.signal
    cpu_killed = (
        signal_number in (signals.SIGXCPU, signals.SIGKILL)
        and raw.cpu_s is not None
        and (raw.cpu_s >= limits.cpu_s * 0.95 or signal_number == signals.SIGXCPU)
    )
    if raw.cpu_exceeded or cpu_killed:
        return Status.TIMEOUT, (
            f"timeout: the CPU time limit ({limits.cpu_s:g} s, all its processes together) "
            f"was reached; {_raise_hint('cpu_s', limits.cpu_s)}{notes}"
        )
    return None


def missing_verdict(stderr: str, language: str, exit_code: int | None) -> tuple[Status, str] | None:
    """The verdict when the program imported a module the sandbox does not have, else None
    (programs, apps and servers alike)."""
    if language not in ("python", "javascript", "typescript"):
        return None
    module = missing_module(stderr, "python" if language == "python" else "javascript")
    if not module:
        return None
    if module.startswith("/work/"):  # Node's ES-module loader names the resolved path
        module = "./" + module.removeprefix("/work/")
    if language != "python" and is_local_import(module):
        # Code the answer refers to but did not include: no installer can supply it.
        return Status.RUNTIME_ERROR, (
            f"runtime error: exit code {exit_code}: the answer imports "
            f"{shorten_paths(module)}, a local file it did not include"
        )
    from ..extract import distribution_for

    if language == "python":
        hint = f"pip install {distribution_for(module)}"
    else:
        parts = module.split("/")
        hint = "npm install " + "/".join(parts[: 2 if module.startswith("@") else 1])
    return Status.MISSING_DEPENDENCY, (f"missing dependency: {module!r} is not installed ({hint})")


def classify_run(raw: RawRun, limits: Limits, language: str) -> tuple[Status, str]:
    """The status and message of a program run."""
    stderr = raw.stderr.decode("utf-8", "replace")
    notes = _limit_notes(raw, limits)
    signal_number = raw.signal
    timeout = _timeout(raw, limits, notes)
    if timeout:
        return timeout
    if raw.stats.oom_kills:
        return (
            Status.MEMORY_LIMIT,
            f"memory limit: killed at the {limits.memory_mb} MB memory limit",
        )
    if raw.output_exceeded:
        return (
            Status.OUTPUT_LIMIT,
            f"output limit: more than {limits.output_bytes} bytes of output; stopped",
        )
    if signal_number == signals.SIGXFSZ:
        return Status.OUTPUT_LIMIT, f"output limit: a file went over {limits.file_mb} MB"
    if language == "python" and raw.exit_code == BUILD_ERROR_EXIT and "Error" in stderr:
        return Status.BUILD_ERROR, f"build error: {explain(stderr, language)}"
    if raw.exit_code == 0 and signal_number is None:
        if raw.stats.pids_refused:  # it exited cleanly, but only because forks were refused
            return (
                Status.RUNTIME_ERROR,
                f"runtime error: the process limit ({limits.pids}) was reached "
                f"({raw.stats.pids_refused} forks refused)",
            )
        return Status.OK, f"ok in {raw.wall_s:.2f} s"
    missing = missing_verdict(stderr, language, raw.exit_code)
    if missing:
        return missing
    if _MEMORY_PATTERNS.search(stderr) and (limits.memory_mb and raw.exit_code != 0):
        return (
            Status.MEMORY_LIMIT,
            f"memory limit: out of memory at the {limits.memory_mb} MB limit",
        )
    if _FILE_LIMIT_PATTERNS.search(stderr):
        return (
            Status.OUTPUT_LIMIT,
            f"output limit: the file-size ({limits.file_mb} MB) or disk ({limits.disk_mb} MB) "
            "limit was reached",
        )
    detail = explain(stderr, language) if stderr.strip() else ""
    if not detail and raw.exit_code not in (0, None):
        # Nothing on stderr: a program that prints its own complaint ("Usage: …") and exits
        # non-zero said why on stdout, in its last line.
        last = _last_line(raw.stdout.decode("utf-8", "replace"))
        detail = f"its last output line: {last}" if last else ""
    if signal_number is not None:
        return (
            Status.RUNTIME_ERROR,
            f"runtime error: killed by {_signal_name(signal_number)}{notes}"
            + (f": {detail}" if detail else ""),
        )
    if _NO_NETWORK.search(stderr):
        detail = "the sandbox has no network (a host-name lookup or connection failed)" + (
            f": {_short(detail)}" if detail else ""
        )
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
