"""Issue 12's containment, as root: the reproduction, the host keyring, the sandbox's host uid,
and the layer switches that prove the hostile tests can fail.

Each layer of the bwrap backend is switched off in turn (``ARENA_KIT_UNSAFE_DISABLE``, read by
``confine.disabled`` at every start: launchers wait for their command line, so no pool holds a
sandbox built before the switch; the warm pool is off in tests). What each switch changes:

=================  =========================  ==============  ==========================
layers off         core_pattern (opened for   /proc/sys       keyctl / unshare(0) /
                   writing, never written)    mount           io_uring_setup / clone3
=================  =========================  ==============  ==========================
none               EACCES                     read-only       EPERM / EPERM / EPERM / ENOSYS
uid                EROFS (the read-only bind) read-only       EPERM ...
procsys            EACCES (the uid drop)      **writable**    EPERM ...
uid + procsys      **opens**; /proc/keys      **writable**    EPERM ...
                   lists **_uid.0**
seccomp            EACCES                     read-only       **allowed** (ENOKEY, ...)
=================  =========================  ==============  ==========================

The kernel checks the uid before the mount, so with every layer on the refusal is EACCES;
``procsys_read_only_mount`` checks the mount itself.
With ``uid`` off the sandbox's processes are host uid 0 (``test_uid_layer_switch``). On
Docker only the seccomp profile is arena-kit's own: without it the engine's default profile
still refuses keyctl and unshare, but lets io_uring_setup through.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import backends_here  # one param per backend; the `ready` fixture is there too
from test_sandbox_hostile import (  # the same programs and checks as the hostile suite
    CONTAINED,
    CONTAINED_LIMITS,
    PRELUDE,
    check_contained,
)

from arena_kit.sandbox import Status, run, run_many
from arena_kit.sandbox.confine import configured_uid

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",
    reason="containment as root (CI runs as root)",
)

REPRODUCTION = (
    "import os; os.close(os.open('/proc/sys/kernel/core_pattern', os.O_WRONLY)); print('WRITABLE')"
)
CASES = {case.name: case for case in CONTAINED}


def _contained(backend: str, names: list[str]) -> dict[str, bool]:
    """Run the named hostile programs; name -> whether the hostile suite's checks pass."""
    jobs = [
        {"code": PRELUDE + CASES[n].code if CASES[n].language == "python" else CASES[n].code,
         "language": CASES[n].language, "backend": backend, "cache": False,
         "limits": CONTAINED_LIMITS}
        for n in names
    ]  # fmt: skip
    outcome = {}
    for name, result in zip(names, run_many(jobs, progress=False, max_workers=4), strict=True):
        try:
            check_contained(CASES[name], result)
            outcome[name] = True
        except AssertionError:
            outcome[name] = False
    return outcome


@pytest.mark.parametrize("backend", backends_here())
def test_issue_reproduction_is_not_writable(ready):
    result = run(REPRODUCTION, "python", backend=ready, cache=False)
    assert result.status is Status.RUNTIME_ERROR, (result.message, result.stdout)
    assert "WRITABLE" not in result.stdout
    assert "OSError" in result.stderr or "Error" in result.message


@pytest.mark.parametrize("backend", backends_here())
def test_host_keyring_is_invisible(ready):
    result = run(PRELUDE + CASES["proc_keys"].code, backend=ready, cache=False)
    assert result.status is Status.OK, result.message
    assert "_uid.0" not in result.stdout and "_uid_ses.0" not in result.stdout, result.stdout


def _host_view(marker: str, deadline: float) -> str | None:
    """The host's /proc/<pid>/status of the process whose command line holds ``marker``."""
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    return (entry / "status").read_text()
            except OSError:
                continue
        time.sleep(0.05)
    return None


def _sandbox_host_ids(backend: str) -> tuple[list[int], str]:
    """Real/effective/saved/fs uids and CapEff of a sandboxed process, seen from the host."""
    marker = f"arena-uid-probe-{os.getpid()}-{time.monotonic_ns()}"
    code = f"import subprocess\nsubprocess.run(['sh', '-c', 'sleep 3', '{marker}'])\n"
    worker = threading.Thread(
        target=run, args=(code,), kwargs={"backend": backend, "cache": False}, daemon=True
    )
    worker.start()
    status = _host_view(marker, time.monotonic() + 20)
    worker.join(timeout=30)
    assert status is not None, "the sandboxed process was not seen from the host"
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return [int(v) for v in fields["Uid"].split()], fields["CapEff"].strip()


@pytest.mark.parametrize("backend", backends_here())
def test_sandbox_host_uid_is_not_root(ready):
    assert os.geteuid() == 0, "this test proves containment when the workbench is root"
    uids, capabilities = _sandbox_host_ids(ready)
    assert 0 not in uids and uids == [configured_uid()] * 4, uids
    assert int(capabilities, 16) == 0, capabilities


def test_uid_layer_switch(monkeypatch):
    """uid off: the sandbox is host root, yet /proc/sys stays read-only (its own layer)."""
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "uid")
    uids, _ = _sandbox_host_ids("bwrap")
    assert uids[0] == 0, uids  # the host-uid test would fail
    names = ["procsys_core_pattern", "procsys_read_only_mount", "proc_keys", "syscall_keyctl"]
    assert _contained("bwrap", names) == dict.fromkeys(names, True)
    result = run(PRELUDE + "print(wopen('/proc/sys/kernel/core_pattern'))", cache=False)
    assert result.stdout.strip() == "EROFS", result.stdout  # the read-only bind, alone


