"""The live arena, timed in a real browser (figures for the README; not a test).

    .venv/bin/python benchmarks/bench_live_arena.py [--rounds 3]

JupyterLab on 127.0.0.1 and the system Chromium (Playwright, sandboxed as the tests launch it)
at 1400×900; a :class:`~arena_kit.labeling.LiveArena` against the loopback OpenAI-protocol
server of the tests (``tests/openai_server.py``) streaming real Arena-Hard answers at about 600
characters a second (12 characters every 20 ms, two models at once), every run fresh (the
sandbox's result cache bypassed: ``default_executor(refresh=True)``). Each round is a real
Arena-Hard question whose answers are all Python, or all HTML pages, voted on once complete.

A ``MutationObserver`` in the page notes (``Date.now()``) every change of each panel: how many
characters of the answer it shows, how many finished run outputs, how many live page frames.
The server notes (``time.time()``, the same clock) when each piece of each answer left it.

1. **Streamed text shown**: for each piece, from the server sending it to the page first
   showing at least that many characters of that answer — the first piece of each answer,
   and every piece.
2. **Answer complete → Python output shown**: from the server sending a Python answer's last
   piece to the panel showing its run's outcome (status line and output).
3. **Page answer → live view**: from the server sending an HTML answer's last piece to the
   live page's frame in the panel (the page is built and screenshotted first).

Goals: ≤ 100 ms, ≤ 1 s, ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
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
from openai_server import ReplayScript, ScriptedOpenAIServer  # noqa: E402

PYTHON = (
    "write a code to generate random password in python",
    "Write a Python function that returns a list of email addresses from a string.",
    "I have a scale of 1 to 7. 1 being the best and 7 the worst.",
)
PAGES = (
    'Create an "impossible triangle" with an SVG',
    "I'm having trouble with css. I have two buttons",
    "how can i use css flexbox to put an image on the same line",
)

_RECORD = """() => {
  window.__arena = [];
  const last = {};
  const note = () => {
    const now = Date.now();
    for (const s of ['A', 'B']) {
      const panel = document.querySelector(`.arena-panel-${s}`);
      if (!panel) continue;
      const text = panel.querySelector('.arena-stream-text');
      const n = text ? text.textContent.length : -1;
      const head = text ? text.textContent.slice(0, 80) : '';
      const outs = [...panel.querySelectorAll('.arena-out .arena-status')]
        .filter(e => !e.textContent.includes('running')).length;
      const frames = panel.querySelectorAll('.arena-live-page iframe').length;
      const key = `${n}|${outs}|${frames}`;
      if (last[s] !== key) {
        last[s] = key;
        window.__arena.push({t: now, s, n, head, outs, frames});
      }
    }
  };
  new MutationObserver(note).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


def _notebook(folder: Path, base_url: str) -> None:
    client = {
        "base_url": base_url, "api_key_env": None, "cache_dir": None,
        "models": {"alpha": {"model": "gpt-4-0314"}, "beta": {"model": "gpt-4-0613"}},
    }  # fmt: skip
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from arena_kit.labeling import LiveArena, default_executor\n"
            f"arena = LiveArena(client={client!r}, store='bench.sqlite',\n"
            "                  annotator='bench', seed=1,\n"
            "                  executor=default_executor(refresh=True))\n"
            "arena"
        )
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / "bench.ipynb")


def _question(script: ReplayScript, start: str) -> str:
    (found,) = [q for q in script.answers["gpt-4-0314"] if q.startswith(start)]
    return found


def _answers(server: ScriptedOpenAIServer, numbers: set[int]) -> dict[int, dict]:
    """Per response number: its text, each piece (time sent in ms, characters so far), end."""
    out: dict[int, dict] = {}
    with server.lock:
        sent = list(server.sent)
    for number, at, chars, piece in sent:
        if number not in numbers:
            continue
        entry = out.setdefault(number, {"text": "", "pieces": [], "end": None})
        if piece is None:
            entry["end"] = at * 1000
        else:
            entry["text"] += piece
            entry["pieces"].append((at * 1000, chars))
    return out


