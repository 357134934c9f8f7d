"""The annotator's view, timed in a real browser (figures for the README; not a test).

    .venv/bin/python benchmarks/bench_labeling_browser.py [--votes 15] [--think 2]

JupyterLab on 127.0.0.1 and the system Chromium (Playwright; sandboxed like the page renderer,
the JupyterLab port bridged into its network namespace) at 1400×900, a labeling session
on the bundled Arena-Hard battles (the session's default executor, results from the sandbox's
cache when ``make demo`` ran before: this measures the view, not the runs):

1. **Vote → next battle fully shown**, in the browser: from the key press ``1`` to the page
   showing the next battle's prompt with both outputs in and the vote buttons enabled again
   (polled every animation frame in the page). The person "thinks" ``--think`` seconds
   between votes, as when reading, so the next battle's runs may finish in the background.
2. **Live page interactive**: on a battle with a page, from the battle shown to a click inside
   the live page changing its DOM (a page of the benchmark's own, so it has a button).
3. **Live app**: from a click on **▶ Try it live** to the Streamlit app's input box showing in
   the panel, with a warm pool (``keep_warm("streamlit", 1)``) and cold.

Medians and ranges are printed with the goals (≤ 150 ms, ≤ 1 s, ≤ 5 s warm).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from jupyter_harness import launch_test_browser, open_and_run_all, running_lab  # noqa: E402

F = "```"
PAGE = (
    "<!DOCTYPE html><html><body><button id='go' onclick=\"document.getElementById('out')"
    ".textContent='clicked'\">Go</button><p id='out'>not yet</p></body></html>"
)
APP = "import streamlit as st\nname = st.text_input('Your name')\nst.write('Hello', name)\n"

# The next battle is fully shown: a new prompt, no output still running, the buttons enabled.
_SHOWN = """([before]) => {
  const s = document.querySelector('.arena-session');
  if (!s) return false;
  const prompt = s.querySelector('.arena-prompt');
  if (!prompt || prompt.textContent === before) return false;
  if (s.textContent.includes('the code is running in the sandbox')) return false;
  const vote = [...s.querySelectorAll('button')].find(b => b.textContent === 'A is better');
  return !!vote && !vote.disabled;
}"""


def _notebook(folder: Path, cell: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = folder / "bench.ipynb"
    nbformat.write(notebook, path)
    return path


def _own_battle(folder: Path) -> None:
    prompt = "Make a page with a button, and a small app."

    def messages(answer: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]

    rows = [
        {"response_id": "r-page", "prompt_id": "p1", "model": "m-page",
         "messages": messages(f"{F}html\n{PAGE}\n{F}\n")},
        {"response_id": "r-app", "prompt_id": "p1", "model": "m-app",
         "messages": messages(f"{F}python\n{APP}{F}\n")},
    ]  # fmt: skip
    battle = {"battle_id": "b1", "prompt_id": "p1", "model_a": "m-page", "model_b": "m-app",
              "response_a": "r-page", "response_b": "r-app"}  # fmt: skip
    (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "battles.jsonl").write_text(json.dumps(battle) + "\n")


@contextlib.contextmanager
def _lab(folder: Path):
    from playwright.sync_api import sync_playwright

    with running_lab(folder, folder) as lab, sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [lab.port])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            open_and_run_all(page, lab, "bench.ipynb")
            yield page
        finally:
            cleanup()


def _prompt_text(page) -> str:
    return page.evaluate("() => document.querySelector('.arena-session .arena-prompt')"
                         "?.textContent || ''")  # fmt: skip


def vote_to_next(votes: int, think: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _notebook(
            folder,
            "from arena_kit.labeling import ArenaSession\n"
            "session = ArenaSession(store='votes.sqlite', annotator='bench', seed=3)\nsession",
        )
        with _lab(folder) as page:
            page.wait_for_function(_SHOWN, arg=[""], timeout=300_000, polling="raf")
            return time_votes(page, votes, think)


def time_votes(page, votes: int, think: float) -> list[float]:
    """Seconds from key ``1`` to the next battle fully shown, ``votes`` times, ``think``
    seconds apart (a shown session on ``page``; the Voilà benchmark uses it too)."""
    page.locator(".arena-keys").click()
    times = []
    for _ in range(votes):
        time.sleep(think)
        before = _prompt_text(page)
        started = time.perf_counter()
        page.keyboard.press("1")
        page.wait_for_function(_SHOWN, arg=[before], timeout=300_000, polling="raf")
        times.append(time.perf_counter() - started)
    return times


def live_views(rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"page": [], "app_warm": [], "app_cold": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _own_battle(folder)
        for index in range(rounds):
            for warm in (True, False):
                (folder / "votes.sqlite").unlink(missing_ok=True)
                _notebook(folder, (
                    "from arena_kit.datasets import read_table\n"
                    "from arena_kit.labeling import ArenaSession\n"
                    "from arena_kit.web import keep_warm\n"
                    f"keep_warm('streamlit', {1 if warm else 0})\n"
                    "import time; time.sleep(8 if " + str(warm) + " else 0)\n"
                    "session = ArenaSession(read_table('battles.jsonl', 'battles'),\n"
                    "    read_table('responses.jsonl', 'responses'), store='votes.sqlite',\n"
                    f"    annotator='bench-{index}-{warm}')\n"
                    "session"
                ))  # fmt: skip
                with _lab(folder) as page:
                    page.wait_for_function(_SHOWN, arg=[""], timeout=300_000, polling="raf")
                    shown = time.perf_counter()
                    session = page.locator(".arena-session")
                    side = "A" if session.locator(".arena-panel-A iframe").count() else "B"
                    other = "B" if side == "A" else "A"
                    if warm:
                        live = (session.locator(f".arena-panel-{side} iframe")
                                .content_frame.locator("iframe").content_frame)  # fmt: skip
                        live.locator("#go").click()
                        live.get_by_text("clicked").wait_for(timeout=30_000)
                        out["page"].append(time.perf_counter() - shown)
                    started = time.perf_counter()
                    session.locator(f".arena-panel-{other}").get_by_role(
                        "button", name="▶ Try it live"
                    ).click()
                    frame = session.locator(f".arena-panel-{other} iframe")
                    page.wait_for_function(
                        f"() => document.querySelectorAll('.arena-panel-{other} iframe').length"
                    )
                    frame.content_frame.get_by_label("Your name").wait_for(timeout=120_000)
                    out["app_warm" if warm else "app_cold"].append(time.perf_counter() - started)
    return out


def _line(label: str, values: list[float], goal: str, unit: float = 1.0, fmt: str = ".2f") -> str:
    scaled = [v * unit for v in values]
    return (f"{label:<42}{statistics.median(scaled):>10{fmt}}{min(scaled):>10{fmt}}"
            f"{max(scaled):>10{fmt}}   {goal}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=int, default=15)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--live-rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    votes = vote_to_next(args.votes, args.think)
    live = live_views(args.live_rounds)
    print(f"\n{'':<42}{'median':>10}{'min':>10}{'max':>10}")
    print(_line("vote → next battle shown, in Chromium (ms)", votes, "goal ≤ 150 ms", 1000, ".0f"))
    print(_line("live page interactive after shown (s)", live["page"], "goal ≤ 1 s"))
    print(_line("Try it live → Streamlit app shown, warm (s)", live["app_warm"], "goal ≤ 5 s"))
    print(_line("… cold (s)", live["app_cold"], "—"))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