def test_procsys_layer_switch(monkeypatch):
    """procsys off: /proc/sys is a writable mount, refused by the uid drop alone (EACCES)."""
    names = ["procsys_read_only_mount", "procsys_core_pattern", "procsys_modprobe", "proc_keys"]
    assert _contained("bwrap", names) == dict.fromkeys(names, True)
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "procsys")
    outcome = _contained("bwrap", names)
    assert outcome == {**dict.fromkeys(names, True), "procsys_read_only_mount": False}, outcome
    result = run(PRELUDE + "print(wopen('/proc/sys/kernel/core_pattern'))", cache=False)
    assert result.stdout.strip() == "EACCES", result.stdout


def test_uid_and_procsys_off_is_the_issue(monkeypatch):
    """Both off, the issue's hole is back: core_pattern opens for writing (never written) and
    /proc/keys lists host root's keyring."""
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "uid,procsys")
    outcome = _contained("bwrap", ["procsys_core_pattern", "procsys_every_entry", "proc_keys"])
    assert outcome == dict.fromkeys(outcome, False), outcome
    result = run(REPRODUCTION, cache=False)
    assert "WRITABLE" in result.stdout, (result.message, result.stderr)


SECCOMP_CASES = [
    "syscall_keyctl", "syscall_add_key", "syscall_unshare", "syscall_setns",
    "syscall_io_uring_setup", "syscall_clone3", "syscall_ptrace_traceme", "ptrace_attach_child",
]  # fmt: skip


def test_seccomp_layer_switch_bwrap(monkeypatch):
    """seccomp off: every one of these calls gets through (or fails for another reason)."""
    assert _contained("bwrap", SECCOMP_CASES) == dict.fromkeys(SECCOMP_CASES, True)
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "seccomp")
    outcome = _contained("bwrap", SECCOMP_CASES)
    assert outcome == dict.fromkeys(SECCOMP_CASES, False), outcome


@pytest.mark.parametrize("backend", [p for p in backends_here() if p.id == "docker"])
def test_seccomp_profile_docker(ready, monkeypatch):
    """Docker: arena-kit's profile refuses keyctl, unshare and io_uring_setup; without it the
    engine's default profile lets io_uring_setup through."""
    names = ["syscall_keyctl", "syscall_unshare", "syscall_io_uring_setup", "syscall_clone3"]
    assert _contained(ready, names) == dict.fromkeys(names, True)
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "seccomp")
    outcome = _contained(ready, names)
    assert outcome["syscall_io_uring_setup"] is False, outcome


NORMAL_USER = 4242
"""A uid with no account, standing in for a person who runs the workbench without root."""


def test_as_a_normal_user_nothing_is_writable_and_the_keys_are_hidden(sandbox_tmp_path):
    """The workbench run by a normal user: its sandbox has that user's uid; /proc/sys is still
    refused and /proc/keys still masked (the caches are root's and only read: a shared,
    read-only cache works)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user for the test")
    import subprocess
    import sys

    from arena_kit.sandbox.paths import cache_dir

    marker = f"arena-normal-user-{os.getpid()}-{time.monotonic_ns()}"
    home = sandbox_tmp_path / "home"
    home.mkdir()
    os.chown(home, NORMAL_USER, NORMAL_USER)
    script = (
        "from arena_kit.sandbox import run\n"
        f"r = run({REPRODUCTION!r}, 'python', backend='bwrap', cache=False)\n"
        "print('REPRO', r.status.value, 'WRITABLE' in r.stdout)\n"
        "k = run(\"print(open('/proc/keys').read() or 'EMPTY')\", 'python', backend='bwrap',"
        " cache=False)\n"
        "print('KEYS', k.status.value, repr(k.stdout), k.message)\n"
        "u = run(\"print(open('/proc/self/uid_map').read().split())\", 'python', backend='bwrap',"
        " cache=False)\n"
        "print('UIDMAP', u.stdout.strip())\n"
        f"run(\"import subprocess; subprocess.run(['sh', '-c', 'sleep 2', '{marker}'])\","
        " 'python', backend='bwrap', cache=False)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "ARENA_KIT_CACHE": str(cache_dir()),  # root's, read-only to this user
        "ARENA_KIT_WORK": str(home / "work"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    process = subprocess.Popen(
        ["setpriv", f"--reuid={NORMAL_USER}", f"--regid={NORMAL_USER}", "--clear-groups",
         "--inh-caps=-all", "--", sys.executable, "-c", script],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(home),
    )  # fmt: skip
    # The sleeping program as the host sees it (its argv, not the script that names it).
    status = _host_view(f"sleep 2\0{marker}", time.monotonic() + 60)
    out, err = process.communicate(timeout=120)
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert status is not None, "the normal user's sandboxed process was not seen from the host"
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert [int(v) for v in fields["Uid"].split()] == [NORMAL_USER] * 4, fields["Uid"]
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["REPRO"] == "runtime_error False", done.stdout
    # /proc/keys is covered by /dev/null on a nodev bind: reading it is refused, as for root.
    assert lines["KEYS"].startswith("runtime_error ''") and "/proc/keys" in lines["KEYS"]
    # Inside, uid 65534 maps to the root of bwrap's own outer namespace, which is this user.
    assert lines["UIDMAP"] == "['65534', '0', '1']", done.stdout
