"""Collect the files a run produced, without ever following a link out of the work dir."""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import mimetypes
import os
import re
import stat
from pathlib import Path
from typing import Any

__all__ = ["collect_files", "extract_data_urls", "MAX_ARTIFACTS", "MAX_ARTIFACT_BYTES"]

MAX_ARTIFACTS = 50
MAX_ARTIFACT_BYTES = 20_000_000
_SPECIAL_MIME = {".plotly.json": "application/vnd.plotly.v1+json"}


def _mime(name: str) -> str:
    for suffix, mime in _SPECIAL_MIME.items():
        if name.endswith(suffix):
            return mime
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def collect_files(work: Path, destination: Path, exclude: tuple[str, ...]) -> list[dict[str, Any]]:
    """Copy regular files under ``work`` (not matching ``exclude``) to ``destination``.

    Symbolic links, devices and FIFOs are skipped, at every level: the walk never follows a
    link, and each file is opened relative to its directory with ``O_NOFOLLOW``. At most
    :data:`MAX_ARTIFACTS` files and :data:`MAX_ARTIFACT_BYTES` bytes in all are kept.
    """
    found: list[dict[str, Any]] = []
    budget = MAX_ARTIFACT_BYTES
    for directory, _dirs, files, dir_fd in os.fwalk(work, follow_symlinks=False):
        relative_dir = os.path.relpath(directory, work)
        for name in sorted(files):
            relative = name if relative_dir == "." else os.path.join(relative_dir, name)
            if any(fnmatch.fnmatch(relative, pattern) for pattern in exclude):
                continue
            if len(found) >= MAX_ARTIFACTS:
                return found
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size > budget:
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(budget + 1)
            if len(data) > budget:
                continue
            budget -= len(data)
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            found.append(
                {"name": relative, "path": str(target), "size": len(data), "mime": _mime(name)}
            )
    return found


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
