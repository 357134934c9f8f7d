"""The demo report, end to end: the figure issue #7 asks for (goal: under 60 s warm).

Times ``arena_kit.report.run`` on the demo's inputs — the bundled **simulated** votes, the
real battles' answers (executed by 01_execute), the judges' notebooks — exactly as
``make demo`` calls it:

- **warm**: after one run, so the sandbox's result cache and the rendered pages are at hand
  (the figure the issue's goal is about);
- **cold** (``--cold``): the sandbox's result cache emptied first, so every answer runs again.

Run: ``.venv/bin/python benchmarks/bench_report.py [--cold] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def demo_report(out: Path) -> float:
    from arena_kit.datasets import DATA_DIR, battle_responses, write_table
    from arena_kit.report import run

    responses = write_table(battle_responses(), out.parent / "responses.parquet", "responses")
    started = time.perf_counter()
    run(
        DATA_DIR / "simulated" / "simulated-votes.jsonl",
        out,
        responses=responses,
        judges="bundled",
        progress=False,
        parameters={"wall_s": 5},
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time a run with empty caches")
    parser.add_argument("--repeats", type=int, default=2, help="warm runs (median reported)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if args.cold:
            from arena_kit.sandbox import cache

            removed = cache.clear()
            seconds = demo_report(root / "cold")
            print(f"cold  (result cache emptied, {removed} results): {seconds:6.1f} s")
        else:
            demo_report(root / "prime")  # makes sure the caches are warm
        warm = [demo_report(root / f"warm-{i}") for i in range(args.repeats)]
        print(
            f"warm  (median of {len(warm)}): {statistics.median(warm):6.1f} s "
            f"[{', '.join(f'{s:.1f}' for s in warm)}]  goal < 60 s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
