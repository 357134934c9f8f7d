"""The live arena in a real browser: ``notebooks/07_live_arena.ipynb``, unmodified, run in
JupyterLab on loopback and driven in the system Chromium (sandboxed like the page renderer:
``launch_test_browser``) at 1400×900, against a real OpenAI-protocol server on loopback that
streams the bundled Arena-Hard answers (follow-ups built from them).

What a person does: types an annotator id, types a prompt and sends it, watches both answers
grow side by side, sees both pages live once each answer is complete, follows up, votes; and
the store holds every row. Screenshots: ``ARENA_KIT_SHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from jupyter_harness import launch_test_browser, open_and_run_all, running_lab
from openai_server import ReplayScript, ScriptedOpenAIServer
from test_label_e2e import CHROMIUM, _wait

from arena_kit.report import NOTEBOOKS_DIR
from arena_kit.store import VoteStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed"),
]

# A real Arena-Hard question whose three real answers are all HTML pages (an SVG).
PROMPT_START = 'Create an "impossible triangle" with an SVG'
FOLLOW_UP = "Make the triangle twice as big, please."

_LENGTHS = """() => ['A', 'B'].map(s => {
  const text = document.querySelector(`.arena-panel-${s} .arena-stream-text`);
  return text ? text.textContent.length : -1;
})"""


def _streams(page, until, timeout: float = 60) -> list[list[int]]:
    """The streaming text's length in each panel, polled until ``until()``."""
    seen: list[list[int]] = []
    deadline = time.time() + timeout
    while not until():
        assert time.time() < deadline, f"the turn did not complete; seen {seen[-3:]}"
        seen.append(page.evaluate(_LENGTHS))
        page.wait_for_timeout(25)
    return seen


def _grew(seen: list[list[int]], side: int) -> int:
    """How many different partial lengths a panel showed while its answer arrived."""
    return len({lengths[side] for lengths in seen if lengths[side] > 0})


def test_type_a_prompt_watch_both_streams_follow_up_vote_and_find_the_rows(tmp_path):
    from playwright.sync_api import sync_playwright

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "07_live_arena.ipynb", work)  # as shipped: its defaults
    shots = Path(os.environ.get("ARENA_KIT_SHOTS", tmp_path))
    script = ReplayScript.from_arena_hard(chunk_chars=12, chunk_delay_s=0.02)
    (prompt,) = [q for q in script.answers["gpt-4-0314"] if q.startswith(PROMPT_START)]
    with ScriptedOpenAIServer(script=script) as server:
        (work / "models.yaml").write_text(
            f"base_url: {server.base_url}\napi_key_env: null\ncache_dir: null\n"
            "models:\n  alpha:\n    model: gpt-4-0314\n  beta:\n    model: gpt-4-0613\n"
        )
        with running_lab(work, tmp_path) as lab, sync_playwright() as playwright:
            browser, cleanup = launch_test_browser(playwright, [lab.port])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                open_and_run_all(page, lab, "07_live_arena.ipynb")
                session = page.locator(".arena-session")
                login = session.get_by_placeholder("your annotator id", exact=False)
                login.wait_for(timeout=120_000)
                login.fill("browser-tester")
                login.press("Enter")
                box = session.locator(".arena-composer textarea")
                box.wait_for(timeout=30_000)
                vote_a = session.get_by_role("button", name="A is better")

                # Turn 1: both answers stream in side by side.
                box.fill(prompt)
                session.get_by_role("button", name="Send ▶").click()
                page.wait_for_function(f"() => ({_LENGTHS})().every(n => n > 40)")
                page.screenshot(path=str(shots / "live-arena-1-streaming.png"))
                seen = _streams(page, lambda: vote_a.is_enabled(), 120)
                assert _grew(seen, 0) >= 3 and _grew(seen, 1) >= 3, seen
                # Each answer's page, live, in its panel (the run started as it completed).
                for side in "AB":
                    live = session.locator(f".arena-panel-{side} .arena-live-page iframe")
                    _wait(lambda live=live: live.count() >= 1, 60, f"{side}'s live page")
                assert "category:" in session.locator(".arena-prompt").first.inner_text()
                # With the arena at the top of the window (as a person scrolls it), the
                # message box and the vote buttons are on screen under the panels.
                session.evaluate("node => node.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                for control in (vote_a, box):
                    place = control.bounding_box()
                    assert place is not None and place["y"] + place["height"] <= 900, place
                page.screenshot(path=str(shots / "live-arena-2-turn-1.png"))

                # Turn 2: a follow-up goes to both; the first turn stays in the panels.
                box.fill(FOLLOW_UP)
                session.get_by_role("button", name="Follow up ▶").click()
                page.wait_for_function(f"() => ({_LENGTHS})().every(n => n > 0)")
                seen = _streams(page, lambda: vote_a.is_enabled(), 120)
                assert _grew(seen, 0) >= 3 and _grew(seen, 1) >= 3, seen
                for side in "AB":
                    panel = session.locator(f".arena-panel-{side}")
                    assert "User, turn 2" in panel.inner_text()
                    assert FOLLOW_UP in panel.inner_text()
                page.screenshot(path=str(shots / "live-arena-3-turn-2.png"))

                vote_a.click()
                _wait(lambda: "Revealed" in session.inner_text(), 30, "the vote")
                page.screenshot(path=str(shots / "live-arena-4-voted.png"))
                assert "turn 2" not in session.locator(".arena-status").last.inner_text()
            except BaseException:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                raise
            finally:
                cleanup()

    store = VoteStore(work / "votes.sqlite")
    (vote,) = store.votes().to_dict("records")
    assert vote["annotator"] == "browser-tester" and vote["source"] == "live"
    assert vote["turns"] == 2 and vote["env_a"] == vote["env_b"] == "html"
    assert len(store.table("prompts")) == 1
    responses = store.table("responses")
    assert sorted(responses["turn"]) == [1, 1, 2, 2] and responses["execution_id"].notna().all()
    battles = store.table("battles")
    assert list(battles["battle_id"].str[-2:]) == ["-1", "-2"]
    assert vote["battle_id"] == battles["battle_id"].iloc[-1]
    assert set(responses["execution_id"]) <= set(store.table("executions")["execution_id"])