def _match(head: str, answers: dict[int, dict]) -> dict | None:
    """The answer a panel shows, by its first characters (None when two would fit)."""
    fits = [a for a in answers.values() if head and a["text"].startswith(head)]
    return fits[0] if len(fits) == 1 else None


def measure(rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"first": [], "pieces": [], "python": [], "page": []}
    script = ReplayScript.from_arena_hard(chunk_chars=12, chunk_delay_s=0.02)
    plan = [(_question(script, p), "python") for p in PYTHON[:rounds]]
    plan += [(_question(script, p), "page") for p in PAGES[:rounds]]
    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptedOpenAIServer(script=script) as server,
    ):
        folder = Path(tmp)
        _notebook(folder, server.base_url)
        with running_lab(folder, folder) as lab, sync_playwright() as playwright:
            browser, cleanup = launch_test_browser(playwright, [lab.port])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                open_and_run_all(page, lab, "bench.ipynb")
                session = page.locator(".arena-session")
                box = session.locator(".arena-composer textarea")
                box.wait_for(timeout=300_000)
                page.evaluate(_RECORD)
                vote = session.get_by_role("button", name="Tie")
                for prompt, kind in plan:
                    time.sleep(1.0)  # a person reads between rounds
                    with server.lock:
                        before = {n for n, *_ in server.sent}
                    page.evaluate("() => { window.__arena = []; }")
                    box.fill(prompt)
                    session.get_by_role("button", name="Send ▶").click()
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('.arena-session button')]"
                        ".some(b => b.textContent === 'Tie' && !b.disabled)",
                        timeout=300_000, polling="raf",
                    )  # fmt: skip
                    time.sleep(0.3)  # the last notes of the page
                    events = page.evaluate("() => window.__arena")
                    with server.lock:
                        numbers = {n for n, *_ in server.sent} - before
                    _score(events, _answers(server, numbers), kind, out)
                    vote.click()
                    page.wait_for_function(
                        "() => document.querySelector('.arena-session').textContent"
                        ".includes('Revealed')"
                    )
            finally:
                cleanup()
    return out


def _score(events: list[dict], answers: dict[int, dict], kind: str, out: dict) -> None:
    for screen in ("A", "B"):
        mine = [e for e in events if e["s"] == screen]
        heads = [e["head"] for e in mine if e["n"] > 0]
        answer = _match(max(heads, key=len), answers) if heads else None
        if answer is None:
            continue  # ambiguous or never seen: not counted
        shown = [(e["t"], e["n"]) for e in mine if e["n"] > 0]
        for index, (sent_ms, chars) in enumerate(answer["pieces"]):
            seen = next((t for t, n in shown if n >= chars), None)
            if seen is None:
                continue  # the answer completed between two notes: the panel was rebuilt
            out["pieces"].append(seen - sent_ms)
            if index == 0:
                out["first"].append(seen - sent_ms)
        end = answer["end"]
        if end is None:
            continue
        if kind == "python":
            done = next((e["t"] for e in mine if e["t"] >= end and e["outs"] >= 1), None)
        else:
            done = next((e["t"] for e in mine if e["t"] >= end and e["frames"] >= 1), None)
        if done is not None:
            out[kind].append((done - end) / 1000)


def _line(label: str, values: list[float], goal: str, fmt: str = ".0f") -> str:
    if not values:
        return f"{label:<46}{'—':>9}   {goal}"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"{label:<46}{statistics.median(values):>9{fmt}}{p90:>9{fmt}}"
            f"{max(values):>9{fmt}}{len(values):>6}   {goal}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind (≤ 3)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with contextlib.redirect_stderr(sys.stderr):
        out = measure(min(args.rounds, 3))
    print(f"\n{'':<46}{'median':>9}{'p90':>9}{'max':>9}{'n':>6}")
    print(_line("first piece of an answer → shown (ms)", out["first"], "goal ≤ 100 ms"))
    print(_line("every piece → shown (ms)", out["pieces"], "goal ≤ 100 ms"))
    print(_line("Python answer complete → output shown (s)", out["python"], "goal ≤ 1 s", ".2f"))
    print(_line("page answer complete → live view (s)", out["page"], "goal ≤ 1.5 s", ".2f"))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
