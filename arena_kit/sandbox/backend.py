"""Backends: small classes registered by name (the way papermill registers engines).

Adding a backend is one module with a :class:`Backend` subclass and one
:func:`register_backend` line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import ArenaKitError
from .limits import Limits
from .result import ExecutionResult
from .runtimes import ResolvedRuntime

__all__ = [
    "Backend",
    "Job",
    "SandboxUnavailableError",
    "BACKENDS",
    "AUTO_ORDER",
    "register_backend",
    "get_backend",
    "available_backends",
]


class SandboxUnavailableError(ArenaKitError, RuntimeError):
    """The asked-for sandbox backend cannot run here; the message names the fix."""


@dataclass
class Job:
    """One prepared run: the code, its resolved runtime and everything that keys the cache."""

    execution_id: str
    code: str
    language: str
    environment: str
    runtime: ResolvedRuntime
    limits: Limits
    layer: str | None = None
    """Host path of an installed package layer (``allow_install``), bound read-only."""
    files: dict[str, str] = field(default_factory=dict)
    """Extra input files (name → text) written next to the code."""
    stdin: str = ""
    """Text the program reads on its stdin (empty: stdin is empty and closed, EOF at once)."""


class Backend(ABC):
    """Runs a :class:`Job` in isolation and returns its :class:`ExecutionResult`."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def unavailable_reason(cls) -> str | None:
        """None when the backend can run here, else what is missing and how to fix it."""

    @abstractmethod
    def execute(self, job: Job) -> ExecutionResult:
        """Build and run ``job``; never raises for the code's faults (they are statuses)."""

    def install_layer(self, requirements: list[str], index_url: str | None) -> str:
        """Install ``requirements`` into a package layer; returns its host path."""
        raise SandboxUnavailableError(
            f"the {self.name} backend cannot install packages; use backend='bwrap'"
        )


BACKENDS: dict[str, type[Backend]] = {}
"""Backend name → class."""

AUTO_ORDER: tuple[str, ...] = ("bwrap", "docker")
"""The order in which a backend is chosen when none is named."""

_instances: dict[str, Backend] = {}


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Register a backend class under its ``name`` (usable as a decorator)."""
    BACKENDS[cls.name] = cls
    return cls


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name``, or the first available one of :data:`AUTO_ORDER`.

    Raises
    ------
    SandboxUnavailableError
        The named backend is unknown or unavailable (the message says how to fix it), or
        none is available.
    """
    from . import bwrap, docker  # noqa: F401  (registration)

    if name is None:
        reasons = []
        for candidate in AUTO_ORDER:
            reason = BACKENDS[candidate].unavailable_reason()
            if reason is None:
                return get_backend(candidate)
            reasons.append(f"{candidate}: {reason}")
        raise SandboxUnavailableError("no sandbox backend is available: " + "; ".join(reasons))
    if name not in BACKENDS:
        raise SandboxUnavailableError(
            f"unknown sandbox backend {name!r}; use one of {', '.join(sorted(BACKENDS))}"
        )
    if name not in _instances:
        reason = BACKENDS[name].unavailable_reason()
        if reason is not None:
            raise SandboxUnavailableError(f"the {name} sandbox backend is unavailable: {reason}")
        _instances[name] = BACKENDS[name]()
    return _instances[name]


def available_backends() -> dict[str, str | None]:
    """Every registered backend → None if it can run here, else why not (and the fix)."""
    from . import bwrap, docker  # noqa: F401  (registration)

    return {name: cls.unavailable_reason() for name, cls in BACKENDS.items()}
