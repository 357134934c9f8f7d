"""``allow_install``: missing Python packages go into a per-requirement-set layer.

The install step runs in the sandbox too, with the network open for that step only, pip's
configuration ignored, and wheels only (``--only-binary=:all:``), so that nothing from the
index runs while installing. Layers are shared by jobs that need the same packages (bound
read-only); installs share no download cache.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import threading
from functools import lru_cache
from pathlib import Path

from ..errors import ArenaKitError
from ..extract import distribution_for, is_stdlib, python_imports
from ..schema import content_id
from .limits import Limits
from .paths import layers_dir, runtime_dir

__all__ = ["InstallError", "available_modules", "missing_requirements", "install_layer"]


class InstallError(ArenaKitError):
    """Packages could not be installed (the pip log says why)."""

    def __init__(self, packages: list[str], log: str) -> None:
        self.packages = packages
        self.log = log
        super().__init__(f"could not install {', '.join(packages)}: {log.strip()[-300:]}")


@lru_cache(maxsize=4)
def _modules_in(site_packages: str) -> frozenset[str]:
    names: set[str] = set()
    root = Path(site_packages)
    if not root.is_dir():
        return frozenset()
    for entry in root.iterdir():
        name = entry.name
        if name.endswith(".dist-info"):
            top_level = entry / "top_level.txt"
            if top_level.is_file():
                names.update(line.strip() for line in top_level.read_text().splitlines())
            continue
        if entry.is_dir() and not name.startswith((".", "_")) or name.endswith((".py", ".so")):
            names.add(name.split(".")[0])
    return frozenset(n for n in names if n)


def available_modules() -> frozenset[str]:
    """Top-level modules importable in the sandbox's Python environment."""
    venv = runtime_dir() / "venv" / "lib"
    found: set[str] = set()
    if venv.is_dir():
        for version in venv.iterdir():
            found |= _modules_in(str(version / "site-packages"))
    return frozenset(found)


def missing_requirements(code: str) -> list[str]:
    """Distributions ``code`` imports that the runtime does not have (sorted)."""
    present = available_modules()
    missing = {
        distribution_for(module)
        for module in python_imports(code)
        if not is_stdlib(module) and module not in present
    }
    return sorted(missing)


def _install_env() -> dict[str, str]:
    """pip's environment in the install step: no user configuration; the system's CA bundle
    (which includes any CA the host added, e.g. for a TLS-inspecting proxy) and the host's
    proxy settings, if any."""
    env = {"PIP_CONFIG_FILE": "/dev/null", "HOME": "/tmp"}
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.isfile(bundle):
        env["PIP_CERT"] = bundle
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def install_layer(requirements: list[str], index_url: str | None = None) -> str:
    """Install ``requirements`` (wheels only) into a layer; returns its host path.

    Raises
    ------
    InstallError
        pip failed (unknown package, no wheel, index unreachable); ``log`` has pip's output.
    """
    from .bwrap import _sandboxed
    from .process import RawRun
    from .workdir import WorkDir, give_to_sandbox

    key = content_id(sorted(requirements), index_url, sys.version_info[:2], length=20)
    layers = layers_dir()
    layers.mkdir(parents=True, exist_ok=True)
    layer = layers / key
    if (layer / ".complete").is_file():
        return str(layer)
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock, open(layers / f".{key}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # other processes installing the same layer
        if (layer / ".complete").is_file():
            return str(layer)
        staging = layers / f".{key}.{os.getpid()}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        give_to_sandbox(staging)  # the install step writes it as the sandbox uid
        command = [
            "/opt/arena/venv/bin/python", "-m", "pip", "install", "--no-input",
            "--disable-pip-version-check", "--no-warn-script-location", "--only-binary=:all:",
            # No shared download cache: one install could plant wheels for the next.
            "--target", "/opt/newlayer", "--no-cache-dir",
        ]  # fmt: skip
        if index_url:
            command += ["--index-url", index_url]
        command += requirements
        limits = Limits(wall_s=300, cpu_s=300, memory_mb=2048, pids=128, file_mb=512,
                        disk_mb=512, build_wall_s=300)  # fmt: skip
        raw: RawRun
        with WorkDir(limits.disk_mb) as work:
            raw, _ = _sandboxed(
                work, command, wall_s=limits.wall_s, memory_mb=limits.memory_mb, limits=limits,
                env=_install_env(),
                binds=[(str(staging), "/opt/newlayer", True)],
                network=True,
            )  # fmt: skip
        if raw.exit_code != 0 or raw.timed_out:
            shutil.rmtree(staging, ignore_errors=True)
            raise InstallError(requirements, (raw.stdout + raw.stderr).decode("utf-8", "replace"))
        (staging / ".complete").write_text("\n".join(requirements))
        os.chmod(staging, 0o755)
        shutil.rmtree(layer, ignore_errors=True)
        os.rename(staging, layer)
    return str(layer)
