"""``arena-kit execute`` throughput on the bundled real battles' answers: 1 vs 2 worker processes.

Each case is the command itself (``python -m arena_kit execute``, a ``LocalCluster`` of N
worker processes with one thread each, so N runs at a time), timed from start to exit on the
answers of the 484 bundled battles, into a fresh output folder, **cold**: ``--refresh``, so no
result comes from the sandbox's result cache and every program runs and every page, app and
game is rendered again on the workers. (A fresh ``ARENA_KIT_CACHE`` would not do: the cache
also holds the sandbox's runtime — Python with its packages, Node, Go, esbuild — and the web
bundles, without which most answers would end ``unsupported`` or ``missing_dependency``; a set-up
worker machine has them.) Figures: executions per second over the whole command (cluster
start-up and the final tables included), and the speed-up of 2 workers over 1. The two runs'
statuses are compared: a run that ends differently under load (a timeout) is counted.

Run: ``.venv/bin/python benchmarks/bench_cluster_execute.py [--workers 1 2] [--max-responses N]``
(several minutes cold on 2 cores; note the load average it prints: other jobs slow it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_command(responses: Path, out: Path, workers: int) -> float:
    """Seconds the command took, start to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "arena_kit", "execute", "--responses", str(responses),
         "--out", str(out), "--workers", str(workers), "--threads", "1", "--refresh"],
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"arena-kit execute failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-responses", type=int, default=0, help="0: every answer")
    args = parser.parse_args()

    from arena_kit.cluster import EXECUTIONS_FILE, RESPONSES_FILE, RUNS_FILE
    from arena_kit.datasets import battle_responses, read_table, write_table

    responses = battle_responses()
    if args.max_responses:
        responses = responses.head(args.max_responses)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before")
    statuses: dict[int, dict[str, str]] = {}
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = write_table(responses, root / "responses.jsonl", "responses")
        for workers in args.workers:
            out = root / f"workers-{workers}"
            seconds = run_command(path, out, workers)
            executions = read_table(out / EXECUTIONS_FILE, "executions")
            linked = read_table(out / RESPONSES_FILE, "responses")
            jobs = sum(1 for _ in (out / RUNS_FILE).open())
            status = dict(zip(executions["execution_id"], executions["status"], strict=True))
            statuses[workers] = {
                str(r): status[e]
                for r, e in zip(linked["response_id"], linked["execution_id"], strict=True)
                if isinstance(e, str)
            }
            print(
                f"{workers} worker process{'es' if workers > 1 else ''}: {jobs} executions "
                f"({len(responses)} answers) in {seconds:.1f} s = {jobs / seconds:.2f} "
                f"executions/s (load average {os.getloadavg()[0]:.1f} after)"
            )
            rates[workers] = jobs / seconds
    if 1 in rates and 2 in rates:
        differ = sum(statuses[1][r] != statuses[2].get(r) for r in statuses[1])
        print(
            f"speed-up, 2 workers over 1: {rates[2] / rates[1]:.2f}x; "
            f"answers whose status differs between the two runs: {differ}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
