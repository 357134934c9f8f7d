"""The bubblewrap backend: no daemon, every namespace unshared, limits applied from outside.

Inside, the program sees a read-only ``/usr`` (and a few files of ``/etc``), the runtime at
``/opt/arena`` (read-only), an empty private ``/work`` (its current directory) and ``/tmp``,
no network (only a loopback device of its own), no other process, and runs as uid 65534 with
no capabilities. Outside, the run gets its own cgroup (memory, processes, CPU accounting)
where writable, rlimits (CPU, file size; memory and processes where no cgroup), a wall-clock
kill of the whole tree, and capped outputs. Work dirs and cgroups are removed after each run.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from ..schema import Status
from . import cgroups, reaper
from .artifacts import collect_files, extract_data_urls
from .backend import Backend, Job, register_backend
from .classify import record_build, record_run
from .confine import configured_uid, disabled, drop_command, exec_line, sandbox_uid, unreachable
from .etcview import etc_view
from .limits import Limits
from .paths import artifacts_dir, cache_dir, runtime_dir, work_root
from .process import WAIT_COMMAND, Launcher, RawRun, Started, run_process
from .result import ExecutionResult
from .runtimes import LAUNCHER_DIR, SANDBOX_RUNTIME
from .warmpool import WarmPool
from .workdir import WorkDir, give_to_sandbox

MPL_DIR = ".matplotlib"  # a job's matplotlib config dir, seeded from the primed font cache

__all__ = ["BwrapBackend", "bwrap_command", "system_view"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_BASE_ENV = {
    "PATH": f"{SANDBOX_RUNTIME}/venv/bin:{SANDBOX_RUNTIME}/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONNOUSERSITE": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "SDL_VIDEODRIVER": "dummy",
    "SDL_AUDIODRIVER": "dummy",
    "PYGAME_HIDE_SUPPORT_PROMPT": "1",
    "XDG_CACHE_HOME": "/tmp/.cache",
    "NO_COLOR": "1",
}


@lru_cache(maxsize=1)
def _root_layout() -> tuple[str, ...]:
    """bwrap arguments that rebuild the host's merged-/usr root (links or read-only binds)."""
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return tuple(args)


@lru_cache(maxsize=4)
def _pylaunch_in(directory: str) -> Path:
    source = _PACKAGE_DIR / "pylaunch.py"
    data = source.read_bytes()
    target = Path(directory) / f"pylaunch-{hashlib.sha256(data).hexdigest()[:16]}.py"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        staging.write_bytes(data)
        staging.chmod(0o644)
        os.replace(staging, target)
    return target


def _pylaunch() -> Path:
    """The Python launcher, copied into the cache: the package may be installed where the
    sandbox uid cannot read (a virtual environment in root's home)."""
    return _pylaunch_in(str(cache_dir() / "launch"))


def _proc_covers() -> list[str]:
    """Read-only /proc/sys (and the other writable /proc entries); the key list hidden.

    A second layer behind the uid: even a program that were host root could not change a
    kernel setting through /proc. bwrap covers /proc/irq and /proc/bus itself.
    """
    if disabled("procsys"):
        return []
    return [
        "--ro-bind", "/proc/sys", "/proc/sys",
        "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
        "--ro-bind", "/dev/null", "/proc/keys",
        "--ro-bind-try", "/dev/null", "/proc/key-users",
    ]  # fmt: skip


def system_view() -> list[str]:
    """bwrap arguments for the read-only system every sandbox sees (programs and the page
    renderer alike): ``/usr`` and the root links, the prepared ``/etc``, ``/proc`` with
    :func:`_proc_covers`, and a minimal ``/dev``."""
    return [
        *_root_layout(),
        *["--ro-bind", str(etc_view()), "/etc"],  # one mount: see etcview
        *["--proc", "/proc", *_proc_covers(), "--dev", "/dev"],
    ]


