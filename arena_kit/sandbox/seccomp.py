"""The system calls a sandboxed program may not make: one list, two forms.

Both backends refuse the same calls: the bwrap backend loads the list as a BPF program
(``bwrap --seccomp FD``, applied after bwrap's own set-up), the Docker backend as its own
seccomp profile (Debian 12's docker.io 20.10 default profile still allows io_uring). The list
follows Docker's default profile in spirit: the kernel's keyrings, BPF, performance counters,
userfaultfd (a classic exploit helper), loading kernels or modules, mounting, new namespaces
and joining others, tracing other processes, io_uring, and the clock, swap, reboot and
accounting calls. Everything else is allowed: runtimes need threads, processes, sockets on
their own loopback and files.

``clone`` with any ``CLONE_NEW*`` flag fails with EPERM; ``clone3`` fails with ENOSYS, so that
libc falls back to ``clone`` (whose flags a filter can read: ``clone3`` passes them in memory).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from .paths import cache_dir

__all__ = ["DENIED", "CLONE_NAMESPACE_FLAGS", "bpf_path", "docker_profile"]

DENIED: tuple[str, ...] = (
    # kernel keyrings (the host's keys are not the program's business)
    "keyctl", "add_key", "request_key",
    # BPF programs, performance counters, userfaultfd: kernel attack surface
    "bpf", "perf_event_open", "userfaultfd",
    # new kernels and modules
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "query_module", "get_kernel_syms",
    # mounts (old and new API), namespaces
    "mount", "umount2", "pivot_root", "unshare", "setns", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "name_to_handle_at",
    "open_by_handle_at",
    # io_uring: a large, often-exploited interface no runtime here needs (libuv falls back)
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # other processes' memory and tracing
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    # host-wide settings
    "acct", "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "syslog", "quotactl", "lookup_dcookie",
    "iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "vhangup",
)  # fmt: skip
"""Calls that fail with EPERM inside the sandbox (names the running libseccomp does not
know on this architecture are skipped)."""

CLONE_NAMESPACE_FLAGS: dict[str, int] = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_NEWTIME": 0x00000080,
}
"""``clone`` flag bits that would make a namespace: each one set means EPERM."""

_lock = threading.Lock()


def _fingerprint() -> str:
    text = json.dumps([DENIED, CLONE_NAMESPACE_FLAGS, os.uname().machine], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _compile(target: Path) -> None:
    import pyseccomp as seccomp  # ctypes over the system's libseccomp

    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    denied = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            rules.add_rule(denied, name)
        except (RuntimeError, ValueError, OSError):
            continue  # not a system call on this architecture (e.g. create_module)
    for flag in CLONE_NAMESPACE_FLAGS.values():
        rules.add_rule(denied, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        rules.export_bpf(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)


@lru_cache(maxsize=4)
def _bpf_path(directory: str) -> Path:
    target = Path(directory) / f"filter-{_fingerprint()}.bpf"
    with _lock:
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _compile(target)
    return target


def bpf_path() -> Path:
    """The compiled filter for ``bwrap --seccomp`` (made once per list and architecture).

    Raises ImportError when pyseccomp or the system's libseccomp is missing.
    """
    return _bpf_path(str(cache_dir() / "seccomp"))


def docker_profile() -> str:
    """The same list as a Docker seccomp profile (JSON text for ``security_opt``)."""
    eperm = {"action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}
    syscalls: list[dict[str, object]] = [{"names": list(DENIED), **eperm}]
    for flag in CLONE_NAMESPACE_FLAGS.values():
        syscalls.append({
            "names": ["clone"],
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
            **eperm,
        })  # fmt: skip
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    }
    return json.dumps(profile)
