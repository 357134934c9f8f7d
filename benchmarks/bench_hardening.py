"""What containment costs: sandbox speed before and after a change, in one run (not a test).

    .venv/bin/python benchmarks/bench_hardening.py --before REV [--rounds 6] [--repeat 10]

``REV`` is a commit of this repository from before the change (for issue 12's hardening:
``18b0c9c``). It is checked out into a temporary git worktree, and both trees are measured
by the same probe, alternately, ``--rounds`` times each, so that both see the same load: each
probe takes ``--repeat`` interleaved timings of Python "hello" run directly (bare: the same
interpreter and launcher script), in a fresh bwrap sandbox per run (cold) and from a warm
pool. The figures are the medians over all timings of each tree; the bare figure is measured
in both, so each tree's ratio uses its own bare runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
HELLO = "print('hello')\n"


def _probe(repeat: int) -> dict[str, list[float]]:
    """Timings in this process's arena_kit (whichever tree PYTHONPATH puts first)."""
    import arena_kit
    from arena_kit.sandbox import get_backend, run
    from arena_kit.sandbox.paths import runtime_dir

    launcher = Path(arena_kit.__file__).parent / "sandbox" / "pylaunch.py"
    python = runtime_dir() / "venv" / "bin" / "python"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1"}  # fmt: skip

    def timed(function) -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    def sandboxed() -> None:
        result = run(HELLO, "python", backend="bwrap", cache=False)
        assert result.ok, result.message

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "main.py").write_text(HELLO)

        def bare() -> None:
            subprocess.run([str(python), str(launcher), "main.py"], cwd=tmp, env=env,
                           check=True, capture_output=True)  # fmt: skip

        for _ in range(3):  # file cache, runtime resolution, launchers
            bare()
            sandboxed()
        out: dict[str, list[float]] = {"bare": [], "cold": [], "bare_w": [], "warm": []}
        for _ in range(repeat):
            out["bare"].append(timed(bare))
            out["cold"].append(timed(sandboxed))
            time.sleep(0.05)  # launchers refill between runs, as between a person's runs
        backend = get_backend("bwrap")
        backend.warm(2)
        time.sleep(1.0)
        for _ in range(repeat):
            out["bare_w"].append(timed(bare))
            out["warm"].append(timed(sandboxed))
            time.sleep(0.15)  # the pool refills: this measures a ready sandbox
        backend.close()
    return out


def _run_probe(tree: Path, repeat: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(HERE), "--probe", "--repeat", str(repeat)],
        cwd=tempfile.gettempdir(), env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(name: str, times: dict[str, list[float]]) -> str:
    ms = {key: statistics.median(values) * 1000 for key, values in times.items()}
    return (
        f"{name:<8} cold {ms['cold']:6.1f} ms ({ms['cold'] / ms['bare']:.2f}× bare "
        f"{ms['bare']:.1f} ms)   warm {ms['warm']:6.1f} ms ({ms['warm'] / ms['bare_w']:.2f}× "
        f"bare {ms['bare_w']:.1f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="a commit from before the change")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(_probe(args.repeat)))
        return 0
    if not args.before:
        parser.error("--before REV is required")
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before),
                        args.before], check=True, capture_output=True)  # fmt: skip
        try:
            totals: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            for round_ in range(args.rounds):
                for name, tree in (("before", before), ("after", ROOT)):
                    for key, values in _run_probe(tree, args.repeat).items():
                        totals[name].setdefault(key, []).extend(values)
                print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(before)], check=False)  # fmt: skip
    load = os.getloadavg()[0]
    print(
        f"Python hello, medians of {args.rounds * args.repeat} interleaved runs (load {load:.1f})"
    )
    print(_row("before", totals["before"]))
    print(_row("after", totals["after"]))
    cold = {n: statistics.median(t["cold"]) * 1000 for n, t in totals.items()}
    print(f"cold, after − before: {cold['after'] - cold['before']:+.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
