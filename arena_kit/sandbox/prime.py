"""Warm the runtime's caches once, inside the sandbox (so that their paths match a job's).

Matplotlib builds a font list on first use (~3 s); it is built here and copied into each
job that uses matplotlib. Called by ``scripts/setup-runtime.sh`` (``python -m
arena_kit.sandbox prime``).
"""

from __future__ import annotations

import shutil

from .bwrap import MPL_DIR, _sandboxed
from .limits import Limits
from .paths import runtime_dir
from .workdir import WorkDir

__all__ = ["prime_runtime"]


def prime_runtime() -> list[str]:
    """Build the caches that are missing; returns what was built."""
    built = []
    runtime = runtime_dir()
    mpl_target = runtime / "mplconfig"
    python = runtime / "venv" / "bin" / "python"
    if python.exists() and not mpl_target.is_dir():
        limits = Limits(wall_s=120, cpu_s=120, memory_mb=2048)
        with WorkDir(limits.disk_mb) as work:
            raw, _ = _sandboxed(
                work,
                ["/opt/arena/venv/bin/python", "-c", "import matplotlib.pyplot"],
                wall_s=limits.wall_s,
                memory_mb=limits.memory_mb,
                limits=limits,
                env={"MPLCONFIGDIR": f"/work/{MPL_DIR}"},
                binds=[],
            )
            if raw.exit_code == 0 and (work.path / MPL_DIR).is_dir():
                staging = runtime / ".mplconfig.staging"
                shutil.rmtree(staging, ignore_errors=True)
                shutil.copytree(work.path / MPL_DIR, staging)
                staging.rename(mpl_target)
                built.append("matplotlib font cache")
    return built
