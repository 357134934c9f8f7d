"""What a person can do about an outcome, headless, with the real sandbox and a real store:
re-run a timeout with 60 s, install what an answer imports (from a package index on loopback),
and the clicks and keys counted in the live views, each stored with the vote."""

from __future__ import annotations

import shutil
import time

import pandas as pd
import pytest
from test_labeling_helpers import needs_bwrap
from test_sandbox_install import DIST, MODULE, index  # noqa: F401 - the loopback index fixture

from arena_kit.labeling import ArenaSession, sandbox_executor

pytestmark = [needs_bwrap, pytest.mark.slow]
F = "```"


def _one_battle(code_a: str, code_b: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    responses = pd.DataFrame(
        [
            {"response_id": f"r-{side}", "prompt_id": "p1", "model": f"model-{side}",
             "messages": [{"role": "user", "content": "Write a program."},
                          {"role": "assistant", "content": f"Sure.\n\n{F}python\n{code}\n{F}\n"}]}
            for side, code in (("a", code_a), ("b", code_b))
        ]
    )  # fmt: skip
    battles = pd.DataFrame(
        [{"battle_id": "b1", "prompt_id": "p1", "model_a": "model-a", "model_b": "model-b",
          "response_a": "r-a", "response_b": "r-b", "lang_a": "python", "lang_b": "python"}]
    )  # fmt: skip
    return battles, responses


def _screen_of(session: ArenaSession, model: str) -> str:
    item = session.controller.current
    return next(s for s in "AB" if item.stored_side(s) == model[-1])


def _output(session: ArenaSession, screen: str) -> str:
    return session._fixed[screen]["output"].value


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_timeout_offers_a_re_run_with_60_s_and_the_vote_records_it(tmp_path):
    battles, responses = _one_battle("import time\ntime.sleep(2)\nprint('late but done')",
                                     "print('quick')")  # fmt: skip
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann",
        executor=sandbox_executor(backend="bwrap", cache=False, limits={"wall_s": 1}),
    )  # fmt: skip
    assert session.wait_shown(60)
    slow = _screen_of(session, "model-a")
    panel = session._fixed[slow]
    assert "timeout" in _output(session, slow)
    assert panel["longer"].layout.display is None  # offered
    assert session._fixed["AB".replace(slow, "")]["longer"].layout.display == "none"
    panel["longer"].click()
    _wait(lambda: "late but done" in _output(session, slow))
    assert "ok" in _output(session, slow)
    session.click("A")
    (edit,) = session.store.votes().iloc[0]["edits"]
    assert edit["side"] == "a" and edit["wall_s"] == 60.0 and edit["status"] == "ok"
    session.close()


def test_install_and_run_from_a_loopback_index(tmp_path, index, sandbox_tmp_path, monkeypatch):  # noqa: F811
    url, requests = index
    monkeypatch.setenv("ARENA_KIT_LAYERS", str(sandbox_tmp_path / "layers"))
    battles, responses = _one_battle(f"import {MODULE}\nprint({MODULE}.VALUE)", "print('hi')")
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann", index_url=url,
        executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(60)
    screen = _screen_of(session, "model-a")
    panel = session._fixed[screen]
    assert "missing dependency" in _output(session, screen)
    assert panel["install"].layout.display is None
    panel["install"].click()
    _wait(lambda: "installed from the loopback index" in _output(session, screen), 120)
    assert any(DIST in path for path in requests)
    session.click("A")
    (edit,) = session.store.votes().iloc[0]["edits"]
    assert edit["installed"] == [DIST] and edit["status"] == "ok"
    session.close()


def test_allow_install_installs_during_prefetch(tmp_path, index, sandbox_tmp_path, monkeypatch):  # noqa: F811
    url, _ = index
    monkeypatch.setenv("ARENA_KIT_LAYERS", str(sandbox_tmp_path / "layers"))
    battles, responses = _one_battle(f"import {MODULE}\nprint({MODULE}.VALUE)", "print('hi')")
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann", allow_install=True,
        index_url=url, executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(120)
    screen = _screen_of(session, "model-a")
    assert "installed from the loopback index" in _output(session, screen)
    assert session._fixed[screen]["install"].layout.display == "none"
    session.click("tie")
    (edit,) = session.store.votes().iloc[0]["edits"]
    assert edit["installed"] == [DIST] and edit["status"] == "ok"
    session.close()


