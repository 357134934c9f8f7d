"""The sandbox's ``/etc``: a prepared copy of the few host entries programs need, one mount.

Binding each entry of the host's ``/etc`` separately cost a mount apiece (about 5 ms of a
sandbox's ~11 ms start here). A copy is bound once instead, read-only. It holds only what
every user of the host may read: files without "others" read permission (keys under
``/etc/ssl/private``, say) are left out, because the sandboxed program's files are checked
against the host's root uid outside its user namespace.

The copy is keyed by a fingerprint of its sources (paths, sizes, modification times, link
targets), re-checked at most once a minute per process, so a host update (``ldconfig``,
``update-ca-certificates``) reaches new sandboxes without a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from .paths import cache_dir

__all__ = ["ETC_ENTRIES", "MOUNT_POINTS", "etc_view"]

ETC_ENTRIES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "fonts",
    "localtime", "mime.types", "nsswitch.conf", "passwd", "group", "host.conf",
    "java-17-openjdk", "java-21-openjdk", "alternatives",
)  # fmt: skip
"""The host entries a sandbox sees: the dynamic linker's cache, TLS roots, the JDK's
configuration, fonts and time zones. Never the host's credentials or tools' configuration."""

MOUNT_POINTS = ("resolv.conf", "hosts")
"""Files in the view where the package-install step binds the host's own; otherwise empty,
except ``hosts``, which names the loopback (see :data:`LOOPBACK_HOSTS`)."""

LOOPBACK_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
"""The sandbox's ``/etc/hosts``: servers bind ``localhost`` (Flask, Bottle, Node), which must
resolve without a resolver; only the namespace's own loopback is named."""

_RECHECK_S = 60.0
_KEEP_OLD_S = 3600.0


class _State:
    """The view in use, when it was last checked, and whether a check is running."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.view: Path | None = None
        self.checked_at = 0.0
        self.checking = False


_state = _State()


def _readable_by_all(mode: int) -> bool:
    return bool(mode & stat.S_IROTH)


def _sources(root: Path) -> list[tuple[str, os.stat_result]]:
    """Every path under the chosen entries (relative), with its lstat, in a stable order."""
    found: list[tuple[str, os.stat_result]] = []
    for name in ETC_ENTRIES:
        path = root / name
        try:
            info = path.lstat()
        except OSError:
            continue
        found.append((name, info))
        if stat.S_ISDIR(info.st_mode):
            for directory, dirs, files in os.walk(path):
                dirs.sort()
                for entry in sorted(dirs + files):
                    full = Path(directory) / entry
                    with contextlib.suppress(OSError):
                        found.append((str(full.relative_to(root)), full.lstat()))
    return found


def _fingerprint(root: Path, sources: list[tuple[str, os.stat_result]]) -> str:
    digest = hashlib.sha256(b"etc-view-2\0" + LOOPBACK_HOSTS.encode())
    for relative, info in sources:
        link = os.readlink(root / relative) if stat.S_ISLNK(info.st_mode) else ""
        digest.update(f"{relative}\0{info.st_mode}\0{info.st_size}\0{info.st_mtime_ns}\0"
                      f"{link}\n".encode())  # fmt: skip
    return digest.hexdigest()[:16]


def _build(root: Path, sources: list[tuple[str, os.stat_result]], target: Path) -> None:
    """Copy ``sources`` into a new directory and rename it to ``target`` (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        skipped: set[str] = set()
        for relative, info in sources:
            if any(relative.startswith(prefix + "/") for prefix in skipped):
                continue
            source, copy = root / relative, staging / relative
            if stat.S_ISLNK(info.st_mode):
                copy.symlink_to(os.readlink(source))
            elif stat.S_ISDIR(info.st_mode):
                if not _readable_by_all(info.st_mode):
                    skipped.add(relative)  # e.g. /etc/ssl/private: nothing below is copied
                    continue
                copy.mkdir()
            elif stat.S_ISREG(info.st_mode) and _readable_by_all(info.st_mode):
                shutil.copyfile(source, copy)
                copy.chmod(0o644)
        for name in MOUNT_POINTS:
            (staging / name).touch(mode=0o644)
        (staging / "hosts").write_text(LOOPBACK_HOSTS)
        for directory, _, _ in os.walk(staging):
            os.chmod(directory, 0o755)
        try:
            staging.rename(target)
        except OSError:  # another process built the same view meanwhile
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_old(parent: Path, keep: Path) -> None:
    """Remove views no sandbox started in the last hour can still be using."""
    now = time.time()
    for entry in parent.iterdir():
        if entry != keep and not entry.name.startswith(".") and entry.is_dir():
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _KEEP_OLD_S:
                    shutil.rmtree(entry)


def _refresh(root: Path) -> Path:
    try:
        sources = _sources(root)
        view = cache_dir() / "etc-view" / _fingerprint(root, sources)
        if not view.is_dir():
            _build(root, sources, view)
            _remove_old(view.parent, view)
        with contextlib.suppress(PermissionError):  # a shared cache that is not ours to touch
            os.utime(view)  # in use: not old
        with _state.lock:
            _state.view, _state.checked_at = view, time.monotonic()
        return view
    finally:
        with _state.lock:
            _state.checking = False


def etc_view(root: Path = Path("/etc")) -> Path:
    """The directory to bind read-only at the sandbox's ``/etc`` (built when needed).

    The first call checks (and builds) it; later ones return at once and re-check in the
    background when the last check is a minute old (the walk takes tens of milliseconds).
    """
    with _state.lock:
        view = _state.view
        if view is not None:
            if time.monotonic() - _state.checked_at > _RECHECK_S and not _state.checking:
                _state.checking = True
                threading.Thread(
                    target=_refresh, args=(root,), daemon=True, name="arena-kit-etc-view"
                ).start()
            return view
    return _refresh(root)
