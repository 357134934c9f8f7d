"""Hostile programs: each ends in a clear status and leaves the host as it was.

Every program runs on each backend available here (bwrap, docker), bwrap in both of the ways a
sandbox starts: made ahead in a ready launcher (``bwrap-ready``: the default disk size, which
those launchers fit) and started when the run asks (``bwrap-at-run``: another disk size, so a
plain launcher or none execs bwrap then). Network tests use only loopback listeners that this
module starts itself.
"""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import backends_here  # one param per backend; the `ready` fixture is there too

from arena_kit.sandbox import Limits, Status, run, run_many
from arena_kit.sandbox.paths import work_root

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-test-hostile-1234567890abcdef"
LIMITS = Limits(
    wall_s=4, cpu_s=4, memory_mb=256, pids=32, file_mb=8, disk_mb=32, output_bytes=100_000
)
FAILED = {Status.RUNTIME_ERROR, Status.TIMEOUT}


def _starts() -> list:
    """pytest params (backend, start) with the ids above: every backend here, bwrap twice."""
    params = []
    for param in backends_here():
        (name,) = param.values
        for start in ("ready", "at-run") if name == "bwrap" else ("container",):
            ident = f"{name}-{start}" if name == "bwrap" else name
            params.append(pytest.param(name, start, marks=param.marks, id=ident))
    return params


def _limits_for(start: str, limits: Limits) -> Limits:
    """``limits`` as a ``start`` run needs them: a ready launcher fits only the default disk."""
    if start == "ready":
        return dataclasses.replace(limits, disk_mb=Limits().disk_mb)
    assert limits.disk_mb != Limits().disk_mb, "an at-run start needs a disk no launcher fits"
    return limits


class _ReadySandboxes:
    """``count`` ready launchers started and waiting; afterwards, whether each was used."""

    def __init__(self, count: int) -> None:
        from arena_kit.sandbox import bwrap, get_backend

        self.pool = bwrap._ready_launchers
        self.backend = get_backend("bwrap")
        self.backend.launchers(2, ready=count)
        self.pool.resize(count)  # on now, not at its first use
        deadline = time.monotonic() + 60
        while len(self.pool._entries) < count:
            assert time.monotonic() < deadline, "the ready launchers did not start"
            time.sleep(0.02)
        self.waiting = list(self.pool._entries)

    def all_used(self) -> bool:
        self.backend.launchers(2)
        return all(launcher.used for launcher in self.waiting)


