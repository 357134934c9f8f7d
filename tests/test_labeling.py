"""Headless widget tests of the labeling session: click the buttons, send the keys, read the
real SQLite store. Code runs in the real sandbox (tiny programs)."""

from __future__ import annotations

import time

import pytest
from test_labeling_helpers import MODELS, Gate, make_data, needs_bwrap, sandbox

from arena_kit.labeling import ArenaSession, agreement
from arena_kit.store import VoteStore

pytestmark = needs_bwrap


@pytest.fixture
def data():
    return make_data()


def new_session(tmp_path, data, **options):
    battles, responses = data
    options.setdefault("executor", sandbox())
    options.setdefault("repeat_share", 0.0)
    session = ArenaSession(battles, responses, tmp_path / "votes.sqlite", **options)
    return session


def shown(session):
    assert session.wait_shown(60), "the battle's outputs never arrived"
    return session.controller.current


def key(session, k):
    # The path a key press takes from the browser: a custom comm message to the listener.
    session.keys._handle_custom_msg({"type": "key", "key": k}, [])


def test_annotator_first_then_vote_by_click_and_by_key(tmp_path, data):
    session = new_session(tmp_path, data)
    assert session.main.layout.display == "none"
    session.start_button.click()  # no id typed yet: refused, still on the login line
    assert "annotator id" in session.status.value
    assert session.main.layout.display == "none"
    session.annotator_box.value = "ann-1"  # (Enter)
    session.start_button.click()  # and a click on Start: started once
    assert session.main.layout.display is None
    first = shown(session)
    assert "<b>0</b> votes · <b>0</b> skipped · <b>24</b> left" in session.count.value

    session.buttons["A"].click()
    second = shown(session)
    assert second is not first
    key(session, "2")
    shown(session)

    votes = VoteStore(tmp_path / "votes.sqlite").votes()
    assert list(votes["battle_id"]) == [first.view.battle_id, second.view.battle_id]
    # "A" is the left panel: model_a unless the sides were swapped for this battle.
    assert votes["winner"][0] == ("model_b" if first.swapped else "model_a")
    assert votes["winner"][1] == ("model_a" if second.swapped else "model_b")
    assert list(votes["swapped"]) == [first.swapped, second.swapped]
    assert (votes["annotator"] == "ann-1").all()
    assert (votes["duration_s"] >= 0).all()
    assert "<b>2</b> votes · <b>0</b> skipped · <b>22</b> left" in session.count.value
    assert session.bar.value == 2 and session.bar.max == 24
    session.close()


