"""Start one sandboxed process tree, feed it, read it (capped), time it, and end it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import selectors
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import Cgroup, CgroupStats
from .confine import SHELL, drop_command, exec_line

__all__ = [
    "WAIT_COMMAND", "Launcher", "RawRun", "Started", "program_line", "run_process", "stdin_file",
]  # fmt: skip


@dataclass
class RawRun:
    """What happened, before it is judged (see :mod:`arena_kit.sandbox.classify`)."""

    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    truncated: bool
    output_exceeded: bool
    timed_out: bool
    wall_s: float
    cpu_s: float | None
    peak_mb: float | None
    stats: CgroupStats = field(default_factory=CgroupStats)
    cpu_exceeded: bool = False
    """The run's processes together used more CPU time than its limit (killed)."""


def _wrapper(rlimits: dict[str, int], command: str) -> str:
    """The shell line that sets rlimits, then runs ``command``."""
    lines = []
    for flag, value in rlimits.items():
        if flag == "t":  # SIGXCPU at the soft limit tells a CPU limit from other kills
            lines.append(f"ulimit -S -t {value} && ulimit -H -t {value + 1}")
        else:
            lines.append(f"ulimit -{flag} {value}")
    lines.append(command)
    return " && ".join(lines)


_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def stdin_file(data: bytes) -> int:
    """A read-only descriptor of an anonymous, sealed file holding ``data``: a program's stdin.

    A file, not a pipe: the host never blocks writing it (a pipe holds 64 KiB), the program
    reads it at its own pace, and it reaches nothing but these bytes (no path, no writer,
    sealed: it cannot change them). The caller closes the descriptor.
    """
    memfd = os.memfd_create("arena-stdin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(memfd, view) :]
        fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, _SEALS)
        # Reopened read-only: the descriptor the program gets cannot be written at all.
        return os.open(f"/proc/self/fd/{memfd}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(memfd)


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _end(process: subprocess.Popen[bytes], pidfd: int, group: Cgroup | None) -> None:
    """Kill a sandbox's whole tree (its session, its cgroup), reap it, close its pipes."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if group is not None:
        group.kill_all()
    os.waitpid(process.pid, 0)
    process.returncode = 0  # reaped: keeps Popen from waiting again
    os.close(pidfd)
    _close_pipes(process)


WAIT_COMMAND = [SHELL, "-c", 'read -r line && eval "$line"', "arena-launcher"]
"""A launcher's waiting shell: it reads one line on its stdin (the control pipe) and runs it."""


def program_line(argv: list[str], env: dict[str, str]) -> str:
    """The line a ready launcher (see :class:`Launcher`) runs: ``argv`` with ``env`` added to
    the sandbox's environment, its stdin ``/dev/null`` (the control pipe is never its)."""
    # dash adds PWD to what it exports; a program started by bwrap directly has none.
    parts = ["unset PWD"]
    if env:
        pairs = (f"{key}={shlex.quote(value)}" for key, value in env.items())
        parts.append("export " + " ".join(pairs))
    parts.append(f"exec {shlex.join(argv)} </dev/null")
    return " && ".join(parts)


class Launcher:
    """A shell already placed in a fresh cgroup, waiting for the command line of one sandbox.

    Moving a task into a cgroup makes the kernel wait an RCU grace period (~13 ms here)
    unless another move happened just before. A launcher pays that ahead, in the background.

    A *ready* launcher (``sandbox``: a bwrap command line whose program is
    :data:`WAIT_COMMAND`) goes further: it starts that sandbox at once, so the namespaces,
    mounts, uid drop and seccomp filter of a run are made before the run asks for them, and
    its line only names the program (:func:`program_line`). Either way a launcher serves one
    run and is never reused; a run's interpreter or program still starts when the run does.
    """

    def __init__(
        self, group: Cgroup, *, netns: bool = False, sandbox: list[str] | None = None
    ) -> None:
        self.group = group
        self.netns = netns
        """Whether it waits in a network namespace of its own (only a loopback device, up)
        for the sandbox to inherit, instead of bwrap making one (~4 ms of its start)."""
        self.ready = sandbox is not None
        """Whether its sandbox is made and waits for the program's line (see above)."""
        self.used = False
        """Whether a run took it (its process is then the run's to end, not the pool's)."""
        self.made_with = ""
        """What its sandbox was made with, as its maker describes it (checked before use)."""
        join = " && ".join(f"echo $$ > {path}" for path in group.procs_files)
        # The uid drop happens here, while it waits, not in the run: the root-only steps
        # (cgroup, network namespace) are done, so the shell that reads the run's line is
        # already the sandbox uid, and the run's line execs bwrap directly (one exec less).
        # A ready launcher execs its sandbox the way every sandbox starts (exec_line).
        drop = drop_command()
        self.dropped = bool(drop)
        """Whether it already runs as the sandbox uid (it then refuses nothing root-only)."""
        if sandbox is not None:
            wait = exec_line(sandbox)
        elif drop:
            wait = f"exec {shlex.join([*drop, *WAIT_COMMAND])}"
        else:
            wait = WAIT_COMMAND[2]
        script = f"{join} && {wait}"
        command = [SHELL, "-c", script, "arena-launcher"]
        if netns:
            command = ["unshare", "--net", "--", SHELL, "-c",
                       f"ip link set lo up && {script}", "arena-launcher"]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin"},
        )
        self.pidfd = os.pidfd_open(self.process.pid)
        deadline = time.monotonic() + 10
        while not self._joined():
            if not self.alive() or time.monotonic() > deadline:
                self.discard()
                raise RuntimeError("a sandbox launcher could not join its cgroup")
            time.sleep(0.002)
        group.reset_counts()  # from here on it only waits: the run's counts start at zero

    def _joined(self) -> bool:
        """Ready: in every hierarchy of its group (the shell joins them one after another)."""
        pid = str(self.process.pid)
        try:
            return all(pid in Path(p).read_text().split() for p in self.group.procs_files)
        except OSError:
            return False

    def alive(self) -> bool:
        # WNOWAIT: look without reaping.
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PIDFD, self.pidfd, flags) is None

    def discard(self) -> None:
        """End it (unused) and remove its cgroup."""
        _end(self.process, self.pidfd, self.group)
        self.group.remove()


