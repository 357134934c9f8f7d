"""Sandbox overhead, side by side in one run (not a timed test; figures go in the README).

    .venv/bin/python benchmarks/bench_sandbox.py [--repeat 20] [--jobs 200] [--no-docker]

Measures, on this machine, medians of ``--repeat`` runs, interleaved:

1. Python "hello": ``run()`` in bwrap (cold: a fresh sandbox per run; its cgroup from a
   launcher made in the background, and again without launchers) vs the same interpreter
   with the same launcher script, flags and site-packages started directly (bare, cold).
2. The same with a warm pool of pre-started bwrap sandboxes → ratio to bare.
3. C: compile + run in bwrap vs gcc + ./main directly → ratio.
4. Docker: Python "hello" per run, cold (a container per run) and warm (pre-started).
5. ``run_many`` throughput on ``--jobs`` small Python jobs (runs per second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arena_kit.sandbox import get_backend, run, run_many
from arena_kit.sandbox.paths import runtime_dir

HELLO_PY = "print('hello')\n"
HELLO_C = '#include <stdio.h>\nint main(void){ puts("hello"); return 0; }\n'
LAUNCHER = Path(__file__).resolve().parents[1] / "arena_kit" / "sandbox" / "pylaunch.py"


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _bare_python(work: Path) -> None:
    python = runtime_dir() / "venv" / "bin" / "python"
    if not python.exists():
        python = Path("/usr/bin/python3")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
    }
    subprocess.run([str(python), str(LAUNCHER), "main.py"], cwd=work, env=env, check=True,
                   capture_output=True)  # fmt: skip


def _bare_c(work: Path) -> None:
    subprocess.run(["gcc", "-O2", "-std=gnu17", "-pipe", "-o", "main", "main.c", "-lm"],
                   cwd=work, check=True, capture_output=True)  # fmt: skip
    subprocess.run(["./main"], cwd=work, check=True, capture_output=True)


def _sandboxed(code: str, language: str, backend: str) -> None:
    result = run(code, language, backend=backend, cache=False)
    assert result.ok, result.message


def median_pair(first, second, repeat: int, pause: float = 0.0) -> tuple[float, float]:
    a, b = [], []
    for _ in range(repeat):
        a.append(_timed(first))
        b.append(_timed(second))
        if pause:
            time.sleep(pause)
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "main.py").write_text(HELLO_PY)
        (work / "main.c").write_text(HELLO_C)
        for _ in range(3):  # warm the file cache and the runtime resolution
            _bare_python(work)
            _sandboxed(HELLO_PY, "python", "bwrap")

        def python_row(label: str, pause: float) -> float:
            """Python hello, bare and sandboxed interleaved: a row; the sandboxed median."""
            bare, boxed = median_pair(
                lambda: _bare_python(work), lambda: _sandboxed(HELLO_PY, "python", "bwrap"),
                args.repeat, pause=pause,
            )  # fmt: skip
            rows.append((f"Python hello, bwrap {label}", f"{boxed * 1000:.0f} ms",
                         f"{boxed / bare:.2f}× bare ({bare * 1000:.0f} ms)"))  # fmt: skip
            return boxed

        # Cold: a fresh sandbox per run, made in the background by a ready launcher (the
        # default: namespaces, mounts, cgroup and work dir made ahead; the interpreter starts
        # with the run); the pause lets the pool refill, as it does between the runs of a
        # person or a notebook.
        boxed = python_row("cold", pause=0.05)
        backend = get_backend("bwrap")
        backend.launchers(2, ready=0)  # cgroup and network namespace ahead, bwrap in the run
        python_row("cold, made in the run", pause=0.05)
        backend.launchers(0)  # the cgroup made and joined inside the run
        python_row("cold, no launchers", pause=0.05)
        backend.launchers(2)
        backend.warm(2)
        time.sleep(1.0)
        python_row("warm pool", pause=0.15)  # the pool refills: this measures a ready sandbox
        backend.close()

        bare_c, boxed_c = median_pair(
            lambda: _bare_c(work), lambda: _sandboxed(HELLO_C, "c", "bwrap"), args.repeat
        )
        rows.append(("C compile + run, bwrap", f"{boxed_c * 1000:.0f} ms",
                     f"{boxed_c / bare_c:.2f}× bare ({bare_c * 1000:.0f} ms)"))  # fmt: skip

        if not args.no_docker:
            rows += _docker_rows(args.repeat, boxed)

        jobs = [f"print({n} * {n})" for n in range(args.jobs)]
        started = time.perf_counter()
        results = run_many(jobs, progress=False, cache=False, backend="bwrap")
        elapsed = time.perf_counter() - started
        assert all(r.ok for r in results)
        rows.append((f"run_many, {args.jobs} small Python jobs", f"{elapsed:.1f} s",
                     f"{args.jobs / elapsed:.1f} runs/s on {os.cpu_count()} cores"))  # fmt: skip

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median':>8}  comparison")
    for name, value, comparison in rows:
        print(f"{name:<{width}}  {value:>8}  {comparison}")
    return 0


def _docker_rows(repeat: int, bwrap_cold: float) -> list[tuple[str, str, str]]:
    from arena_kit.sandbox.testing import docker_preparable, prepare_docker

    reason = docker_preparable()
    if reason is not None:
        return [("Docker", "n/a", reason)]
    from arena_kit.sandbox.dockerd import stop_shared_engine

    prepare_docker("ci")
    try:
        _sandboxed(HELLO_PY, "python", "docker")
        cold = statistics.median(
            _timed(lambda: _sandboxed(HELLO_PY, "python", "docker")) for _ in range(repeat)
        )
        backend = get_backend("docker")
        backend.warm(2)
        time.sleep(3)
        times = []
        for _ in range(repeat):
            times.append(_timed(lambda: _sandboxed(HELLO_PY, "python", "docker")))
            time.sleep(0.6)  # let the pool refill: this measures a ready container
        backend.close()
        warm = statistics.median(times)
    finally:
        stop_shared_engine()
    return [
        ("Python hello, docker cold", f"{cold * 1000:.0f} ms",
         f"{cold / bwrap_cold:.1f}× bwrap cold"),
        ("Python hello, docker warm", f"{warm * 1000:.0f} ms",
         f"{warm / bwrap_cold:.1f}× bwrap cold"),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
