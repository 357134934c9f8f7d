"""The result cache and ``run_many`` on threads, processes and a real Dask cluster."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import time
import uuid

import pytest

from arena_kit.sandbox import Status, run, run_many

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")


def test_a_repeated_run_comes_from_the_cache():
    code = f"print('{uuid.uuid4()}')"
    first = run(code, "python")
    assert first.status is Status.OK and not first.cached
    started = time.perf_counter()
    second = run(code, "python")
    assert second.cached and time.perf_counter() - started < 0.2  # no sandbox started
    assert second.execution_id == first.execution_id and second.stdout == first.stdout
    fresh = run(code, "python", refresh=True)
    assert not fresh.cached and fresh.execution_id == first.execution_id
    other_limits = run(code, "python", limits={"wall_s": 3})
    assert other_limits.execution_id != first.execution_id and not other_limits.cached


def test_run_many_keeps_the_order_of_jobs():
    jobs = [f"print({n} * 2)" for n in range(12)]
    results = run_many(jobs, progress=False, cache=False)
    assert [r.stdout.strip() for r in results] == [str(n * 2) for n in range(12)]


def test_run_many_accepts_tuples_dicts_and_a_process_pool():
    jobs = [("console.log(1 + 1)", "javascript"), {"code": "print(3)", "language": "python"}]
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        results = run_many(jobs, executor=pool, progress=False, cache=False)
    assert [r.stdout.strip() for r in results] == ["2", "3"]
    assert all(r.status is Status.OK for r in results)


def test_run_many_shows_a_progress_bar(capsys):
    run_many(["print(1)", "print(2)"], progress=True, cache=False)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.slow
def test_run_many_on_a_dask_local_cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        assert os.getpid() not in worker_pids and len(worker_pids) == 2
        code = "import os\nprint(os.getpid(), {n})"
        jobs = [{"code": code.replace("{n}", str(n)), "cache": False} for n in range(16)]
        results = run_many(jobs, executor=client.get_executor(), progress=False)
    assert all(r.status is Status.OK for r in results)
    assert [int(r.stdout.split()[1]) for r in results] == list(range(16))


def test_the_same_result_stored_by_many_threads_at_once():
    """Two answers with the same code run in parallel store one result twice, concurrently."""
    from arena_kit.sandbox import cache

    result = run("print(42)", language="python", refresh=True)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: cache.store(result), range(500)))
    stored = cache.load(result.execution_id)
    assert stored is not None and stored.stdout == "42\n"
    leftovers = list(cache._path(result.execution_id).parent.glob(".*.tmp"))
    assert leftovers == []
