"""The annotator's view in a real browser: JupyterLab on loopback, a labeling session on one
battle made for the test — a page with a button on one side, a Streamlit app on the other, a
long prompt — opened at 1400×900 in the system Chromium, sandboxed like the page renderer
(``launch_test_browser``: only the JupyterLab port is bridged into its network namespace).

What a person must be able to do without hunting or scrolling sideways: see both outputs
first, click inside the live page and see it change, start the app live and type into it,
vote with the buttons on screen; the clicks and the opened live view are stored with the vote.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest
from jupyter_harness import launch_test_browser, open_and_run_all, running_lab
from test_label_e2e import CHROMIUM, _wait

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed"),
]
F = "```"
PAGE = (
    "<!DOCTYPE html><html><body><button id='go' onclick=\"n++;"
    "document.getElementById('out').textContent='clicked '+n\">Go</button>"
    "<p id='out'>not yet</p><script>var n=0;</script></body></html>"
)
APP = (
    "import streamlit as st\nname = st.text_input('Your name')\n"
    "st.write(f'Hello, {name or \"nobody\"}!')\n"
)
PROMPT = "Build a small interactive thing. " + "Explain each step in detail, please. " * 60


def _write_inputs(folder: Path) -> None:
    def messages(answer: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": answer}]

    responses = [
        {"response_id": "r-page", "prompt_id": "p1", "model": "model-page",
         "messages": messages(f"Here:\n\n{F}html\n{PAGE}\n{F}\n")},
        {"response_id": "r-app", "prompt_id": "p1", "model": "model-app",
         "messages": messages(f"Here:\n\n{F}python\n{APP}{F}\n")},
    ]  # fmt: skip
    battle = {
        "battle_id": "b1", "prompt_id": "p1", "category": "web_design", "model_a": "model-page",
        "model_b": "model-app", "response_a": "r-page", "response_b": "r-app", "lang_a": "html",
        "lang_b": "python", "source": "test",
    }  # fmt: skip
    (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in responses))
    (folder / "battles.jsonl").write_text(json.dumps(battle) + "\n")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from arena_kit.datasets import read_table\n"
            "from arena_kit.labeling import ArenaSession\n"
            "session = ArenaSession(read_table('battles.jsonl', 'battles'),\n"
            "                       read_table('responses.jsonl', 'responses'),\n"
            "                       store='votes.sqlite', annotator='live-tester')\n"
            "session"
        )
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / "live.ipynb")


def _interactions(store: Path) -> dict:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT json_extract(payload, '$.interactions') FROM events WHERE kind = 'vote'"
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) == 1
    return json.loads(rows[0][0])


def test_a_person_tries_both_outputs_and_votes_without_scrolling(tmp_path):
    from playwright.sync_api import sync_playwright

    work = tmp_path / "work"
    work.mkdir()
    _write_inputs(work)
    shots = Path(os.environ.get("ARENA_KIT_SHOTS", tmp_path))
    with running_lab(work, tmp_path) as lab, sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [lab.port])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            open_and_run_all(page, lab, "live.ipynb")
            session = page.locator(".arena-session")
            vote_a = session.get_by_role("button", name="A is better")
            _wait(lambda: vote_a.is_visible() and vote_a.is_enabled(), 180, "both outputs")
            # Which panel shows what: the sides are in a random order.
            page_side = "A" if session.locator(".arena-panel-A iframe").count() else "B"
            app_side = "B" if page_side == "A" else "A"
            page.screenshot(path=str(shots / "live-1-shown.png"))

            # Output first, a long prompt folded: with the session at the top of the window
            # (as a person scrolls it), the vote buttons are on screen.
            session.evaluate("node => node.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            box = vote_a.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, box
            assert session.get_by_text("show all").is_visible()

            # The app's screenshot fills its panel's width: scaled, not cropped.
            shot = session.locator(f".arena-panel-{app_side} .arena-shot img")
            panel = session.locator(f".arena-panel-{app_side} .arena-out")
            shot_box, panel_box = shot.bounding_box(), panel.bounding_box()
            assert shot_box and panel_box
            assert abs(shot_box["width"] - (panel_box["width"] - 8)) <= 12, (shot_box, panel_box)
            assert shot.evaluate("img => img.naturalWidth") >= shot_box["width"]

            # The page is live: a click inside it changes its DOM.
            live_page = (
                session.locator(f".arena-panel-{page_side} iframe")
                .content_frame.locator("iframe")
                .content_frame
            )
            assert live_page.locator("#out").inner_text() == "not yet"
            live_page.locator("#go").click()
            live_page.locator("#go").click()
            _wait(lambda: live_page.locator("#out").inner_text() == "clicked 2", 10, "clicks")

            # The app, live: started in the sandbox, shown through the Jupyter server.
            session.locator(f".arena-panel-{app_side}").get_by_role(
                "button", name="▶ Try it live"
            ).click()
            app_frame = session.locator(f".arena-panel-{app_side} iframe")
            _wait(lambda: app_frame.count() == 1, 120, "the live app's frame")
            app = app_frame.content_frame
            field = app.get_by_label("Your name")
            field.wait_for(timeout=60_000)
            field.press_sequentially("Ada", delay=50)  # typed: each key is counted
            field.press("Enter")
            app.get_by_text("Hello, Ada!").wait_for(timeout=30_000)
            page.screenshot(path=str(shots / "live-2-tried.png"))

            vote_a.click()
            _wait(lambda: "Revealed" in session.inner_text(), 30, "the vote")
            page.screenshot(path=str(shots / "live-3-voted.png"))
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            cleanup()
    counts = _interactions(work / "votes.sqlite")
    stored = {"model-page": "a", "model-app": "b"}  # the battle's stored sides
    page_counts, app_counts = counts[stored["model-page"]], counts[stored["model-app"]]
    assert page_counts["clicks"] >= 2 and page_counts["seconds"] > 0
    assert app_counts["live"] is True and app_counts["keys"] >= 3  # "Ada" typed in the app
