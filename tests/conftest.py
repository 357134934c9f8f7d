"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def sandbox_tmp_path():
    """A fresh directory the sandbox's unprivileged uid can reach (pytest's own temporary
    directories live under a 0700 one as root), removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="arena-kit-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
