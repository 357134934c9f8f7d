"""Collect the files a run produced, without ever following a link out of the work dir.

Everything under the work directory was made by untrusted code, so its shape is data: the walk
is iterative (no recursion a deep tree could exhaust), never follows a link, and stops at caps
on depth, entries, files and bytes; names that are not UTF-8 are kept with ``\\x`` escapes.
What was left out or renamed is said in :attr:`Artifacts.notes`, which :func:`arena_kit.sandbox.run`
adds to the result's message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "Artifacts",
    "collect_files",
    "extract_data_urls",
    "portable_artifacts",
    "MAX_ARTIFACTS",
    "MAX_ARTIFACT_BYTES",
    "MAX_ARTIFACT_DEPTH",
    "MAX_WALK_ENTRIES",
]

MAX_ARTIFACTS = 50
MAX_ARTIFACT_BYTES = 20_000_000
MAX_ARTIFACT_DEPTH = 16
"""Folders nested deeper than this below the work directory are not searched."""
MAX_WALK_ENTRIES = 10_000
"""Directory entries looked at in all: bounds the walk's time whatever the run left behind."""
_NAME_MAX = 255  # bytes of one path component on Linux file systems
_SPECIAL_MIME = {".plotly.json": "application/vnd.plotly.v1+json"}


class Artifacts(list[dict[str, Any]]):
    """The artifacts of a run (dicts with ``name``, ``path``, ``size``, ``mime``), and
    ``notes``: one phrase per kind of file that was left out or renamed."""

    def __init__(self, items: Iterable[dict[str, Any]] = (), notes: Iterable[str] = ()) -> None:
        super().__init__(items)
        self.notes: list[str] = list(notes)


def _mime(name: str) -> str:
    for suffix, mime in _SPECIAL_MIME.items():
        if name.endswith(suffix):
            return mime
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    """``name`` for a one-line message (a run may put a newline in a file name)."""
    return "'" + "".join(c if c.isprintable() else "?" for c in name[:80]) + "'"


def _renamed_note(names: list[str]) -> str:
    return f"{len(names)} file name(s) not in UTF-8 kept with \\x escapes (e.g. {_shown(names[0])})"


def _escaped(name: str) -> str:
    """``name`` (as the file system gave it) as UTF-8 text: undecodable bytes as ``\\xNN``."""
    escaped = os.fsencode(name).decode("utf-8", "backslashreplace")
    if len(escaped.encode("utf-8")) > _NAME_MAX:
        # Escaping quadruples a byte: keep the name within what one component may hold.
        digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
        escaped = escaped[: _NAME_MAX - 40] + "~" + digest
    return escaped


class _Walk:
    """One collection: the caps it spends and what it had to leave out."""

    def __init__(self, destination: Path, exclude: tuple[str, ...]) -> None:
        self.destination = destination
        self.exclude = exclude
        self.found = Artifacts()
        self.budget = MAX_ARTIFACT_BYTES
        self.entries = 0
        self.used: set[str] = set()
        self.renamed: list[str] = []
        self.too_deep = 0
        self.over_count = 0
        self.over_bytes = 0
        self.unreadable = 0
        self.unwritable = 0
        self.stopped = False

    def notes(self) -> list[str]:
        notes = []
        if self.renamed:
            notes.append(_renamed_note(self.renamed))
        if self.stopped:
            notes.append(
                f"only the first {MAX_WALK_ENTRIES:,} entries of the work folder looked at"
            )
        if self.too_deep:
            notes.append(
                f"{self.too_deep} folder(s) deeper than {MAX_ARTIFACT_DEPTH} levels not searched"
            )
        if self.over_count:
            notes.append(f"{self.over_count} file(s) over the cap of {MAX_ARTIFACTS} left out")
        if self.over_bytes:
            notes.append(
                f"{self.over_bytes} file(s) over the budget of "
                f"{MAX_ARTIFACT_BYTES / 1e6:g} MB left out"
            )
        if self.unreadable:
            notes.append(f"{self.unreadable} file(s) or folder(s) could not be read")
        if self.unwritable:
            notes.append(f"{self.unwritable} file(s) could not be stored")
        return notes

    def scan(self, dir_fd: int) -> list[os.DirEntry[str]]:
        """The entries of a directory, in name order, while the entry cap lasts."""
        entries = []
        with os.scandir(dir_fd) as listing:
            for entry in listing:
                self.entries += 1
                if self.entries > MAX_WALK_ENTRIES:
                    self.stopped = True
                    break
                entries.append(entry)
        return sorted(entries, key=lambda e: e.name)

    def unique(self, relative: str) -> str:
        """``relative``, or a variant no other artifact of this run uses (after escaping, a
        name may meet a real one)."""
        candidate, number = relative, 1
        while candidate in self.used:
            number += 1
            candidate = f"{relative}~{number}"
        self.used.add(candidate)
        return candidate

    def take(self, dir_fd: int, entry: os.DirEntry[str], shown_dir: str, raw_dir: str) -> None:
        """Copy one regular file (anything else is skipped) if the caps allow."""
        raw_relative = entry.name if not raw_dir else f"{raw_dir}/{entry.name}"
        if any(fnmatch.fnmatch(raw_relative, pattern) for pattern in self.exclude):
            return
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            self.unreadable += 1
            return
        if not stat.S_ISREG(info.st_mode):
            return  # links, devices, FIFOs and sockets are never opened
        if len(self.found) >= MAX_ARTIFACTS:
            self.over_count += 1
            return
        if info.st_size > self.budget:
            self.over_bytes += 1
            return
        try:
            fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError:
            self.unreadable += 1
            return
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return  # replaced between the listing and the open
            data = handle.read(self.budget + 1)
        if len(data) > self.budget:
            self.over_bytes += 1
            return
        name = entry.name
        if not _is_utf8(name):
            name = _escaped(name)
        relative = self.unique(name if not shown_dir else f"{shown_dir}/{name}")
        if relative != raw_relative:
            self.renamed.append(relative)
        target = self.destination / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError:
            self.unwritable += 1
            return
        self.budget -= len(data)
        self.found.append(
            {"name": relative, "path": str(target), "size": len(data), "mime": _mime(name)}
        )


