"""Build the Docker runtime image locally: no image registry is needed.

The base is a Debian 12 root filesystem made by ``debootstrap`` and turned into an image
with ``docker import``; the runtime image is then built from ``docker/`` in the repository.
Two flavors: ``ci`` (Python and C, small and quick) and ``full`` (all 8 runtimes).

    python -m arena_kit.sandbox image --flavor ci
"""

from __future__ import annotations

import importlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ArenaKitError

__all__ = ["IMAGE", "build_image", "image_name", "debian_mirror", "DOCKER_DIR"]


def _sdk() -> Any:
    """The ``docker`` SDK (imported by name: the repository's docker/ folder is not it)."""
    return importlib.import_module("docker")


IMAGE = "arena-kit-runtime"
DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
_PACKAGE_DIR = Path(__file__).resolve().parent
_BASE_PACKAGES = {
    "ci": ["python3", "gcc", "libc6-dev"],
    "full": ["python3", "ca-certificates"],
}


def image_name(flavor: str) -> str:
    """The tag of a runtime image flavor (``arena-kit-runtime:ci`` / ``:full``)."""
    return f"{IMAGE}:{flavor}"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (debootstrap fetches from it)."""
    for source in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if source.is_file():
            match = re.search(r"(?:URIs:|deb)\s+(https?://\S+)", source.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def _build_base(client: Any, flavor: str, tag: str, log: Any) -> None:
    if shutil.which("debootstrap") is None:
        raise ArenaKitError(
            "debootstrap is needed to build the base image; install it "
            "(apt-get install debootstrap) or give an existing base with --base-image"
        )
    with tempfile.TemporaryDirectory(prefix="arena-rootfs-") as rootfs:
        log(f"debootstrap bookworm ({flavor}) into {rootfs} …")
        subprocess.run(
            [
                "debootstrap", "--variant=minbase",
                "--include=" + ",".join(_BASE_PACKAGES[flavor]),
                "bookworm", rootfs, debian_mirror(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(Path(rootfs) / cache, ignore_errors=True)
        log(f"docker import → {tag}")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        client.api.import_image_from_data(tar.stdout.read(), repository=tag.split(":")[0],
                                          tag=tag.split(":")[1])  # fmt: skip
        tar.wait()


def build_image(
    flavor: str = "ci",
    *,
    base_image: str | None = None,
    client: Any = None,
    log: Any = print,
    rebuild: bool = False,
) -> str:
    """Build (if missing) the ``flavor`` runtime image; returns its tag.

    Parameters
    ----------
    flavor
        ``"ci"`` (Python and C) or ``"full"`` (all runtimes).
    base_image
        Build on this image instead of a local debootstrap base.
    client
        A ``docker.DockerClient`` (default: from the environment, ``DOCKER_HOST``).
    rebuild
        Build even if the image exists.
    """
    docker = _sdk()

    if flavor not in _BASE_PACKAGES:
        raise ArenaKitError(f"unknown image flavor {flavor!r}; use 'ci' or 'full'")
    client = client or docker.from_env()
    tag = image_name(flavor)
    if not rebuild:
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
    base = base_image or f"arena-kit-base:{flavor}"
    if base_image is None:
        try:
            client.images.get(base)
        except docker.errors.ImageNotFound:
            _build_base(client, flavor, base, log)
    dockerfile = "Dockerfile.ci" if flavor == "ci" else "Dockerfile"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        archive.add(DOCKER_DIR / dockerfile, arcname="Dockerfile")
        archive.add(_PACKAGE_DIR / "pylaunch.py", arcname="pylaunch.py")
        extra_ca = tarfile.TarInfo("extra-ca")
        extra_ca.type = tarfile.DIRTYPE
        extra_ca.mode = 0o755
        archive.addfile(extra_ca)
        for certificate in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt")):
            archive.add(certificate, arcname=f"extra-ca/{certificate.name}")
        setup = DOCKER_DIR.parent / "scripts" / "setup-runtime.sh"
        if setup.is_file():
            archive.add(setup, arcname="setup-runtime.sh")
    context.seek(0)
    log(f"docker build → {tag} (base {base})")
    lines: list[str] = []
    for chunk in client.api.build(
        fileobj=context,
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base, "MIRROR": debian_mirror()},
        network_mode="host",  # the full flavor fetches packages while building
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "stream" in chunk:
            lines.extend(chunk["stream"].splitlines())
        if "error" in chunk:
            tail = "\n".join(lines[-30:])
            raise ArenaKitError(f"building {tag} failed: {chunk['error']}\n{tail}")
    return tag


if __name__ == "__main__":  # pragma: no cover
    build_image(os.environ.get("FLAVOR", "ci"))
