"""Hostile programs: each ends in a clear status and leaves the host as it was.

Every program runs on each backend available here (bwrap, docker). Network tests use only
loopback listeners that this module starts itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from arena_kit.sandbox import Limits, Status, available_backends, run, run_many
from arena_kit.sandbox.dockerd import stop_shared_engine
from arena_kit.sandbox.paths import work_root
from arena_kit.sandbox.testing import docker_preparable, prepare_docker


def backends_here() -> list:
    """pytest params, one per backend; one that cannot run here skips with the reason, except
    in CI (``CI=true``), where a missing backend is a failure. Docker counts as available
    when an engine can be started here (the ``ready`` fixture starts it and stops it)."""
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
    """A Docker engine and the CI runtime image; an engine started here is stopped after."""
    prepare_docker("ci")
    yield
    stop_shared_engine()


@pytest.fixture
def ready(request, backend):
    """The backend under test, made ready (Docker: engine and image)."""
    if backend == "docker":
        request.getfixturevalue("docker_engine")
    return backend


ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-test-hostile-1234567890abcdef"
LIMITS = Limits(
    wall_s=4, cpu_s=4, memory_mb=256, pids=32, file_mb=8, disk_mb=32, output_bytes=100_000
)
FAILED = {Status.RUNTIME_ERROR, Status.TIMEOUT}


class Host:
    """What the host looks like to the tests: a listener, a secret file, a marker process."""

    def __init__(self, tmp: Path) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.udp_port = self.udp.getsockname()[1]
        self.connections = 0
        self.datagrams = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.secret = tmp / "host-secret.txt"
        self.secret.write_text("the host's secret")
        self.marker = f"arena-marker-{os.getpid()}"
        # A process the sandbox must neither see nor kill.
        self.sleeper = subprocess.Popen(
            [sys.executable, "-c", "import time, sys; time.sleep(600)", self.marker]
        )

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.tcp.accept()
                self.connections += 1
                connection.close()
            except OSError:
                pass
            try:
                self.udp.recvfrom(100)
                self.datagrams += 1
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.tcp.close()
        self.udp.close()
        self.sleeper.kill()
        self.sleeper.wait()

    def fill(self, code: str) -> str:
        return (
            code.replace("TCP_PORT", str(self.tcp_port))
            .replace("UDP_PORT", str(self.udp_port))
            .replace("SECRET_PATH", str(self.secret))
            .replace("HOME_PATH", str(Path.home()))
            .replace("DATA_PATH", str(ROOT / "data"))
            .replace("REPO_PATH", str(ROOT))
            .replace("PARENT_PID", str(os.getpid()))
            .replace("MARKER", self.marker)
        )


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    previous = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = FAKE_KEY
    state = Host(tmp_path_factory.mktemp("host"))
    yield state
    state.close()
    if previous is None:
        os.environ.pop("OPENAI_API_KEY", None)
    else:
        os.environ["OPENAI_API_KEY"] = previous


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    expected: frozenset[Status]
    language: str = "python"
    stdout_has: str = ""
    message_has: str = ""


def _h(name, code, expected, **kw) -> Hostile:
    expected = {expected} if isinstance(expected, Status) else set(expected)
    return Hostile(name, code, frozenset(expected), **kw)


HOSTILE = [
    _h("fork_bomb", "import os\nwhile True:\n    os.fork()\n", FAILED, message_has="process limit"),
    _h(
        "fork_bomb_c",
        "#include <unistd.h>\nint main(void){ for(;;) fork(); }",
        FAILED,
        language="c",
        message_has="process limit",
    ),
    _h(
        "shell_fork_bomb",
        "import subprocess\nsubprocess.run(['sh', '-c', 'f(){ f | f & }; f'], timeout=3)\n",
        FAILED,
    ),
    _h(
        "thread_bomb",
        "import threading, time\n"
        "while True:\n    threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n",
        FAILED,
    ),
    _h(
        "memory_bomb",
        "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n",
        Status.MEMORY_LIMIT,
    ),
    _h(
        "memory_bomb_c",
        "#include <stdlib.h>\n#include <string.h>\n"
        "int main(void){ for(;;){ char *p = malloc(1<<24); if(!p) return 3;"
        " memset(p, 1, 1<<24);} }",
        {Status.MEMORY_LIMIT},
        language="c",
    ),
    _h("infinite_loop", "while True:\n    pass\n", Status.TIMEOUT),
    _h("sleep_forever", "import time\ntime.sleep(10**6)\n", Status.TIMEOUT),
    _h("endless_stdout", "while True:\n    print('x' * 1000)\n", Status.OUTPUT_LIMIT),
    _h(
        "endless_stderr",
        "import sys\nwhile True:\n    sys.stderr.write('e' * 1000)\n",
        Status.OUTPUT_LIMIT,
    ),
    _h(
        "fill_disk",
        "i = 0\nwhile True:\n"
        "    with open(f'junk{i}', 'wb') as f:\n        f.write(b'0' * 2**20 * 4)\n    i += 1\n",
        {Status.OUTPUT_LIMIT},
    ),
    _h(
        "fill_tmp",
        "i = 0\nwhile True:\n"
        "    with open(f'/tmp/junk{i}', 'wb') as f:\n"
        "        f.write(b'0' * 2**20 * 4)\n    i += 1\n",
        {Status.OUTPUT_LIMIT, Status.MEMORY_LIMIT},
    ),
    _h("huge_file", "open('big', 'wb').write(b'0' * 64 * 2**20)\n", Status.OUTPUT_LIMIT),
    _h(
        "read_parent_environment",
        "import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY', 'absent'))\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ').read())\n"
        "    except Exception:\n        pass\n",
        Status.OK,
        stdout_has="absent",
    ),
    _h(
        "read_home_and_data",
        "import os\n"
        "for path in ['HOME_PATH', 'DATA_PATH', 'REPO_PATH', 'SECRET_PATH', '/root']:\n"
        "    try:\n"
        "        seen = os.listdir(path) if os.path.isdir(path) else os.path.exists(path)\n"
        "    except OSError as error:\n"
        "        seen = type(error).__name__\n"
        "    print(path, seen)\n",
        Status.OK,
    ),
    _h(
        "write_outside_workdir",
        "import os\nfails = 0\n"
        "for path in ['/usr/pwned', '/etc/pwned', '/opt/arena/pwned', '/pwned', "
        "'/opt/arena-kit/pwned', 'REPO_PATH/pwned']:\n"
        "    try:\n        open(path, 'w').write('x')\n"
        "    except OSError:\n        fails += 1\n"
        "print('refused', fails)\n",
        Status.OK,
        stdout_has="refused 6",
    ),
    _h(
        "list_host_processes",
        "import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "seen = [open(f'/proc/{p}/cmdline').read() for p in pids]\n"
        "print(len(pids), any('MARKER' in s for s in seen))\n",
        Status.OK,
        stdout_has="False",
    ),
    _h(
        "kill_the_parent",
        "import os, signal\nresults = []\n"
        "for pid in [PARENT_PID, os.getppid(), 1]:\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n        results.append('sent')\n"
        "    except OSError as error:\n        results.append(type(error).__name__)\n"
        "print(results)\n",
        {Status.OK, Status.RUNTIME_ERROR},
    ),
    _h(
        "background_process_survives",
        "import subprocess\n"
        "subprocess.Popen(['sleep', '1000', 'MARKER-bg'], start_new_session=True)\n"
        "subprocess.Popen(['sh', '-c', 'nohup sleep 1001 MARKER-bg2 >/dev/null 2>&1 &'])\n"
        "print('left them running')\n",
        Status.OK,
    ),
    _h(
        "symlink_to_host_file",
        "import os\nos.symlink('SECRET_PATH', 'leak.txt')\nos.symlink('/etc/passwd', 'passwd')\n"
        "os.makedirs('d')\nos.symlink('/', 'd/root')\nopen('real.txt', 'w').write('mine')\n",
        Status.OK,
    ),
    _h(
        "tcp_to_host_listener",
        "import socket\ns = socket.socket()\ns.settimeout(2)\n"
        "try:\n    s.connect(('127.0.0.1', TCP_PORT))\n    print('CONNECTED')\n"
        "except OSError as error:\n    print('refused', type(error).__name__)\n",
        Status.OK,
        stdout_has="refused",
    ),
    _h(
        "udp_to_host_listener",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for _ in range(20):\n    s.sendto(b'hello', ('127.0.0.1', UDP_PORT))\nprint('sent')\n",
        {Status.OK, Status.RUNTIME_ERROR},
    ),
    _h(
        "become_root",
        "import os\nos.setuid(0)\n",
        Status.RUNTIME_ERROR,
    ),
    _h(
        "mount_and_unshare",
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r1 = libc.mount(b'tmpfs', b'/work', b'tmpfs', 0, None)\n"
        "r2 = libc.unshare(0x10000000)\n"
        "print(r1, r2, os.getuid())\n",
        Status.OK,
        stdout_has="-1 -1 65534",
    ),
]


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    """After each test: no work dir or cgroup made during it remains (those that existed
    before, e.g. another module's warm sandboxes in the same process, are not ours)."""
    before = _ours()
    yield
    deadline = time.monotonic() + 3
    while True:
        new = _ours() - before - _waiting_launchers()
        if not new or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not new, sorted(new)


def _waiting_launchers() -> set[str]:
    """The cgroups of launchers waiting for a run: made ahead on purpose, ended at exit."""
    from arena_kit.sandbox import bwrap

    return {
        f"cgroup:{controller if controller != 'unified' else ''}:{path.name}"
        for launcher in list(bwrap._launchers._entries)
        for controller, path in launcher.group.dirs.items()
    }


def _ours() -> set[str]:
    """This process's work dirs and cgroups (probe dirs aside)."""
    prefix = f"{os.getpid()}-"
    found = {
        f"work:{p.name}"
        for p in work_root().iterdir()
        if p.name.startswith(prefix) and "probe" not in p.name
    }
    for controller in ("memory", "pids", "cpuacct", ""):
        parent = Path("/sys/fs/cgroup") / controller / "arena-kit"
        if parent.is_dir():
            found |= {
                f"cgroup:{controller}:{p.name}"
                for p in parent.iterdir()
                if p.is_dir() and p.name.startswith(prefix)
            }
    return found


def _host_processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends_here())
@pytest.mark.parametrize("case", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_program(host, ready, case):
    code = host.fill(case.code)
    connections, datagrams = host.connections, host.datagrams
    result = run(code, case.language, limits=LIMITS, backend=ready, cache=False)
    assert result.status in case.expected, (case.name, result.message, result.stderr[-500:])
    assert result.message
    assert case.stdout_has in result.stdout, result.stdout[-500:]
    assert case.message_has in result.message, result.message
    assert FAKE_KEY not in result.stdout + result.stderr
    assert host.secret.read_text() == "the host's secret"
    for name in ("pwned",):
        for parent in ("/usr", "/etc", "/", str(ROOT)):
            assert not os.path.exists(os.path.join(parent, name))
    assert host.sleeper.poll() is None, "the sandbox killed a host process"
    time.sleep(0.1)
    assert host.connections == connections and host.datagrams == datagrams
    assert _host_processes_with(f"{host.marker}-bg") == [], "a background process survived"
    if case.name == "symlink_to_host_file":
        names = {a["name"] for a in result.artifacts}
        assert names == {"real.txt"}, names
    if case.name == "read_home_and_data":
        for line in result.stdout.splitlines():
            path, _, seen = line.partition(" ")
            assert seen in ("False", "[]", "PermissionError"), line


@pytest.mark.parametrize("backend", backends_here())
def test_concurrent_runs_do_not_see_each_other(ready):
    code = (
        "import os, time\nopen('mine-{n}.txt', 'w').write('{n}')\ntime.sleep(0.5)\n"
        "print(sorted(f for f in os.listdir('.') if f.startswith('mine')))\n"
    )
    jobs = [
        {"code": code.replace("{n}", str(n)), "backend": ready, "cache": False} for n in range(8)
    ]
    results = run_many(jobs, progress=False, max_workers=8)
    for n, result in enumerate(results):
        assert result.status is Status.OK, result.message
        assert result.stdout.strip() == str([f"mine-{n}.txt"])