def bwrap_command(
    work: Path,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    network: bool = False,
    tmp_mb: int = 64,
    binds: list[tuple[str, str, bool]] | None = None,
    inherit_netns: bool = False,
) -> list[str]:
    """The full ``bwrap`` command line that runs ``command`` in ``work``.

    Parameters
    ----------
    work
        Host directory bound read-write at ``/work`` (the current directory).
    env
        Variables added to the (otherwise empty) environment.
    network
        Share the host's network (only for the package-install step).
    tmp_mb
        Size of the private ``/tmp``.
    binds
        Extra (host path, sandbox path, writable) binds.
    inherit_netns
        Keep the network namespace bwrap is started in: a launcher's own fresh one (see
        :class:`~arena_kit.sandbox.process.Launcher`); every other namespace is new.
    """
    argv = ["bwrap", "--unshare-all"]
    if inherit_netns:
        argv = ["bwrap", "--unshare-user-try", "--unshare-ipc", "--unshare-pid",
                "--unshare-uts", "--unshare-cgroup-try"]  # fmt: skip
    if network:
        argv.append("--share-net")
    argv += ["--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox"]
    # No user namespaces inside (bwrap needs one of its own for that), no capabilities. These
    # do not make a sandbox started by root safe: confine.exec_line starts it as another uid.
    uid = str(configured_uid())
    argv += ["--unshare-user", "--uid", uid, "--gid", uid, "--disable-userns", "--cap-drop", "ALL"]
    argv += system_view()
    # /dev/shm is disk too: its own size-limited tmpfs (bwrap's --dev leaves it unbounded).
    argv += ["--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp"]
    argv += ["--size", str(tmp_mb * 2**20), "--tmpfs", "/dev/shm"]
    runtime = runtime_dir()
    if runtime.is_dir():
        argv += ["--ro-bind", str(runtime), SANDBOX_RUNTIME]
    argv += ["--ro-bind", str(_pylaunch()), f"{LAUNCHER_DIR}/pylaunch.py"]
    if network:  # name resolution for the package index (install step only)
        for name in ("resolv.conf", "hosts"):
            argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for host, inside, writable in binds or []:
        argv += ["--bind" if writable else "--ro-bind", host, inside]
    argv += ["--bind", str(work), "/work", "--chdir", "/work"]
    # The sandbox's own root (a tmpfs holding the mount points) is read-only too.
    argv += ["--remount-ro", "/"]
    for key, value in {**_BASE_ENV, **(env or {})}.items():
        argv += ["--setenv", key, value]
    argv += ["--", *command]
    return argv


def _rlimits(limits: Limits, memory_mb: int, group: cgroups.Cgroup | None) -> dict[str, int]:
    values = {"t": max(1, int(round(limits.cpu_s))), "f": limits.file_mb * 2048, "c": 0}
    if group is None:
        values["v"] = memory_mb * 1024
        if os.geteuid() != 0:  # root is exempt from RLIMIT_NPROC
            values["p"] = limits.pids
    return values


def _enforced(group: cgroups.Cgroup | None, work: WorkDir, memory: bool) -> list[str]:
    names = ["wall:kill", "cpu:rlimit", "file_size:rlimit", "output:cap", "network:none"]
    names += work.enforced
    if group is not None:
        names += group.enforced
        if "pids:cgroup" not in group.enforced and os.geteuid() != 0:
            names.append("pids:rlimit")
    else:
        names.append("memory:rlimit" if memory else "memory:none")
        if os.geteuid() != 0:
            names.append("pids:rlimit")
    return names


class _ReadyLauncher(Launcher):
    """A ready launcher (see :class:`~arena_kit.sandbox.process.Launcher`) with the fresh
    work dir bound at its sandbox's ``/work``: a one-step job with default disk and no extra
    binds runs in it, its files written there first."""

    def __init__(self, group: cgroups.Cgroup, work: WorkDir) -> None:
        self.work = work
        netns = _can_make_netns()
        super().__init__(group, netns=netns, sandbox=_ready_argv(work.path, netns))

    def discard(self) -> None:
        super().discard()
        self.work.cleanup()


def _ready_argv(work: Path, netns: bool) -> list[str]:
    return bwrap_command(work, WAIT_COMMAND, tmp_mb=Limits().disk_mb, inherit_netns=netns)


def _made_with(ready: bool) -> str:
    """What a launcher's sandbox would be made with now (the uid drop, and for a ready one the
    whole start line: seccomp, read-only /proc, system view, runtime). A launcher made before
    a change (a test switching a layer off, another uid) is not used."""
    if not ready:
        return shlex.join(drop_command())
    return exec_line(_ready_argv(Path("/work"), _can_make_netns()))