def test_tie_and_both_bad_keys_and_an_optional_reason(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    shown(session)
    session.reason.value = "  neither prints a sentence  "
    key(session, "3")
    shown(session)
    assert session.reason.value == ""  # cleared for the next battle
    key(session, "4")
    shown(session)
    votes = session.store.votes()
    assert list(votes["winner"]) == ["tie", "both_bad"]
    assert votes["reason"][0] == "neither prints a sentence"
    assert votes["reason"][1] is None
    session.close()


def test_sides_are_randomised_and_stored(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    swaps = []
    for _ in range(12):
        item = shown(session)
        swaps.append(item.swapped)
        # The left panel really shows the stored side the swap says.
        left_code = item.turns("A")[-1].code
        stored = item.view.turns_b if item.swapped else item.view.turns_a
        assert left_code == stored[-1].code
        key(session, "1")
    assert 0 < sum(swaps) < 12
    assert list(session.store.votes()["swapped"]) == swaps
    session.close()


def test_model_names_never_in_the_widget_before_the_vote(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    for _ in range(6):
        item = shown(session)
        page = session.html()
        others = "\n".join(
            session.html_of(w) for w in session.iter_widgets() if w is not session.status
        )
        for name in MODELS:
            # Before the vote on this battle, no model name anywhere but in the reveal line
            # of the previous battle (which names that battle's models, not this one's sides).
            assert name.lower() not in others.lower(), name
        if item is not None and session.store.votes().empty:
            for name in MODELS:
                assert name.lower() not in page.lower(), name
        assert "[model]" in page or "gamma-gpt-xl" not in (item.view.model_a, item.view.model_b)
        key(session, "1")
        vote = session.store.votes().iloc[-1]
        # After the vote the two names are revealed.
        assert vote["model_a"] in session.status.value and vote["model_b"] in session.status.value
    session.close()


def test_vote_buttons_wait_for_both_outputs(tmp_path, data):
    gate = Gate(sandbox())
    session = new_session(tmp_path, data, annotator="ann-1", executor=gate, prefetch=False)
    assert all(b.disabled for b in session.buttons.values())
    assert "running" in session.html()
    session.buttons["A"].click()  # disabled in the browser; a direct call is refused too
    key(session, "1")
    assert session.store.votes().empty
    gate.open()
    shown(session)
    assert not any(b.disabled for b in session.buttons.values())
    assert "answer of model" in session.html() or "deliberate failure" in session.html()
    key(session, "1")
    assert len(session.store.votes()) == 1
    session.close()


def test_skip_undo_and_the_battle_comes_back(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    first = shown(session)
    key(session, "1")
    second = shown(session)
    key(session, "s")
    third = shown(session)
    assert "<b>1</b> vote · <b>1</b> skipped" in session.count.value

    key(session, "u")  # undoes the skip: the skipped battle is shown again
    assert session.controller.current.view.battle_id == second.view.battle_id
    shown(session)
    assert "Undone" in session.status.value
    key(session, "u")  # undoes the vote on the first battle
    assert session.controller.current.view.battle_id == first.view.battle_id
    assert session.store.votes().empty
    shown(session)
    key(session, "2")
    # After judging the first again, the one displaced by the undo comes back, then the third.
    assert session.controller.current.view.battle_id == second.view.battle_id
    shown(session)
    key(session, "1")
    assert session.controller.current.view.battle_id == third.view.battle_id
    events = session.store.events()
    assert list(events["kind"]) == ["vote", "skip", "retract", "retract", "vote", "vote"]
    votes = session.store.votes()
    assert list(votes["battle_id"]) == [first.view.battle_id, second.view.battle_id]
    key(session, "u")
    key(session, "u")
    key(session, "u")
    assert session.store.votes().empty
    assert "Nothing to undo" in session.status.value
    session.close()


def test_a_restarted_session_resumes_where_the_annotator_stopped(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    judged = []
    for _ in range(3):
        judged.append(shown(session).view.battle_id)
        key(session, "1")
    judged.append(shown(session).view.battle_id)
    key(session, "s")  # a skip is counted apart from the votes
    session.close()

    again = new_session(tmp_path, data)
    again.annotator_box.value = "ann-1"  # pressing Enter in the id box starts too
    item = shown(again)
    assert "Welcome back: 3 votes, 1 skipped." in again.status.value
    assert "<b>3</b> votes · <b>1</b> skipped · <b>20</b> left" in again.count.value
    assert item.view.battle_id not in judged
    # The same battle gets the same sides for the same annotator and seed.
    from arena_kit.labeling import side_swapped

    assert item.swapped == side_swapped(0, item.view.battle_id, "ann-1")
    again.close()


def test_edit_and_rerun_goes_through_the_sandbox_and_is_stored(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    item = shown(session)
    editor_box = [w for w in session.panel_b.children if w.__class__.__name__ == "Accordion"][-1]
    editor, run_button, result = editor_box.children[0].children
    editor.value = "print('edited by the judge')\nraise SystemExit(3)"
    run_button.click()
    deadline = time.time() + 60
    while "edited by the judge" not in result.value and time.time() < deadline:
        time.sleep(0.05)
    assert "edited by the judge" in result.value
    assert "runtime error: exit code 3" in result.value
    edited = editor.value
    key(session, "2")
    vote = session.store.votes().iloc[0]
    (edit,) = vote["edits"]
    stored_side = "a" if item.swapped else "b"
    assert edit["side"] == stored_side and edit["turn"] == item.view.n_turns
    assert edit["status"] == "runtime_error"
    from arena_kit.labeling import code_hash

    assert edit["code_hash"] == code_hash(edited)
    assert edit["execution_id"]
    session.close()


def test_multi_turn_conversations_are_shown_turn_by_turn(tmp_path):
    battles, responses = make_data(1)  # prompt p0: two turns
    session = ArenaSession(
        battles, responses, tmp_path / "v.sqlite", annotator="a", executor=sandbox()
    )
    item = shown(session)
    text = session.html()
    assert "User, turn 2" in text and "Now print it twice." in text
    assert "Answer, turn 1" in text and "Answer, turn 2" in text
    assert "turn two of" in text  # the last turn's output is shown
    run_first = [
        w
        for w in session.panel_a.children
        if getattr(w, "description", "").startswith("▶ Run turn 1")
    ]
    assert run_first
    run_first[0].click()
    future = item.runs[("A", 0)]
    assert future.result(60).status == "ok"
    time.sleep(0.2)
    assert "answer of model" in session.html()
    key(session, "3")
    assert session.store.votes()["turns"][0] == 2
    session.close()


def test_the_next_battles_code_runs_in_the_background(tmp_path, data):
    session = new_session(tmp_path, data, annotator="ann-1")
    shown(session)
    upcoming = session.controller._next.result(60)
    for screen in ("A", "B"):
        assert upcoming.main_run(screen).result(60).status in ("ok", "runtime_error")
    key(session, "1")
    assert session.controller.current is upcoming
    assert session.controller.current.ready()  # shown at once: nothing left to run
    assert session.transition_s[-1] < 1.0
    session.close()


def test_quality_control_repeats_and_gold(tmp_path, data):
    battles, _ = data
    gold = {battles["battle_id"][5]: "model_a", battles["battle_id"][9]: "tie"}
    session = new_session(
        tmp_path, data, annotator="ann-1", repeat_share=0.3, gold=gold, gold_share=0.3, seed=3
    )
    for _ in range(24):
        if session.controller.current is None:
            break
        shown(session)
        key(session, "1")
    votes = session.store.votes()
    repeats = votes[votes["qc"] == "repeat"]
    assert len(repeats) >= 2
    first_votes = votes[votes["qc"].isna()]
    assert set(repeats["battle_id"]) <= set(first_votes["battle_id"])
    assert set(votes.loc[votes["qc"] == "gold", "battle_id"]) == set(gold)
    report = agreement(votes, gold)
    assert report["repeat_pairs"] == len(repeats)
    assert report["same_annotator_pairs"] == len(repeats)
    assert report["gold_votes"] == 2 and 0 <= report["gold_accuracy"] <= 1
    session.close()


def test_two_annotators_share_the_pool(tmp_path, data):
    one = new_session(tmp_path, data, annotator="ann-1")
    two = new_session(tmp_path, data, annotator="ann-2")
    seen = set()
    for _ in range(5):
        for session in (one, two):
            item = shown(session)
            assert item.view.battle_id not in seen
            seen.add(item.view.battle_id)
            key(session, "1")
    votes = VoteStore(tmp_path / "votes.sqlite").votes()
    assert len(votes) == 10 and votes["battle_id"].is_unique
    one.close()
    two.close()


def test_all_done(tmp_path):
    battles, responses = make_data(1)
    session = ArenaSession(
        battles.head(2), responses, tmp_path / "v.sqlite", annotator="a", executor=sandbox()
    )
    shown(session)
    key(session, "1")
    shown(session)
    key(session, "s")
    assert session.controller.current is None
    assert "All done" in session.prompt.value
    assert all(b.disabled for b in session.buttons.values())
    session.close()


_LABELING_PROCESS = """
import sys, time
sys.path.insert(0, sys.argv[2])
from test_labeling_helpers import make_data, sandbox
from arena_kit.labeling import LabelingController
battles, responses = make_data()
controller = LabelingController(battles, responses, sys.argv[1], annotator="ann-kill",
                                executor=sandbox(), repeat_share=0.0)
for screen in ("A", "B"):
    controller.current.main_run(screen).result(60)
vote = controller.vote("B", reason="killed right after")
print("ACK", vote["vote_id"], vote["battle_id"], flush=True)
time.sleep(60)
"""


def test_kill_9_of_the_labeling_process_right_after_a_vote_keeps_it(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    store = tmp_path / "votes.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-c", _LABELING_PROCESS, str(store), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert line.startswith("ACK "), process.stderr.read()[-2000:]
    _, vote_id, battle_id = line.split()
    votes = VoteStore(store).votes()
    assert list(votes["vote_id"]) == [vote_id]
    assert votes["battle_id"][0] == battle_id
    assert votes["reason"][0] == "killed right after"