def test_clicks_and_keys_in_the_live_views_are_stored_per_side(tmp_path):
    battles, responses = _one_battle("print('a')", "print('b')")
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann",
        executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(60)
    left_is = session.controller.current.stored_side("A")

    def message(screen: str, kind: str) -> None:  # the browser's path: a comm message
        session.keys._handle_custom_msg({"type": "interaction", "screen": screen, "kind": kind}, [])

    for kind in ("click", "key", "key", "bogus"):
        message("A", kind)
        time.sleep(0.2)  # a person's pace: the gaps add up to the seconds spent
    message("Z", "click")  # not a side: ignored
    session.click("B")
    stored = session.store.votes().iloc[0]["interactions"]
    assert set(stored) == {left_is}
    assert stored[left_is]["clicks"] == 1 and stored[left_is]["keys"] == 2
    assert 0.3 <= stored[left_is]["seconds"] <= 4.0 and stored[left_is]["live"] is False
    session.close()


GAME = (
    "import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\n"
    "clock = pygame.time.Clock()\nwhile True:\n    for event in pygame.event.get():\n"
    "        if event.type == pygame.QUIT:\n            raise SystemExit\n"
    "    screen.fill((30, 90, 200))\n    pygame.display.flip()\n    clock.tick(30)\n"
)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (setup-system.sh)")
def test_a_pygame_side_is_played_in_its_panel_and_the_play_counts_with_the_vote(tmp_path):
    battles, responses = _one_battle(GAME, "print('no game here')")
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann",
        executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(120)
    game_side = _screen_of(session, "model-a")
    other = "AB".replace(game_side, "")
    (widget,) = session._fixed[game_side]["play_box"].children
    assert session._fixed[other]["play_box"].children == ()
    # What the canvas sends when Play is pressed and a key is held (the kernel's thread).
    widget._handle_custom_msg({"type": "play"}, [])
    _wait(lambda: widget.state == "playing", 60)
    for down in (True, False, True, False):
        widget._handle_custom_msg({"type": "key", "code": "ArrowRight", "down": down}, [])
        time.sleep(0.2)
    game = widget.game
    session.click("A")
    _wait(lambda: not game.alive, 10)  # the next battle (none left) stopped it
    stored = session.store.votes().iloc[0]["interactions"]
    assert stored["a"]["keys"] == 2 and stored["a"]["live"] is True
    session.close()


def test_a_prompt_with_a_sample_runs_each_program_on_it_and_shows_expected_vs_actual(tmp_path):
    prompt = (
        "Given n numbers, print their sum.\n\nInput\nThe first line holds n, the second the "
        "numbers.\n\nOutput\nPrint the sum.\n\nExamples\nInput\n3\n1 2 3\nOutput\n6\n"
    )
    right = "n = int(input())\nprint(sum(map(int, input().split())))"
    wrong = "n = int(input())\nprint(n)"
    battles, responses = _one_battle(right, wrong)
    for messages in responses["messages"]:
        messages[0]["content"] = prompt
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann",
        executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(60)
    good, bad = _screen_of(session, "model-a"), _screen_of(session, "model-b")
    # The main run has no input (EOF at once); the sample run is fed the prompt's input.
    assert "EOFError" in _output(session, good)
    _wait(lambda: "running on" not in session._fixed[good]["sample"].value)
    _wait(lambda: "running on" not in session._fixed[bad]["sample"].value)
    assert "✓ matches the expected output" in session._fixed[good]["sample"].value
    shown = session._fixed[bad]["sample"].value
    assert "✗ differs" in shown and "<pre>3\n</pre>" in shown  # what it printed
    session.close()


def test_no_sample_run_without_a_sample_in_the_prompt(tmp_path):
    battles, responses = _one_battle("print(1)", "print(2)")
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann",
        executor=sandbox_executor(backend="bwrap", cache=False),
    )  # fmt: skip
    assert session.wait_shown(60)
    assert session.controller.current.samples == {}
    assert all(panel["sample"].value == "" for panel in session._fixed.values())
    session.close()