def _start_launcher(ready: bool) -> Launcher:
    limits = Limits()
    group = cgroups.create(limits.memory_mb * 2**20, limits.pids)
    if group is None:
        raise RuntimeError("no cgroup can be made here")
    made_with = _made_with(ready)
    if not ready:
        launcher = Launcher(group, netns=_can_make_netns())
    else:
        work = WorkDir(limits.disk_mb)
        try:
            launcher = _ReadyLauncher(group, work)
        except BaseException:
            work.cleanup()
            raise
    launcher.made_with = made_with
    return launcher


@lru_cache(maxsize=1)
def _can_make_netns() -> bool:
    """Whether launchers can wait in network namespaces of their own (root, unshare, ip)."""
    return os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("ip"))


def _launcher_pool(ready: bool) -> WarmPool[Launcher]:
    return WarmPool(
        lambda: _start_launcher(ready),
        lambda launcher: launcher.discard(),
        alive=Launcher.alive,
        name="arena-kit-ready-sandboxes" if ready else "arena-kit-launchers",
    )


# Plain launchers (a shell in a fresh cgroup and network namespace, already the sandbox uid)
# serve builds and the runs that need other binds; ready ones (the sandbox itself made ahead)
# the runs that fit them (see _fits_ready). Each pool starts on its first use.
_launchers = _launcher_pool(ready=False)
_ready_launchers = _launcher_pool(ready=True)
_launcher_count = {False: 2, True: 2}  # plain, ready: how many each pool keeps once used
atexit.register(_launchers.close)
atexit.register(_ready_launchers.close)


def _take_launcher(memory_mb: int, pids: int, *, ready: bool = False) -> Launcher | None:
    """A launcher already in a fresh cgroup, limited for this run (None: make the cgroup now).
    ``ready``: one whose sandbox is made (its ``work`` is the run's work dir)."""
    pool = _ready_launchers if ready else _launchers
    count = _launcher_count[ready]
    if not count or not cgroups.available():
        return None
    if pool.size != count:  # first use
        pool.resize(count)
    launcher = pool.take()
    pool.refill()
    if launcher is None:
        return None
    if launcher.made_with != _made_with(ready):  # made before a layer or the uid changed
        reaper.defer(launcher.discard)
        return None
    try:
        launcher.group.set_limits(memory_mb * 2**20, pids)
    except OSError:
        reaper.defer(launcher.discard)
        return None
    return launcher


def _needs_go_cache(runtime_name: str) -> bool:
    return runtime_name == "go"


def _fits_ready(job: Job) -> bool:
    """Whether ``job``'s run sandbox is exactly a ready launcher's: no extra binds (package
    layer, Go cache), the default disk size, no stdin text (a launcher's stdin is its control
    pipe). A build step, if any, runs in a sandbox of its own first, on the same work dir."""
    return (
        not job.layer
        and not _needs_go_cache(job.runtime.runtime.name)
        and not job.stdin
        and job.limits.disk_mb == Limits().disk_mb
    )


def _sandboxed(
    work: WorkDir,
    command: list[str],
    *,
    wall_s: float,
    memory_mb: int,
    limits: Limits,
    env: dict[str, str],
    binds: list[tuple[str, str, bool]],
    network: bool = False,
    cpu_s: float | None = None,
    stdin: bytes | None = None,
    ready: Launcher | None = None,
) -> tuple[RawRun, list[str]]:
    if ready is not None:  # its sandbox is made, with work at /work: it only needs the program
        try:
            raw = run_process(
                command, wall_s=wall_s, output_bytes=limits.output_bytes, cgroup=ready.group,
                rlimits=_rlimits(limits, memory_mb, ready.group), launcher=ready, cpu_s=cpu_s,
                env=env,
            )  # fmt: skip
        finally:
            reaper.defer(ready.group.remove)
        return raw, _enforced(ready.group, work, memory=True)
    # The install step shares the host's network: never from a launcher's own namespace.
    # A launcher's stdin is its control pipe (the program gets /dev/null): a run fed stdin
    # text is started directly, its stdin a sealed file (see process.stdin_file).
    use_launcher = not network and not stdin
    launcher = _take_launcher(memory_mb, limits.pids) if use_launcher else None

    def argv_for(launcher: Launcher | None) -> list[str]:
        return bwrap_command(
            work.path, command, env=env, network=network, tmp_mb=limits.disk_mb, binds=binds,
            inherit_netns=bool(launcher and launcher.netns),
        )  # fmt: skip

    argv = argv_for(launcher)
    if launcher is not None and any("\n" in arg for arg in argv):  # it reads one line
        reaper.defer(launcher.discard)
        launcher = None
        argv = argv_for(None)
    group = launcher.group if launcher else cgroups.create(memory_mb * 2**20, limits.pids)
    try:
        raw = run_process(
            argv,
            wall_s=wall_s,
            output_bytes=limits.output_bytes,
            cgroup=group,
            rlimits=_rlimits(limits, memory_mb, group),
            launcher=launcher,
            cpu_s=cpu_s,
            stdin=stdin,
        )
    finally:
        if group is not None:  # its processes are dead (run_process killed them)
            reaper.defer(group.remove)
    return raw, _enforced(group, work, memory=True)


