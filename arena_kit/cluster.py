"""``arena-kit execute``: a responses table's answers run on a Dask cluster, resumably.

The path is 01_execute's (:mod:`arena_kit.execution`): :func:`~arena_kit.execution.plan_jobs`
finds each answer's main code, :func:`~arena_kit.execution.run_job` runs one job (a program
in the sandbox, a page or app rendered), :func:`~arena_kit.execution.link_runs` makes the
tables. Only the place differs: each distinct job is a Dask task, on a ``LocalCluster`` of
worker processes or on the workers of an existing scheduler (``dask scheduler`` /
``dask worker``), each worker with its own content-addressed result cache.

Results are kept as they arrive: one line per job appended to ``DIR/runs.jsonl``, written in
one ``write`` and fsynced before the next is looked at, so an interruption (Ctrl-C, ``kill -9``
of this process, a dead worker) loses only the runs in flight. A re-run reads that log first
and submits only the jobs it lacks, so every job is written exactly once; a line cut short by
a crash mid-write was never acknowledged and is dropped. One writer at a time holds the log
(``flock``, released by the kernel whatever kills the holder). When every job is in the log,
``DIR/executions.parquet`` and ``DIR/responses.parquet`` (``execution_id`` filled) are written
as 01_execute writes them, for 02–06 and the report.

Screenshots and artifacts stay where the worker made them when this machine can read them
(the same machine, a shared file system); files of a worker elsewhere are fetched from it and
kept under ``DIR/files/<execution_id>/``, and the rows point there.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import ArenaDataError, ArenaKitError, OutputExistsError

if TYPE_CHECKING:
    import pandas as pd

try:  # this module is the dask extra's: without it, _connect says what to install
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - the extra is part of make test's set-up
    _WorkerPlugin = object  # type: ignore[misc,assignment]

__all__ = [
    "execute_on_cluster",
    "ExecuteSummary",
    "RunLog",
    "job_key",
    "main",
    "RUNS_FILE",
    "EXECUTIONS_FILE",
    "RESPONSES_FILE",
    "FILES_DIR",
]

RUNS_FILE = "runs.jsonl"
"""The append-only log in the output folder: one JSON line per finished job."""
EXECUTIONS_FILE = "executions.parquet"
RESPONSES_FILE = "responses.parquet"
FILES_DIR = "files"
"""Screenshots and artifacts fetched from workers whose files this machine cannot read."""

FETCH_TIMEOUT_S = 60
"""How long to wait for a worker to hand over a run's files before keeping its paths."""
RERUN_FIX = "run the same command again: it does only what the log lacks"


def job_key(job: Mapping[str, Any], limits: Any = None) -> str:
    """What identifies a job in the log: its code, language, environment, files and limits
    (answers with the same code are one job; other limits make another)."""
    from .sandbox import Limits
    from .schema import content_id

    return content_id(
        "arena-kit execute",
        job["code"],
        job["language"],
        job["environment"],
        dict(job.get("files") or {}),
        Limits.coerce(limits).as_dict(),
    )


