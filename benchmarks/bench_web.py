"""Time from a response's text to its screenshot, per visual environment (figures for the README).

    .venv/bin/python benchmarks/bench_web.py [--repeat 5] [--app-repeat 3] [--only react,...]

On a warm machine (the browser started once, in its sandbox; the sandbox runtime and npm cache
set up): for each bundled sample (HTML, JavaScript, React, Vue, Mermaid, Markdown, PyGame,
Streamlit, Gradio, a Flask and an Express server), ``execute_response(markdown)`` is timed end
to end — detection, build, sandbox, render, screenshot — ``--repeat`` times (``--app-repeat``
for app and web servers); the median and the range are printed with the goal (3 s; 8 s for app
servers; 5 s for web servers) and the load average, since a busy machine slows every figure.
App servers are timed twice: cold (a fresh sandbox that imports Streamlit/Gradio) and with a
warm pool (``keep_warm``: the import already paid, ``--pool-wait`` seconds between runs for the
pool to refill). PyGame's figure includes its capture time (``duration_s``, 2 s by default).
Runs are ``--idle`` seconds apart (default 1 s), as when a person looks at each result: the
browser opens the next page's tab then.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from arena_kit.web import execute_response, get_browser, web_samples
from arena_kit.web.apps import keep_warm

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
    "server": "flask_todo",
    "server (node)": "express_hello",
}
APPS = ("streamlit", "gradio")
SERVERS = ("server", "server (node)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--app-repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated environments")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds between runs")
    parser.add_argument("--no-warm-pool", action="store_true", help="skip the app pool runs")
    parser.add_argument("--pool-wait", type=float, default=20.0, help="pool refill wait, s")
    args = parser.parse_args()
    wanted = [e for e in (args.only.split(",") if args.only else CASES) if e]
    markdown = {s.name: s.markdown for s in web_samples()}
    started = time.perf_counter()
    get_browser().warm()
    print(f"browser start (once per process): {time.perf_counter() - started:.2f} s")
    # Its processes are listed only when it runs in its sandbox (older trees: no such call).
    sandboxed = bool(getattr(get_browser(), "pids", list)())
    print(f"browser: {'sandboxed (bwrap, own network namespace)' if sandboxed else 'direct'}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'environment':<24}{'median s':>10}{'min s':>8}{'max s':>8}{'goal s':>8}  status")
    runs = [(e, False) for e in wanted]
    runs += [(e, True) for e in wanted if e in APPS and not args.no_warm_pool]
    for environment, pooled in runs:
        text = markdown[CASES[environment]]
        if pooled:
            keep_warm(environment, 1)
            time.sleep(args.pool_wait)  # the pool's sandbox imports the framework
        else:
            execute_response(text)  # warm-up: first build of this kind, caches
        times, statuses = [], set()
        for _ in range(args.app_repeat if environment in APPS + SERVERS else args.repeat):
            time.sleep(args.pool_wait if pooled else args.idle)
            begin = time.perf_counter()
            result = execute_response(text, refresh=True)
            times.append(time.perf_counter() - begin)
            statuses.add(result.status.value)
        if pooled:
            keep_warm(environment, 0)
        goal = 8.0 if environment in APPS else 5.0 if environment in SERVERS else 3.0
        label = environment + (" (warm pool)" if pooled else "")
        print(
            f"{label:<24}{statistics.median(times):>10.2f}{min(times):>8.2f}"
            f"{max(times):>8.2f}{goal:>8.1f}  {','.join(sorted(statuses))}"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
