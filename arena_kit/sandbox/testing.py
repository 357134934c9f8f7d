"""Getting a backend ready on this machine (used by the tests, the benchmarks and CI).

For Docker: use the engine that is reachable, else start a local ``dockerd`` (root only),
then build the runtime image if it is missing.
"""

from __future__ import annotations

import importlib
import os
import shutil
from typing import Any

__all__ = ["docker_preparable", "prepare_docker"]


def _sdk() -> Any:
    """The ``docker`` SDK (imported by name: the repository's docker/ folder is not it)."""
    return importlib.import_module("docker")


def docker_preparable() -> str | None:
    """None when a Docker backend can be made ready here, else why not."""
    from .dockerd import engine_reachable

    try:
        _sdk()
    except ImportError:
        return "the docker Python package is missing"
    if engine_reachable():
        return None
    if shutil.which("dockerd") is None:
        return "no Docker engine and no dockerd (apt-get install docker.io)"
    if os.geteuid() != 0:
        return "no Docker engine reachable, and starting dockerd needs root"
    if shutil.which("debootstrap") is None:
        return "debootstrap is missing: the runtime image's base cannot be built"
    return None


def prepare_docker(flavor: str = "ci") -> str:
    """Start an engine if needed (stopped at exit) and build the image; returns its tag."""
    from .docker_image import build_image
    from .dockerd import shared_engine

    shared_engine()
    return build_image(flavor, log=lambda message: None)
