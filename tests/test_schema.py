"""The table contracts: names, validation, and a clear error for each kind of bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from arena_kit import schema
from arena_kit.errors import ArenaDataError


def votes(**overrides):
    data = {"model_a": ["m1", "m2"], "model_b": ["m2", "m3"], "winner": ["model_a", "tie"]}
    data.update(overrides)
    return pd.DataFrame(data)


def test_names_match_the_design():
    assert schema.WINNERS == ("model_a", "model_b", "tie", "both_bad")
    assert len(schema.ENVIRONMENTS) == 17 and {"pygame", "server"} <= set(schema.ENVIRONMENTS)
    assert schema.CATEGORY_LABELS["web_design"] == "web design"
    assert str(schema.Status.BUILD_ERROR) == "build_error"
    assert len(schema.STATUSES) == 10


def test_every_table_has_a_contract_with_its_key_first():
    for table, key in [
        ("prompts", "prompt_id"),
        ("responses", "response_id"),
        ("executions", "execution_id"),
        ("battles", "battle_id"),
        ("votes", "vote_id"),
    ]:
        assert schema.columns(table)[0].name == key


def test_validate_fills_defaults_and_orders_columns():
    clean = schema.validate(votes(extra=["x", "y"]), "votes")
    names = [c.name for c in schema.columns("votes")]
    assert list(clean.columns) == [*names, "extra"]
    assert clean["swapped"].tolist() == [False, False]
    assert clean["turns"].dtype == "Int64" and clean["turns"].tolist() == [1, 1]
    assert clean["edits"].tolist() == [[], []]
    assert clean["edits"][0] is not clean["edits"][1]  # defaults are not shared objects
    assert clean["vote_id"].is_unique and clean["battle_id"].tolist() == clean["vote_id"].tolist()
    assert clean["reason"].tolist() == [None, None]


def test_generated_vote_ids_are_stable_and_distinguish_identical_votes():
    twice = votes(model_a=["m1", "m1"], model_b=["m2", "m2"], winner=["tie", "tie"])
    first = schema.validate(twice, "votes")["vote_id"].tolist()
    assert first == schema.validate(twice, "votes")["vote_id"].tolist()
    assert first[0] != first[1]


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("vote_model_A", "model_a"),
        ("vote_model_B", "model_b"),
        ("vote_tie", "tie"),
        ("vote_both_bad", "both_bad"),
        ("tie (bothbad)", "both_bad"),
        ("model_a", "model_a"),
    ],
)
def test_public_winner_spellings_are_normalised(spelling, canonical):
    clean = schema.validate(votes(winner=[spelling, "tie"]), "votes")
    assert clean["winner"][0] == canonical


def test_unknown_winner_names_row_and_value():
    with pytest.raises(ArenaDataError) as error:
        schema.validate(votes(winner=["model_a", "A wins!"]), "votes", source="my.csv")
    message = str(error.value)
    assert "my.csv" in message and "row 2" in message and "'A wins!'" in message
    assert "model_a, model_b, tie, both_bad" in message
    assert error.value.column == "winner" and error.value.value == "A wins!"


def test_missing_column_names_the_column_and_what_was_found():
    with pytest.raises(ArenaDataError, match=r"missing required column\(s\) 'winner'.*found: "):
        schema.validate(pd.DataFrame({"model_a": ["x"], "model_b": ["y"]}), "votes")


def test_self_battle_is_refused_with_its_row():
    with pytest.raises(ArenaDataError, match=r"row 2: column 'model_b': self-battle.*'m2'"):
        schema.validate(votes(model_b=["m2", "m2"]), "votes")


def test_wrong_type_names_row_value_and_expected_type():
    with pytest.raises(ArenaDataError, match=r"row 1: column 'turns': wrong type: 'two'.*integer"):
        schema.validate(votes(turns=["two", 1]), "votes")
    with pytest.raises(ArenaDataError, match=r"column 'swapped'.*true or false"):
        schema.validate(votes(swapped=["yes", False]), "votes")


def test_empty_table_is_refused():
    with pytest.raises(ArenaDataError, match="no rows"):
        schema.validate(pd.DataFrame(columns=["model_a", "model_b", "winner"]), "votes")


def test_unknown_names_in_optional_columns_are_refused():
    with pytest.raises(ArenaDataError, match=r"column 'env_a': unknown value 'cobol'"):
        schema.validate(votes(env_a=["cobol", None]), "votes")
    with pytest.raises(ArenaDataError, match=r"column 'category': unknown value 'Web Design'"):
        schema.validate(votes(category=["Web Design", None]), "votes")


def test_duplicate_keys_are_refused():
    with pytest.raises(ArenaDataError, match=r"row 2: column 'vote_id': duplicate vote_id 'v1'"):
        schema.validate(votes(vote_id=["v1", "v1"]), "votes")


def test_required_value_missing_in_a_row():
    with pytest.raises(ArenaDataError, match=r"row 2: column 'model_b': required value"):
        schema.validate(votes(model_b=["m2", None]), "votes")


def test_messages_must_be_role_content_lists():
    good = {"response_id": "r1", "prompt_id": "p1", "model": "m"}
    ok = schema.validate([{**good, "messages": [{"role": "user", "content": "hi"}]}], "responses")
    assert ok["turn"][0] == 1
    with pytest.raises(
        ArenaDataError, match=r"row 1: column 'messages': a message without a valid"
    ):
        schema.validate([{**good, "messages": [{"role": "robot", "content": "x"}]}], "responses")
    with pytest.raises(ArenaDataError, match="non-empty list"):
        schema.validate([{**good, "messages": []}], "responses")


def test_integers_given_as_whole_floats_are_accepted():
    clean = schema.validate(votes(turns=[2.0, 3]), "votes")
    assert clean["turns"].tolist() == [2, 3]


def test_unknown_table():
    with pytest.raises(ArenaDataError, match="unknown table 'vote'"):
        schema.columns("vote")
