"""``arena-kit setup``: prepare this machine with the set-up scripts shipped in the package.

The same scripts ``make demo`` and ``make test`` run from the repository (``scripts/``; in a
wheel ``arena_kit/scripts/``):

1. ``setup-system.sh --check`` names the Debian packages that are missing (bubblewrap,
   Chromium, compilers …), what each is for and the exact ``apt-get install`` command; with
   ``--system`` (as root) it installs them instead;
2. ``setup-runtime.sh``: the sandbox's runtime (a Python environment, Node, Go, esbuild) under
   ``$ARENA_KIT_CACHE``, built once (a few minutes) and then a stamp;
3. ``setup-web.sh``: the npm packages of the visual environments, likewise.

It then says whether JupyterLab will load the live-app extension
(``arena_kit.web.jupyter_app_proxy``), and how to enable it when it will not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from .resources import package_path

__all__ = ["run_setup", "jupyter_extension_enabled", "JUPYTER_EXTENSION"]

JUPYTER_EXTENSION = "arena_kit.web.jupyter_app_proxy"
"""The Jupyter server extension that shows live apps through the Jupyter server."""


def _script(name: str, *args: str) -> int:
    """Run one of the packaged set-up scripts; its output goes straight to the terminal."""
    env = dict(os.environ)
    # The runtime script primes matplotlib's font cache with this interpreter's arena_kit
    # (in the repository it would look for .venv/bin/python next to the scripts).
    env.setdefault("ARENA_KIT_PYTHON", sys.executable)
    return subprocess.run(["bash", str(package_path("scripts", name)), *args], env=env).returncode


def jupyter_extension_enabled(folders: Iterable[str | Path] | None = None) -> Path | None:
    """The Jupyter config file that enables :data:`JUPYTER_EXTENSION`, or None.

    ``folders``: the Jupyter config folders to look in (default: the ones ``jupyter server``
    reads, :func:`jupyter_core.paths.jupyter_config_path`).
    """
    if folders is None:
        from jupyter_core.paths import jupyter_config_path

        folders = jupyter_config_path()
    for folder in folders:
        for config in sorted(Path(folder, "jupyter_server_config.d").glob("*.json")):
            try:
                settings = json.loads(config.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            extensions = settings.get("ServerApp", {}).get("jpserver_extensions", {})
            if isinstance(extensions, dict) and extensions.get(JUPYTER_EXTENSION) is True:
                return config
    return None


def run_setup(*, install_system: bool = False) -> int:
    """Prepare the machine (see the module docstring); 0 when everything is ready."""
    if shutil.which("bash") is None:
        print("arena-kit setup: bash is needed to run the set-up scripts", file=sys.stderr)
        return 1
    problems = []
    if shutil.which("dpkg-query") is None:
        problems.append(
            "the system check knows Debian and Ubuntu packages only (no dpkg-query here): "
            "install bubblewrap, Chromium, gcc, g++, a JDK and rustc with your system's tools"
        )
    elif _script("setup-system.sh", *([] if install_system else ["--check"])) != 0:
        problems.append("system packages are missing (listed above, with the command to run)")
    if _script("setup-runtime.sh") != 0:
        problems.append("the sandbox runtime could not be prepared (see above)")
    elif _script("setup-web.sh") != 0:
        problems.append("the web cache could not be prepared (see above)")
    config = jupyter_extension_enabled()
    if config is None:
        problems.append(
            "JupyterLab will not load the live-app extension; enable it with:  jupyter server "
            f"extension enable --sys-prefix {JUPYTER_EXTENSION}"
        )
    runtime = subprocess.run(
        ["bash", str(package_path("scripts", "setup-runtime.sh")), "--print"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if problems:
        print("arena-kit setup: not ready:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"arena-kit setup: ready (sandbox runtime in {runtime}; Jupyter extension: {config})")
    return 0
