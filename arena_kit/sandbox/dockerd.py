"""A Docker engine for arena-kit when the machine has none running: start it, stop it.

``dockerd`` is started with the options that work on machines like CI's (overlay2 storage,
no iptables, no bridge: containers get ``--network none`` anyway), on its own socket, and
stopped by pid when done. An engine that is already reachable is used as it is.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ArenaKitError

__all__ = ["LocalDockerd", "engine_reachable", "shared_engine"]


def _sdk() -> Any:
    """The ``docker`` SDK (imported by name: the repository's docker/ folder is not it)."""
    return importlib.import_module("docker")


SOCKET = "/run/arena-kit-dockerd.sock"


def engine_reachable(base_url: str | None = None) -> bool:
    """True when a Docker engine answers (``DOCKER_HOST`` or the default socket)."""
    try:
        docker = _sdk()
    except ImportError:
        return False
    try:
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        with contextlib.closing(client):
            return bool(client.ping())
    except Exception:
        return False


def remove_job_containers(base_url: str | None = None) -> int:
    """Remove every container arena-kit made (label ``arena-kit=job``) on an engine."""
    try:
        docker = _sdk()
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
    except Exception:
        return 0
    removed = 0
    with contextlib.closing(client):
        try:
            stale = client.containers.list(all=True, filters={"label": "arena-kit=job"})
        except Exception:
            return 0
        for container in stale:
            with contextlib.suppress(Exception):
                container.remove(force=True)
                removed += 1
    return removed


class LocalDockerd:
    """A ``dockerd`` process this program started (and stops)."""

    def __init__(self, data_root: str = "/var/lib/arena-kit-docker") -> None:
        self.data_root = data_root
        self.base_url = f"unix://{SOCKET}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path("/run/arena-kit-dockerd.log")

    def start(self, timeout: float = 90) -> str:
        """Start dockerd and wait until it answers; returns its ``base_url``."""
        if shutil.which("dockerd") is None:
            raise ArenaKitError(
                "no Docker engine: install Debian's docker.io (scripts/setup-system.sh in CI "
                "mode, or apt-get install docker.io)"
            )
        if os.geteuid() != 0:
            raise ArenaKitError("starting dockerd needs root; start a Docker engine yourself")
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [
                "dockerd", "--host", self.base_url, "--data-root", self.data_root,
                "--exec-root", "/run/arena-kit-docker", "--pidfile", "/run/arena-kit-dockerd.pid",
                "--storage-driver=overlay2", "--iptables=false", "--bridge=none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-800:]
                raise ArenaKitError(f"dockerd exited at start ({self.process.returncode}): {tail}")
            if engine_reachable(self.base_url):
                return self.base_url
            time.sleep(0.25)
        self.stop()
        raise ArenaKitError(f"dockerd did not answer within {timeout:g} s (log: {self.log_path})")

    def stop(self) -> None:
        """Stop dockerd (and the containerd it manages) by its pid."""
        if self.process is None or self.process.poll() is not None:
            return
        remove_job_containers(self.base_url)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_shared: dict[str, LocalDockerd | None] = {}
_users = [0]  # holders of the shared engine: it stops when the last one lets go
_shared_lock = threading.Lock()


def shared_engine() -> str | None:
    """Make sure an engine is reachable; start one (stopped at exit) if needed.

    Sets ``DOCKER_HOST`` for this process when it starts one. Returns the engine's
    ``base_url`` (None for the environment's default engine). Each call must be paired
    with :func:`stop_shared_engine`, which stops the engine after the last holder.
    """
    with _shared_lock:
        _users[0] += 1
        if "engine" in _shared:
            engine = _shared["engine"]
            return engine.base_url if engine else os.environ.get("DOCKER_HOST")
        if engine_reachable():
            _shared["engine"] = None
            return os.environ.get("DOCKER_HOST")
        if engine_reachable(f"unix://{SOCKET}"):  # left by an earlier session: use it
            os.environ["DOCKER_HOST"] = f"unix://{SOCKET}"
            _shared["engine"] = None
            return os.environ["DOCKER_HOST"]
        engine = LocalDockerd()
        base_url = engine.start()
        atexit.register(engine.stop)
        os.environ["DOCKER_HOST"] = base_url
        _shared["engine"] = engine
        return base_url


def stop_shared_engine() -> None:
    """Let go of the shared engine; the last holder stops it (if this process started it)."""
    with _shared_lock:
        _users[0] = max(0, _users[0] - 1)
        if _users[0]:
            return
        engine = _shared.pop("engine", None)
        if engine is not None:
            from .backend import _instances

            backend = _instances.pop("docker", None)  # its containers die with the engine
            close = getattr(backend, "close", None)
            if close is not None:
                close()
            engine.stop()
            if os.environ.get("DOCKER_HOST") == engine.base_url:
                del os.environ["DOCKER_HOST"]


__all__ += ["stop_shared_engine", "remove_job_containers"]
