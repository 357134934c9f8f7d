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


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
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
    for suffix in (".jsonl", ".parquet", ".csv"):
        path = datasets.write_table(votes, tmp_path / f"votes{suffix}", "votes")
        pd.testing.assert_frame_equal(datasets.read_table(path, "votes"), votes)
        pd.testing.assert_frame_equal(datasets.read_votes(path), votes)


def test_write_table_refuses_bad_rows_and_writes_nothing(tmp_path):
    votes = datasets.bundled_votes().head(5).copy()
    votes.at[2, "winner"] = "nobody"
    target = tmp_path / "votes.parquet"
    with pytest.raises(ArenaDataError, match="row 3"):
        datasets.write_table(votes, target, "votes")
    assert not target.exists() and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# read_answers: your own models' answers.

SNAKE = "Write a snake game in pygame"
LOGIN = "Draw the login flow as a mermaid flowchart"
ANSWERS = [
    {"prompt": SNAKE, "model": "ours-v1", "answer": "```python\nimport pygame\n```"},
    {"prompt": SNAKE, "model": "ours-v2", "answer": "I can't run games."},
    {"prompt": LOGIN, "model": "ours-v1", "answer": "```mermaid\ngraph TD\n```"},
    {"prompt": LOGIN, "model": "ours-v2", "answer": ""},
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_read_answers_makes_ids_messages_and_predicted_categories(tmp_path):
    from arena_kit.schema import validate

    prompts, responses = datasets.read_answers(_write_jsonl(tmp_path / "mine.jsonl", ANSWERS))
    assert list(prompts["instruction"]) == [SNAKE, LOGIN]
    assert prompts["prompt_id"].is_unique and set(prompts["source"]) == {"mine.jsonl"}
    # Both models' answers to one prompt share its id: that is what pairs them.
    assert responses.groupby("prompt_id")["model"].apply(sorted).tolist() == [
        ["ours-v1", "ours-v2"],
        ["ours-v1", "ours-v2"],
    ]
    assert responses["response_id"].is_unique and responses["turn"].tolist() == [1, 1, 1, 1]
    assert responses["messages"][0] == [
        {"role": "user", "content": SNAKE},
        {"role": "assistant", "content": "```python\nimport pygame\n```"},
    ]
    assert responses["messages"][3][1]["content"] == ""  # a model may answer nothing
    by_text = prompts.set_index("instruction")
    assert by_text.loc[SNAKE, "category"] == "game_development"
    assert by_text.loc[LOGIN, "category"] == "diagram_creation"
    assert set(prompts["category_source"]) == {"predicted"}
    pd.testing.assert_frame_equal(validate(prompts, "prompts"), prompts)
    pd.testing.assert_frame_equal(validate(responses, "responses"), responses)
    # Reading again gives the same ids (made from the content, not from the order).
    again_prompts, again = datasets.read_answers(
        _write_jsonl(tmp_path / "reversed.jsonl", ANSWERS[::-1])
    )
    assert set(again["response_id"]) == set(responses["response_id"])
    assert set(again_prompts["prompt_id"]) == set(prompts["prompt_id"])


def test_read_answers_reads_csv_and_parquet_alike(tmp_path):
    jsonl_prompts, jsonl_responses = datasets.read_answers(
        _write_jsonl(tmp_path / "a.jsonl", ANSWERS)
    )
    frame = pd.DataFrame(ANSWERS)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    for name in ("a.csv", "a.parquet"):
        prompts, responses = datasets.read_answers(tmp_path / name)
        pd.testing.assert_frame_equal(
            prompts.drop(columns="source"), jsonl_prompts.drop(columns="source")
        )
        pd.testing.assert_frame_equal(responses, jsonl_responses)


def test_read_answers_keeps_given_ids_and_categories(tmp_path):
    rows = [
        {"question_id": 7, "question": SNAKE, "model_name": "a", "output": "x", "category": ""},
        {"question_id": 7, "question": SNAKE, "model_name": "b", "output": "y"},
        {"question_id": 8, "question": LOGIN, "model_name": "a", "output": "z",
         "category": "Creative Coding"},
    ]  # fmt: skip
    prompts, responses = datasets.read_answers(
        _write_jsonl(tmp_path / "a.jsonl", rows),
        prompt="question",
        answer="output",
        model="model_name",
        prompt_id="question_id",
    )
    assert prompts["prompt_id"].tolist() == ["7", "8"]
    assert responses["prompt_id"].tolist() == ["7", "7", "8"]
    assert prompts.set_index("prompt_id")["category"].to_dict() == {
        "7": "game_development",
        "8": "creative_coding",  # given (spelled with a space): kept, not predicted
    }
    assert prompts.set_index("prompt_id")["category_source"].to_dict() == {
        "7": "predicted",
        "8": "label",
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_read_answers_takes_a_conversation_column(tmp_path, suffix):
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": SNAKE},
        {"role": "assistant", "content": "Which version of pygame?"},
        {"role": "user", "content": "2.5"},
        {"role": "assistant", "content": "```python\nimport pygame\n```"},
    ]
    frame = pd.DataFrame(
        {"model": ["a", "b"], "messages": [conversation, conversation[:3]]}, dtype=object
    )
    path = tmp_path / f"chats{suffix}"
    if suffix == ".jsonl":
        _write_jsonl(path, frame.to_dict(orient="records"))
    elif suffix == ".csv":  # the conversation as JSON text, as a spreadsheet holds it
        frame.assign(messages=frame["messages"].map(json.dumps)).to_csv(path, index=False)
    else:  # a native Parquet list of structs, as other tools write it
        frame.to_parquet(path, index=False)
    prompts, responses = datasets.read_answers(path)
    assert prompts["instruction"].tolist() == [SNAKE]
    assert responses["messages"][0] == conversation
    assert responses["turn"].tolist() == [2, 1]
    assert responses["prompt_id"].nunique() == 1


def test_read_answers_missing_columns_name_what_was_looked_for_and_the_alias(tmp_path):
    path = _write_jsonl(tmp_path / "a.jsonl", [{"prompt": SNAKE, "model": "a", "output": "x"}])
    with pytest.raises(ArenaDataError) as error:
        datasets.read_answers(path)
    text = str(error.value)
    assert "'answer'" in text and "'messages'" in text and "'output'" in text
    assert "answer='output'" in text
    path = _write_jsonl(tmp_path / "b.jsonl", [{"prompt": SNAKE, "model_name": "a", "answer": "x"}])
    with pytest.raises(ArenaDataError, match=r"no column 'model'.*model='model_name'"):
        datasets.read_answers(path)
    path = _write_jsonl(tmp_path / "c.jsonl", [{"instruction": SNAKE, "model": "a", "answer": "x"}])
    with pytest.raises(ArenaDataError, match=r"no column 'prompt'.*prompt='instruction'"):
        datasets.read_answers(path)
    with pytest.raises(ArenaDataError, match=r"no column 'pid'"):
        datasets.read_answers(_write_jsonl(tmp_path / "d.jsonl", ANSWERS), prompt_id="pid")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [ANSWERS[0], {"prompt": SNAKE, "model": None, "answer": "x"}],
            r"line 2: column 'model': missing value",
        ),
        (
            [ANSWERS[0], {"prompt": "  ", "model": "b", "answer": "x"}],
            r"line 2: column 'prompt': empty value",
        ),
        (
            [ANSWERS[0], {"prompt": SNAKE, "model": "b", "answer": None}],
            r"line 2: column 'answer': missing value",
        ),
        (
            [ANSWERS[0], {"prompt": SNAKE, "model": "b", "answer": 3}],
            r"line 2: column 'answer': not text: int",
        ),
        (
            [ANSWERS[0], {**ANSWERS[0], "answer": "again"}],
            r"line 2: column 'model': model 'ours-v1' answers prompt .* twice \(first at line 1",
        ),
        (
            [{**ANSWERS[0], "prompt_id": "p1"}, {**ANSWERS[2], "prompt_id": "p1"}],
            r"line 2: column 'prompt_id': prompt id 'p1' is used for two different prompts",
        ),
        (
            [{**ANSWERS[0], "category": "games"}],
            r"line 1: column 'category': unknown category 'games'.*web_design",
        ),
        (
            [{"model": "a", "messages": [{"role": "user", "content": SNAKE}]}],
            r"line 1: column 'messages': the conversation does not end with the model's answer",
        ),
        (
            [{"model": "a", "messages": [{"role": "bot", "content": "x"}]}],
            r"line 1: column 'messages': a message that is not \{role, content\}",
        ),
    ],
)
def test_read_answers_bad_rows_name_the_line_and_column(tmp_path, rows, expected):
    with pytest.raises(ArenaDataError, match=expected):
        datasets.read_answers(_write_jsonl(tmp_path / "a.jsonl", rows))


