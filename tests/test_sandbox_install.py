"""``allow_install``: a missing package is installed from an index the test serves on loopback."""

from __future__ import annotations

import base64
import hashlib
import http.server
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from arena_kit.sandbox import Status, run

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

DIST = "arena-testpkg-q7"
MODULE = "arena_testpkg_q7"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def build_wheel(directory: Path) -> Path:
    """A real, minimal pure-Python wheel (PEP 427), written by hand."""
    files = {
        f"{MODULE}/__init__.py": b"VALUE = 'installed from the loopback index'\n",
        f"{MODULE}-1.0.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 1.0\n".encode()
        ),
        f"{MODULE}-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: arena-kit-test\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{MODULE}-1.0.dist-info/top_level.txt": f"{MODULE}\n".encode(),
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{MODULE}-1.0.dist-info/RECORD,,\n"
    wheel = directory / f"{MODULE}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{MODULE}-1.0.dist-info/RECORD", record)
    return wheel


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """A PEP 503 "simple" index on 127.0.0.1 with one wheel; counts the requests it gets."""
    root = tmp_path_factory.mktemp("index")
    project = root / "simple" / DIST
    project.mkdir(parents=True)
    wheel = build_wheel(project)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "index.html").write_text(
        f'<html><body><a href="{wheel.name}#sha256={digest}">{wheel.name}</a></body></html>'
    )
    (root / "simple" / "index.html").write_text(f'<a href="{DIST}/">{DIST}</a>')
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple", requests
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_missing_package_without_install_is_named():
    result = run(f"import {MODULE}\nprint({MODULE}.VALUE)", "python", cache=False)
    assert result.status is Status.MISSING_DEPENDENCY
    assert MODULE in result.message and DIST in result.message


@pytest.mark.slow
def test_allow_install_uses_a_per_job_layer(index, sandbox_tmp_path, monkeypatch):
    url, requests = index
    monkeypatch.setenv("ARENA_KIT_LAYERS", str(sandbox_tmp_path / "layers"))
    code = f"import {MODULE}\nprint({MODULE}.VALUE)"
    first = run(code, "python", allow_install=True, index_url=url, cache=False)
    assert first.status is Status.OK, (first.message, first.stderr, first.build_log)
    assert first.stdout.strip() == "installed from the loopback index"
    assert any(DIST in path for path in requests), requests
    seen = len(requests)
    # The same requirement again: the layer is reused, the index is not asked again.
    second = run(
        code + "\nprint('again')", "python", allow_install=True, index_url=url, cache=False
    )
    assert second.status is Status.OK and "again" in second.stdout
    assert len(requests) == seen
    # The network was open for the install only: the program itself still has none.
    probe = (
        f"import {MODULE}, urllib.request\n"
        f"try:\n    urllib.request.urlopen('{url}/', timeout=2)\n    print('reached')\n"
        "except Exception as error:\n    print('no network', type(error).__name__)\n"
    )
    third = run(probe, "python", allow_install=True, index_url=url, cache=False)
    assert third.status is Status.OK and "no network" in third.stdout, third.stdout


@pytest.mark.slow
def test_a_package_the_index_lacks_is_missing_dependency(index, sandbox_tmp_path, monkeypatch):
    url, _ = index
    monkeypatch.setenv("ARENA_KIT_LAYERS", str(sandbox_tmp_path / "layers"))
    result = run("import no_such_pkg_zz9\n", "python", allow_install=True, index_url=url)
    assert result.status is Status.MISSING_DEPENDENCY
    assert "no-such-pkg-zz9" in result.message
    assert result.build_log  # pip's own words