_go_cache_lock = threading.Lock()


def _uses_matplotlib(code: str) -> bool:
    return any(word in code for word in ("matplotlib", "seaborn", ".plot("))


_PRIMED_GO_CACHE_MB = 64  # room for the copy of the primed cache (36 MB here)


def _private_go_cache(limits: Limits) -> WorkDir:
    """A private, writable copy of the primed Go build cache, on a size-limited tmpfs (root).

    The primed cache is root's and read-only; a run gets its own copy (its new entries count
    against its disk limit, never the host's disk) owned by the sandbox uid. Files the
    caller does not own are hard links where the copy is on the same file system (a normal
    user's plain directory): the program cannot alter them through a link.
    """
    primed = runtime_dir() / "gocache"
    cache = WorkDir(limits.disk_mb + _PRIMED_GO_CACHE_MB)
    if not primed.is_dir():
        return cache
    uid = sandbox_uid()
    for directory, dirs, files in os.walk(primed):
        relative = os.path.relpath(directory, primed)
        destination = cache.path if relative == "." else cache.path / relative
        for name in dirs:
            (destination / name).mkdir()
            if cache.mounted:
                os.chown(destination / name, uid, uid)
        for name in files:
            source = os.path.join(directory, name)
            if os.stat(source).st_uid != os.geteuid():
                try:
                    os.link(source, destination / name)
                    continue
                except OSError:
                    pass
            shutil.copy2(source, destination / name)
            if cache.mounted:
                os.chown(destination / name, uid, uid)
    return cache


class _Warm:
    """A Python sandbox started ahead, waiting on its stdin until its code is in place.

    Its stdin is the control pipe the host writes "go" to; the launcher (pylaunch ``--wait``)
    reads that line, then puts ``/dev/null`` on fd 0 before the program runs: the program
    never holds the control pipe, and its stdin is empty and closed as in a cold run.
    """

    def __init__(self, work: WorkDir, group: cgroups.Cgroup | None, started: Started) -> None:
        self.work = work
        self.group = group
        self.started = started

    @classmethod
    def start(cls) -> _Warm:
        from .runtimes import RUNTIMES, resolve

        limits = Limits()
        resolved = resolve(RUNTIMES["python"], "")
        if isinstance(resolved, str):
            raise RuntimeError(resolved)
        command = list(resolved.run)
        command.insert(2, "--wait")  # python launcher --wait main.py
        work = WorkDir(limits.disk_mb)
        group = cgroups.create(limits.memory_mb * 2**20, limits.pids)
        # The environment a cold Python run gets (MPLCONFIGDIR: see execute).
        env = {**resolved.env, "MPLCONFIGDIR": f"/work/{MPL_DIR}"}
        argv = bwrap_command(work.path, command, env=env, tmp_mb=limits.disk_mb)
        started = Started(
            argv, cgroup=group, rlimits=_rlimits(limits, limits.memory_mb, group), hold=True
        )
        return cls(work, group, started)

    def alive(self) -> bool:
        # WNOWAIT: look without reaping (the process is reaped by wait() or abandon()).
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PIDFD, self.started.pidfd, flags) is None

    def discard(self) -> None:
        """End it (if still running) and remove its cgroup and work dir."""
        if self.started.process.returncode is None:
            self.started.abandon()
        if self.group is not None:
            self.group.remove()
        self.work.cleanup()