# ---------------------------------------------------------------------------------------------
# Any vote file, no hand-built columns (issue 16, item 6). Fixtures: tests/fixtures/arenas/.

ARENAS = Path(__file__).parent / "fixtures" / "arenas"


def test_read_votes_maps_a_files_own_columns_and_winner_words():
    votes = datasets.read_votes(
        ARENAS / "left_right.csv",
        columns={"left": "model_a", "right": "model_b", "choice": "winner"},
        winner_map={"left": "model_a", "right": "model_b", "tie": "tie"},
    )
    assert votes[["model_a", "model_b", "winner"]].values.tolist() == [
        ["lab-a", "lab-b", "model_a"],
        ["lab-b", "lab-c", "model_b"],
        ["lab-c", "lab-a", "tie"],
    ]
    assert set(votes["source"]) == {"left_right.csv"}


def test_read_votes_errors_say_what_to_pass():
    with pytest.raises(ArenaDataError) as error:
        datasets.read_votes(ARENAS / "left_right.csv")
    assert "columns={'left': 'model_a', 'right': 'model_b', 'choice': 'winner'}" in str(error.value)
    with pytest.raises(ArenaDataError, match=r"pass columns=\{'left': 'model_a'\}"):
        datasets.read_votes(ARENAS / "left_right.csv", columns={"model_a": "left"})
    named = {"left": "model_a", "right": "model_b", "choice": "winner"}
    with pytest.raises(ArenaDataError) as error:
        datasets.read_votes(ARENAS / "left_right.csv", columns=named)
    assert "line 2" in str(error.value)
    # 'tie' is already a winner: only the file's own words need mapping.
    assert "winner_map={'left': 'model_a', 'right': 'model_b'}" in str(error.value)
    with pytest.raises(ArenaDataError, match=r"line 3: column 'winner': winner 'right' is not in"):
        datasets.read_votes(
            ARENAS / "left_right.csv", columns=named, winner_map={"left": "model_a"}
        )
    with pytest.raises(ArenaDataError, match="maps 'left' to 'first', which is not a winner"):
        datasets.read_votes(ARENAS / "left_right.csv", columns=named, winner_map={"left": "first"})


