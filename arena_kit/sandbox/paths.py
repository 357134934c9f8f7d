"""Where the sandbox keeps its runtime, caches and work directories.

Everything lives under one cache directory: ``$ARENA_KIT_CACHE`` when set, else
``$XDG_CACHE_HOME/arena-kit`` (``~/.cache/arena-kit``), and ``/var/cache/arena-kit`` for root.
The sandbox binds only chosen subdirectories of it (read-only), never the user's home or the
project's ``data/``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

ROOT_CACHE = "/var/cache/arena-kit"
"""The cache of a workbench run as root (scripts/setup-*.sh use the same rule)."""

__all__ = ["cache_dir", "runtime_dir", "results_dir", "artifacts_dir", "layers_dir", "work_root"]


def cache_dir() -> Path:
    """The root of arena-kit's caches: ``$ARENA_KIT_CACHE``, else ``~/.cache/arena-kit``, or
    ``/var/cache/arena-kit`` for root (sandboxes are started as an unprivileged uid, which
    must reach the runtime it binds: root's home is private)."""
    return _resolved(
        os.environ.get("ARENA_KIT_CACHE"),
        os.environ.get("XDG_CACHE_HOME"),
        os.environ.get("HOME"),
        os.geteuid() == 0,
    )


@functools.lru_cache(maxsize=16)
def _resolved(explicit: str | None, xdg: str | None, home: str | None, root: bool) -> Path:
    # Keyed by the variables (read at each call), cached because resolving a path costs
    # system calls that every sandbox run would otherwise repeat several times.
    if explicit:
        return Path(explicit).expanduser().resolve()
    if root:
        return Path(ROOT_CACHE)
    base = xdg or str(Path.home() / ".cache")
    return (Path(base) / "arena-kit").resolve()


def runtime_dir() -> Path:
    """The runtime prepared by ``scripts/setup-runtime.sh`` (Python env, Node, Go, esbuild)."""
    return cache_dir() / "runtime"


def results_dir() -> Path:
    """The content-addressed result cache."""
    return cache_dir() / "results"


def artifacts_dir() -> Path:
    """Files produced by runs (figures, outputs), one folder per execution id."""
    return cache_dir() / "artifacts"


def layers_dir() -> Path:
    """Per-requirement-set package layers installed on demand (``allow_install=True``).

    ``$ARENA_KIT_LAYERS`` overrides the place (tests use a fresh one).
    """
    explicit = os.environ.get("ARENA_KIT_LAYERS")
    return Path(explicit) if explicit else cache_dir() / "layers"


def work_root() -> Path:
    """Where per-job work directories are made (and removed after each run).

    Kept out of ``/tmp`` of the user's session only by name; the directory is private (0o711).
    """
    explicit = os.environ.get("ARENA_KIT_WORK")
    root = Path(explicit) if explicit else cache_dir() / "work"
    root.mkdir(parents=True, exist_ok=True, mode=0o711)
    return root
