"""``arena-kit execute`` on real Dask clusters (worker processes) and the real sandbox: killed,
resumed, a worker lost mid-run; each job in the log exactly once, with the statuses a plain
local run of 01_execute's path gives the same answers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from arena_kit import execution
from arena_kit.cluster import RUNS_FILE, RunLog, _localize
from arena_kit.datasets import bundled_responses, read_table, write_table
from arena_kit.errors import ArenaDataError, ArenaKitError

pytestmark = pytest.mark.slow

# Real Arena-Hard answers, chosen for a mix the workbench meets: Python ok / runtime error /
# missing dependency / a matplotlib figure (an artifact), JavaScript ok / runtime error,
# TypeScript, C ok / build error / SIGSEGV, C++, Java, an HTML page (rendered in the browser,
# a screenshot), and one answer without runnable code (no run).
ANSWERS = [
    "bs3jfKP3kDDqGHvYvMNtYx",
    "ftwRHzzPXecq53RdqnJdJr",
    "MWFtQtRmgXXWEyVWMTEHWB",
    "YX2cEX3AztCmNwc7FwLiHv",
    "RPwYwPznxQZcJAGBRxxRhS",
    "eqX28vYByMMsKbGQFRiD5n",
    "db4TqRJWy8CHGj456ceEaB",
    "ZzdSgvTBK8EpLzeQcTuS9d",
    "SJhTDYnQodh2hj6whiD6PT",
    "BoVS8iBtLPQT6ra8z9d48A",
    "VPDSZigrjDVMHGCyup37XK",
    "M2GzaZqvFBytbkkuS6ZF8E",
    "cmMcrUjQVfzvUk7pndQPhh",
    "ndKLaFQXbU4eujaZBGjGZJ",
]
JOBS = len(ANSWERS) - 1  # the last has no code
LIMITS = {"wall_s": 10}  # as 01_execute and the command give it


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """The responses file, and the plain local run of the same answers (cache bypassed)."""
    _, responses = bundled_responses()
    picked = responses[responses["response_id"].isin(ANSWERS)].reset_index(drop=True)
    assert len(picked) == len(ANSWERS)
    path = write_table(picked, tmp_path_factory.mktemp("answers") / "responses.jsonl", "responses")
    local, linked = execution.execute_responses(picked, limits=LIMITS, refresh=True, progress=False)
    statuses = dict(zip(local["execution_id"], local["status"], strict=True))
    assert len(set(statuses.values())) >= 4  # the mix is really mixed
    expected = {
        rid: (eid, statuses[eid]) if isinstance(eid, str) else None
        for rid, eid in zip(linked["response_id"], linked["execution_id"], strict=True)
    }
    return path, expected


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "arena_kit", "execute", *args]


def lines(out: Path) -> list[dict]:
    log = out / RUNS_FILE
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def start(args: list[str], stderr: Path) -> subprocess.Popen:
    with stderr.open("w") as handle:
        # A session of its own, as a terminal gives: Ctrl-C reaches the whole process group.
        return subprocess.Popen(
            command(*args), stdout=subprocess.PIPE, stderr=handle, text=True,
            start_new_session=True,
        )  # fmt: skip


def wait_for_lines(process: subprocess.Popen, out: Path, count: int) -> int:
    """Wait until the log holds ``count`` lines; return how many it holds then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        written = len(lines(out)) if (out / RUNS_FILE).exists() else 0
        if written >= count:
            return written
        assert process.poll() is None, "the command ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} results after 120 s")


def check_outputs(out: Path, expected: dict) -> None:
    """Each job once in the log; the tables as 01_execute writes them, with the local run's
    statuses and execution ids."""
    entries = lines(out)
    assert len(entries) == JOBS
    assert len({e["job"] for e in entries}) == JOBS  # no job written twice
    logged = {rid: e["execution"] for e in entries for rid in e["response_ids"]}
    executions = read_table(out / "executions.parquet", "executions")
    responses = read_table(out / "responses.parquet", "responses")
    assert sorted(responses["response_id"]) == sorted(ANSWERS)
    status = dict(zip(executions["execution_id"], executions["status"], strict=True))
    for rid, eid in zip(responses["response_id"], responses["execution_id"], strict=True):
        if expected[rid] is None:
            assert eid is None and rid not in logged, rid
        else:
            assert (eid, status[eid]) == expected[rid], rid
            assert logged[rid]["execution_id"] == eid
    page = executions[executions["language"] == "html"].iloc[0]
    assert Path(page["screenshot"]).is_file()  # the page was rendered on a worker


