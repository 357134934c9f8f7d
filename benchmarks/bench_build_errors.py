"""Time from a broken app or game answer to its ``build_error`` (not a test; figures in README).

    .venv/bin/python benchmarks/bench_build_errors.py [--repeat 20]

A Streamlit, Gradio or PyGame answer with a syntax error is compiled (never run) before any
server or display starts; this measures ``execute_code(..., refresh=True)`` end to end,
median of ``--repeat`` runs each. Goal (issue 13): < 2 s for Streamlit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from arena_kit.schema import Status
from arena_kit.web import execute_code

BROKEN = {
    "streamlit": 'import streamlit as st\nst.title("x"\n',
    "gradio": "import gradio as gr\ndef greet(name) return name\n",
    "pygame": "import pygame\nwhile True\n    pass\n",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    for environment, code in BROKEN.items():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = execute_code(code, environment, refresh=True)
            times.append(time.perf_counter() - started)
            assert result.status is Status.BUILD_ERROR, result.message
        print(f"{environment:<10} build_error in {statistics.median(times) * 1000:.1f} ms "
              f"(median of {args.repeat}): {result.message}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