@register_backend
class BwrapBackend(Backend):
    """Runs jobs with bubblewrap (the default on Linux)."""

    name = "bwrap"

    def __init__(self) -> None:
        self._pool: WarmPool[_Warm] = WarmPool(
            _Warm.start, _Warm.discard, alive=_Warm.alive, name="arena-kit-warm-bwrap"
        )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _probe()

    def launchers(self, count: int, *, ready: int | None = None) -> None:
        """Keep ``count`` launchers (default 2; 0: none) waiting in fresh cgroups, and
        ``ready`` (default: ``count``) ready ones, each pool from its first use.

        A cold run takes one instead of moving its sandbox into a new cgroup, which makes the
        kernel wait an RCU grace period (~13 ms here). A plain launcher is a shell in an
        empty cgroup (and network namespace) that execs bwrap when the run asks; a ready one
        has its sandbox made already (namespaces, mounts, uid, seccomp, an empty work dir),
        which saves a run about 5 ms. Either serves exactly one run; the program itself
        starts with the run (a warm sandbox, see :meth:`warm`, has Python started too).
        """
        ready = count if ready is None else ready
        if count < 0 or ready < 0:
            raise ValueError(f"launchers(): counts must be 0 or more, not {count=}, {ready=}")
        _launcher_count[False], _launcher_count[True] = count, ready
        for pool, size in ((_launchers, count), (_ready_launchers, ready)):
            pool.resize(size if pool.size else 0)

    def warm(self, size: int) -> None:
        """Keep ``size`` Python sandboxes started ahead of need (0: none).

        A warm sandbox has its namespaces, cgroup, work dir and interpreter ready and waits
        for its code; each serves exactly one job (isolation is unchanged). Used for Python
        jobs with default limits, no extra files and no package layer.
        """
        self._pool.resize(size)

    def close(self) -> None:
        """End the warm sandboxes."""
        self._pool.close()

    def _take_warm(self, job: Job) -> _Warm | None:
        eligible = (
            job.runtime.runtime.name == "python"
            and job.limits == Limits()
            and not job.layer
            and not job.files
            and not job.stdin  # a warm sandbox's stdin is its control pipe (then /dev/null)
            and job.runtime.source == "main.py"
        )
        # Refilled after the job: a new sandbox must not compete with this one.
        return self._pool.take() if eligible else None

    def execute(self, job: Job) -> ExecutionResult:
        started = time.monotonic()
        result = ExecutionResult(
            execution_id=job.execution_id,
            code=job.code,
            language=job.language,
            environment=job.environment,
            status=Status.SANDBOX_ERROR,
            backend=self.name,
        )
        warm = self._take_warm(job)
        ready = None
        if warm is None and _fits_ready(job):
            ready = _take_launcher(job.limits.memory_mb, job.limits.pids, ready=True)
        if warm is not None:
            work = warm.work
        else:
            work = ready.work if isinstance(ready, _ReadyLauncher) else WorkDir(job.limits.disk_mb)
        cleanups: list[Callable[[], None]] = []
        try:
            self._execute_in(work, warm, ready, job, result, cleanups)
        except Exception as error:  # the sandbox failed, not the code: say so, keep going
            result.status = Status.SANDBOX_ERROR
            result.message = f"sandbox error: {type(error).__name__}: {error}"
        finally:
            if ready is not None and not ready.used:  # failed before its run: end it
                reaper.defer(ready.discard)
            # Everything below is dead by now; removing it need not delay the result.
            reaper.defer(warm.discard if warm is not None else work.cleanup)
            for cleanup in cleanups:
                reaper.defer(cleanup)
            if warm is not None:
                self._pool.refill()
        if result.wall_s is None:
            result.wall_s = round(time.monotonic() - started, 4)
        return result

    def _execute_in(
        self,
        work: WorkDir,
        warm: _Warm | None,
        ready: Launcher | None,
        job: Job,
        result: ExecutionResult,
        cleanups: list[Callable[[], None]],
    ) -> None:
        """Build (if the runtime compiles) and run ``job`` in ``work`` (a ``warm`` sandbox's,
        or a ``ready`` launcher's); fills ``result``."""
        limits = job.limits
        runtime = job.runtime
        work.write(runtime.source, job.code)
        for name, text in job.files.items():
            work.write(name, text)
        env = dict(runtime.env)
        binds: list[tuple[str, str, bool]] = []
        if job.layer:
            binds.append((job.layer, "/opt/layer", False))
            env["PYTHONPATH"] = "/opt/layer"
        if runtime.runtime.name == "python" and _uses_matplotlib(job.code):
            primed = runtime_dir() / "mplconfig"
            if primed.is_dir():
                shutil.copytree(primed, work.path / MPL_DIR)
                give_to_sandbox(work.path / MPL_DIR)
                env["MPLCONFIGDIR"] = f"/work/{MPL_DIR}"
        if _needs_go_cache(runtime.runtime.name):
            with _go_cache_lock:
                gocache = _private_go_cache(limits)
            cleanups.append(gocache.cleanup)
            binds.append((str(gocache.path), "/tmp/gocache", True))
        if runtime.build:
            raw, enforced = _sandboxed(
                work,
                list(runtime.build),
                wall_s=limits.build_wall_s,
                memory_mb=limits.build_memory_mb,
                limits=limits,
                env=env,
                binds=binds,
            )
            if record_build(result, raw, limits, Path(runtime.build[0]).name, enforced):
                return
        if warm is not None:  # already started: its code is in place, let it go
            warm.started.release()
            raw = warm.started.wait(
                wall_s=limits.wall_s, output_bytes=limits.output_bytes, cpu_s=limits.cpu_s
            )
            enforced = _enforced(warm.group, work, memory=True)
        else:
            raw, enforced = _sandboxed(
                work,
                list(runtime.run),
                wall_s=limits.wall_s,
                memory_mb=limits.memory_mb,
                limits=limits,
                env=env,
                binds=binds,
                cpu_s=limits.cpu_s,
                stdin=job.stdin.encode("utf-8") if job.stdin else None,
                ready=ready,
            )
        record_run(result, raw, limits, runtime.runtime.name, enforced)
        destination = artifacts_dir() / job.execution_id
        shutil.rmtree(destination, ignore_errors=True)
        exclude = (runtime.source, *runtime.runtime.outputs, *job.files, MPL_DIR + "/*")
        result.artifacts = collect_files(work.path, destination, exclude)
        result.artifacts += extract_data_urls(result.stdout, destination)

    def install_layer(self, requirements: list[str], index_url: str | None) -> str:
        from .install import install_layer

        return install_layer(requirements, index_url)