_PLACE_TIMEOUT_S = 20.0
_CPU_POLL_S = 0.05
# Read once: os.cpu_count() costs a sysfs read, and every run's wait needs it.
_CPUS = max(1, os.cpu_count() or 1)


class Started:
    """A sandbox process that is running (or waiting on its stdin to be released)."""

    def __init__(
        self,
        argv: list[str],
        *,
        cgroup: Cgroup | None,
        rlimits: dict[str, int],
        pass_fds: tuple[int, ...] = (),
        hold: bool = False,
        launcher: Launcher | None = None,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.cgroup = cgroup
        self._status_fd: int | None = None
        if launcher is not None:
            if stdin:  # a launcher's stdin is its control pipe: the program gets /dev/null
                raise ValueError("a launcher cannot feed a program's stdin; start without one")
            self._adopt(launcher, argv, rlimits, env or {})
            return
        if env:
            raise ValueError("env is for a ready launcher's program; bwrap's argv sets it")
        if stdin and hold:
            raise ValueError("a held process reads its release line on stdin: no stdin text")
        block_w: int | None = None
        if cgroup is not None:
            # bwrap reports its sandbox's pid on the status fd, then sets the sandbox up and
            # waits on the block fd before it starts the program. The sandbox is moved into
            # its cgroup meanwhile: every process the program ever starts is counted, and the
            # move's cost (the kernel waits an RCU grace period, ~10 ms) overlaps bwrap's
            # set-up instead of preceding it.
            status_r, status_w = os.pipe()
            block_r, block_w = os.pipe()
            self._status_fd = status_r
            argv = [argv[0], "--json-status-fd", str(status_w), "--block-fd", str(block_r),
                    *argv[1:]]  # fmt: skip
            pass_fds = (*pass_fds, status_w, block_r)
        line = exec_line(argv, reserved_fds=pass_fds)
        command = [SHELL, "-c", _wrapper(rlimits, line), "arena-sandbox"]
        self.started = time.monotonic()
        # The program's stdin: the given text, or empty and closed (/dev/null: input() gets
        # EOF at once). A held process's pipe is its control channel: the code it runs
        # replaces fd 0 with /dev/null once it read its release line (pylaunch, apps).
        stdin_fd: int | None = stdin_file(stdin) if stdin else None
        program_stdin = subprocess.DEVNULL if stdin_fd is None else stdin_fd
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if hold else program_stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=pass_fds,
                env={"PATH": "/usr/bin:/bin"},
            )
        finally:
            if stdin_fd is not None:
                os.close(stdin_fd)
            if cgroup is not None:
                os.close(status_w)
                os.close(block_r)
        self.pidfd = os.pidfd_open(self.process.pid)
        if cgroup is not None and block_w is not None:
            try:
                self._place(cgroup)
            except Exception:
                self.abandon()
                raise
            finally:
                os.close(block_w)  # releases the sandbox (or lets a failed bwrap end)

    def _adopt(
        self, launcher: Launcher, argv: list[str], rlimits: dict[str, int], env: dict[str, str]
    ) -> None:
        """Hand ``launcher`` (already in its cgroup) the sandbox's command line, or for a
        ready launcher the program's (``argv``, with ``env``)."""
        if any("\n" in text for text in (*argv, *env, *env.values())):
            raise ValueError("a launcher reads one line: no argument may hold a newline")
        if env and not launcher.ready:
            raise ValueError("env is for a ready launcher's program; bwrap's argv sets it")
        launcher.used = True
        self.cgroup = launcher.group
        self.process = launcher.process
        self.pidfd = launcher.pidfd
        self.started = time.monotonic()
        # </dev/null: the launcher's stdin is this control pipe; the program must never get it
        # (nor read anything the host writes there): its stdin is empty and closed.
        if launcher.ready:
            line = _wrapper(rlimits, program_line(argv, env))
        else:
            line = _wrapper(rlimits, f"{exec_line(argv, dropped=launcher.dropped)} </dev/null")
        line += "\n"
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(line.encode())
            self.process.stdin.close()

    def _place(self, cgroup: Cgroup) -> None:
        """Move the (still blocked) sandbox into ``cgroup``; raise if that is not possible."""
        assert self._status_fd is not None
        line = b""
        deadline = time.monotonic() + _PLACE_TIMEOUT_S
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._status_fd], [], [], max(0.0, remaining))
            if not ready:
                raise RuntimeError("bwrap did not report its sandbox's pid in time")
            chunk = os.read(self._status_fd, 4096)
            if not chunk:  # bwrap ended before making the sandbox: wait() reports its error
                return
            line += chunk
        pid = int(json.loads(line.split(b"\n", 1)[0])["child-pid"])
        for procs in cgroup.procs_files:
            Path(procs).write_text(str(pid))

    def release(self, message: bytes = b"go\n") -> None:
        """Let a held process go on (the warm pool's launcher waits for this line)."""
        assert self.process.stdin is not None
        self.started = time.monotonic()
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(message)
            self.process.stdin.close()

    def _close_status(self) -> None:
        # Kept open until the end: bwrap writes the exit code there last, and a closed pipe
        # would kill it with SIGPIPE.
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None

    def abandon(self) -> None:
        """Kill it without reading anything (a warm sandbox that is not needed)."""
        _end(self.process, self.pidfd, self.cgroup)
        self._close_status()

    def wait(self, *, wall_s: float, output_bytes: int, cpu_s: float | None = None) -> RawRun:
        """Read (capped) until it ends or the wall clock runs out, then end the whole tree.

        ``cpu_s``: CPU seconds for the whole tree, summed over its processes (read from the
        cgroup every :data:`_CPU_POLL_S`); RLIMIT_CPU alone counts each process apart, so
        four processes could use four times the limit.
        """
        process = self.process
        started = self.started
        cgroup = self.cgroup
        pidfd = self.pidfd
        deadline = started + wall_s
        buffers: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        truncated = exceeded = timed_out = cpu_exceeded = False
        watch_cpu = cpu_s is not None and cgroup is not None and cgroup.counts_cpu
        selector = selectors.DefaultSelector()
        assert process.stdout is not None and process.stderr is not None
        streams = {process.stdout.fileno(): 1, process.stderr.fileno(): 2}
        for fd in streams:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        selector.register(pidfd, selectors.EVENT_READ)
        exited_at: float | None = None
        status = rusage = None
        # No CPU can be over the limit before that much wall time passed (per CPU): a short
        # run never reads the cgroup while it runs, a long one every _CPU_POLL_S.
        next_cpu_check = started + (cpu_s or 0.0) / _CPUS
        try:
            while True:
                now = time.monotonic()
                if exited_at is None and now >= deadline:
                    timed_out = True
                    break
                open_streams = len(selector.get_map()) - (1 if exited_at is None else 0)
                if exited_at is not None and (open_streams == 0 or now - exited_at > 0.5):
                    break  # exited; output drained, or held open by a killed descendant
                timeout = max(0.0, (deadline if exited_at is None else exited_at + 0.5) - now)
                if watch_cpu and exited_at is None:
                    assert cgroup is not None and cpu_s is not None
                    if now >= next_cpu_check:
                        if (cgroup.cpu_seconds() or 0.0) > cpu_s:
                            cpu_exceeded = True
                            break
                        next_cpu_check = now + _CPU_POLL_S
                    timeout = min(timeout, max(0.0, next_cpu_check - now))
                for key, _ in selector.select(timeout):
                    fd = int(key.fd)
                    if fd == pidfd:
                        _, status, rusage = os.wait4(process.pid, 0)
                        exited_at = time.monotonic()
                        selector.unregister(pidfd)
                        continue
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        selector.unregister(fd)
                        continue
                    buffer = buffers[streams[fd]]
                    room = output_bytes - len(buffer)
                    if len(chunk) > room:
                        buffer += chunk[: max(room, 0)]
                        truncated = exceeded = True
                    else:
                        buffer += chunk
                if exceeded:
                    break
        finally:
            if exited_at is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            if cgroup is not None:
                cgroup.kill_all()
            if exited_at is None:
                _, status, rusage = os.wait4(process.pid, 0)
                exited_at = time.monotonic()
            process.returncode = 0  # reaped above; keeps Popen from waiting again
            selector.close()
            os.close(pidfd)
            self._close_status()
            _close_pipes(process)
        wall = exited_at - started
        stats = cgroup.stats() if cgroup is not None else CgroupStats()
        exit_code: int | None = None
        signal_number: int | None = None
        assert status is not None and rusage is not None
        if os.WIFSIGNALED(status):
            signal_number = os.WTERMSIG(status)
        else:
            exit_code = os.WEXITSTATUS(status)
            # bwrap reports a child killed by signal N as exit 128 + N.
            if 128 < exit_code <= 128 + 64:
                signal_number, exit_code = exit_code - 128, None
        cpu = stats.cpu_s if stats.cpu_s is not None else rusage.ru_utime + rusage.ru_stime
        peak = stats.peak_bytes / 2**20 if stats.peak_bytes is not None else rusage.ru_maxrss / 1024
        return RawRun(
            exit_code=exit_code,
            signal=signal_number,
            stdout=bytes(buffers[1]),
            stderr=bytes(buffers[2]),
            truncated=truncated,
            output_exceeded=exceeded,
            timed_out=timed_out,
            cpu_exceeded=cpu_exceeded,
            wall_s=wall,
            cpu_s=cpu,
            peak_mb=peak,
            stats=stats,
        )


