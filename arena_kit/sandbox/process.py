"""Start one sandboxed process tree, feed it, read it (capped), time it, and end it."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field

from .cgroups import Cgroup, CgroupStats

__all__ = ["RawRun", "Started", "run_process"]


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


def _wrapper(cgroup: Cgroup | None, rlimits: dict[str, int]) -> str:
    """The shell line that joins the cgroup and sets rlimits before exec'ing the sandbox.

    Joining happens before ``exec``, so every process the sandbox ever starts is counted.
    """
    lines = []
    if cgroup is not None:
        lines += [f"echo $$ > {path}" for path in cgroup.procs_files]
    for flag, value in rlimits.items():
        if flag == "t":  # SIGXCPU at the soft limit tells a CPU limit from other kills
            lines.append(f"ulimit -S -t {value} && ulimit -H -t {value + 1}")
        else:
            lines.append(f"ulimit -{flag} {value}")
    lines.append('exec "$@"')
    return " && ".join(lines)


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
    ) -> None:
        command = ["/bin/sh", "-c", _wrapper(cgroup, rlimits), "arena-sandbox", *argv]
        self.cgroup = cgroup
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if hold else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=pass_fds,
            env={"PATH": "/usr/bin:/bin"},
        )
        self.pidfd = os.pidfd_open(self.process.pid)

    def release(self, message: bytes = b"go\n") -> None:
        """Let a held process go on (the warm pool's launcher waits for this line)."""
        assert self.process.stdin is not None
        self.started = time.monotonic()
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(message)
            self.process.stdin.close()

    def abandon(self) -> None:
        """Kill it without reading anything (a warm sandbox that is not needed)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill_all()
        os.wait4(self.process.pid, 0)
        self.process.returncode = 0
        os.close(self.pidfd)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def wait(self, *, wall_s: float, output_bytes: int) -> RawRun:
        """Read (capped) until it ends or the wall clock runs out, then end the whole tree."""
        process = self.process
        started = self.started
        cgroup = self.cgroup
        pidfd = self.pidfd
        deadline = started + wall_s
        buffers: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        truncated = exceeded = timed_out = False
        selector = selectors.DefaultSelector()
        assert process.stdout is not None and process.stderr is not None
        streams = {process.stdout.fileno(): 1, process.stderr.fileno(): 2}
        for fd in streams:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        selector.register(pidfd, selectors.EVENT_READ)
        exited_at: float | None = None
        status = rusage = None
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
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
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
) -> RawRun:
    """Run ``argv`` (a sandbox command line) with limits applied from outside.

    Parameters
    ----------
    argv
        The full command (``bwrap ... program``).
    wall_s
        Wall-clock seconds before the whole tree is killed (``timed_out``).
    output_bytes
        Bytes kept per stream; more output kills the tree (``output_exceeded``).
    cgroup
        The group to run in (its stats are read at the end), or None.
    rlimits
        ``ulimit`` flag → value for the shell (``t`` CPU s, ``f`` 512-byte blocks,
        ``v`` KiB, ``p`` processes).
    """
    started = Started(argv, cgroup=cgroup, rlimits=rlimits, pass_fds=pass_fds)
    return started.wait(wall_s=wall_s, output_bytes=output_bytes)