def collect_files(work: Path, destination: Path, exclude: tuple[str, ...]) -> Artifacts:
    """Copy regular files under ``work`` (not matching ``exclude``) to ``destination``.

    Symbolic links, devices and FIFOs are skipped, at every level: each folder and file is
    opened relative to its parent with ``O_NOFOLLOW``. At most :data:`MAX_ARTIFACTS` files and
    :data:`MAX_ARTIFACT_BYTES` bytes in all are kept, from folders at most
    :data:`MAX_ARTIFACT_DEPTH` deep, after looking at :data:`MAX_WALK_ENTRIES` entries at most.
    A name that is not UTF-8 is kept with ``\\xNN`` escapes. Never raises for what the run
    left in ``work``: what was skipped is said in the returned list's ``notes``.
    """
    walk = _Walk(destination, exclude)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        root_fd = os.open(work, flags)
    except OSError:
        walk.unreadable += 1
        walk.found.notes = walk.notes()
        return walk.found
    # A stack of open folders (one per level, so at most MAX_ARTIFACT_DEPTH + 1 descriptors):
    # (descriptor, name shown, name on disk, sub-folders still to visit). Files of a folder are
    # taken before its sub-folders, in name order, as ``os.fwalk`` did.
    stack: list[tuple[int, str, str, Iterator[os.DirEntry[str]]]] = []

    def enter(fd: int, shown: str, raw: str) -> None:
        try:
            entries = walk.scan(fd)
        except OSError:
            walk.unreadable += 1
            os.close(fd)
            return
        folders = []
        for entry in entries:
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                walk.unreadable += 1
                continue
            if is_folder:
                folders.append(entry)
            else:
                walk.take(fd, entry, shown, raw)
        stack.append((fd, shown, raw, iter(folders)))

    try:
        enter(root_fd, "", "")
        while stack and not walk.stopped:
            fd, shown, raw, folders = stack[-1]
            entry = next(folders, None)
            if entry is None:
                os.close(fd)
                stack.pop()
                continue
            if len(stack) > MAX_ARTIFACT_DEPTH:
                walk.too_deep += 1
                continue
            try:
                child = os.open(entry.name, flags, dir_fd=fd)
            except OSError:
                walk.unreadable += 1
                continue
            name = entry.name if _is_utf8(entry.name) else _escaped(entry.name)
            enter(
                child,
                name if not shown else f"{shown}/{name}",
                entry.name if not raw else f"{raw}/{entry.name}",
            )
    finally:
        for fd, *_ in stack:
            with contextlib.suppress(OSError):
                os.close(fd)
    walk.found.notes = walk.notes()
    return walk.found


def portable_artifacts(artifacts: list[dict[str, Any]]) -> list[str]:
    """Make every artifact's ``name`` and ``path`` UTF-8 text, in place; returns notes.

    A backend may hand back names taken as they were from the run (a ``tar`` stream keeps raw
    bytes); such a file is renamed within its own folder to its escaped name, so that the
    result can be stored as JSON and shown. A file that cannot be renamed is dropped from the
    list (and left where it was).
    """
    renamed: list[str] = []
    dropped = 0
    kept = []
    for artifact in artifacts:
        name = str(artifact.get("name", ""))
        path = str(artifact.get("path", ""))
        if _is_utf8(name) and _is_utf8(path):
            kept.append(artifact)
            continue
        source = Path(path)
        parts = [p if _is_utf8(p) else _escaped(p) for p in Path(name).parts]
        target = source.with_name(_escaped(source.name))
        try:
            if not _is_utf8(str(target)) or target.exists():
                raise FileExistsError(str(target))
            os.rename(source, target)
        except OSError:
            dropped += 1
            continue
        kept.append({**artifact, "name": "/".join(parts), "path": str(target)})
        renamed.append("/".join(parts))
    artifacts[:] = kept
    notes = []
    if renamed:
        notes.append(_renamed_note(renamed))
    if dropped:
        notes.append(f"{dropped} file(s) with names not in UTF-8 left out")
    return notes


_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|gif|webp|svg\+xml));base64,([A-Za-z0-9+/]+={0,2})")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
               "image/webp": "webp", "image/svg+xml": "svg"}  # fmt: skip


def extract_data_urls(text: str, destination: Path) -> list[dict[str, Any]]:
    """Save the base64 data-URL images printed in ``text`` as files."""
    found: list[dict[str, Any]] = []
    for number, match in enumerate(_DATA_URL.finditer(text), start=1):
        if number > MAX_ARTIFACTS:
            break
        with contextlib.suppress(binascii.Error, ValueError):
            data = base64.b64decode(match.group(2), validate=True)
            name = f"stdout_image_{number}.{_EXTENSIONS[match.group(1)]}"
            destination.mkdir(parents=True, exist_ok=True)
            target = destination / name
            target.write_bytes(data)
            found.append(
                {"name": name, "path": str(target), "size": len(data), "mime": match.group(1)}
            )
    return found