def test_a_numeric_index_winner_is_mapped_in_any_spelling(tmp_path):
    rows = "modelA,modelB,acceptedIndex\nx,y,0\nx,y,1.0\ny,x,0.0\n"
    (tmp_path / "index.csv").write_text(rows)
    with pytest.raises(ArenaDataError) as error:
        datasets.read_votes(tmp_path / "index.csv", columns={"modelA": "model_a",
                            "modelB": "model_b", "acceptedIndex": "winner"})  # fmt: skip
    assert "the winner is a number" in str(error.value) and "winner_map=" in str(error.value)
    votes = datasets.read_votes(
        tmp_path / "index.csv",
        columns={"modelA": "model_a", "modelB": "model_b", "acceptedIndex": "winner"},
        winner_map={0: "model_a", 1: "model_b"},
    )
    assert votes["winner"].tolist() == ["model_a", "model_b", "model_a"]


def test_copilot_arena_battles(tmp_path):
    votes = datasets.read_copilot_arena(ARENAS / "copilot_arena.csv")
    assert votes[["model_a", "model_b", "winner"]].values.tolist() == [
        ["coder-one", "coder-two", "model_a"],
        ["coder-two", "coder-three", "model_b"],
        ["coder-three", "coder-one", "model_b"],
        ["coder-one", "coder-three", "model_a"],
    ]
    assert set(votes["source"]) == {"copilot-arena"} and votes["vote_id"].is_unique
    assert "prefix" not in votes.columns and "completion_a" not in votes.columns
    # Fields span several lines: a bad row is named by the line it starts on.
    text = (ARENAS / "copilot_arena.csv").read_text()
    broken = text.replace("coder-one,coder-three,0.0", "coder-one,coder-three,2.0")
    path = tmp_path / "broken_copilot.csv"
    path.write_text(broken)
    with pytest.raises(ArenaDataError, match=r"line 11: column 'winner': winner '2.0'"):
        datasets.read_copilot_arena(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lmarena_one_hot.csv", ["model_a", "model_b", "tie"]),
        ("lmarena_both_bad.jsonl", ["both_bad", "model_a"]),
        ("lmarena_winner.jsonl", ["model_b", "both_bad"]),
    ],
)
def test_lmarena_human_preference_layouts(name, expected):
    votes = datasets.read_lmarena(ARENAS / name)
    assert votes["winner"].tolist() == expected
    assert set(votes["source"]) == {"lmarena"}
    if name == "lmarena_both_bad.jsonl":
        assert votes["annotator"].tolist() == ["user-7", "user-8"]
        assert votes["battle_id"].tolist() == ["q1", "q2"]
        assert votes["tstamp"].tolist() == [1714000000.0, 1714000060.0]


def test_lmarena_rows_with_no_or_two_outcomes_are_refused(tmp_path):
    rows = [
        {"id": 1, "model_a": "a", "model_b": "b", "winner_model_a": 1, "winner_model_b": 0,
         "winner_tie": 0},
        {"id": 2, "model_a": "a", "model_b": "b", "winner_model_a": 1, "winner_model_b": 1,
         "winner_tie": 0},
    ]  # fmt: skip
    path = tmp_path / "pref.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(ArenaDataError, match=r"line 2: .*exactly one 1.*winner_model_b=1"):
        datasets.read_lmarena(path)
    (tmp_path / "none.jsonl").write_text(json.dumps({"model_a": "a", "model_b": "b"}))
    with pytest.raises(ArenaDataError, match="no outcome"):
        datasets.read_lmarena(tmp_path / "none.jsonl")
