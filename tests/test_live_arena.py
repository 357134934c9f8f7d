"""Headless widget tests of the live arena: real answers streamed by a real OpenAI-protocol
server on loopback (the bundled Arena-Hard answers, follow-ups built from them), the real
openai SDK, code run in the real sandbox (bubblewrap), a real SQLite store.

A whole session: a typed prompt, both streams seen growing, both runs shown, two follow-ups,
an edit re-run, a vote; then every row the store holds, read back the way ``03``, ``04``, the
judges and the report read it. Then the faults (429s, a cut stream, a slow model, a side that
fails for good, a cancel), empty and code-less answers, pairing and categories, the key, and a
kernel killed mid-round.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openai_server import FOLLOW_UP_OPENING, ReplayScript, ScriptedOpenAIServer
from test_labeling_helpers import needs_bwrap, sandbox

from arena_kit import datasets, execution, judges, report
from arena_kit.labeling import LiveArena
from arena_kit.models import DEFAULT_SYSTEM_PROMPT
from arena_kit.schema import CATEGORIES
from arena_kit.store import VoteStore

pytestmark = [needs_bwrap, pytest.mark.slow]

# Real Arena-Hard questions whose three real answers are all code of one environment.
PYTHON_PROMPT = "write a code to generate random password in python"
JS_PROMPT = "Given `n` and `p`, write down a JavaScript function that computes n-th Fibonacci"
PROSE_PROMPT = "It is 1.00 o clock at night and I have to wait for 1.65 hours"
MODELS = {"alpha": "gpt-4-0314", "beta": "gpt-4-0613", "gamma": "gpt-3.5-turbo-0125"}
"""Table name → the served name the replaying server knows."""


@pytest.fixture(scope="module")
def answers():
    return ReplayScript.from_arena_hard().answers


def question(answers, start: str) -> str:
    (found,) = [q for q in answers["gpt-4-0314"] if q.startswith(start)]
    return found


def config(server, names=("alpha", "beta"), **settings):
    return {
        "base_url": server.base_url,
        "api_key_env": None,
        "cache_dir": None,
        "max_retries": 3,
        "backoff_s": 0.02,
        "timeout_s": 3.0,
        "models": {name: {"model": MODELS[name]} for name in names},
        **settings,
    }


def new_arena(tmp_path, server, *, names=("alpha", "beta"), settings=None, **options):
    options.setdefault("executor", sandbox())
    options.setdefault("seed", 7)
    return LiveArena(
        client=config(server, names, **(settings or {})), store=tmp_path / "live.sqlite",
        **options,
    )  # fmt: skip


def watch(arena):
    """Every value each side's streaming view took (what the page was sent)."""
    seen: dict[str, list[str]] = {"A": [], "B": []}
    for screen, view in arena.stream_views.items():
        view.observe(lambda change, s=screen: seen[s].append(change["new"]), "value")
    return seen


def streamed(value):
    """The answer's text in a streaming view's HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", value.split("arena-stream-text'>")[-1]))


def send(arena, text):
    arena.message.value = text
    arena.send_button.click()
    return arena.wait(90)


def panel_text(arena, screen):
    panel = arena.panel_a if screen == "A" else arena.panel_b
    stack, texts = [panel], []
    while stack:
        widget = stack.pop()
        texts.append(arena.html_of(widget))
        stack.extend(getattr(widget, "children", ()) or ())
    return "\n".join(texts)


def in_reading_order(arena, screen):
    """A panel's widgets as the person reads them (a conversation is laid out bottom-up)."""
    panel = arena.panel_a if screen == "A" else arena.panel_b
    chat = "arena-chat" in panel._dom_classes
    return list(reversed(panel.children)) if chat else list(panel.children)


def served_name(arena, screen):
    return MODELS[arena.round.side_of(screen).model]


