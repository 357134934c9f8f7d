"""The Docker backend: each job in a fresh container of the runtime image.

No network (``network_mode="none"``), a read-only root, tmpfs ``/work`` and ``/tmp``, every
capability dropped, ``no-new-privileges``, a non-root user (65534), limits on processes,
memory (no swap) and CPU, rlimits on CPU time and file size, and a hard wall clock that kills
the container. Files go in and artifacts come out through ``tar`` streams of ``docker exec``
(so the engine may be remote), and the container is removed after each job.

The image is built locally from ``docker/`` (see :mod:`arena_kit.sandbox.docker_image`);
``ARENA_KIT_DOCKER_IMAGE`` names another. ``DockerBackend.warm(n)`` keeps ``n`` containers
started ahead of time (each still serves exactly one job).
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import importlib
import io
import os
import secrets
import select
import shlex
import struct
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..schema import Status
from .artifacts import MAX_ARTIFACT_BYTES, MAX_ARTIFACTS, _mime, extract_data_urls
from .backend import Backend, Job, register_backend
from .cgroups import CgroupStats
from .classify import record_build, record_run
from .confine import disabled
from .limits import Limits
from .paths import artifacts_dir
from .process import RawRun
from .result import ExecutionResult
from .seccomp import docker_profile
from .warmpool import WarmPool

__all__ = ["DockerBackend", "docker_image"]


def _sdk() -> Any:
    """The ``docker`` SDK (imported by name: the repository's docker/ folder is not it)."""
    return importlib.import_module("docker")


SANDBOX_USER = "65534:65534"
_ENV = {
    "PATH": "/opt/arena/venv/bin:/opt/arena/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "SDL_VIDEODRIVER": "dummy",
    "SDL_AUDIODRIVER": "dummy",
    "NO_COLOR": "1",
}
_FORK_REFUSED = ("Resource temporarily unavailable", "Cannot fork", "BlockingIOError")


def docker_image(client: Any) -> str | None:
    """The runtime image to use: ``$ARENA_KIT_DOCKER_IMAGE``, else :full, else :ci."""
    docker = _sdk()

    from .docker_image import image_name

    explicit = os.environ.get("ARENA_KIT_DOCKER_IMAGE")
    for name in [explicit] if explicit else [image_name("full"), image_name("ci")]:
        try:
            client.images.get(name)
            return name
        except docker.errors.ImageNotFound:
            continue
    return None


def _client() -> Any:
    docker = _sdk()

    return docker.from_env(timeout=120)


_CPU_POLL_S = 0.05
"""How often a run's CPU time is read while it runs (a limit overshoots by at most this much
per CPU)."""


_CPU_FILES = (
    ("/sys/fs/cgroup/cpuacct/docker/{}/cpuacct.usage", False),
    ("/sys/fs/cgroup/cpu,cpuacct/docker/{}/cpuacct.usage", False),
    ("/sys/fs/cgroup/docker/{}/cpu.stat", True),
    ("/sys/fs/cgroup/system.slice/docker-{}.scope/cpu.stat", True),
)
"""Where a local engine's container counts its CPU time (cgroup v1 cgroupfs, v2, systemd)."""


class _CpuMeter:
    """CPU seconds used by every process of one container, read from its cgroup.

    Only for an engine on this machine (its cgroup tree is here): cgroup v1's ``cpuacct``
    hierarchy or v2's ``cpu.stat``. RLIMIT_CPU alone is per process: four processes of 1.5 s
    each pass a 2 s limit; summed here they do not.
    """

    def __init__(self, container_id: str) -> None:
        self.path: Path | None = None
        self.v2 = False
        for pattern, v2 in _CPU_FILES:
            candidate = Path(pattern.format(container_id))
            if candidate.is_file():
                self.path, self.v2 = candidate, v2
                break

    def seconds(self) -> float | None:
        """The container's CPU time so far (None when it cannot be read)."""
        if self.path is None:
            return None
        try:
            text = self.path.read_text()
        except OSError:
            return None
        if not self.v2:
            return int(text) / 1e9
        for line in text.splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
        return None


def _read_frames(
    sock: Any, deadline: float, cap: int, over_cpu: Callable[[], bool] | None = None
) -> tuple[bytearray, bytearray, bool, bool, bool, bool]:
    """Read a multiplexed exec stream:
    (stdout, stderr, truncated, exceeded, timed_out, cpu_exceeded).

    ``over_cpu`` is asked every :data:`_CPU_POLL_S` whether the run used up its CPU time.
    """
    raw = sock._sock
    raw.setblocking(False)
    buffers = {1: bytearray(), 2: bytearray()}
    pending = bytearray()
    truncated = exceeded = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return buffers[1], buffers[2], truncated, exceeded, True, False
        wait = remaining if over_cpu is None else min(remaining, _CPU_POLL_S)
        ready, _, _ = select.select([raw], [], [], wait)
        if over_cpu is not None and over_cpu():
            return buffers[1], buffers[2], truncated, exceeded, False, True
        if not ready:
            continue
        try:
            chunk = raw.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            return buffers[1], buffers[2], truncated, exceeded, False, False
        pending += chunk
        while len(pending) >= 8:
            stream, size = struct.unpack(">BxxxL", pending[:8])
            if len(pending) < 8 + size:
                break
            data = bytes(pending[8 : 8 + size])
            del pending[: 8 + size]
            buffer = buffers.get(stream, buffers[2])
            room = cap - len(buffer)
            if len(data) > room:
                buffer += data[: max(room, 0)]
                truncated = exceeded = True
            else:
                buffer += data
        if exceeded:
            return buffers[1], buffers[2], truncated, exceeded, False, False


def _running(container: _Container) -> bool:
    try:
        container.container.reload()
        return bool(container.container.status == "running")
    except Exception:
        return False


_STDIN_MAX = 120_000  # base64 characters: Linux caps one environment string at 128 KiB


def _case_pattern(name: str) -> str:
    """``name`` as a pattern of a shell ``case``: glob characters kept, anything else quoted."""
    return "".join(char if char in "*?" else shlex.quote(char) for char in name)


def _pack(files: dict[str, str]) -> str:
    """Files as a base64 tar archive (passed through the environment: works with any engine)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(archive.getvalue()).decode("ascii")


def _security_options() -> list[str]:
    """no-new-privileges and arena-kit's own seccomp profile (the same list as bwrap's; the
    engine's default profile of Debian 12's docker.io still allows io_uring)."""
    options = ["no-new-privileges"]
    if not disabled("seccomp"):
        options.append(f"seccomp={docker_profile()}")
    return options


class _Container:
    """One started container (one job)."""

    def __init__(
        self,
        client: Any,
        image: str,
        limits: Limits,
        files: dict[str, str] | None = None,
        memory_mb: int | None = None,
    ) -> None:
        docker = _sdk()

        self.client = client
        self.limits = limits
        self.memory_mb = memory_mb or max(limits.memory_mb, limits.build_memory_mb)
        memory = f"{self.memory_mb}m"
        tmpfs = f"size={limits.disk_mb}m,mode=1777,exec"
        environment = dict(_ENV)
        command = ["sleep", "86400"]
        api = client.api
        # The low-level calls: ``containers.run`` asks the engine to inspect the new container
        # between create and start, a round trip a cold run does not need.
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/work": tmpfs, "/tmp": tmpfs},
            shm_size=f"{limits.disk_mb}m",  # /dev/shm is disk too (the engine's default: 64 MB)
            cap_drop=["ALL"],
            security_opt=_security_options(),
            pids_limit=limits.pids,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(1e9 * min(os.cpu_count() or 1, 2)),
            ulimits=[
                docker.types.Ulimit(name="cpu", soft=int(limits.cpu_s), hard=int(limits.cpu_s) + 1),
                docker.types.Ulimit(
                    name="fsize", soft=limits.file_mb * 2**20, hard=limits.file_mb * 2**20
                ),
                docker.types.Ulimit(name="core", soft=0, hard=0),
            ],  # fmt: skip
        )
        created = api.create_container(
            image,
            command,
            user=SANDBOX_USER,
            working_dir="/work",
            environment=environment,
            labels={"arena-kit": "job"},
            hostname="sandbox",
            host_config=host_config,
        )
        self.container = client.containers.prepare_model({"Id": created["Id"]})
        try:
            api.start(created["Id"])
        except Exception:
            self.remove()
            raise
        self.killed = False
        self.pids_refused = 0
        self.oom_kills = 0
        self.pending_files: str | None = _pack(files) if files else None
        """Files for ``/work``, unpacked by the next command: no round trip of their own. (Not
        by the container's own first command: an exec could start before that finished.)"""
        self.peak_bytes: int | None = None
        self.cpu_meter: _CpuMeter | None = None
        self.left_files = True
        """Whether the last command (run with ``inputs``) left files in /work (see exec)."""

    def set_memory(self, memory_mb: int) -> None:
        if memory_mb == self.memory_mb:
            return
        memory = f"{memory_mb}m"
        self.container.update(mem_limit=memory, memswap_limit=memory)
        self.memory_mb = memory_mb

    def exec(
        self,
        command: list[str],
        *,
        wall_s: float,
        cap: int,
        env: dict[str, str] | None = None,
        inputs: tuple[str, ...] | None = None,
        cpu_s: float | None = None,
        stdin: str = "",
    ) -> RawRun:
        """Run ``command`` in the container.

        The program's stdin is ``stdin`` (through a pipe from a shell that holds it), or
        none: the exec attaches no stdin, so the program reads ``/dev/null`` (EOF at once).

        With ``cpu_s``, the command is killed once the container's processes together used
        that much more CPU time than when it started (see :class:`_CpuMeter`).

        With ``inputs`` (names and glob patterns of the files that are not results), a
        line after the program's output tells whether it left any other file in ``/work``
        (:attr:`left_files`), so that the archive is fetched only then: a round trip to the
        engine less for most programs.
        """
        api = self.client.api
        started = time.monotonic()
        if stdin:  # innermost: only the program reads it, after the wrappers below
            encoded = base64.b64encode(stdin.encode()).decode()
            if len(encoded) > _STDIN_MAX:  # one variable of the exec's environment holds it
                raise ValueError(
                    f"stdin of {len(stdin.encode())} bytes is more than the docker backend "
                    f"passes (about {_STDIN_MAX * 3 // 4 // 1024} KiB); use backend='bwrap'"
                )
            env = {**(env or {}), "ARENA_STDIN": encoded}
            command = ["sh", "-c", 's=$ARENA_STDIN; unset ARENA_STDIN; '
                       'printf %s "$s" | base64 -d | { exec "$@"; }', "sh", *command]  # fmt: skip
        mark = b""
        if inputs is not None:
            mark = f"arena-kit-files-{secrets.token_hex(16)}".encode()
            patterns = "|".join(_case_pattern(name) for name in inputs) or "''"
            command = ["sh", "-c", '"$@"; rc=$?; for f in /work/* /work/.[!.]* /work/..?*; do '
                       '[ -e "$f" ] || [ -L "$f" ] || continue; case "${f#/work/}" in '
                       f"{patterns}) ;; *) printf '\\n%s\\n' {mark.decode()}; break;; esac; "
                       "done; exit $rc", "sh", *command]  # fmt: skip
        if self.pending_files is not None:  # the job's files ride on its first command
            env = {**(env or {}), "ARENA_FILES": self.pending_files}
            command = ["sh", "-c", 'printf %s "$ARENA_FILES" | base64 -d | tar -x -C /work '
                       '&& unset ARENA_FILES && exec "$@"', "sh", *command]  # fmt: skip
            self.pending_files = None
        exec_id = api.exec_create(
            self.container.id, command, stdout=True, stderr=True, environment=env or {},
            workdir="/work", user=SANDBOX_USER,
        )["Id"]  # fmt: skip
        over_cpu = self._cpu_watch(cpu_s)
        sock = api.exec_start(exec_id, socket=True)
        try:
            stdout, stderr, truncated, exceeded, timed_out, cpu_exceeded = _read_frames(
                sock, started + wall_s, cap + len(mark) + 2, over_cpu
            )
        finally:
            with contextlib.suppress(Exception):
                sock.close()
        if timed_out or exceeded or cpu_exceeded:
            self.kill()
        exit_code = None
        for _ in range(200):
            info = api.exec_inspect(exec_id)
            if not info.get("Running"):
                exit_code = info.get("ExitCode")
                break
            if self.killed:
                break
            time.sleep(0.01)
        wall = time.monotonic() - started
        tail = b"\n" + mark + b"\n"
        self.left_files = bool(mark) and stdout.endswith(tail)
        if self.left_files:
            del stdout[-len(tail) :]
        if len(stdout) > cap:  # the room kept for the line above, taken by the program
            del stdout[cap:]
            truncated = exceeded = True
        signal_number = None
        if exit_code is not None and 128 < exit_code <= 128 + 64:
            signal_number, exit_code = exit_code - 128, None
        if self.killed and exit_code is None and signal_number is None:
            signal_number = 9
        return RawRun(
            exit_code=exit_code, signal=signal_number, stdout=bytes(stdout),
            stderr=bytes(stderr), truncated=truncated, output_exceeded=exceeded,
            timed_out=timed_out, wall_s=wall, cpu_s=None, peak_mb=None,
            cpu_exceeded=cpu_exceeded,
        )  # fmt: skip

    def _cpu_watch(self, cpu_s: float | None) -> Callable[[], bool] | None:
        """A check that the CPU time used from now on is over ``cpu_s`` (None: no meter)."""
        if cpu_s is None:
            return None
        if self.cpu_meter is None:
            self.cpu_meter = _CpuMeter(self.container.id)
        meter = self.cpu_meter
        start = meter.seconds()
        if start is None:
            return None  # a remote engine: RLIMIT_CPU (per process) is the only limit
        budget = cpu_s

        def over_cpu() -> bool:
            now = meter.seconds()
            return now is not None and now - start > budget

        return over_cpu

    @property
    def counts_cpu(self) -> bool:
        """Whether this container's CPU time is summed over its processes (local engine)."""
        if self.cpu_meter is None:
            self.cpu_meter = _CpuMeter(self.container.id)
        return self.cpu_meter.path is not None

    def stats(self) -> CgroupStats:
        result = CgroupStats(peak_bytes=self.peak_bytes)
        if self.killed:  # its cgroup is gone; asking the engine would wait for nothing
            return result
        local = Path(f"/sys/fs/cgroup/memory/docker/{self.container.id}")
        if local.is_dir():  # a local engine with cgroup v1: read the kernel's counters directly
            with contextlib.suppress(OSError, ValueError):
                result.peak_bytes = int((local / "memory.max_usage_in_bytes").read_text())
                cpu = Path(f"/sys/fs/cgroup/cpuacct/docker/{self.container.id}/cpuacct.usage")
                result.cpu_s = int(cpu.read_text()) / 1e9
                return result
        try:
            stats = self.container.stats(stream=False, one_shot=True)
            memory = stats.get("memory_stats", {})
            result.peak_bytes = memory.get("max_usage") or memory.get("usage")
            result.oom_kills = int(memory.get("failcnt", 0) > 0 and self.killed_by_oom())
            usage = stats.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage")
            result.cpu_s = usage / 1e9 if usage else None
        except Exception:
            pass
        return result

    def killed_by_oom(self) -> bool:
        with contextlib.suppress(Exception):
            self.container.reload()
            return bool(self.container.attrs["State"].get("OOMKilled"))
        return False

    def fetch_artifacts(self, destination: Path, exclude: set[str]) -> list[dict[str, Any]]:
        raw = self.exec(
            ["tar", "-c", "-C", "/work", "."], wall_s=30, cap=MAX_ARTIFACT_BYTES + 2**20
        )
        if raw.exit_code != 0 or raw.output_exceeded:
            return []
        found: list[dict[str, Any]] = []
        with tarfile.open(fileobj=io.BytesIO(raw.stdout)) as tar:
            for member in tar:
                name = os.path.normpath(member.name)  # "./.hidden" -> ".hidden"
                outside = name in (".", "..") or name.startswith(("../", "/"))
                if not member.isreg() or outside or name in exclude:
                    continue  # links, devices and directories are never followed or kept
                if any(name.startswith(prefix + "/") for prefix in exclude):
                    continue
                if len(found) >= MAX_ARTIFACTS:
                    break
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read()
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                found.append({"name": name, "path": str(target), "size": len(data),
                              "mime": _mime(name)})  # fmt: skip
        return found

    def read_cgroup_counts(self) -> None:
        """Keep the kernel's counts of refused forks and OOM kills (a local engine only).

        Read before the container is killed: its cgroup goes with it.
        """
        for root in ("/sys/fs/cgroup/{c}/docker/{id}", "/sys/fs/cgroup/docker/{id}",
                     "/sys/fs/cgroup/system.slice/docker-{id}.scope"):  # fmt: skip
            pids = Path(root.format(c="pids", id=self.container.id)) / "pids.events"
            memory = Path(root.format(c="memory", id=self.container.id))
            with contextlib.suppress(OSError, ValueError):
                for line in pids.read_text().splitlines():
                    if line.startswith("max "):
                        self.pids_refused = max(self.pids_refused, int(line.split()[1]))
            with contextlib.suppress(OSError, ValueError):
                self.peak_bytes = int((memory / "memory.max_usage_in_bytes").read_text())
            for name, key in (("memory.oom_control", "oom_kill "), ("memory.events", "oom_kill ")):
                with contextlib.suppress(OSError, ValueError):
                    for line in (memory / name).read_text().splitlines():
                        if line.startswith(key):
                            self.oom_kills = max(self.oom_kills, int(line.split()[1]))

    def kill(self) -> None:
        self.read_cgroup_counts()
        self.killed = True
        with contextlib.suppress(Exception):
            self.container.kill()

    def remove_now(self) -> None:
        """Remove the container and wait until it is gone."""
        with contextlib.suppress(Exception):
            self.container.remove(force=True)

    def remove(self) -> None:
        """Remove the container (in the background: it is off the job's critical path)."""
        threading.Thread(target=self.remove_now, daemon=True, name="arena-kit-docker-rm").start()


@register_backend
class DockerBackend(Backend):
    """Runs jobs in containers of the arena-kit runtime image (see ``docker/``)."""

    name = "docker"

    def __init__(self) -> None:
        self.client = _client()
        image = docker_image(self.client)
        if image is None:
            raise RuntimeError("the runtime image is missing")
        self.image: str = image
        labels = self.client.images.get(self.image).labels or {}
        self.runtimes = set(labels.get("arena-kit.runtimes", "python,c").split(","))
        self._pool: WarmPool[_Container] = WarmPool(
            self._start_warm, _Container.remove_now, alive=_running, name="arena-kit-warm-docker"
        )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            _sdk()
        except ImportError:
            return "the docker Python package is missing (pip install docker)"
        from .dockerd import engine_reachable

        if not engine_reachable():
            return (
                "no Docker engine is reachable (DOCKER_HOST or /var/run/docker.sock); "
                "start one (python -m arena_kit.sandbox dockerd) or install docker.io"
            )
        try:
            client = _client()
            if docker_image(client) is None:
                return (
                    "the runtime image is missing; build it with "
                    "python -m arena_kit.sandbox image --flavor ci (or --flavor full)"
                )
        except Exception as error:
            return f"the Docker engine failed: {error}"
        return None

    def warm(self, size: int) -> None:
        """Keep ``size`` containers started ahead (with default limits); 0 turns it off."""
        self._pool.resize(size)

    def _start_warm(self) -> _Container:
        return _Container(self.client, self.image, Limits())

    def close(self) -> None:
        """Remove the warm containers."""
        self._pool.close()

    def _container(self, limits: Limits, files: dict[str, str], memory_mb: int) -> _Container:
        # A warm one that died while waiting (e.g. its engine restarted) is skipped.
        container = self._pool.take() if limits == Limits() else None
        if container is not None:
            container.pending_files = _pack(files)  # unpacked by its first command
            return container
        return _Container(self.client, self.image, limits, files=files, memory_mb=memory_mb)

    def execute(self, job: Job) -> ExecutionResult:
        limits = job.limits
        runtime = job.runtime
        result = ExecutionResult(
            execution_id=job.execution_id, code=job.code, language=job.language,
            environment=job.environment, status=Status.SANDBOX_ERROR, backend=self.name,
        )  # fmt: skip
        if runtime.runtime.name not in self.runtimes:
            result.status = Status.UNSUPPORTED
            result.message = (
                f"unsupported: the Docker image {self.image} has no {runtime.runtime.name} "
                "runtime; build the full one: python -m arena_kit.sandbox image --flavor full"
            )
            return result
        container: _Container | None = None
        started = time.monotonic()
        enforced = ["wall:kill", "cpu:rlimit", "file_size:rlimit", "output:cap",
                    "network:none", "disk:tmpfs", "memory:cgroup", "pids:cgroup"]  # fmt: skip
        try:
            first_memory = limits.build_memory_mb if runtime.build else limits.memory_mb
            container = self._container(
                limits, {runtime.source: job.code, **job.files}, first_memory
            )
            env = dict(runtime.env)
            if runtime.build:
                build = list(runtime.build)
                if runtime.runtime.name == "go":  # start from the image's primed cache
                    build = ["sh", "-c", "cp -r /opt/arena/gocache /tmp/gocache 2>/dev/null; "
                             'exec "$@"', "sh", *build]  # fmt: skip
                container.set_memory(limits.build_memory_mb)
                raw = container.exec(build, wall_s=limits.build_wall_s, cap=limits.output_bytes,
                                     env=env)  # fmt: skip
                if record_build(result, raw, limits, Path(runtime.build[0]).name, enforced):
                    return result
            container.set_memory(limits.memory_mb)
            exclude = {runtime.source, *job.files, *runtime.runtime.outputs}
            if container.counts_cpu:  # all its processes together, besides RLIMIT_CPU
                enforced.append("cpu:cgroup")
            raw = container.exec(list(runtime.run), wall_s=limits.wall_s,
                                 cap=limits.output_bytes, env=env,
                                 inputs=tuple(sorted(exclude)), cpu_s=limits.cpu_s,
                                 stdin=job.stdin)  # fmt: skip
            container.read_cgroup_counts()
            stats = container.stats()
            raw.stats = stats
            near_limit = bool(
                stats.peak_bytes and stats.peak_bytes >= 0.95 * limits.memory_mb * 2**20
            )
            killed = raw.signal == 9 and not raw.timed_out and not raw.output_exceeded
            if container.oom_kills or (killed and (container.killed_by_oom() or near_limit)):
                raw.stats.oom_kills = 1
            raw.stats.pids_refused = container.pids_refused
            if any(marker.encode() in raw.stderr for marker in _FORK_REFUSED):
                raw.stats.pids_refused = max(1, container.pids_refused)
            raw.cpu_s = stats.cpu_s
            raw.peak_mb = stats.peak_bytes / 2**20 if stats.peak_bytes else None
            record_run(result, raw, limits, runtime.runtime.name, enforced)
            destination = artifacts_dir() / job.execution_id
            if not container.killed and container.left_files:
                result.artifacts = container.fetch_artifacts(destination, exclude)
                result.artifacts = [
                    a for a in result.artifacts
                    if not any(fnmatch.fnmatch(a["name"], p) for p in exclude)
                ]  # fmt: skip
            result.artifacts += extract_data_urls(result.stdout, destination)
        except Exception as error:
            result.status = Status.SANDBOX_ERROR
            result.message = f"sandbox error: {type(error).__name__}: {error}"
        finally:
            if container is not None:
                container.remove()
                self._pool.refill()  # after the job: a new container must not compete with it
        if result.wall_s is None:
            result.wall_s = round(time.monotonic() - started, 4)
        return result
