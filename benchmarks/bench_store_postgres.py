"""Vote store benchmark: votes per second sustained by 8 writer processes, PostgreSQL vs SQLite.

Each writer is its own process with its own :class:`arena_kit.store.VoteStore` (one
connection), as the kernels of a room of annotators are; they start together, each casts
``--votes`` votes through ``record_vote`` (validated, one durable transaction per vote), and
the rate is all votes over the time from the start to the last writer's end.

* **PostgreSQL**: a server of its own in a temporary folder (tests/postgres_harness.py,
  loopback TCP, password auth) with durable settings: ``fsync=on``,
  ``synchronous_commit=on`` (read back from the server and printed), default
  ``wal_sync_method``; a commit is on disk before the vote is acknowledged.
* **SQLite**: one file in WAL mode with ``synchronous=FULL`` (the store's settings), on the
  same disk.

The machine is shared (other work may be running): the load average is printed with the
figures, and each engine is measured ``--rounds`` times in turn (the median is reported).

Run: ``.venv/bin/python benchmarks/bench_store_postgres.py [--writers 8] [--votes 500]
[--rounds 3] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

_WRITER = textwrap.dedent(
    """
    import sys, time
    from arena_kit.store import VoteStore
    location, worker, n, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    store = VoteStore(location)
    while time.time() < start:
        time.sleep(0.002)
    for i in range(n):
        store.record_vote({"battle_id": f"b-{worker}-{i}", "model_a": "alpha", "model_b": "beta",
                           "winner": "tie", "annotator": f"ann-{worker}", "duration_s": 3.2,
                           "reason": "both ran; A's layout is cleaner",
                           "edits": [{"side": "a", "status": "ok"}]})
    print(time.time() - start, flush=True)
    """
)


def run_writers(location: str, writers: int, votes: int) -> float:
    """Votes per second of ``writers`` processes casting ``votes`` each into ``location``."""
    from arena_kit.store import VoteStore

    VoteStore(location).close()  # made before the clock starts
    start = time.time() + 3.0  # after every writer's imports
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, location, str(w), str(votes), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    spans = []
    for process in processes:
        out, err = process.communicate(timeout=900)
        if process.returncode != 0:
            raise RuntimeError(f"a writer failed: {err[-2000:]}")
        spans.append(float(out.strip()))
    with VoteStore(location) as store:
        stored = len(store)
    if stored != writers * votes:
        raise RuntimeError(f"{stored} votes stored, {writers * votes} cast")
    return writers * votes / max(spans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--votes", type=int, default=500, help="votes per writer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from postgres_harness import postgres_unavailable, running_postgres

    reason = postgres_unavailable()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    rates: dict[str, list[float]] = {"postgresql": [], "sqlite": []}
    with running_postgres(fsync=True) as server, tempfile.TemporaryDirectory() as folder:
        import psycopg

        with psycopg.connect(server.url()) as conn:
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("fsync", "synchronous_commit", "wal_sync_method", "server_version")
            }
        for round_ in range(args.rounds):
            url = server.url(server.create_database())
            rates["postgresql"].append(run_writers(url, args.writers, args.votes))
            path = str(Path(folder) / f"votes-{round_}.sqlite")
            rates["sqlite"].append(run_writers(path, args.writers, args.votes))
    load = os.getloadavg()
    print(
        f"{args.writers} writer processes x {args.votes} votes, {args.rounds} rounds; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"PostgreSQL {settings['server_version']}: fsync={settings['fsync']}, "
        f"synchronous_commit={settings['synchronous_commit']}, "
        f"wal_sync_method={settings['wal_sync_method']}; SQLite: WAL, synchronous=FULL"
    )
    print(f"{'engine':<12}{'median votes/s':>16}{'rounds':>28}")
    for engine, values in rates.items():
        rounds = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{engine:<12}{statistics.median(values):>16,.0f}{rounds:>28}")
    if args.json:
        args.json.write_text(json.dumps({"settings": settings, "load": load, "rates": rates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