def test_a_whole_live_session(tmp_path, answers):
    prompt = question(answers, PYTHON_PROMPT)
    script = ReplayScript(answers, chunk_chars=24, chunk_delay_s=0.003)
    with ScriptedOpenAIServer(script=script) as server:
        arena = new_arena(tmp_path, server)
        seen = watch(arena)
        arena.annotator_box.value = "ann-live"  # (Enter)
        assert arena.main.layout.display is None
        assert all(b.disabled for b in arena.buttons.values())
        # Votes are final in a live round: no undo button, and the keys line offers none.
        assert arena.undo_button.layout.display == "none" and "undo" not in arena.keys.hint

        # Turn 1: both answers stream in, then each side's code runs in its panel.
        assert send(arena, prompt) == "ready"
        current = arena.round
        for screen in "AB":
            full = answers[served_name(arena, screen)][prompt]
            texts = [streamed(v) for v in seen[screen] if "is answering" in v]
            assert texts[0] == "", "the panel waits for the first words"
            partial = [t for t in texts if t]
            assert len(partial) >= 3, "the answer was not shown while it arrived"
            assert len(partial[0]) < len(full) / 2 and full.startswith(partial[0])
            shown = panel_text(arena, screen)
            assert "arena-status" in shown and "the code is running" not in shown
        assert not any(b.disabled for b in arena.buttons.values())
        assert arena.send_button.description == "Follow up ▶"

        # Two follow-ups: each model gets its own history; earlier turns stay visible.
        follow_ups = ["It prints only one password; print five.", "Add a comment to each line."]
        for turn, text in enumerate(follow_ups, start=2):
            assert send(arena, text) == "ready"
            assert current.turn == turn
        assert "User, turn 3" in panel_text(arena, "A") and "Answer, turn 1" in panel_text(
            arena, "A"
        )

        # Edit and re-run side A's last turn.
        editor_box = [
            w for w in in_reading_order(arena, "A") if type(w).__name__ == "Accordion"
        ][-1]  # fmt: skip
        editor, run, result = editor_box.children[0].children
        editor.value = "print('edited by the annotator')"
        run.click()
        deadline = time.time() + 60
        while "edited by the annotator" not in result.value and time.time() < deadline:
            time.sleep(0.05)
        assert "edited by the annotator" in result.value

        # Blind until the vote; the names are revealed after it.
        before = arena.html()
        for name in (*MODELS, *MODELS.values()):
            assert name not in before
        arena.buttons["A"].click()
        assert "Revealed: A was" in arena.status.value
        assert current.side_of("A").model in arena.status.value
        assert all(b.disabled for b in arena.buttons.values())
        arena.close()

    store = VoteStore(tmp_path / "live.sqlite")
    (vote,) = store.votes().to_dict("records")
    prompts, responses = store.table("prompts"), store.table("responses")
    battles, executions = store.table("battles"), store.table("executions")

    # The prompt, with its predicted category.
    (row,) = prompts.to_dict("records")
    assert row["instruction"] == prompt and row["source"] == "live"
    assert row["category"] in CATEGORIES and row["category_source"] == "predicted"

    # Every turn's answers: whole conversations, system message first, each model's own.
    assert len(responses) == 6 and set(responses["source"]) == {"live"}
    for model, rows in responses.groupby("model"):
        assert list(rows["turn"]) == [1, 2, 3]
        last = rows["messages"].iloc[-1]
        assert last[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
        users = [m["content"] for m in last if m["role"] == "user"]
        assert users == [prompt, *follow_ups]
        own = [m["content"] for m in last if m["role"] == "assistant"]
        replay = ReplayScript(answers)
        assert own == [replay.answer(MODELS[model], prompt, t) for t in (1, 2, 3)]
        assert own[1].startswith(FOLLOW_UP_OPENING)
    requests = [r["body"] for r in server.requests]
    turn_two = [r for r in requests if sum(m["role"] == "user" for m in r["messages"]) == 2]
    for body in turn_two:  # each model was sent its own first answer, not the other's
        own_first = answers[body["model"]][prompt]
        assert body["messages"][2] == {"role": "assistant", "content": own_first}

    # One battle per turn; the vote is on the last one, after 3 turns, with the edit.
    assert list(battles["battle_id"]) == [f"live-{current.round_id}-{t}" for t in (1, 2, 3)]
    assert set(battles["source"]) == {"live"}
    last_turn = responses[responses["turn"] == 3].set_index("model")["response_id"]
    assert battles.iloc[-1]["response_a"] == last_turn[battles.iloc[-1]["model_a"]]
    assert vote["battle_id"] == battles.iloc[-1]["battle_id"] and vote["turns"] == 3
    assert vote["source"] == "live" and vote["annotator"] == "ann-live"
    assert vote["winner"] == ("model_b" if vote["swapped"] else "model_a")
    (edit,) = vote["edits"]
    assert edit["side"] == ("b" if vote["swapped"] else "a") and edit["turn"] == 3
    assert edit["status"] == "ok"

    # Every run the answers (and the edit) name is in the store: the tables link.
    linked = {e for e in responses["execution_id"] if e}
    assert linked and linked | {edit["execution_id"]} <= set(executions["execution_id"])
    assert execution.check_links(responses["execution_id"], executions, where="live store") == 6

    # Read back as 03/04, the judges and the report read it: the store is the path.
    path = tmp_path / "live.sqlite"
    assert len(report.load_votes(path)) == 1
    assert len(datasets.read_table(path, "responses")) == 6
    inputs = judges.battle_inputs(
        datasets.read_table(path, "battles"), datasets.read_table(path, "responses"),
        prompts=datasets.read_table(path, "prompts"),
        executions=datasets.read_table(path, "executions"), votes=report.load_votes(path),
    )  # fmt: skip
    assert [i.turns for i in inputs] == [1, 2, 3] and inputs[-1].winner == vote["winner"]


def test_429s_a_cut_stream_and_a_slow_model_are_shown_and_retried(tmp_path, answers):
    prompt = question(answers, JS_PROMPT)
    faults = {
        "gpt-4-0314": [{"status": 429, "retry_after": "0.2"}, {"cut_after": 120}],
        "gpt-4-0613": [{"error_after": 60, "error_status": 429}],
    }
    script = ReplayScript(answers, faults=faults, chunk_chars=20, slow={"gpt-4-0613": 0.03})
    with ScriptedOpenAIServer(script=script) as server:
        arena = new_arena(tmp_path, server, annotator="ann")
        seen = watch(arena)
        assert send(arena, prompt) == "ready"
        for screen in "AB":
            served = served_name(arena, screen)
            said = " ".join(seen[screen])
            assert "retrying in" in said  # said in the panel while it happened
            if served == "gpt-4-0314":
                assert "HTTP 429" in said and "cut mid-answer" in said
                attempts = 3
            else:
                assert "stopped the answer with an error" in said
                attempts = 2
            notes = arena.notes[screen].value
            assert f"answered after {attempts} attempts" in notes  # and it stays said
            assert (
                arena.notes[screen] in (arena.panel_a, arena.panel_b)["AB".index(screen)].children
            )
            assert "127.0.0.1" not in said  # the endpoint is not shown (per-model endpoints)
            assert served not in said
        arena.click("B")
        arena.close()
    (vote,) = VoteStore(tmp_path / "live.sqlite").votes().to_dict("records")
    assert {vote["env_a"], vote["env_b"]} == {"javascript"}


def test_a_side_failing_for_good_voids_the_round(tmp_path, answers):
    prompt = question(answers, PYTHON_PROMPT)
    script = ReplayScript(
        answers, faults={"gpt-4-0314": [{"status": 500}] * 3}, slow={"gpt-4-0613": 0.05},
        chunk_chars=8,
    )  # fmt: skip
    with ScriptedOpenAIServer(script=script) as server:
        arena = new_arena(tmp_path, server, annotator="ann", settings={"max_retries": 2})
        assert send(arena, prompt) == "failed"
        current = arena.round
        failed = "A" if current.side_of("A").model == "alpha" else "B"
        other = "B" if failed == "A" else "A"
        assert "failed for good" in arena.status.value and "void" in arena.status.value
        assert "HTTP 500" in arena.status.value
        assert "Model " + failed in arena.status.value
        assert "Stopped: the other model failed" in arena.stream_views[other].value
        assert all(b.disabled for b in arena.buttons.values())
        arena.click("A")  # refused: no vote on a void round
        assert "no round to vote on" in arena.status.value
        time.sleep(0.3)  # the server notices the closed connection at its next writes
        sent = len(server.sent)
        time.sleep(0.5)
        assert 0 < sent == len(server.sent), "the other side's stream was not stopped"
        arena.close()
    store = VoteStore(tmp_path / "live.sqlite")
    assert store.votes().empty and store.table("battles").empty
    (row,) = store.failed_rounds().to_dict("records")
    assert row["side"] == current.item.stored_side(failed) and row["annotator"] == "ann"
    assert "HTTP 500" in row["reason"] and "after 3 attempt(s)" in row["reason"]
    assert {row["model_a"], row["model_b"]} == {"alpha", "beta"} and row["turn"] == 1


def test_cancel_drops_the_turn_under_way(tmp_path, answers):
    prompt = question(answers, PYTHON_PROMPT)
    script = ReplayScript(answers, chunk_chars=6, chunk_delay_s=0.004)
    with ScriptedOpenAIServer(script=script) as server:
        arena = new_arena(tmp_path, server, annotator="ann")
        assert send(arena, prompt) == "ready"
        script.chunk_delay_s = 0.05  # the follow-up is slow: cancelled while it arrives
        arena.message.value = "Make it shorter."
        arena.send_button.click()
        while not arena.round.side_of("A").text:
            time.sleep(0.02)
        assert not arena.cancel_button.disabled
        arena.cancel_button.click()
        assert arena.wait(10) == "ready" and arena.round.turn == 1
        assert "Cancelled" in arena.status.value and not arena.buttons["A"].disabled
        assert "User, turn 2" not in panel_text(arena, "A")
        arena.click("tie")  # the round goes on from turn 1
        # Cancelling a round's first turn ends it, logged.
        arena.message.value = prompt
        arena.send_button.click()
        while not arena.round.side_of("B").text:
            time.sleep(0.02)
        arena.click("cancel")
        assert arena.wait(10) == "failed"
        arena.close()
    store = VoteStore(tmp_path / "live.sqlite")
    (vote,) = store.votes().to_dict("records")
    assert vote["turns"] == 1 and vote["winner"] == "tie"
    assert list(store.table("responses")["turn"]) == [1, 1]  # nothing of the dropped turn
    (row,) = store.failed_rounds().to_dict("records")
    assert row["reason"] == "cancelled by the annotator" and row["side"] is None


def test_empty_and_code_less_answers_are_shown_as_such_and_votable(tmp_path, answers):
    prompt = question(answers, PROSE_PROMPT)
    script = ReplayScript(answers, faults={"gpt-4-0613": [{"text": ""}]})
    with ScriptedOpenAIServer(script=script) as server:
        arena = new_arena(tmp_path, server, annotator="ann")
        assert send(arena, prompt) == "ready"
        for screen in "AB":
            shown = panel_text(arena, screen)
            assert "(no runnable code in this answer)" in shown
            if served_name(arena, screen) == "gpt-4-0613":
                assert "(the model sent an empty answer)" in shown
        arena.click("both_bad")
        arena.close()
    store = VoteStore(tmp_path / "live.sqlite")
    (vote,) = store.votes().to_dict("records")
    assert vote["winner"] == "both_bad" and vote["env_a"] is None and vote["env_b"] is None
    responses = store.table("responses")
    assert responses["execution_id"].isna().all()
    assert sorted(m[-1]["content"] == "" for m in responses["messages"]) == [False, True]


def test_pairs_fewest_compared_first_and_categories_given_sampled_or_predicted(tmp_path, answers):
    store = VoteStore(tmp_path / "live.sqlite")
    for a, b in (("alpha", "beta"), ("alpha", "beta"), ("alpha", "gamma")):
        store.record_vote({"model_a": a, "model_b": b, "winner": "tie", "annotator": "x"})
    with ScriptedOpenAIServer(script=ReplayScript(answers)) as server:
        arena = new_arena(
            tmp_path, server, names=("alpha", "beta", "gamma"), annotator="ann",
            executor=lambda *a, **k: None,
        )  # fmt: skip
        sampled = arena.sample_prompt()
        assert arena.message.value == sampled["instruction"]
        assert arena.category.value == sampled["category"] in CATEGORIES
        arena.send_button.click()
        assert {s.model for s in arena.round.sides.values()} == {"beta", "gamma"}
        arena.click("new")
        arena.send("make a snake game in pygame", category="game_development")
        arena.click("new")
        arena.send("draw a mermaid flowchart of a login process")
        arena.click("new")
        arena.close()
    rows = VoteStore(tmp_path / "live.sqlite").table("prompts").to_dict("records")
    assert [(r["category"], r["category_source"]) for r in rows] == [
        (sampled["category"], "autocodearena-v0"),
        ("game_development", "given"),
        ("diagram_creation", "predicted"),
    ]


def test_the_key_never_reaches_the_store_the_page_or_the_sandbox(tmp_path, answers, monkeypatch):
    key = "sk-live-secret-" + "3" * 24
    monkeypatch.setenv("ARENA_LIVE_KEY", key)
    spy = "Here:\n\n```python\nimport os\nprint(sorted(os.environ.items()))\n```\n"
    script = ReplayScript({**answers, "spy-model": {PYTHON_PROMPT: spy}})
    with ScriptedOpenAIServer(script=script) as server:
        settings = {"api_key_env": "ARENA_LIVE_KEY"}
        client = config(server, ("alpha",), **settings)
        client["models"]["spy"] = {"model": "spy-model"}
        arena = LiveArena(
            client=client, store=tmp_path / "live.sqlite", executor=sandbox(), annotator="ann"
        )
        assert send(arena, PYTHON_PROMPT) == "ready"
        spy_screen = "A" if arena.round.side_of("A").model == "spy" else "B"
        shown = panel_text(arena, spy_screen)
        assert "PATH" in shown  # the spy's program ran and printed its environment
        assert key not in shown and key not in arena.html()
        arena.click("A")
        arena.close()
        assert {r["headers"]["authorization"] for r in server.requests} == {f"Bearer {key}"}
    for file in tmp_path.iterdir():
        assert key.encode() not in file.read_bytes(), file


KILLED = """
import sys, time
sys.path.insert(0, {tests!r})
from openai_server import ReplayScript, ScriptedOpenAIServer
from test_labeling_helpers import sandbox
from arena_kit.labeling import LiveArena

script = ReplayScript.from_arena_hard(chunk_chars=40)
with ScriptedOpenAIServer(script=script) as server:
    models = {{"alpha": {{"model": "gpt-4-0314"}}, "beta": {{"model": "gpt-4-0613"}}}}
    arena = LiveArena(
        client={{"base_url": server.base_url, "api_key_env": None, "cache_dir": None,
                "models": models}},
        store={store!r}, executor=sandbox(), annotator="ann", seed=3,
    )
    arena.send({prompt!r})
    assert arena.wait(90) == "ready"
    script.chunk_delay_s = 0.5  # turn 2 arrives slowly: the kernel dies in the middle of it
    arena.send("Now make it shorter.")
    while not arena.round.side_of("A").text:
        time.sleep(0.02)
    print("streaming turn 2", flush=True)
    time.sleep(60)
"""


def test_a_kernel_killed_mid_round_loses_only_the_unfinished_turn(tmp_path):
    store = tmp_path / "live.sqlite"
    tests = str(Path(__file__).parent)
    code = textwrap.dedent(KILLED).format(tests=tests, store=str(store), prompt=PYTHON_PROMPT)
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": tests},
    )  # fmt: skip
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.strip() == "streaming turn 2", line
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    kept = VoteStore(store)
    assert len(kept.table("prompts")) == 1
    assert list(kept.table("responses")["turn"]) == [1, 1]
    (battle,) = kept.table("battles").to_dict("records")
    assert battle["battle_id"].endswith("-1")
    assert len(kept.table("executions")) >= 1
    assert json.loads(json.dumps(kept.summary(), default=str))
