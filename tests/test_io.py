"""Table files: strict reading with line numbers, atomic writing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arena_kit import io, schema
from arena_kit.errors import ArenaDataError


def test_truncated_json_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "votes.jsonl"
    good = json.dumps({"model_a": "a", "model_b": "b", "winner": "tie"})
    path.write_text(good + "\n\n" + good + "\n" + good[:20] + "\n")
    with pytest.raises(ArenaDataError) as error:
        schema.validate(path, "votes")
    assert str(path) in str(error.value)
    assert "line 4" in str(error.value) and "truncated" in str(error.value)


def test_validation_errors_of_jsonl_rows_name_the_file_line(tmp_path):
    path = tmp_path / "votes.jsonl"
    rows = [{"model_a": "a", "model_b": "b", "winner": "tie"}] * 2
    rows.append({"model_a": "a", "model_b": "b", "winner": "draw"})
    path.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n\n" + json.dumps(rows[2]))
    with pytest.raises(ArenaDataError, match=r"votes.jsonl: line 4: column 'winner'.*'draw'"):
        schema.validate(path, "votes")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet", ".json"])
def test_empty_files_are_refused(tmp_path, suffix):
    path = tmp_path / f"votes{suffix}"
    path.write_bytes(b"")
    with pytest.raises(ArenaDataError, match="empty"):
        schema.validate(path, "votes")


def test_blank_only_jsonl_is_empty(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text("\n\n  \n")
    with pytest.raises(ArenaDataError, match="empty"):
        io.read_jsonl(path)


def test_a_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text('{"model_a": "a"}\n[1, 2]\n')
    with pytest.raises(ArenaDataError, match=r"line 2: expected a JSON object, got list"):
        io.read_jsonl(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ArenaDataError, match=r"unsupported file type '.xlsx'"):
        io.read_frame(tmp_path / "votes.xlsx")
    with pytest.raises(ArenaDataError, match="file not found"):
        io.read_frame(tmp_path / "nope.jsonl")


def test_corrupt_parquet_is_a_data_error(tmp_path):
    path = tmp_path / "votes.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ArenaDataError, match="not a readable Parquet file"):
        io.read_frame(path)


def test_csv_rows_are_numbered_by_file_line(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("model_a,model_b,winner\nx,y,tie\nx,x,tie\n")
    with pytest.raises(ArenaDataError, match=r"votes.csv: line 3: column 'model_b': self-battle"):
        schema.validate(path, "votes")


def test_failed_write_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "table.jsonl"
    io.write_jsonl([{"a": 1}], path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        io.write_jsonl([{"a": 2}, {"a": object()}], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.jsonl"]  # no temporary left over


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet", ".csv"])
def test_json_columns_round_trip_in_every_format(tmp_path, suffix):
    frame = pd.DataFrame(
        {"id": ["a", "b"], "edits": [[{"side": "a", "status": "ok"}], []], "n": [1, 2]}
    )
    path = io.write_frame(frame, tmp_path / f"t{suffix}")
    back, _ = io.read_frame(path, json_columns=["edits"])
    assert back["edits"].tolist() == frame["edits"].tolist()


# ---------------------------------------------------------------------------------------------
# CSV keeps types and names the physical line (issue 16, item 7).


def test_votes_round_trip_through_csv_like_jsonl_and_parquet(tmp_path):
    from arena_kit import datasets
    from arena_kit.simulate import simulate_votes

    votes = simulate_votes(300, seed=4).votes
    votes.loc[3, "reason"] = 'two lines,\nand "quotes"'
    votes.at[5, "edits"] = [{"side": "a", "turn": 1, "status": "ok"}]
    votes.at[6, "interactions"] = {"a": {"clicks": 2, "live": True}}
    votes.loc[7, "qc"] = "repeat"
    votes.loc[8, "reason"] = "True"  # text that looks like a boolean stays text
    assert votes["swapped"].any() and not votes["swapped"].all()
    for suffix in (".csv", ".jsonl", ".parquet"):
        path = datasets.write_table(votes, tmp_path / f"votes{suffix}", "votes")
        back = datasets.read_votes(path)
        pd.testing.assert_frame_equal(back, votes, check_exact=True)
        assert back["swapped"].dtype == bool and back["turns"].dtype == "Int64"


def test_csv_booleans_in_the_spellings_people_write(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text(
        "model_a,model_b,winner,swapped\nx,y,tie,true\nx,y,tie,FALSE\nx,y,tie,1\nx,y,tie,0\nx,y,tie,\n"
    )
    assert schema.validate(path, "votes")["swapped"].tolist() == [True, False, True, False, False]
    path.write_text("model_a,model_b,winner,swapped\nx,y,tie,true\nx,y,tie,maybe\n")
    with pytest.raises(ArenaDataError, match=r"line 3: column 'swapped': wrong type: 'maybe'"):
        schema.validate(path, "votes")


def test_csv_errors_name_the_physical_line_when_fields_hold_newlines(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text(
        "model_a,model_b,winner,reason\n"
        'x,y,tie,"first line\nsecond line\nthird line"\n'
        "\n"
        'x,y,model_a,"one\ntwo"\n'
        "x,x,tie,fine\n"
    )
    # Records start on lines 2 and 6 (a blank line 5 between): the self-battle is on line 8.
    with pytest.raises(ArenaDataError, match=r"votes.csv: line 8: column 'model_b': self-battle"):
        schema.validate(path, "votes")
    frame, lines = io.read_frame(path)
    assert list(lines) == [2, 6, 8]
    assert frame["reason"].tolist()[0] == "first line\nsecond line\nthird line"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_numeric_winner_says_how_to_map_it(tmp_path, suffix):
    frame = pd.DataFrame({"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": [0, 1]})
    path = tmp_path / f"votes{suffix}"
    io.write_frame(frame, path)
    with pytest.raises(ArenaDataError) as error:
        schema.validate(path, "votes")
    message = str(error.value)
    assert "line 2" in message if suffix == ".csv" else "line 1" in message
    assert "the winner is a number" in message and "winner_map={" in message
    assert "write winner as a string" not in message
