"""Time from a response's text to its screenshot, per visual environment (figures for the README).

    .venv/bin/python benchmarks/bench_web.py [--repeat 5] [--app-repeat 3] [--only react,...]

On a warm machine (the browser started once, the sandbox runtime and npm cache set up): for
each bundled sample (HTML, JavaScript, React, Vue, Mermaid, Markdown, PyGame, Streamlit,
Gradio), ``execute_response(markdown)`` is timed end to end — detection, build, sandbox,
render, screenshot — ``--repeat`` times (``--app-repeat`` for the app servers); the median
and the range are printed with the goal (3 s; 8 s for app servers) and the load average, since
a busy machine slows every figure. PyGame's figure includes its capture time
(``duration_s``, 2 s by default). Runs are ``--idle`` seconds apart (default 1 s), as when a
person looks at each result: the browser opens the next page's tab in that time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from arena_kit.web import execute_response, get_browser, web_samples

CASES = {
    "html": "html_chart",
    "javascript": "js_canvas",
    "react": "react_counter",
    "vue": "vue_todo",
    "mermaid": "mermaid_flow",
    "markdown": "markdown_notes",
    "pygame": "pygame_bounce",
    "streamlit": "streamlit_dashboard",
    "gradio": "gradio_greeter",
}
APPS = ("streamlit", "gradio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--app-repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated environments")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds between runs")
    args = parser.parse_args()
    wanted = [e for e in (args.only.split(",") if args.only else CASES) if e]
    markdown = {s.name: s.markdown for s in web_samples()}
    started = time.perf_counter()
    get_browser().warm()
    print(f"browser start (once per process): {time.perf_counter() - started:.2f} s")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'environment':<12}{'median s':>10}{'min s':>8}{'max s':>8}{'goal s':>8}  status")
    for environment in wanted:
        text = markdown[CASES[environment]]
        execute_response(text)  # warm-up: first build of this kind, caches
        times, statuses = [], set()
        for _ in range(args.app_repeat if environment in APPS else args.repeat):
            time.sleep(args.idle)  # a person reads the last result; the browser readies a tab
            begin = time.perf_counter()
            result = execute_response(text, refresh=True)
            times.append(time.perf_counter() - begin)
            statuses.add(result.status.value)
        goal = 8.0 if environment in APPS else 3.0
        print(
            f"{environment:<12}{statistics.median(times):>10.2f}{min(times):>8.2f}"
            f"{max(times):>8.2f}{goal:>8.1f}  {','.join(sorted(statuses))}"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
