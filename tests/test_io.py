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
