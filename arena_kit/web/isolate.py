"""Run one build tool (esbuild, Vue's compiler) inside the sandbox, with the asset cache bound.

Builds read untrusted source text, so they run like programs do: in bubblewrap with no
network, a private work directory, the runtime (Node) and the npm cache read-only, and
limits applied from outside (a cgroup, rlimits, a wall clock).
"""

from __future__ import annotations

from pathlib import Path

from ..sandbox import cgroups
from ..sandbox.bwrap import bwrap_command
from ..sandbox.limits import Limits
from ..sandbox.process import RawRun, run_process
from .assets import web_dir

__all__ = ["WEB_MOUNT", "run_isolated"]

WEB_MOUNT = "/opt/web"
"""Where the asset cache appears inside the sandbox."""


def run_isolated(
    work: Path,
    command: list[str],
    *,
    limits: Limits,
    wall_s: float | None = None,
    memory_mb: int | None = None,
    env: dict[str, str] | None = None,
    binds: list[tuple[str, str, bool]] | None = None,
) -> RawRun:
    """Run ``command`` in ``work`` (bound at ``/work``) and return what happened."""
    memory = memory_mb or limits.build_memory_mb
    group = cgroups.create(memory * 2**20, max(limits.pids, 64))
    all_binds = [(str(web_dir()), WEB_MOUNT, False), *(binds or [])]
    rlimits = {"t": max(1, int(wall_s or limits.build_wall_s)), "f": limits.file_mb * 2048, "c": 0}
    if group is None:
        rlimits["v"] = memory * 1024
    try:
        return run_process(
            bwrap_command(
                work,
                command,
                env={"NODE_PATH": f"{WEB_MOUNT}/node_modules", **(env or {})},
                tmp_mb=limits.disk_mb,
                binds=all_binds,
            ),
            wall_s=wall_s or limits.build_wall_s,
            output_bytes=limits.output_bytes,
            cgroup=group,
            rlimits=rlimits,
        )
    finally:
        if group is not None:
            group.remove()