def test_killed_and_interrupted_runs_resume_and_write_every_job_once(answers, tmp_path):
    responses, expected = answers
    out = tmp_path / "out"
    args = ["--responses", str(responses), "--out", str(out), "--workers", "2", "--refresh"]

    # Ctrl-C (to the process group, as a terminal sends it): the command closes its cluster
    # and says where the finished runs are and how to go on; no worker prints a traceback.
    first = start(args, tmp_path / "first.err")
    wait_for_lines(first, out, 1)
    children = psutil.Process(first.pid).children(recursive=True)
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(timeout=60) == 130
    said = (tmp_path / "first.err").read_text()
    assert "interrupted" in said and "run the same command again" in said
    assert "Traceback" not in said
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    after_first = (out / RUNS_FILE).read_bytes()

    # kill -9 of the client, its worker processes (and their sandboxes) with it.
    second = start(args, tmp_path / "second.err")
    written = wait_for_lines(second, out, len(lines(out)) + 2)
    children = psutil.Process(second.pid).children(recursive=True)
    assert any("spawn_main" in " ".join(c.cmdline()) for c in children)  # worker processes
    second.kill()
    assert second.wait(timeout=30) == -signal.SIGKILL
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [p.cmdline() for p in alive]  # nothing left running behind the client
    before = (out / RUNS_FILE).read_bytes()
    assert before.startswith(after_first)  # append-only
    done = len(lines(out))
    assert written <= done < JOBS, "the run was not interrupted"
    assert "execute:" in (tmp_path / "second.err").read_text()  # the progress bar

    third = subprocess.run(command(*args), capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert f"{JOBS - done} run now" in third.stdout and f"{done} already in" in third.stdout
    assert f"{done}/{JOBS}" in third.stderr and f"{JOBS}/{JOBS}" in third.stderr  # progress
    assert (out / RUNS_FILE).read_bytes().startswith(before)
    check_outputs(out, expected)

    # Everything is in the log: a re-run runs nothing and writes the same tables.
    again = subprocess.run(command(*args), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "0 run now" in again.stdout and f"{JOBS} already in" in again.stdout
    check_outputs(out, expected)


@pytest.fixture(scope="module")
def scheduler():
    """A Dask cluster this module starts on 127.0.0.1 (two worker processes), and a client."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        yield cluster.scheduler_address, client


def test_a_scheduler_address_and_a_worker_lost_mid_run(answers, scheduler, tmp_path):
    responses, expected = answers
    address, client = scheduler
    out = tmp_path / "out"
    pids = client.run(os.getpid)
    args = ["--responses", str(responses), "--out", str(out), "--refresh", "--scheduler", address]
    run = start(args, tmp_path / "run.err")
    wait_for_lines(run, out, 1)
    os.kill(next(iter(pids.values())), signal.SIGKILL)  # a worker dies mid-run
    stdout, _ = run.communicate(timeout=300)
    assert run.returncode == 0, (tmp_path / "run.err").read_text()
    assert f"{JOBS} run now" in stdout
    check_outputs(out, expected)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # the nanny replaced it


def test_a_scheduler_stopped_mid_run_is_a_clear_error_and_the_rerun_finishes(answers, tmp_path):
    from distributed import LocalCluster

    responses, expected = answers
    out = tmp_path / "out"
    args = ["--responses", str(responses), "--out", str(out), "--refresh"]
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )  # fmt: skip
    try:
        run = start([*args, "--scheduler", cluster.scheduler_address], tmp_path / "run.err")
        wait_for_lines(run, out, 1)
    finally:
        cluster.close()  # the scheduler goes away mid-run
    assert run.wait(timeout=120) == 1
    said = (tmp_path / "run.err").read_text()
    assert "were not done (cancelled by the cluster" in said and "run the same command" in said
    assert "Traceback" not in said
    done = len(lines(out))
    assert 1 <= done < JOBS
    rerun = subprocess.run(
        command(*args, "--workers", "1"), capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done} already in" in rerun.stdout
    check_outputs(out, expected)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) to hide the workers' files from the client",
)
def test_files_of_a_worker_on_another_machine_are_fetched_into_the_output(
    answers, scheduler, tmp_path
):
    """The client runs where the workers' cache cannot be seen (a private mount namespace
    with an empty tmpfs over it, as on another machine): screenshots and figures are fetched
    from the workers and kept under DIR/files/, and the rows point there."""
    from arena_kit.sandbox.paths import artifacts_dir

    responses, expected = answers
    address, _ = scheduler
    visual = read_table(responses, "responses")
    visual = visual[
        visual["response_id"].isin(["cmMcrUjQVfzvUk7pndQPhh", "YX2cEX3AztCmNwc7FwLiHv"])
    ]
    subset = write_table(visual, tmp_path / "visual.jsonl", "responses")
    out = tmp_path / "out"
    hidden = str(artifacts_dir())
    script = 'mount -t tmpfs tmpfs "$1" && test -z "$(ls -A "$1")" && shift && exec "$@"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", hidden,
         *command("--responses", str(subset), "--out", str(out), "--scheduler", address)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    executions = read_table(out / "executions.parquet", "executions")
    assert len(executions) == 2
    for row in executions.to_dict("records"):
        kept = out / "files" / row["execution_id"]
        paths = [a["path"] for a in row["artifacts"]] + [row["screenshot"]] * bool(
            row["screenshot"]
        )
        assert paths and all(Path(p).parent == kept and Path(p).is_file() for p in paths), paths
        worker_copy = Path(hidden) / row["execution_id"]  # what the worker made, seen from here
        for artifact in row["artifacts"]:
            assert (
                Path(artifact["path"]).read_bytes() == (worker_copy / artifact["name"]).read_bytes()
            )
    wanted = {expected[rid] for rid in visual["response_id"]}
    assert set(zip(executions["execution_id"], executions["status"], strict=True)) == wanted


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_and_a_file_that_is_not_responses_are_clear(answers, tmp_path):
    responses, _ = answers
    address = f"tcp://127.0.0.1:{free_loopback_port()}"  # nobody listens there
    started = time.monotonic()
    result = subprocess.run(
        command("--responses", str(responses), "--out", str(tmp_path / "a"), "--scheduler",
                address, "--connect-timeout", "1"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot reach the Dask scheduler at {address}" in result.stderr
    assert "dask worker" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 30

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt_id": "p1", "instruction": "Write a game"}\n')
    result = subprocess.run(
        command("--responses", str(prompts), "--out", str(tmp_path / "b")),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(prompts) in result.stderr and "'response_id'" in result.stderr


def test_the_log_keeps_lines_whole_and_one_writer(tmp_path):
    path = tmp_path / RUNS_FILE
    with RunLog(path) as log:
        log.append("job-1", ["r1"], {"execution_id": "e1", "status": "ok"})
        with pytest.raises(ArenaKitError, match="another arena-kit execute is writing"):
            RunLog(path)
    with path.open("a") as handle:  # a crash in the middle of the second line
        handle.write('{"job": "job-2", "execu')
    with RunLog(path) as log:
        assert list(log.entries) == ["job-1"]
        log.append("job-3", ["r3"], {"execution_id": "e3", "status": "ok"})
    assert [json.loads(line)["job"] for line in path.read_text().splitlines()] == [
        "job-1",
        "job-3",
    ]
    path.write_text('{"job": "job-1", "execution": {}}\n["not", "ours"]\n')
    with pytest.raises(ArenaDataError, match=r"runs.jsonl: line 2: not a line"):
        RunLog(path)


def test_tables_that_are_not_its_own_are_never_replaced(answers, tmp_path):
    responses, _ = answers
    (tmp_path / "executions.parquet").write_text("a colleague's file")
    result = subprocess.run(
        command("--responses", str(responses), "--out", str(tmp_path)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "is never replaced" in result.stderr
    assert (tmp_path / "executions.parquet").read_text() == "a colleague's file"


def test_fetched_files_of_the_same_name_are_kept_apart(tmp_path):
    record = {
        "execution_id": "abc",
        "screenshot": "/elsewhere/a/shot.png",
        "artifacts": [
            {"name": "shot.png", "path": "/elsewhere/a/shot.png"},
            {"name": "b/shot.png", "path": "/elsewhere/b/shot.png"},
        ],
    }
    fetched = {"/elsewhere/a/shot.png": b"page", "/elsewhere/b/shot.png": b"figure"}
    _localize(record, fetched, tmp_path)
    first, second = (Path(a["path"]) for a in record["artifacts"])
    assert record["screenshot"] == str(first) and first.read_bytes() == b"page"
    assert second.read_bytes() == b"figure" and second != first
    assert first.parent == second.parent == tmp_path / "files" / "abc"