class RunLog:
    """``DIR/runs.jsonl``, held by one writer: ``entries`` maps each job key to its executions
    row; :meth:`append` adds one, durably, before returning.

    Raises
    ------
    ArenaKitError
        Another process holds the log (another ``arena-kit execute`` on the same folder).
    ArenaDataError
        A line of the log is not one this module writes (the message names the line).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ArenaKitError(
                f"{self.path}: another arena-kit execute is writing this log; wait for it to "
                "end, or give another --out folder"
            ) from None
        if created:  # the new name itself must survive a crash, not only the lines
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            self._read()
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        with open(self.path, "rb") as handle:
            data = handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            # A crash in the middle of a write: that run was never acknowledged (nor counted);
            # cut it off so that the next line starts on a line of its own.
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        for number, line in enumerate(data[:end].split(b"\n")[:-1], start=1):
            try:
                entry = json.loads(line)
                key, record = entry["job"], entry["execution"]
                if not isinstance(key, str) or not isinstance(record, dict):
                    raise TypeError("job must be text and execution an object")
            except (ValueError, KeyError, TypeError) as error:
                raise ArenaDataError(
                    f"not a line of arena-kit execute's log ({type(error).__name__}: {error})",
                    source=str(self.path),
                    location=f"line {number}",
                    fix="give an --out folder that only arena-kit execute writes to",
                ) from None
            self.entries.setdefault(key, record)

    def append(self, key: str, response_ids: list[str], record: dict[str, Any]) -> None:
        """Add one job's executions row; on return it is on disk."""
        line = json.dumps({"job": key, "response_ids": response_ids, "execution": record})
        data = (line + "\n").encode("utf-8")
        while data:  # one write in practice; a short write continues where it stopped
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)
        self.entries[key] = record

    def close(self) -> None:
        """Release the log (the lock goes with the file descriptor)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ExecuteSummary:
    """What :func:`execute_on_cluster` did."""

    executions: pd.DataFrame
    """The executions table (one row per distinct run)."""
    responses: pd.DataFrame
    """The responses with ``execution_id`` filled."""
    jobs: int
    """Distinct jobs planned (answers with runnable code, the same code counted once)."""
    ran: int
    """Jobs run by this call."""
    skipped: int
    """Jobs already in the log from an earlier call (not run again)."""
    executions_path: Path
    responses_path: Path
    runs_path: Path
    workers: int
    """Worker threads the cluster had when this call started (0 when nothing had to run)."""


def _run_task(
    job: dict[str, Any], limits: Any, refresh: bool, run_options: dict[str, Any]
) -> dict[str, Any]:
    """The Dask task: one job run on a worker (one of its long-lived executor threads, which
    bwrap's ``--die-with-parent`` needs: the sandbox is bound to the thread that started it)."""
    from distributed import get_worker

    from .execution import run_job

    result = run_job(job, limits=limits, refresh=refresh, **run_options)
    return {"execution": result.to_record(), "worker": get_worker().address}


def _file_paths(record: Mapping[str, Any]) -> list[str]:
    paths = [str(record["screenshot"])] if record.get("screenshot") else []
    return paths + [str(a["path"]) for a in record.get("artifacts") or [] if a.get("path")]


def _read_files(paths: list[str]) -> dict[str, bytes | None]:
    """Run on the worker that made them: the files' bytes (None: gone or unreadable)."""
    contents: dict[str, bytes | None] = {}
    for path in paths:
        try:
            contents[path] = Path(path).read_bytes()
        except OSError:
            contents[path] = None
    return contents


def _localize(record: dict[str, Any], contents: Mapping[str, bytes | None], out: Path) -> None:
    """Keep fetched files under ``out/files/<execution_id>/`` and point the row at them."""
    from .io import atomic_path

    folder = out / FILES_DIR / str(record["execution_id"])
    copies: dict[str, str] = {}
    for index, (path, data) in enumerate(contents.items()):
        if data is None:
            continue  # the row keeps the worker's path: as good as nothing, and says where
        # The index keeps two artifacts of the same base name apart; the base name alone
        # keeps a name from the run (data) from reaching outside the folder.
        target = folder / f"{index}-{Path(path).name}"
        with atomic_path(target) as temporary:
            temporary.write_bytes(data)
        copies[path] = str(target)
    if record.get("screenshot") in copies:
        record["screenshot"] = copies[record["screenshot"]]
    for artifact in record.get("artifacts") or []:
        if artifact.get("path") in copies:
            artifact["path"] = copies[artifact["path"]]


class _IgnoreInterrupts(_WorkerPlugin):
    """A worker plugin for the local cluster's workers: Ctrl-C in a terminal reaches the whole
    process group, and each worker would print a traceback of its own; this process stops
    them instead (closing the cluster), and says what to do next."""

    def setup(self, worker: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _connect(
    scheduler: str | None, workers: int | None, threads: int, timeout: float
) -> Iterator[Any]:
    """A Dask client: to ``scheduler``, or to a LocalCluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ArenaKitError(
            "arena-kit execute needs Dask's distributed package. Fix: pip install 'arena-kit[dask]'"
        ) from None

    if not scheduler:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=threads,
            processes=True,  # a worker that dies (or is killed) takes only its own runs along
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # any free port: two commands may run at once
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster, set_as_default=False) as client:
            client.register_plugin(_IgnoreInterrupts())
            yield client
        return
    fix = (
        f"start one there (`dask scheduler`, then `dask worker {scheduler}` on each worker "
        "machine), check the address and port, or leave --scheduler out to run here"
    )
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TimeoutError) as error:
        raise ArenaKitError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(error).__name__}: "
            f"{error}). Fix: {fix}"
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ArenaKitError(
                f"the Dask scheduler at {scheduler} has no workers after {timeout:g} s. Fix: "
                f"start one on each worker machine: `dask worker {scheduler}` (README, "
                "'Executing on a cluster')"
            ) from None
        yield client


def _check_out(out: Path) -> None:
    """Refuse a folder whose tables this command did not write (no log beside them)."""
    if (out / RUNS_FILE).exists():
        return
    for name in (EXECUTIONS_FILE, RESPONSES_FILE):
        if (out / name).exists():
            raise OutputExistsError(
                f"{out / name} exists and is not arena-kit execute's (there is no {RUNS_FILE} "
                "beside it): it is never replaced. Fix: give another --out folder"
            )


def execute_on_cluster(
    responses: pd.DataFrame,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int = 1,
    limits: Any = None,
    backend: str | None = None,
    refresh: bool = False,
    progress: bool = True,
    connect_timeout: float = 10.0,
) -> ExecuteSummary:
    """Run every response's main code on a Dask cluster; write the tables into ``out_dir``.

    Parameters
    ----------
    responses
        A responses table.
    out_dir
        Where the log (``runs.jsonl``) and the tables go; the log of an earlier call there is
        resumed.
    scheduler
        A Dask scheduler's address (``tcp://host:8786``); None: a ``LocalCluster`` here.
    workers, threads
        The LocalCluster's worker processes (default: one per CPU) and threads in each.
    limits, backend, refresh
        As :func:`arena_kit.execution.execute_responses` takes them.
    progress
        A progress bar (``tqdm.auto``).
    connect_timeout
        Seconds to reach the scheduler and to wait for its first worker.

    Raises
    ------
    ArenaKitError
        The scheduler cannot be reached or has no workers; another call holds the log; some
        jobs were not done (a worker that kept dying, a worker without arena-kit): the ones
        done are in the log, and a re-run does the rest.
    OutputExistsError
        ``out_dir`` holds tables this command did not write.
    """
    import pandas as pd

    from .datasets import write_table
    from .execution import link_runs, plan_jobs
    from .schema import columns

    out = Path(out_dir)
    _check_out(out)
    groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for job in cast("list[dict[str, Any]]", plan_jobs(responses).to_dict("records")):
        entry = groups.setdefault(job_key(job, limits), (job, []))
        entry[1].append(str(job["response_id"]))
    run_options = {"backend": backend} if backend else {}
    with RunLog(out / RUNS_FILE) as log:
        todo = [key for key in groups if key not in log.entries]
        skipped = len(groups) - len(todo)
        threads_seen = 0
        if todo:
            with _connect(scheduler, workers, threads, connect_timeout) as client:
                threads_seen = sum(client.nthreads().values())
                failures = _run_all(
                    client, log, groups, todo, skipped, out, limits, refresh, run_options,
                    progress=progress,
                )  # fmt: skip
            if failures:
                reasons = sorted({reason for _, reason in failures})
                raise ArenaKitError(
                    f"{len(failures)} of {len(groups)} jobs were not done ({'; '.join(reasons)}"
                    f"); the {len(log.entries)} done are in {log.path}. Fix: {RERUN_FIX}"
                )
        runs = pd.DataFrame(
            [
                {"response_id": response_id, **log.entries[key]}
                for key, (_, response_ids) in groups.items()
                for response_id in response_ids
            ],
            columns=["response_id", *(c.name for c in columns("executions"))],
        )
    executions, linked = link_runs(responses, runs)
    return ExecuteSummary(
        executions=executions,
        responses=linked,
        jobs=len(groups),
        ran=len(todo),
        skipped=skipped,
        executions_path=write_table(executions, out / EXECUTIONS_FILE, "executions"),
        responses_path=write_table(linked, out / RESPONSES_FILE, "responses"),
        runs_path=out / RUNS_FILE,
        workers=threads_seen,
    )


def _run_all(
    client: Any,
    log: RunLog,
    groups: Mapping[str, tuple[dict[str, Any], list[str]]],
    todo: list[str],
    skipped: int,
    out: Path,
    limits: Any,
    refresh: bool,
    run_options: dict[str, Any],
    *,
    progress: bool,
) -> list[tuple[str, str]]:
    """Submit the ``todo`` jobs; log each result as it arrives. Returns the jobs that failed
    for a reason outside them (``(key, reason)``): a job's own failure is its result."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    jobs = [{k: v for k, v in groups[key][0].items() if k != "response_id"} for key in todo]
    futures = client.map(
        _run_task, jobs, limits=limits, refresh=refresh, run_options=run_options, pure=False
    )
    keys = {future.key: key for future, key in zip(futures, todo, strict=True)}
    failures: list[tuple[str, str]] = []
    bar = tqdm(total=len(groups), initial=skipped, desc="execute", unit="run", disable=not progress)
    try:
        completed = as_completed(futures, loop=client.loop)
        del futures  # as_completed holds them; each is released once logged
        for future in completed:
            key = keys[future.key]
            if future.status != "finished":
                failures.append((key, _why_not_done(future)))
                future.release()
                continue
            payload = future.result()
            future.release()
            record = payload["execution"]
            missing = [p for p in _file_paths(record) if not os.path.isfile(p)]
            if missing:  # a worker on another machine: bring its files here
                fetched = client.submit(
                    _read_files, missing, workers=[payload["worker"]], pure=False
                )
                try:  # bounded: a task pinned to a worker that left would wait for it forever
                    _localize(record, fetched.result(timeout=FETCH_TIMEOUT_S), out)
                except Exception as error:  # noqa: BLE001 - the worker left: the run stands
                    fetched.cancel()
                    print(
                        f"arena-kit execute: files of {record['execution_id']} not fetched "
                        f"({type(error).__name__}: {error})",
                        file=sys.stderr,
                    )
            log.append(key, groups[key][1], record)
            bar.update(1)
    finally:
        bar.close()
    return failures


def _seconds(text: str) -> float | int:
    """A limit as 01_execute writes it: ``10`` stays an int. The run's id hashes the limits'
    JSON, where 10 and 10.0 differ: a float here would miss every result 01_execute cached."""
    value = float(text)
    return int(value) if value.is_integer() else value


def _why_not_done(future: Any) -> str:
    """One line on a task that ended without a result (it erred, or the cluster dropped it)."""
    if future.status == "cancelled":  # e.g. the connection to the scheduler was lost
        return "cancelled by the cluster (was the scheduler stopped or the connection lost?)"
    error = future.exception()
    return f"{type(error).__name__}: {error}"


def _quiet_dask() -> None:
    """Dask's own log lines (a connection retried or lost, a worker restarted, each with its
    traceback) would bury the progress bar and the errors this command explains itself.
    Its loggers get their levels when ``distributed`` is imported, one by one: set them after."""
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401 - configures its loggers

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    """``arena-kit execute``: see the module's docstring and the README."""
    parser = argparse.ArgumentParser(
        prog="arena-kit execute",
        description="Run a responses table's answers (as 01_execute runs them) on a Dask "
        "cluster or a local one; resumable: a re-run does only what the log lacks.",
    )
    parser.add_argument("--responses", required=True, metavar="FILE", help="a responses table")
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help=f"where {RUNS_FILE} (the log), {EXECUTIONS_FILE} and {RESPONSES_FILE} go",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786); without it, a local cluster",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="worker processes of the local cluster (default: one per CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help="runs at once in each local worker (default: 1)",
    )  # fmt: skip
    parser.add_argument("--backend", choices=["bwrap", "docker"], help="the sandbox backend")
    parser.add_argument(
        "--wall-s", type=_seconds, default=10, metavar="SECONDS",
        help="wall-clock limit of each run (default: 10, as 01_execute)",
    )  # fmt: skip
    parser.add_argument(
        "--refresh", action="store_true",
        help="run again even what the workers' result caches hold",
    )  # fmt: skip
    parser.add_argument(
        "--connect-timeout", type=float, default=10, metavar="SECONDS",
        help="how long to try to reach the scheduler and wait for a worker (default: 10)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for name in ("workers", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be 1 or more, not {value}")
        if value is not None and args.scheduler:
            parser.error(
                f"--{name} sizes the local cluster; a scheduler's workers are sized where they "
                "start (dask worker ADDRESS --nworkers N --nthreads N)"
            )
    if args.wall_s <= 0:
        parser.error(f"--wall-s must be more than 0, not {args.wall_s}")
    _quiet_dask()
    from .datasets import read_table

    out = Path(args.out)
    try:
        responses = read_table(args.responses, "responses")
        summary = execute_on_cluster(
            responses, out, scheduler=args.scheduler, workers=args.workers,
            threads=args.threads or 1, limits={"wall_s": args.wall_s}, backend=args.backend,
            refresh=args.refresh, connect_timeout=args.connect_timeout,
        )  # fmt: skip
    except ArenaKitError as error:
        print(f"arena-kit execute: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"arena-kit execute: interrupted; every run finished so far is in {out / RUNS_FILE}"
            f". To finish: {RERUN_FIX}",
            file=sys.stderr,
        )
        return 130
    linked = int(summary.responses["execution_id"].notna().sum())
    print(
        f"{summary.jobs} jobs: {summary.ran} run now"
        + (f" on {summary.workers} worker threads" if summary.ran else "")
        + f", {summary.skipped} already in {summary.runs_path}; {len(summary.executions)} "
        f"distinct runs; {linked} of {len(summary.responses)} responses have one"
    )
    print(f"executions: {summary.executions_path}")
    print(f"responses:  {summary.responses_path}")
    return 0
