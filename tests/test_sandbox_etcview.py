"""The sandbox's /etc: a prepared copy of what every host user may read, rebuilt on change."""

from __future__ import annotations

import ast
import os
import shutil

import pytest

from arena_kit.sandbox import etcview


@pytest.fixture()
def fake_etc(tmp_path, monkeypatch):
    root = tmp_path / "etc"
    (root / "ssl" / "certs").mkdir(parents=True)
    (root / "ssl" / "certs" / "ca.pem").write_text("CERT")
    (root / "ssl" / "certs" / "link.pem").symlink_to("ca.pem")
    private = root / "ssl" / "private"
    private.mkdir()
    (private / "server.key").write_text("SECRET KEY")
    private.chmod(0o710)  # as Debian ships it: no access for others
    (root / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "ld.so.cache").write_text("cache v1")
    (root / "group").write_text("root:x:0:\n")
    (root / "group").chmod(0o600)  # not readable by others: left out
    (root / "shadow").write_text("not an entry the sandbox gets")
    monkeypatch.setattr(etcview, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(etcview, "_state", etcview._State())
    yield root
    private.chmod(0o755)


def test_the_view_holds_only_what_every_user_may_read(fake_etc):
    view = etcview.etc_view(fake_etc)
    found = sorted(str(p.relative_to(view)) for p in view.rglob("*"))
    assert found == sorted(["hosts", "ld.so.cache", "passwd", "resolv.conf", "ssl",
                            "ssl/certs", "ssl/certs/ca.pem", "ssl/certs/link.pem"])  # fmt: skip
    assert os.readlink(view / "ssl/certs/link.pem") == "ca.pem"
    assert (view / "passwd").read_text().startswith("root:x")
    assert (view / "resolv.conf").read_text() == ""  # a mount point for the install step


def test_a_change_on_the_host_gives_a_new_view(fake_etc, monkeypatch):
    first = etcview.etc_view(fake_etc)
    assert etcview.etc_view(fake_etc) == first  # checked a moment ago: no walk
    (fake_etc / "ld.so.cache").write_text("cache v2, longer")
    monkeypatch.setattr(etcview, "_state", etcview._State())  # as after a minute
    second = etcview.etc_view(fake_etc)
    assert second != first and (second / "ld.so.cache").read_text() == "cache v2, longer"
    assert first.is_dir()  # a sandbox started a moment ago may still use it


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")
def test_the_sandbox_sees_the_view_as_its_etc():
    from arena_kit.sandbox import Status, run

    result = run("import os\nprint(sorted(os.listdir('/etc')))", cache=False, backend="bwrap")
    assert result.status is Status.OK, result.message
    seen = set(ast.literal_eval(result.stdout))
    assert seen <= set(etcview.ETC_ENTRIES) | set(etcview.MOUNT_POINTS)
    assert {"passwd", "ld.so.cache", "ssl"} <= seen and "shadow" not in seen
