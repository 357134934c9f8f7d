"""Labeling benchmark: time from a vote to the next battle fully shown, and active sampling.

1. **Prefetch, cold runs.** A session on the bundled Arena-Hard battles with the session's
   default executor (programs in the bubblewrap sandbox with its result cache bypassed, pages
   rendered in the offline Chromium), so every run of the next battle really runs: the
   next battle's runs start in the background when the current battle is shown, the
   simulated person "thinks" for 2 s, clicks a vote, and the time until the next battle is
   fully shown (prompt, both answers and both outputs in the widgets) is taken.
2. **Fully cached.** The same battles again (a new store, same annotator and seed, so the
   same order) with every run's result already at hand.
3. **Active sampling.** Mean bootstrap interval width after N active picks vs N uniform
   picks, on seeded simulations (:func:`arena_kit.sampling.simulate_sampling`).

The times are measured in the kernel's process (widget state set, i.e. what the browser is
sent); the browser's own paint adds a few ms.

Run: ``.venv/bin/python benchmarks/bench_labeling.py [--battles 25] [--think 2]
[--seeds 5] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _session_pass(store: Path, n: int, think: float, executor, seed: int = 0):
    from arena_kit.labeling import ArenaSession

    session = ArenaSession(
        store=store,
        annotator="bench",
        executor=executor,
        seed=seed,
        repeat_share=0.0,
        sampling="balanced",
    )
    served = []
    try:
        if not session.wait_shown(120):
            raise RuntimeError("the first battle never showed")
        for _ in range(n):
            item = session.controller.current
            if item is None:
                break
            served.append(item)
            time.sleep(think)
            session.click("A")
            if not session.wait_shown(120):
                raise RuntimeError("a battle never showed")
        return list(session.transition_s), served
    finally:
        session.close()


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median_ms": round(1000 * statistics.median(ordered), 1),
        "p90_ms": round(1000 * ordered[int(0.9 * (len(ordered) - 1))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "under_200ms": round(sum(v < 0.2 for v in ordered) / len(ordered), 3),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--battles", type=int, default=25)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--picks", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from arena_kit.labeling import default_executor

    results: dict = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        tmp = Path(folder)
        os.environ["ARENA_KIT_CACHE"] = str(tmp / "cache")
        # The session's default executor: programs in the sandbox, pages/apps rendered in
        # the offline Chromium; refresh=True so that no program comes from the result cache.
        run = default_executor(refresh=True)
        done: dict[tuple, object] = {}

        def cold(code, language, environment):
            result = run(code, language, environment)
            done[(code, language, environment)] = result
            return result

        times, served = _session_pass(tmp / "cold.sqlite", args.battles, args.think, cold)
        results["prefetch_cold"] = _summary(times) | {"think_s": args.think}
        print("prefetch, cold runs during a", args.think, "s think time:", results["prefetch_cold"])

        def cached(code, language, environment):
            key = (code, language, environment)
            return done[key] if key in done else cold(code, language, environment)

        for item in served:  # every run of these battles is in the cache before pass two
            for screen in ("A", "B"):
                turn = item.turns(screen)[-1] if item.turns(screen) else None
                if turn is not None and turn.code is not None and turn.environment is not None:
                    cached(turn.code, turn.language, turn.environment)
        times, _ = _session_pass(tmp / "cached.sqlite", args.battles, 0.3, cached)
        results["fully_cached"] = _summary(times)
        print("fully cached battles:", results["fully_cached"])

    from arena_kit.sampling import simulate_sampling

    widths: dict[str, list[float]] = {}
    started = time.perf_counter()
    for mode in ("uniform", "balanced", "active"):
        widths[mode] = [
            simulate_sampling(mode, args.picks, seed=seed)["mean_width"]
            for seed in range(args.seeds)
        ]
    uniform = statistics.mean(widths["uniform"])
    results["sampling"] = {
        "setup": (
            f"10 models, 600 Elo spread, 5 % ties, 20 warm-up votes, {args.picks} picks, "
            f"{args.seeds} seeds, 100 bootstrap rounds"
        ),
        **{
            mode: {
                "mean_width": round(statistics.mean(values), 1),
                "vs_uniform": round(statistics.mean(values) / uniform - 1, 3),
                "per_seed": [round(v, 1) for v in values],
            }
            for mode, values in widths.items()
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    print("sampling:", json.dumps(results["sampling"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
