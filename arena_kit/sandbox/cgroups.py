"""Per-run control groups: memory and process limits for a whole process tree.

cgroup v1 (separate ``memory``, ``pids`` and ``cpuacct`` hierarchies) and v2 (one unified
hierarchy) are both handled. Each run gets its own group named after the owning process, so
that stray groups of a process that died can be told apart from live ones and removed.
Where no hierarchy is writable (not root, no delegation) :func:`create` returns None and the
backend falls back to rlimits.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cgroup", "CgroupStats", "create", "available", "remove_stale"]

ROOT = Path("/sys/fs/cgroup")
PARENT_NAME = "arena-kit"
_counter = itertools.count()
_lock = threading.Lock()
_state: dict[str, object] = {}


@dataclass
class CgroupStats:
    """What the kernel counted for one group."""

    peak_bytes: int | None = None
    oom_kills: int = 0
    pids_refused: int = 0
    cpu_s: float | None = None


@dataclass
class Cgroup:
    """One run's group(s): write a pid to every file in :attr:`procs_files` to join."""

    version: int
    dirs: dict[str, Path]
    enforced: list[str] = field(default_factory=list)
    limits: tuple[int, int] | None = None
    """(memory bytes, tasks) last set."""

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(d / "cgroup.procs") for d in self.dirs.values()})

    def stats(self) -> CgroupStats:
        result = CgroupStats()
        if self.version == 1:
            memory = self.dirs.get("memory")
            if memory:
                result.peak_bytes = _read_int(memory / "memory.max_usage_in_bytes")
                result.oom_kills = _read_key(memory / "memory.oom_control", "oom_kill")
            pids = self.dirs.get("pids")
            if pids:
                result.pids_refused = _read_key(pids / "pids.events", "max")
        else:
            unified = self.dirs["unified"]
            result.peak_bytes = _read_int(unified / "memory.peak")
            result.oom_kills = _read_key(unified / "memory.events", "oom_kill")
            result.pids_refused = _read_key(unified / "pids.events", "max")
        result.cpu_s = self.cpu_seconds()
        return result

    @property
    def counts_cpu(self) -> bool:
        """Whether :meth:`cpu_seconds` can be read (v1 ``cpuacct``, or v2)."""
        return self.version == 2 or "cpuacct" in self.dirs

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process the group ever held (one file read)."""
        if self.version == 1:
            usage = _read_int(self.dirs["cpuacct"] / "cpuacct.usage") if self.counts_cpu else None
            return usage / 1e9 if usage is not None else None
        usage_us = _read_key(self.dirs["unified"] / "cpu.stat", "usage_usec")
        return usage_us / 1e6

    def set_limits(self, memory_bytes: int, pids: int) -> None:
        """Limit the group's memory (no swap) and number of tasks."""
        if self.limits == (memory_bytes, pids):
            return  # (a memory limit write alone takes about a millisecond)
        if self.version == 1:
            memory = self.dirs.get("memory")
            if memory:
                # memory+swap must stay >= memory: set it on both sides of the memory limit
                # (which of the two writes fails depends on whether the limit goes up or down).
                swap = memory / "memory.memsw.limit_in_bytes"  # only with swap accounting
                with contextlib.suppress(OSError):
                    swap.write_text(str(memory_bytes))
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                with contextlib.suppress(OSError):
                    swap.write_text(str(memory_bytes))
            if "pids" in self.dirs:
                (self.dirs["pids"] / "pids.max").write_text(str(pids))
        else:
            unified = self.dirs["unified"]
            (unified / "memory.max").write_text(str(memory_bytes))
            (unified / "pids.max").write_text(str(pids))
        self.limits = (memory_bytes, pids)

    def reset_counts(self) -> None:
        """Zero the peak-memory and CPU counters where the kernel allows it (cgroup v1)."""
        for controller, name in (("memory", "memory.max_usage_in_bytes"),
                                 ("cpuacct", "cpuacct.usage")):  # fmt: skip
            directory = self.dirs.get(controller)
            if directory:
                with contextlib.suppress(OSError):
                    (directory / name).write_text("0")

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(x) for x in Path(procs).read_text().split())
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL every process in the group until it is empty (forks race the loop)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                (self.dirs["unified"] / "cgroup.kill").write_text("1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)  # exiting tasks leave the group within a scheduler tick or two

    def remove(self) -> None:
        """Kill what is left and remove the group's directories."""
        self.kill_all()
        for directory in self.dirs.values():
            for _ in range(100):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last killed tasks are reaped
                    time.sleep(0.01)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_key(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _layout() -> tuple[int, dict[str, Path]] | None:
    """The writable parent directories: (version, controller → parent), once per process."""
    with _lock:
        if "layout" in _state:
            return _state["layout"]  # type: ignore[return-value]
        layout: tuple[int, dict[str, Path]] | None = None
        if os.environ.get("ARENA_KIT_NO_CGROUPS"):
            layout = None
        elif (ROOT / "cgroup.controllers").is_file():
            parent = ROOT / PARENT_NAME
            try:
                parent.mkdir(exist_ok=True)
                wanted = {"memory", "pids", "cpu"}
                available = set((ROOT / "cgroup.controllers").read_text().split())
                enable = " ".join(f"+{c}" for c in sorted(wanted & available))
                (ROOT / "cgroup.subtree_control").write_text(enable)
                (parent / "cgroup.subtree_control").write_text(enable)
                layout = (2, {"unified": parent})
            except OSError:
                layout = None
        else:
            parents = {}
            for controller in ("memory", "pids", "cpuacct"):
                parent = ROOT / controller / PARENT_NAME
                try:
                    parent.mkdir(exist_ok=True)
                    probe = parent / f"probe-{os.getpid()}"
                    probe.mkdir(exist_ok=True)
                    probe.rmdir()
                    parents[controller] = parent
                except OSError:
                    continue
            layout = (1, parents) if parents else None
        _state["layout"] = layout
        return layout


def available() -> bool:
    """True when this process can make control groups."""
    return _layout() is not None


def create(memory_bytes: int, pids: int) -> Cgroup | None:
    """A new group limited to ``memory_bytes`` and ``pids`` tasks, or None if not possible."""
    layout = _layout()
    if layout is None:
        return None
    if "stale-removed" not in _state:
        _state["stale-removed"] = True
        remove_stale()
    version, parents = layout
    name = f"{os.getpid()}-{next(_counter)}"
    group = Cgroup(version=version, dirs={})
    try:
        if version == 1:
            for controller, parent in parents.items():
                directory = parent / name
                directory.mkdir()
                group.dirs[controller] = directory
            group.enforced += [f"{c}:cgroup" for c in ("memory", "pids") if c in group.dirs]
        else:
            directory = parents["unified"] / name
            directory.mkdir()
            group.dirs["unified"] = directory
            with contextlib.suppress(OSError):
                (directory / "memory.swap.max").write_text("0")
            group.enforced += ["memory:cgroup", "pids:cgroup"]
        group.set_limits(memory_bytes, pids)
    except OSError:
        group.remove()
        return None
    return group


def remove_stale() -> int:
    """Remove groups left by arena-kit processes that no longer exist; returns how many."""
    layout = _layout()
    if layout is None:
        return 0
    removed = 0
    for parent in layout[1].values():
        for directory in parent.iterdir():
            if not directory.is_dir():
                continue
            owner = directory.name.split("-", 1)[0]
            if owner.isdigit() and _alive(int(owner)):
                continue
            group = Cgroup(version=layout[0], dirs={"x": directory})
            group.remove()
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