class Host:
    """What the host looks like to the tests: listeners of every socket kind (loopback TCP and
    UDP on 127.0.0.1 and ::1, a unix socket at a host path, an abstract unix socket), a secret
    file, a marker process. Every listener counts what reaches it."""

    def __init__(self, tmp: Path) -> None:
        self.tcp = self._listen(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
        self.udp = self._listen(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
        self.tcp6 = self._listen(socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0))
        self.udp6 = self._listen(socket.AF_INET6, socket.SOCK_DGRAM, ("::1", 0))
        self.unix_path = str(tmp / "host.sock")
        self.unix = self._listen(socket.AF_UNIX, socket.SOCK_STREAM, self.unix_path)
        self.abstract_name = f"arena-hostile-{os.getpid()}"
        self.abstract = self._listen(socket.AF_UNIX, socket.SOCK_STREAM, "\0" + self.abstract_name)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.tcp6_port = self.tcp6.getsockname()[1]
        self.udp6_port = self.udp6.getsockname()[1]
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

    @staticmethod
    def _listen(family: int, kind: int, address: str | tuple[str, int]) -> socket.socket:
        sock = socket.socket(family, kind)
        sock.bind(address)
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        sock.setblocking(False)
        return sock

    @property
    def _sockets(self) -> list[socket.socket]:
        return [self.tcp, self.udp, self.tcp6, self.udp6, self.unix, self.abstract]

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select(self._sockets, [], [], 0.1)
            for sock in ready:
                try:
                    if sock.type == socket.SOCK_STREAM:
                        sock.accept()[0].close()
                        self.connections += 1
                    else:
                        sock.recvfrom(100)
                        self.datagrams += 1
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()
        self.sleeper.kill()
        self.sleeper.wait()

    def fill(self, code: str) -> str:
        return (
            code.replace("TCP6_PORT", str(self.tcp6_port))
            .replace("UDP6_PORT", str(self.udp6_port))
            .replace("TCP_PORT", str(self.tcp_port))
            .replace("UDP_PORT", str(self.udp_port))
            .replace("UNIX_PATH", self.unix_path)
            .replace("ABSTRACT_NAME", self.abstract_name)
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


# -- containment: the host's kernel, devices, sockets and other processes ----------------------
# Each program prints one line per attempt, "<what> <verdict>": the errno name of a refusal, or
# one of ESCAPES when the attempt worked. Nothing is ever written to /proc/sys, /sys or /dev:
# a file opened for writing is closed at once, which is proof enough that a write would work.

ESCAPES = ("WRITABLE", "ALLOWED", "CONNECTED", "READABLE", "ROOT", "_uid.0")
"""Words a program prints only when an attempt got through."""

PRELUDE = """\
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def err(number):
    return errno.errorcode.get(number, str(number))
def sc(number, *args):
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    return 'ALLOWED' if result >= 0 else err(ctypes.get_errno())
def wopen(path):
    try:
        os.close(os.open(path, os.O_WRONLY))
    except OSError as error:
        return err(error.errno)
    return 'WRITABLE'
def ropen(path):
    try:
        with open(path, 'rb') as handle:
            handle.read(1)
    except OSError as error:
        return err(error.errno)
    return 'READABLE'
def reach(family, kind, address):
    s = socket.socket(family, kind)
    s.settimeout(2)
    try:
        s.connect(address)
        if kind == socket.SOCK_DGRAM:
            for _ in range(5):
                s.send(b'hello')
    except OSError as error:
        return err(error.errno)
    return 'CONNECTED' if kind == socket.SOCK_STREAM else 'sent'
"""


@dataclass(frozen=True)
class Contained:
    """A hostile program that must be refused: ``lines`` must all be in its output."""

    name: str
    code: str
    lines: tuple[str, ...]
    language: str = "python"
    expected: frozenset[Status] = frozenset({Status.OK})
    message_has: str = ""
    limits: Limits | None = None

    def source(self) -> str:
        return PRELUDE + self.code if self.language == "python" else self.code


def _c(name: str, code: str, *lines: str, **kw) -> Contained:
    expected = kw.pop("expected", Status.OK)
    expected = {expected} if isinstance(expected, Status) else set(expected)
    return Contained(name, code, tuple(lines), expected=frozenset(expected), **kw)


def _sys(name: str, number: int, *args: int, refused: str = "EPERM") -> Contained:
    """One system call the seccomp filter refuses, with arguments that would do nothing
    harmful even if it were allowed (NULL pointers, bad descriptors, invalid flags)."""
    call = ", ".join(str(a) for a in (number, *args))
    return _c(f"syscall_{name}", f"print('{name}', sc({call}))\n", f"{name} {refused}")


def _proc_sys(name: str, entry: str) -> Contained:
    return _c(
        f"procsys_{name}",
        f"print('{name}', wopen('/proc/sys/{entry}'))\n",
        f"{name} E",  # EACCES (the kernel checks the uid first), EROFS as host root
    )


_CPU_LIMITS = Limits(wall_s=30, cpu_s=2, memory_mb=256, pids=32, file_mb=8, disk_mb=32)
_BAD_FLAGS = 0xFFFFFFF

CONTAINED = [
    # /proc/sys: a writable core_pattern or modprobe is code execution as host root.
    _proc_sys("core_pattern", "kernel/core_pattern"),
    _proc_sys("modprobe", "kernel/modprobe"),
    _proc_sys("hostname", "kernel/hostname"),
    _proc_sys("drop_caches", "vm/drop_caches"),
    _proc_sys("overcommit", "vm/overcommit_memory"),
    _proc_sys("ip_forward", "net/ipv4/ip_forward"),
    _proc_sys("somaxconn", "net/core/somaxconn"),
    _c(
        "procsys_every_entry",
        "found = writable = 0\n"
        "for top, dirs, files in os.walk('/proc/sys'):\n"
        "    for f in files:\n"
        "        found += 1\n"
        "        if wopen(os.path.join(top, f)) == 'WRITABLE':\n"
        "            writable += 1\n"
        "print('entries', found > 100, 'writable', writable)\n"
        "print('open-for-write', 'WRITABLE' if writable else 'refused')\n",
        "entries True writable 0",
    ),
    _c(
        "procsys_read_only_mount",
        "flags = os.statvfs('/proc/sys').f_flag\n"
        "print('procsys mount', 'read-only' if flags & os.ST_RDONLY else 'WRITABLE')\n",
        "procsys mount read-only",
    ),
    _c(
        "core_pattern_from_c",
        "#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n"
        'int main(void){ int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);\n'
        ' if (fd >= 0) { close(fd); puts("WRITABLE"); } else puts("core_pattern refused");\n'
        " return 0; }",
        "core_pattern refused",
        language="c",
    ),
    # Other writable /proc entries and kernel views.
    _c(
        "proc_sysrq_kcore_kmsg",
        "print('sysrq', wopen('/proc/sysrq-trigger'))\n"
        "print('kcore', ropen('/proc/kcore'))\nprint('kmsg', ropen('/proc/kmsg'))\n",
        "sysrq E",
        "kcore E",
        "kmsg E",
    ),
    _c(
        "proc_keys",
        "def show(path):\n"
        "    try:\n        return open(path).read()\n"
        "    except OSError as error:\n        return err(error.errno)\n"
        "print('keys', show('/proc/keys'), show('/proc/key-users'))\nprint('done')\n",
        "done",
    ),
    # /sys: absent (bwrap) or read-only (Docker).
    _c(
        "sys_entries",
        "for path in ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/power/state',\n"
        "             '/sys/class/net/lo/mtu', '/sys/kernel/uevent_helper',\n"
        "             '/sys/module/printk/parameters/time']:\n"
        "    print(path.split('/')[-1], wopen(path))\nprint('done')\n",
        "enabled E",
        "state E",
        "uevent_helper E",
        "done",
    ),
    _c(
        "sys_cgroup_escape",
        "import glob\nfound = glob.glob('/sys/fs/cgroup/**/release_agent', recursive=True)\n"
        "found += glob.glob('/sys/fs/cgroup/*/cgroup.procs') + ['/sys/fs/cgroup/cgroup.procs']\n"
        "print('cgroup', [wopen(p) for p in found])\n",
        "cgroup [",
    ),
    # Keyrings through the system calls (EPERM from the filter; ENOKEY/EFAULT/EINVAL without).
    _sys("keyctl", 250, 0, -1, 0),
    _sys("add_key", 248, 0, 0, 0, 0, -2),
    _sys("request_key", 249, 0, 0, 0, 0),
    # Every host socket kind, listeners the test started (the host fixture counts arrivals).
    _c(
        "unix_socket_at_host_path",
        "print('unix', reach(socket.AF_UNIX, socket.SOCK_STREAM, 'UNIX_PATH'))\n",
        "unix E",
    ),
    _c(
        "abstract_unix_socket",
        "print('abstract', reach(socket.AF_UNIX, socket.SOCK_STREAM, '\\0ABSTRACT_NAME'))\n",
        "abstract E",
    ),
    _c(
        "tcp6_to_host_listener",
        "print('tcp6', reach(socket.AF_INET6, socket.SOCK_STREAM, ('::1', TCP6_PORT)))\n",
        "tcp6 E",
    ),
    _c(
        "udp6_to_host_listener",
        "print('udp6', reach(socket.AF_INET6, socket.SOCK_DGRAM, ('::1', UDP6_PORT)))\n"
        "print('udp4', reach(socket.AF_INET, socket.SOCK_DGRAM, ('127.0.0.1', UDP_PORT)))\n",
        "udp6 ",
    ),
    _c(
        "only_loopback_interface",
        "print('interfaces', [name for _, name in socket.if_nameindex()])\n",
        "interfaces ['lo']",
    ),
    # Other processes: tracing and reading memory.
    _sys("ptrace_traceme", 101, 0),
    _c(
        "ptrace_attach_child",
        "import time\npid = os.fork()\nif pid == 0:\n    time.sleep(5)\n    os._exit(0)\n"
        "print('attach', sc(101, 16, pid, 0, 0))\nos.kill(pid, 9)\nos.waitpid(pid, 0)\n",
        "attach EPERM",
    ),
    _c(
        "ptrace_attach_host",
        "print('host', sc(101, 16, PARENT_PID, 0, 0))\nprint('init', sc(101, 16, 1, 0, 0))\n",
        "host E",
        "init E",
    ),
    _c(
        "process_vm_readv_child",
        "import time\npid = os.fork()\nif pid == 0:\n    time.sleep(5)\n    os._exit(0)\n"
        "print('readv', sc(310, pid, 0, 0, 0, 0, 0))\nos.kill(pid, 9)\nos.waitpid(pid, 0)\n",
        "readv EPERM",
    ),
    _sys("kcmp", 312, 1, 1, 0, 0, 0),
    # setuid programs: no-new-privileges (and nosuid mounts) keep them unprivileged.
    _c(
        "setuid_binaries",
        "import subprocess\nfound = subprocess.run('find /usr /bin /sbin -perm -4000 2>/dev/null',"
        " shell=True, capture_output=True, text=True).stdout.split()\n"
        "for path in found:  # each one, as an answer would try them\n"
        "    try:\n"
        "        subprocess.run([path, '--help'], capture_output=True, timeout=5,\n"
        "                       stdin=subprocess.DEVNULL)\n"
        "    except OSError:\n        pass\n"
        "su = subprocess.run(['su', '-c', 'id -u', 'root'], capture_output=True, text=True,\n"
        "                    stdin=subprocess.DEVNULL)\n"
        "print('su', su.returncode, 'ROOT' if su.stdout.strip() == '0' else 'refused')\n"
        "mount = subprocess.run(['mount', '-t', 'tmpfs', 'none', '/tmp'], capture_output=True)\n"
        "print('mount', mount.returncode)\n"
        "passwd = subprocess.run(['passwd', '-S', 'root'], capture_output=True)\n"
        "print('passwd', passwd.returncode)\nprint('euid', os.geteuid())\n",
        "su 1 refused",
        "mount 32",
        "passwd 1",
        "euid 65534",
    ),
    _c(
        "become_root_every_way",
        "for name, call in [('setuid', lambda: os.setuid(0)), ('setgid', lambda: os.setgid(0)),\n"
        "                   ('setgroups', lambda: os.setgroups([0])),\n"
        "                   ('chroot', lambda: os.chroot('/tmp'))]:\n"
        "    try:\n        call()\n        print(name, 'ALLOWED')\n"
        "    except OSError as error:\n        print(name, err(error.errno))\n"
        "status = open('/proc/self/status').read()\n"
        "caps = [l.split()[1] for l in status.splitlines() if l.startswith('Cap')]\n"
        "print('caps', set(caps), 'nnp', 'NoNewPrivs:\\t1' in status, 'uid', os.getuid())\n",
        "setuid E",  # EPERM, or EINVAL where uid 0 is not even mapped (bwrap)
        "setgid E",
        "setgroups EPERM",
        "chroot EPERM",
        "caps {'0000000000000000'} nnp True uid 65534",
    ),
    # /dev: no devices to make, none of the host's to open.
    _c(
        "dev_mknod_and_block",
        "import stat\ntry:\n    os.mknod('/tmp/mem', stat.S_IFCHR | 0o600, os.makedev(1, 1))\n"
        "    print('mknod ALLOWED')\n"
        "except OSError as error:\n    print('mknod', err(error.errno))\n"
        "blocks = [n for n in os.listdir('/dev') if stat.S_ISBLK(os.lstat('/dev/' + n).st_mode)]\n"
        "print('block devices', blocks)\n",
        "mknod EPERM",
        "block devices []",
    ),
    _c(
        "dev_mem_kmsg",
        "for path in ['/dev/mem', '/dev/kmem', '/dev/port', '/dev/kmsg', '/dev/sda', '/dev/vda',\n"
        "             '/dev/nvme0n1', '/dev/fuse', '/dev/kvm', '/dev/nvidia0', '/dev/dri/card0']:\n"
        "    print(path, wopen(path), ropen(path))\nprint('done')\n",
        "/dev/mem E",
        "/dev/kmsg E",
        "done",
    ),
    # Disk in /dev/shm: a size-limited tmpfs on both backends (memory counts it too).
    _c(
        "fill_dev_shm",
        "i = 0\nwhile True:\n    with open(f'/dev/shm/junk{i}', 'wb') as f:\n"
        "        f.write(b'0' * 2**22)\n    i += 1\n",
        expected={Status.OUTPUT_LIMIT, Status.MEMORY_LIMIT},
        message_has="limit",
    ),
    _c(
        "fill_tmp_many_small_files",
        "i = 0\nwhile True:\n    with open(f'/tmp/s{i}', 'wb') as f:\n"
        "        f.write(b'0' * 65536)\n    i += 1\n",
        expected={Status.OUTPUT_LIMIT, Status.MEMORY_LIMIT},
        message_has="limit",
    ),
    # CPU time is summed over every process and thread of a run.
    _c(
        "cpu_four_processes",
        "import multiprocessing, time\n"
        "def spin():\n    start = time.process_time()\n"
        "    while time.process_time() - start < 1.5:\n        pass\n"
        "workers = [multiprocessing.Process(target=spin) for _ in range(4)]\n"
        "for w in workers:\n    w.start()\nfor w in workers:\n    w.join()\nprint('ALLOWED 6 s')\n",
        expected=Status.TIMEOUT,
        message_has="CPU time limit (2 s",
        limits=_CPU_LIMITS,
    ),
    _c(
        "cpu_four_threads_c",
        "#include <pthread.h>\n#include <stdio.h>\n#include <time.h>\n"
        "static void *spin(void *arg){ struct timespec t; (void)arg; for(;;){\n"
        " clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); if (t.tv_sec * 1000000000L + t.tv_nsec"
        " > 1500000000L) return 0; } }\n"
        "int main(void){ pthread_t t[4]; for(int i=0;i<4;i++) pthread_create(&t[i],0,spin,0);\n"
        ' for(int i=0;i<4;i++) pthread_join(t[i],0); puts("ALLOWED 6 s"); return 0; }',
        expected=Status.TIMEOUT,
        message_has="CPU time limit (2 s",
        language="c",
        limits=_CPU_LIMITS,
    ),
    # Kernel interfaces the filter refuses (EPERM), with harmless arguments.
    _sys("unshare", 272, 0),
    _sys("setns", 308, -1, 0),
    _sys("mount", 165, 0, 0, 0, 0, 0),
    _sys("umount2", 166, 0, 0),
    _sys("pivot_root", 155, 0, 0),
    _sys("fsopen", 430, 0, 0),
    _sys("open_tree", 428, -1, 0, 0),
    _sys("open_by_handle_at", 304, -1, 0, 0),
    _sys("bpf", 321, 0, 0, 0),
    _sys("perf_event_open", 298, 0, 0, -1, -1, 0),
    _sys("userfaultfd", 323, 1),
    _sys("io_uring_setup", 425, 1, 0),
    _sys("io_uring_enter", 426, -1, 0, 0, 0, 0, 0),
    _sys("kexec_load", 246, 0, 0, 0, _BAD_FLAGS),
    _sys("kexec_file_load", 320, -1, -1, 0, 0, _BAD_FLAGS),
    _sys("init_module", 175, 0, 0, 0),
    _sys("finit_module", 313, -1, 0, 0),
    _sys("delete_module", 176, 0, 0),
    _sys("clock_settime", 227, 0, 0),
    _sys("swapon", 167, 0, 0),
    _sys("syslog", 103, 10, 0, 0),
    _sys("iopl", 172, 3),
    _sys("clone3", 435, 0, 0, refused="ENOSYS"),
    _c(
        "clone_new_namespaces",
        "flags = {'user': 0x10000000, 'pid': 0x20000000, 'net': 0x40000000, 'ns': 0x20000,\n"
        "         'uts': 0x4000000, 'ipc': 0x8000000, 'cgroup': 0x2000000}\n"
        "for name, flag in flags.items():\n"
        "    args = [ctypes.c_long(flag | 17)] + [ctypes.c_long(0)] * 4\n"
        "    pid = libc.syscall(ctypes.c_long(56), *args)\n"
        "    if pid == 0:\n        os._exit(0)  # a child: the call was allowed\n"
        "    if pid > 0:\n        os.waitpid(pid, 0)\n"
        "    print('clone', name, 'ALLOWED' if pid >= 0 else err(ctypes.get_errno()))\n",
        *(f"clone {n} EPERM" for n in ("user", "pid", "net", "ns", "uts", "ipc", "cgroup")),
    ),
    _c(
        "threads_and_processes_still_work",
        "import multiprocessing, threading\nt = threading.Thread(target=print, args=('thread',))\n"
        "t.start()\nt.join()\np = multiprocessing.Process(target=print, args=('process',))\n"
        "p.start()\np.join()\nprint('exit', p.exitcode)\n",
        "thread",
        "process",
        "exit 0",
    ),
    # Hostile file names and trees in the work dir: the caller gets a result, never a crash.
    _c(
        "non_utf8_file_names",
        "open(b'bad-\\xff\\xfe.txt', 'wb').write(b'x')\nopen('good.txt', 'w').write('ok')\n"
        "print('made')\n",
        "made",
    ),
    _c(
        "newline_file_names",
        "open('a\\nb.txt', 'w').write('x')\nopen('\\n', 'w').write('y')\n"
        "open('-rf', 'w').write('z')\nopen('*', 'w').write('z')\nprint('made')\n",
        "made",
    ),
    _c(
        "very_long_file_names",
        "os.makedirs('/'.join(['d' * 250] * 12))\nopen('x' * 255, 'w').write('x')\nprint('made')\n",
        "made",
    ),
    _c(
        "six_thousand_nested_dirs",
        "os.chdir('/work')\nfor _ in range(6000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "open('deep.txt', 'w').write('deep')\nprint('made')\n",
        "made",
    ),
    _c(
        "fifo_and_socket_in_workdir",
        "os.mkfifo('pipe.txt')\ns = socket.socket(socket.AF_UNIX)\ns.bind('sock.txt')\n"
        "open('real.txt', 'w').write('mine')\nprint('made')\n",
        "made",
    ),
    _c(
        "symlinks_and_hardlinks_to_host",
        "os.symlink('/etc', 'etc')\nos.symlink('SECRET_PATH', 'secret.txt')\n"
        "os.symlink('/proc/1/environ', 'environ.txt')\nos.symlink('secret.txt', 'chain.txt')\n"
        "try:\n    os.link('/etc/passwd', 'passwd.txt')\n    print('link ALLOWED')\n"
        "except OSError as error:\n    print('link', err(error.errno))\n"
        "open('real.txt', 'w').write('mine')\n",
        "link E",
    ),
]
assert len({c.name for c in CONTAINED}) == len(CONTAINED)

CONTAINED_LIMITS = Limits(
    wall_s=15, cpu_s=8, memory_mb=256, pids=32, file_mb=8, disk_mb=32, output_bytes=100_000
)
_batches: dict[tuple[str, str], dict[str, tuple[Any, int, int]]] = {}


def _run_contained(host: Host, backend: str, start: str) -> dict[str, tuple[Any, int, int]]:
    """Every containment program on ``backend`` started as ``start`` says, in one parallel
    batch (once per module): name -> (result, connections, datagrams) with the host's
    listener counts over the batch."""
    if (backend, start) not in _batches:
        before = host.connections, host.datagrams
        jobs = [
            {"code": host.fill(c.source()), "language": c.language, "backend": backend,
             "cache": False, "limits": c.limits or _limits_for(start, CONTAINED_LIMITS)}
            for c in CONTAINED
        ]  # fmt: skip
        fitting = sum(1 for c in CONTAINED if c.limits is None)  # the rest bring other limits
        ready = _ReadySandboxes(fitting) if start == "ready" else None
        results = run_many(jobs, progress=False, max_workers=4)
        # Proof that the batch ran as its id says: a sandbox made ahead for each fitting job.
        assert ready is None or ready.all_used(), "a run did not take a ready launcher"
        time.sleep(0.3)  # a late datagram still counts
        counts = host.connections - before[0], host.datagrams - before[1]
        batch = {c.name: (r, *counts) for c, r in zip(CONTAINED, results, strict=True)}
        _batches[(backend, start)] = batch
    return _batches[(backend, start)]


def check_contained(case: Contained, result: Any) -> None:
    """Assert that ``case`` was contained (also used for other ways of running it)."""
    shown = (case.name, result.status, result.message, result.stdout[-800:], result.stderr[-500:])
    assert result.status in case.expected, shown
    assert case.message_has in result.message, shown
    for line in case.lines:
        assert line in result.stdout, shown
    for word in ESCAPES:
        assert word not in result.stdout, shown


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "start"), _starts())
@pytest.mark.parametrize("case", CONTAINED, ids=[c.name for c in CONTAINED])
def test_contained_program(host, ready, start, case):
    result, connections, datagrams = _run_contained(host, ready, start)[case.name]
    check_contained(case, result)
    assert (connections, datagrams) == (0, 0), "a host listener was reached"
    assert host.secret.read_text() == "the host's secret"
    assert host.sleeper.poll() is None, "the sandbox killed a host process"
    if case.name in ("symlinks_and_hardlinks_to_host", "fifo_and_socket_in_workdir"):
        assert {a["name"] for a in result.artifacts} == {"real.txt"}, result.artifacts
        assert all(Path(a["path"]).read_text() == "mine" for a in result.artifacts)


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
    """The cgroups (and a ready launcher's work dir) of launchers waiting for a run: made
    ahead on purpose, ended at exit."""
    from arena_kit.sandbox import bwrap

    waiting = [*bwrap._launchers._entries, *bwrap._ready_launchers._entries]
    names = {
        f"cgroup:{controller if controller != 'unified' else ''}:{path.name}"
        for launcher in waiting
        for controller, path in launcher.group.dirs.items()
    }
    return names | {f"work:{launcher.work.path.name}" for launcher in waiting if launcher.ready}


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
@pytest.mark.parametrize(("backend", "start"), _starts())
@pytest.mark.parametrize("case", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_program(host, ready, start, case):
    code = host.fill(case.code)
    connections, datagrams = host.connections, host.datagrams
    made_ahead = _ReadySandboxes(1) if start == "ready" else None
    result = run(code, case.language, limits=_limits_for(start, LIMITS), backend=ready, cache=False)
    assert made_ahead is None or made_ahead.all_used(), "the run did not take a ready launcher"
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


# -- the same programs inside a Streamlit app (apps start outside run()) ----------------------

APP_CASES = [
    "procsys_core_pattern", "procsys_read_only_mount", "procsys_modprobe", "procsys_drop_caches",
    "procsys_every_entry",
    "proc_keys", "proc_sysrq_kcore_kmsg", "syscall_keyctl", "syscall_add_key", "syscall_unshare",
    "syscall_clone3", "clone_new_namespaces", "unix_socket_at_host_path", "abstract_unix_socket",
    "tcp6_to_host_listener", "udp6_to_host_listener", "only_loopback_interface",
    "become_root_every_way", "ptrace_attach_child",
]  # fmt: skip

# The app's script runs each program at its first run, output captured, and prints one
# "<<name>>" line with that output as JSON (the app's stdout is the verdict's channel).
_APP_SCRIPT = """
import contextlib, io, json
for name, source in json.loads(PROGRAMS).items():
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(source, {'__name__': '__main__'})
        except BaseException as error:
            print('CRASH', type(error).__name__, error)
    print('<<' + name + '>>' + json.dumps(buffer.getvalue()), flush=True)
print('ALL-DONE', flush=True)
import streamlit as st
st.write('checked')
"""

# A session makes Streamlit run the script: this client (the runtime's Python, which has
# streamlit's protocol and websockets) asks for one run through the app's host port.
_SESSION = """
import asyncio, sys
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
async def main():
    url = f"ws://127.0.0.1:{sys.argv[1]}/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"]) as ws:
        message = BackMsg()
        message.rerun_script.query_string = ""
        await ws.send(message.SerializeToString())
        while True:
            await ws.recv()
asyncio.run(main())
"""


def _app_verdicts(app: Any, deadline: float) -> dict[str, str]:
    import json

    while "ALL-DONE" not in app.stdout and time.monotonic() < deadline and app.alive:
        time.sleep(0.1)
    found = {}
    for line in app.stdout.splitlines():
        if line.startswith("<<") and ">>" in line:
            name, _, output = line[2:].partition(">>")
            found[name] = json.loads(output)
    return found


@pytest.mark.slow
def test_contained_in_streamlit_app(host):
    import json
    import types

    from arena_kit.sandbox.paths import runtime_dir
    from arena_kit.web.apps import start_app

    python = runtime_dir() / "venv" / "bin" / "python"
    if (
        not (runtime_dir() / "venv" / "bin" / "streamlit").exists()
        and os.environ.get("CI") != "true"
    ):
        pytest.skip("the runtime has no streamlit (scripts/setup-runtime.sh)")
    cases = {c.name: c for c in CONTAINED}
    programs = {name: host.fill(PRELUDE + cases[name].code) for name in APP_CASES}
    before = host.connections, host.datagrams
    app = start_app(_APP_SCRIPT.replace("PROGRAMS", repr(json.dumps(programs))), "streamlit")
    session = subprocess.Popen([str(python), "-c", _SESSION, str(app.port)])
    try:
        verdicts = _app_verdicts(app, time.monotonic() + 60)
    finally:
        session.kill()
        session.wait()
        app.stop()
    assert set(verdicts) == set(APP_CASES), (sorted(verdicts), app.stderr[-2000:])
    for name, output in verdicts.items():
        shown = types.SimpleNamespace(status=Status.OK, message="", stdout=output, stderr="")
        assert "CRASH" not in output, (name, output)
        check_contained(cases[name], shown)
    time.sleep(0.3)
    assert (host.connections, host.datagrams) == before, "a host listener was reached"
