"""The served annotator's page, timed in a real browser (a figure for the README; not a test).

    .venv/bin/python benchmarks/bench_serve.py [--votes 30] [--think 2]

The real ``arena-kit label --serve`` on 127.0.0.1 (as root: its kernels run as the served
user), the bundled Arena-Hard battles, a SQLite store in a temporary folder, and the system
Chromium from the sandboxed test launcher at 1400×900:

1. **Page opened → annotator box shown** (Voilà starts the page's kernel and runs the served
   notebook) and **annotator typed → first battle fully shown**.
2. **Vote → next battle fully shown**, in the Voilà page: from the key press ``1`` to the page
   showing the next battle's prompt with both outputs in and the vote buttons enabled again
   (polled every animation frame), after ``--think`` seconds of "reading" each battle, as
   ``bench_labeling_browser.py`` measures it in JupyterLab. The served user's sandbox cache
   (``<arena-kit cache>/serve/<user>``) persists between runs: the first run on a machine
   also times the runs the think time did not cover.

The median, p90 and range are printed with the goal (≤ 200 ms) and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_labeling_browser import _SHOWN, time_votes  # noqa: E402
from jupyter_harness import launch_test_browser  # noqa: E402
from test_serve import running_served  # noqa: E402


def measure(votes: int, think: float) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="arena-kit-bench-serve-"))
    try:
        store = folder / "store"
        store.mkdir()
        store.chmod(0o1777)  # the served user writes the store and its write-ahead log here
        folder.chmod(0o755)
        out: dict[str, list[float]] = {"open": [], "first": [], "vote": []}
        arguments = ["--store", str(store / "votes.sqlite")]
        with running_served(arguments, folder / "serve.log") as server, sync_playwright() as pw:
            browser, cleanup = launch_test_browser(pw, [server.port])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                started = time.perf_counter()
                page.goto(server.url)
                box = page.get_by_placeholder("your annotator id", exact=False)
                box.wait_for(timeout=180_000)
                out["open"].append(time.perf_counter() - started)
                started = time.perf_counter()
                box.fill("bench")
                box.press("Enter")
                page.wait_for_function(_SHOWN, arg=[""], timeout=300_000, polling="raf")
                out["first"].append(time.perf_counter() - started)
                out["vote"] += time_votes(page, votes, think)
            finally:
                cleanup()
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=int, default=30)
    parser.add_argument("--think", type=float, default=2.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    out = measure(args.votes, args.think)
    votes = sorted(v * 1000 for v in out["vote"])
    p90 = votes[min(len(votes) - 1, int(round(0.9 * (len(votes) - 1))))]
    print(f"page opened → annotator box shown: {out['open'][0]:.2f} s")
    print(f"annotator typed → first battle shown: {out['first'][0]:.2f} s")
    print(
        f"vote → next battle shown, served page in Chromium, {len(votes)} votes: median "
        f"{statistics.median(votes):.0f} ms, p90 {p90:.0f} ms, range {votes[0]:.0f}–"
        f"{votes[-1]:.0f} ms (goal ≤ 200 ms median)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
