"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from postgres_harness import postgres_server, postgres_url, store_location  # noqa: F401

from arena_kit.sandbox import available_backends
from arena_kit.sandbox.dockerd import stop_shared_engine
from arena_kit.sandbox.testing import docker_preparable, prepare_docker


def backends_here() -> list:
    """pytest params, one per backend; one that cannot run here skips with the reason, except
    in CI (``CI=true``), where a missing backend is a failure. Docker counts as available
    when an engine can be started here (the ``ready`` fixture starts it and stops it).
    Test modules import it (``from conftest import backends_here``) to parametrize."""
    params = []
    for name, reason in available_backends().items():
        if name == "docker" and reason is not None:
            reason = docker_preparable()
        marks = []
        if reason is not None and os.environ.get("CI") != "true":
            marks.append(pytest.mark.skip(reason=f"{name} unavailable: {reason}"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(scope="module")
def docker_engine():
    """A Docker engine and the CI runtime image; an engine started here is stopped after the
    module (so no engine outlives the tests that needed it)."""
    prepare_docker("ci")
    yield
    stop_shared_engine()


@pytest.fixture
def ready(request, backend):
    """The backend under test (a ``backend`` parameter), made ready (Docker: engine, image)."""
    if backend == "docker":
        request.getfixturevalue("docker_engine")
    return backend


@pytest.fixture
def sandbox_tmp_path():
    """A fresh directory the sandbox's unprivileged uid can reach (pytest's own temporary
    directories live under a 0700 one as root), removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="arena-kit-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
