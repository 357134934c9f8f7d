"""Private work directories: one per run, a size-limited tmpfs where possible, always removed."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import shutil
import subprocess
from pathlib import Path

from .confine import sandbox_uid
from .paths import work_root

__all__ = ["WorkDir", "give_to_sandbox", "remove_stale_workdirs"]

_MS_NOSUID = 2
_MS_NODEV = 4
_MNT_DETACH = 2
_counter = itertools.count()
_libc = None
_stale_done = False


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


class WorkDir:
    """An empty directory for one run.

    As root it is a tmpfs of ``disk_mb`` (so a program cannot fill the host's disk) owned by
    the sandbox's uid; else a plain directory, and the disk limit is not enforced (only the
    file-size rlimit).
    """

    def __init__(self, disk_mb: int) -> None:
        global _stale_done
        root = work_root()
        if not _stale_done:
            _stale_done = True
            remove_stale_workdirs(root)
        self.path = root / f"{os.getpid()}-{next(_counter)}"
        self.path.mkdir(mode=0o755)
        self.mounted = False
        self.enforced: list[str] = []
        if os.geteuid() == 0:
            # Owned by the sandbox's host uid: the program writes here, and nowhere else.
            uid = sandbox_uid()
            options = f"size={int(disk_mb)}m,mode=0755,nr_inodes=20000,uid={uid},gid={uid}"
            result = _c().mount(
                b"tmpfs",
                str(self.path).encode(),
                b"tmpfs",
                _MS_NOSUID | _MS_NODEV,
                options.encode(),
            )
            if result == 0:
                self.mounted = True
                self.enforced.append("disk:tmpfs")

    def write(self, name: str, data: str | bytes, mode: int = 0o644) -> Path:
        """Write ``name`` (relative, checked by the caller) and make it, and any folder made
        for it, the sandbox uid's: the program may change its own input files."""
        target = self.path / name
        made = [p for p in target.relative_to(self.path).parents if not (self.path / p).exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        target.chmod(mode)
        for folder in made:
            give_to_sandbox(self.path / folder)
        give_to_sandbox(target)
        return target

    def cleanup(self) -> None:
        if self.mounted:
            _c().umount2(str(self.path).encode(), _MNT_DETACH)
            self.mounted = False
        remove_tree(self.path)

    def __enter__(self) -> WorkDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def remove_tree(tree: Path) -> None:
    """Remove a tree a program made, however deep: ``shutil.rmtree`` recurses once per level
    and gives up (RecursionError) on a few thousand nested folders; ``rm`` does not."""
    try:
        shutil.rmtree(tree, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(tree)], check=False)


def give_to_sandbox(tree: Path) -> None:
    """Make ``tree`` (copied in by the host) the sandbox uid's, so the program may change it.

    Only for trees in a work directory; never follows links.
    """
    uid = sandbox_uid()
    if os.geteuid() != 0 or uid == 0:
        return
    for directory, dirs, files in os.walk(tree):
        os.chown(directory, uid, uid, follow_symlinks=False)
        for name in (*dirs, *files):
            os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)


def remove_stale_workdirs(root: Path | None = None) -> int:
    """Unmount and remove work directories of arena-kit processes that no longer exist."""
    root = root or work_root()
    removed = 0
    for entry in root.iterdir():
        owner = entry.name.split("-", 1)[0]
        if owner.isdigit():
            try:
                os.kill(int(owner), 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        with contextlib.suppress(OSError):
            _c().umount2(str(entry).encode(), _MNT_DETACH)
        remove_tree(entry)
        removed += 1
    return removed
