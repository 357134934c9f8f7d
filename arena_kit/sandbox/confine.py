"""How every bubblewrap sandbox is started: as an unprivileged host uid, with the seccomp filter.

A user namespace does not make its root harmless: when bwrap is started by host root, the
sandbox's uid maps to host uid 0, and the kernel checks file permissions (``/proc/sys``,
``/proc/keys``, ...) against that outside uid. So every sandbox — programs, installs, builds,
apps, the page renderer — is started through :func:`exec_line`: the root-only steps (cgroup,
network namespace) happen before it, then ``setpriv`` drops to :func:`sandbox_uid` with no
groups, no capabilities and no-new-privs, and only then ``exec bwrap``.

bwrap then runs as that uid, so every path it binds must be reachable by it: as root the
caches live in ``/var/cache/arena-kit`` (see :mod:`arena_kit.sandbox.paths`), never in
``/root`` (mode 0700), and :func:`unreachable` names a path that is not.

``ARENA_KIT_UNSAFE_DISABLE`` (tests only) turns named layers off — ``uid``, ``seccomp``,
``procsys``, ``browserns``, ``browserfilter`` — so that the hostile tests can show they fail
without them.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable

__all__ = [
    "LAYERS",
    "SHELL",
    "disabled",
    "exec_line",
    "sandbox_uid",
    "configured_uid",
    "drops_privileges",
    "drop_command",
]

LAYERS = ("uid", "seccomp", "procsys", "browserns", "browserfilter")
"""The layers a test may switch off (one at a time) to prove that a hostile test can fail."""

SHELL = "/bin/sh"
"""The shell that runs :func:`exec_line`."""

_SECCOMP_FDS = range(3, 10)  # the descriptors sh can name


def disabled(layer: str) -> bool:
    """True when a test switched ``layer`` off (never in normal use)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; use one of {LAYERS}")
    return layer in os.environ.get("ARENA_KIT_UNSAFE_DISABLE", "").split(",")


def drops_privileges() -> bool:
    """Whether sandboxes are started by dropping from root to :func:`sandbox_uid`."""
    return os.geteuid() == 0 and not disabled("uid")


def configured_uid() -> int:
    """``$ARENA_KIT_SANDBOX_UID`` (default 65534, the ``nobody`` of Debian and Docker): the
    uid a program sees inside its sandbox, and its host uid when the workbench is root."""
    value = os.environ.get("ARENA_KIT_SANDBOX_UID", "65534")
    try:
        uid = int(value)
    except ValueError:
        raise ValueError(f"ARENA_KIT_SANDBOX_UID must be a number, not {value!r}") from None
    if uid <= 0:
        raise ValueError(f"ARENA_KIT_SANDBOX_UID must be an unprivileged uid (> 0), not {uid}")
    return uid


def sandbox_uid() -> int:
    """The host uid sandboxed code runs as: :func:`configured_uid` when the workbench is
    root, else the caller's own uid (a normal user cannot become another)."""
    return configured_uid() if drops_privileges() else os.geteuid()


def drop_command() -> list[str]:
    """The ``setpriv`` prefix that drops to :func:`sandbox_uid` (no groups, no capabilities,
    no-new-privs), or ``[]`` when there is nothing to drop (not root, or the layer is off)."""
    if not drops_privileges():
        return []
    uid = sandbox_uid()
    return [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--no-new-privs", "--",
    ]  # fmt: skip


def exec_line(argv: list[str], *, reserved_fds: Iterable[int] = (), dropped: bool = False) -> str:
    """The shell command (for :data:`SHELL`) that execs the bwrap command line ``argv``:
    as root through ``setpriv`` (the sandbox uid, no groups, no capabilities,
    no-new-privs), with the seccomp filter on a descriptor the shell opens.
    ``reserved_fds`` are descriptor numbers already in use in that shell; ``dropped`` says
    that shell already runs as the sandbox uid (a launcher that dropped while it waited: see
    :class:`~arena_kit.sandbox.process.Launcher`), so no ``setpriv`` is needed.
    """
    from .seccomp import bpf_path

    if not argv or os.path.basename(argv[0]) != "bwrap":
        raise ValueError(f"a sandbox starts with bwrap, not {argv[:1]!r}")
    command = list(argv)
    redirect = ""
    if not disabled("seccomp"):
        fd = next(n for n in _SECCOMP_FDS if n not in set(reserved_fds))
        command[1:1] = ["--seccomp", str(fd)]
        redirect = f" {fd}<{shlex.quote(str(bpf_path()))}"
    if not dropped:
        command = [*drop_command(), *command]
    return f"exec {shlex.join(command)}{redirect}"


def unreachable(path: str | os.PathLike[str]) -> str | None:
    """Why the sandbox uid cannot read ``path`` (a directory it must search on the way, or
    the path itself), or None when it can. bwrap opens every bind as that uid."""
    uid = sandbox_uid()
    if uid == os.geteuid() and not drops_privileges():
        return None  # the caller's own uid: it reaches whatever the caller reaches
    target = os.path.abspath(path)
    parts = target.split(os.sep)
    for depth in range(1, len(parts) + 1):
        current = os.sep + os.path.join(*parts[1:depth]) if depth > 1 else os.sep
        try:
            info = os.stat(current)
        except OSError as error:
            return f"{current}: {error.strerror}"
        last = depth == len(parts)
        need = 0o4 if last and not os.path.isdir(current) else 0o5 if last else 0o1
        if info.st_uid == uid:
            bits = (info.st_mode >> 6) & 0o7
        elif info.st_gid == uid:  # the sandbox's gid is its uid number (no other groups)
            bits = (info.st_mode >> 3) & 0o7
        else:
            bits = info.st_mode & 0o7
        if bits & need != need:
            return f"{current} (mode {info.st_mode & 0o7777:o}, owner uid {info.st_uid})"
    return None