_probe_lock = threading.Lock()
_probe_result: list[str | None] = []


def _probe() -> str | None:
    """None when bwrap can make a sandbox here, else the reason and the fix (once)."""
    with _probe_lock:
        if not _probe_result:
            _probe_result.append(_probe_once())
        return _probe_result[0]


def _probe_once() -> str | None:
    if shutil.which("bwrap") is None:
        return (
            "bubblewrap is not installed; run scripts/setup-system.sh (apt-get install bubblewrap)"
        )
    probe_dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-probe-", dir=work_root()))
    probe_dir.chmod(0o755)  # the sandbox uid enters it (it stays empty and root's)
    for needed in (runtime_dir(), etc_view(), _pylaunch(), probe_dir):
        why = unreachable(needed)
        if why is not None and needed.exists():
            shutil.rmtree(probe_dir, ignore_errors=True)
            return (
                f"the sandbox's uid ({sandbox_uid()}) cannot reach {needed}: {why}; set "
                "ARENA_KIT_CACHE (and ARENA_KIT_WORK) to a directory every user can search"
            )
    try:
        # Started exactly as every sandbox is (confine.exec_line: uid drop, seccomp).
        raw = run_process(
            bwrap_command(probe_dir, ["/bin/true"]),
            wall_s=20, output_bytes=65536, cgroup=None, rlimits={},
        )  # fmt: skip
    except (OSError, ValueError, ImportError) as error:
        return f"bwrap could not start: {type(error).__name__}: {error}"
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    if raw.exit_code != 0:
        message = (raw.stdout + raw.stderr).decode("utf-8", "replace").strip()
        return (
            f"bwrap cannot create namespaces here ({message}); run outside a chroot, or "
            "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        )
    return None
