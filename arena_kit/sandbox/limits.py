"""Resource limits of one sandboxed run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """What one run may use. Every limit is applied from outside the sandbox.

    Parameters
    ----------
    wall_s
        Wall-clock seconds for the program (the whole process tree is killed after it).
    cpu_s
        CPU seconds per process (``RLIMIT_CPU``).
    memory_mb
        Memory of the whole process tree (a cgroup where writable, else ``RLIMIT_AS``).
    pids
        Processes and threads at once (a cgroup where writable, else ``RLIMIT_NPROC``).
    file_mb
        Largest file the program may write (``RLIMIT_FSIZE``).
    disk_mb
        Size of the private work directory and of ``/tmp`` (each a size-limited tmpfs).
    output_bytes
        Bytes kept of stdout and of stderr; a program that writes more is stopped
        (``output_limit``).
    build_wall_s
        Wall-clock seconds for the build step (compilers, transpilers, installs).
    build_memory_mb
        Memory of the build step.
    """

    wall_s: float = 10.0
    cpu_s: float = 10.0
    memory_mb: int = 512
    pids: int = 64
    file_mb: int = 16
    disk_mb: int = 64
    output_bytes: int = 1_000_000
    build_wall_s: float = 60.0
    build_memory_mb: int = 2048

    @classmethod
    def coerce(cls, value: Limits | Mapping[str, Any] | None) -> Limits:
        """A :class:`Limits` from ``None`` (defaults), a dict of fields or a Limits."""
        if value is None:
            return cls()
        if isinstance(value, Limits):
            return value
        unknown = set(value) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(
                f"unknown limit(s) {sorted(unknown)}; "
                f"use {[f.name for f in dataclasses.fields(cls)]}"
            )
        return cls(**value)

    def as_dict(self) -> dict[str, Any]:
        """The limits as a plain dict (part of the result cache's key)."""
        return dataclasses.asdict(self)
