"""Run untrusted code in 8 languages, safely and fast.

``run(code, language=...)`` returns an :class:`ExecutionResult` with one
:class:`~arena_kit.schema.Status`; ``run_many(jobs)`` runs many in parallel on any
:class:`concurrent.futures.Executor` (a thread pool, a process pool or a Dask cluster).
Backends (``bwrap``, ``docker``) are registered by name; see ``docs/sandbox.md``.
"""

from __future__ import annotations

from ..schema import Status
from .api import run, run_many
from .backend import (
    BACKENDS,
    Backend,
    Job,
    SandboxUnavailableError,
    available_backends,
    get_backend,
    register_backend,
)
from .limits import Limits
from .result import ExecutionResult
from .runtimes import RUNTIMES, Runtime
from .samples import run_samples, samples

__all__ = [
    "run",
    "run_many",
    "Limits",
    "ExecutionResult",
    "Status",
    "Backend",
    "Job",
    "BACKENDS",
    "RUNTIMES",
    "Runtime",
    "SandboxUnavailableError",
    "available_backends",
    "get_backend",
    "register_backend",
    "samples",
    "run_samples",
]
