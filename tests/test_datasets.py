"""Importers and exporters, on real-shaped fixtures; round trips lose nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arena_kit import datasets
from arena_kit.errors import ArenaDataError

FIXTURES = Path(__file__).parent / "fixtures" / "bigcodearena"


@pytest.fixture(params=["votes.jsonl", "votes.parquet"])
def imported(request, tmp_path):
    return datasets.read_bigcodearena(FIXTURES / request.param, screenshot_dir=tmp_path / "shots")


def test_bigcodearena_votes(imported):
    votes = imported.votes.set_index("battle_id")
    assert votes["winner"].to_dict() == {
        "s-0001": "model_a",
        "s-0002": "tie",
        "s-0003": "both_bad",
        "s-0004": "model_b",
    }
    assert votes.loc["s-0001", "category"] == "web_design"
    assert votes.loc["s-0003", "category"] == "diagram_creation"
    assert set(votes["source"]) == {"bigcodearena"}
    assert votes.loc["s-0002", "turns"] == 2


def test_bigcodearena_environment_and_language_come_from_the_last_round(imported):
    votes = imported.votes.set_index("battle_id")
    row = votes.loc["s-0002"]
    # Side A ran twice; the last round's C++ program counts. Side B's "Auto" resolves to Python.
    assert (row["env_a"], row["lang_a"], row["env_b"], row["lang_b"]) == (
        "cpp",
        "cpp",
        "python",
        "python",
    )
    executions = imported.executions.set_index("execution_id")
    responses = imported.responses.set_index("response_id")
    last = executions.loc[responses.loc["s-0002-A", "execution_id"]]
    assert "puts" in last["code"] and last["stdout"] == "2 3\n"
    # A side that never ran has no execution and no environment.
    assert pd.isna(responses.loc["s-0001-B", "execution_id"])
    assert votes.loc["s-0001", "env_b"] is None


def test_bigcodearena_status_rule_is_the_documented_lossy_one(imported):
    executions = imported.executions.set_index("environment")
    failed = imported.executions[imported.executions["status"] != "ok"]
    assert failed["status"].tolist() == ["runtime_error"]
    assert "ZeroDivisionError" in failed["message"].iloc[0]
    assert executions.loc["cpp", "status"] == "ok"


def test_bigcodearena_screenshots_become_png_files(imported):
    shots = imported.executions.dropna(subset=["screenshot"])
    assert len(shots) == 2  # base64 text and a data URL; {"bytes": None} is no screenshot
    for path in shots["screenshot"]:
        data = Path(path).read_bytes()
        assert data.startswith(b"\x89PNG")
    assert not any("base64" in str(v) for v in imported.executions.to_numpy().ravel())


def test_bigcodearena_messages_keep_earlier_turns_and_system(imported):
    responses = imported.responses.set_index("response_id")
    messages = responses.loc["s-0002-A", "messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    first = responses.loc["s-0001-A", "messages"][0]
    assert first == {"role": "system", "content": "You are an expert web developer."}


def test_bigcodearena_unknown_environment_is_a_clear_error(tmp_path):
    row = json.loads((FIXTURES / "votes.jsonl").read_text().splitlines()[0])
    row["states.model_A"]["sandbox_logs_by_round"]["1"]["sandbox_state"]["sandbox_environment"] = (
        "COBOL Mainframe"
    )
    path = tmp_path / "votes.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ArenaDataError, match=r"line 1.*unknown sandbox environment 'COBOL"):
        datasets.read_bigcodearena(path, screenshot_dir=tmp_path)


def test_bigcodearena_bad_vote_names_its_line(tmp_path):
    lines = (FIXTURES / "votes.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    row["human_vote"] = "vote_maybe"
    path = tmp_path / "votes.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(row)]) + "\n")
    with pytest.raises(ArenaDataError, match=r"votes.jsonl: line 2: column 'winner'.*vote_maybe"):
        datasets.read_bigcodearena(path, screenshot_dir=tmp_path)


def test_fastchat_battles(tmp_path):
    battles = [
        {"question_id": "q1", "model_a": "x", "model_b": "y", "winner": "model_a", "turn": 1,
         "judge": "arena_user_1", "tstamp": 1700000000.5, "conversation_a": [], "anony": True},
        {"question_id": "q2", "model_a": "y", "model_b": "z", "winner": "tie (bothbad)",
         "turn": 3, "judge": "arena_user_2", "tstamp": 1700000100.0},
    ]  # fmt: skip
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(battles))
    votes = datasets.read_fastchat(path)
    assert votes["winner"].tolist() == ["model_a", "both_bad"]
    assert votes["battle_id"].tolist() == ["q1", "q2"]
    assert votes["turns"].tolist() == [1, 3]
    assert votes["annotator"].tolist() == ["arena_user_1", "arena_user_2"]
    assert set(votes["source"]) == {"fastchat"}
    assert "conversation_a" not in votes.columns


def test_plain_csv_votes(tmp_path):
    path = tmp_path / "my votes.csv"
    path.write_text("model_a,model_b,winner\nx,y,model_a\ny,z,tie\nz,x,both_bad\n")
    votes = datasets.read_votes(path)
    assert votes["winner"].tolist() == ["model_a", "tie", "both_bad"]
    assert set(votes["source"]) == {"my votes.csv"}


def test_autocodearena_prompts_are_the_600():
    prompts = datasets.bundled_prompts()
    assert len(prompts) == 600 and prompts["prompt_id"].is_unique
    assert prompts["category"].value_counts().to_dict() == {
        "web_design": 216,
        "problem_solving": 137,
        "game_development": 96,
        "scientific_computing": 84,
        "creative_coding": 48,
        "diagram_creation": 19,
    }


def test_autocodearena_missing_field(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(json.dumps({"uid": "u1", "instruction": "x"}) + "\n")
    with pytest.raises(ArenaDataError, match=r"missing required column\(s\) 'category'"):
        datasets.read_autocodearena(path)


def test_arena_hard_bundled_answers():
    prompts, responses = datasets.bundled_responses()
    assert len(prompts) == 500 and len(responses) == 1500
    assert prompts["category"].isna().all() and prompts["cluster"].notna().all()
    assert sorted(responses["model"].unique()) == sorted(datasets.ARENA_HARD_MODELS)
    first = responses.iloc[0]
    assert first["messages"][0]["role"] == "user" and first["messages"][1]["role"] == "assistant"


def test_arena_hard_old_layout_and_unknown_question(tmp_path):
    questions = tmp_path / "question.jsonl"
    questions.write_text(json.dumps({"question_id": "q1", "turns": [{"content": "Hi?"}]}) + "\n")
    answers = tmp_path / "m.jsonl"
    answers.write_text(
        json.dumps({"question_id": "q1", "model_id": "m", "answer_id": "a",
                    "choices": [{"turns": [{"content": "Hello"}]}]}) + "\n"
        + json.dumps({"question_id": "q9", "model_id": "m", "choices": []}) + "\n"
    )  # fmt: skip
    with pytest.raises(ArenaDataError, match=r"m.jsonl: line 2: column 'uid'.*unknown question"):
        datasets.read_arena_hard(questions, [answers])
    answers.write_text(answers.read_text().splitlines()[0] + "\n")
    prompts, responses = datasets.read_arena_hard(questions, [answers])
    assert responses["messages"][0][1] == {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_round_trip_loses_nothing(tmp_path, suffix, imported):
    for table, frame in [
        ("votes", imported.votes),
        ("responses", imported.responses),
        ("executions", imported.executions),
        ("prompts", imported.prompts),
    ]:
        path = datasets.write_table(frame, tmp_path / f"{table}{suffix}", table)
        back = datasets.read_table(path, table)
        pd.testing.assert_frame_equal(back, frame, check_dtype=True)


def test_round_trip_of_simulated_votes_with_edits(tmp_path):
    votes = datasets.bundled_votes().head(50).copy()
    votes.at[3, "edits"] = [{"side": "a", "code_hash": "abc", "status": "ok"}]
    votes.at[4, "reason"] = "A's page actually works — B's is blank"
    for suffix in (".jsonl", ".parquet"):
        path = datasets.write_table(votes, tmp_path / f"votes{suffix}", "votes")
        pd.testing.assert_frame_equal(datasets.read_table(path, "votes"), votes)


def test_write_table_refuses_bad_rows_and_writes_nothing(tmp_path):
    votes = datasets.bundled_votes().head(5).copy()
    votes.at[2, "winner"] = "nobody"
    target = tmp_path / "votes.parquet"
    with pytest.raises(ArenaDataError, match="row 3"):
        datasets.write_table(votes, target, "votes")
    assert not target.exists() and list(tmp_path.iterdir()) == []
