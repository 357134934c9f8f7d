"""Judge throughput against a local OpenAI-protocol server, and the cache-hit path.

Starts the scripted server of ``tests/openai_server.py`` in its own process on 127.0.0.1 with
a fixed latency per request (default 50 ms, a stand-in for a model's answer time), then times,
side by side in one run:

1. ``ModelClient.complete_many`` at concurrency 1 and 16 (requests/s; the ideal is
   concurrency / latency);
2. the whole judge path (``LLMJudge.judge``: render, request, parse) on synthetic battles, both
   sides (two games per battle), at concurrency 16;
3. the same judge run again, every answer from the disk cache (no request sent).

Usage::

    .venv/bin/python benchmarks/bench_judges.py [--requests 400] [--latency 0.05] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable, str(ROOT / "tests" / "openai_server.py"),
            "--port", "0", "--latency", str(latency), "--judge", "json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return process, line.split()[-1]


def synthetic_battles(count: int):  # type: ignore[no-untyped-def]
    from arena_kit.judges import BattleInput

    code = "```python\n" + "\n".join(f"print({i} * {i})" for i in range(40)) + "\n```"
    battles = []
    for index in range(count):
        marker = "GOOD" if index % 3 == 0 else ""
        battles.append(
            BattleInput(
                battle_id=f"b{index}",
                instruction=f"Task {index}: print squares",
                model_a="alpha",
                model_b="beta",
                messages_a=[
                    {"role": "user", "content": f"Task {index}: print squares"},
                    {"role": "assistant", "content": f"{marker} {code}"},
                ],
                messages_b=[
                    {"role": "user", "content": f"Task {index}: print squares"},
                    {"role": "assistant", "content": code},
                ],
                category="problem_solving",
            )
        )
    return battles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    options = parser.parse_args()

    from arena_kit.judges import LLMJudge
    from arena_kit.models import ModelClient

    process, base_url = start_server(options.latency)
    figures: dict[str, float | int | str] = {
        "requests": options.requests,
        "server_latency_s": options.latency,
    }
    try:
        with tempfile.TemporaryDirectory() as scratch:
            settings = {"base_url": base_url, "api_key_env": None, "max_retries": 0}

            def requests(count: int, tag: str):  # type: ignore[no-untyped-def]
                return [
                    ("judge", [{"role": "user", "content": f"{tag} question {i}" + "x" * 2000}])
                    for i in range(count)
                ]

            # Warm up (SDK import, connection set-up) outside the timings.
            ModelClient(settings, cache_dir=None, concurrency=2).complete_many(
                requests(4, "warm"), progress=False
            )
            for concurrency in (1, 16):
                count = options.requests if concurrency > 1 else max(20, options.requests // 10)
                client = ModelClient(settings, cache_dir=None, concurrency=concurrency)
                started = time.perf_counter()
                answers = client.complete_many(requests(count, f"c{concurrency}"), progress=False)
                elapsed = time.perf_counter() - started
                assert all(a.ok for a in answers)
                figures[f"client_rps_c{concurrency}"] = count / elapsed
                figures[f"client_ideal_rps_c{concurrency}"] = concurrency / options.latency

            battles = synthetic_battles(options.requests // 2)
            cache = Path(scratch) / "cache"
            client = ModelClient(settings, cache_dir=str(cache), concurrency=16)
            judge = LLMJudge(client, "judge")
            started = time.perf_counter()
            verdicts = judge.judge(battles, mode="code_only", sides="both", progress=False)
            cold = time.perf_counter() - started
            assert (verdicts["parse_status"] == "json").all()
            figures["judge_games"] = len(verdicts)
            figures["judge_cold_games_per_s"] = len(verdicts) / cold
            started = time.perf_counter()
            again = judge.judge(battles, mode="code_only", sides="both", progress=False)
            warm = time.perf_counter() - started
            assert again["cached"].all()
            assert again["winner"].tolist() == verdicts["winner"].tolist()
            figures["judge_cached_games_per_s"] = len(again) / warm
            figures["cache_speedup"] = cold / warm
            figures["cache_files"] = sum(1 for _ in cache.rglob("*.json"))
    finally:
        process.terminate()
        process.wait(timeout=10)

    width = max(map(len, figures))
    for name, value in figures.items():
        if isinstance(value, float):
            shown = f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
        else:
            shown = str(value)
        print(f"{name:<{width}}  {shown}")
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