def run_process(
    argv: list[str],
    *,
    wall_s: float,
    output_bytes: int,
    cgroup: Cgroup | None,
    rlimits: dict[str, int],
    pass_fds: tuple[int, ...] = (),
    launcher: Launcher | None = None,
    cpu_s: float | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> RawRun:
    """Run ``argv`` (a sandbox command line) with limits applied from outside.

    Parameters
    ----------
    argv
        The full command (``bwrap ... program``); with a ready ``launcher``, the program.
    wall_s
        Wall-clock seconds before the whole tree is killed (``timed_out``).
    output_bytes
        Bytes kept per stream; more output kills the tree (``output_exceeded``).
    cgroup
        The group to run in (its stats are read at the end), or None.
    rlimits
        ``ulimit`` flag → value for the shell (``t`` CPU s, ``f`` 512-byte blocks,
        ``v`` KiB, ``p`` processes).
    launcher
        A :class:`Launcher` already in ``cgroup`` (whose limits the caller has set), or None.
    cpu_s
        CPU seconds for the whole tree (needs a cgroup that counts CPU; the per-process
        ``t`` rlimit stays as the fallback).
    stdin
        Bytes the program reads on its stdin (not with a ``launcher``); None or empty: its
        stdin is ``/dev/null`` (empty and closed).
    env
        Variables the program gets besides its sandbox's (only with a ready ``launcher``,
        whose sandbox is already made).
    """
    started = Started(
        argv, cgroup=cgroup, rlimits=rlimits, pass_fds=pass_fds, launcher=launcher,
        stdin=stdin, env=env,
    )  # fmt: skip
    return started.wait(wall_s=wall_s, output_bytes=output_bytes, cpu_s=cpu_s)
