"""The store's schema version 2: records of the other tables, failed rounds, the v1 migration,
and reading a store wherever a table file is read."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from arena_kit import datasets, report
from arena_kit.errors import ArenaDataError
from arena_kit.store import SCHEMA_VERSION, VoteStore, VoteStoreError, is_store_location

V1_FILE = Path(__file__).parent / "fixtures" / "store_v1.sqlite"


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_a_version_1_store_is_migrated_in_place_and_keeps_every_event(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(V1_FILE, path)
    assert _user_version(path) == 1
    with VoteStore(path) as store:
        events = store.events()
        # The fixture (made by the version-1 code): 3 votes, a skip, a retract of the first vote.
        assert events["kind"].tolist() == ["vote", "vote", "skip", "retract", "vote"]
        assert events["seq"].tolist() == [1, 2, 3, 4, 5]
        assert store.votes()[["battle_id", "winner"]].values.tolist() == [
            ["b2", "tie"],
            ["b1", "model_b"],
        ]
        # Version-2 writes work on the migrated file, and seq keeps counting up.
        store.record_failed_round({"reason": "model b: 3 timeouts", "side": "b"}, annotator="ann")
        store.record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
        assert store.events()["seq"].tolist()[-2:] == [6, 7]
    assert _user_version(path) == SCHEMA_VERSION == 2
    with sqlite3.connect(path) as conn:  # the log is still append-only after the rebuild
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET kind = 'vote' WHERE seq = 4")


def test_records_are_validated_idempotent_append_only_and_read_back_in_order(tmp_path):
    path = tmp_path / "live.sqlite"
    with VoteStore(path) as store:
        assert store.record("prompts", {"prompt_id": "p1", "instruction": "Draw a cat"})
        # The same id again is not written again: the first write wins.
        assert not store.record("prompts", {"prompt_id": "p1", "instruction": "changed"})
        assert store.record("prompts", {"prompt_id": "p0", "instruction": "Sort a list"})
        with pytest.raises(ArenaDataError, match="instruction"):
            store.record("prompts", {"prompt_id": "p2"})
        with pytest.raises(ArenaDataError, match="status"):
            store.record(
                "executions",
                {"execution_id": "e1", "code": "print(1)", "environment": "python",
                 "status": "fine"},
            )  # fmt: skip
        with pytest.raises(VoteStoreError, match="no table 'answers'"):
            store.record("answers", {"x": 1})
        prompts = store.table("prompts")
        assert prompts["prompt_id"].tolist() == ["p1", "p0"]
        assert prompts["instruction"].tolist() == ["Draw a cat", "Sort a list"]
        # A table never written is empty, with the contract's columns.
        assert store.table("battles").empty
        assert "response_a" in store.table("battles").columns
        assert store.summary()["records"] == {"prompts": 2}
    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE records SET payload = '{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM records")


def test_failed_rounds_are_events_that_never_count_as_votes(tmp_path):
    with VoteStore(tmp_path / "s.sqlite") as store:
        store.record_failed_round(
            {"reason": "model-b: HTTP 429 five times", "side": "b", "model_a": "x",
             "model_b": "y"},
            annotator="ann", battle_id="live-1",
        )  # fmt: skip
        failed = store.failed_rounds()
        assert failed[["annotator", "battle_id", "side"]].values.tolist() == [
            ["ann", "live-1", "b"]
        ]
        assert len(store) == 0 and store.votes().empty
        assert store.summary()["failed_rounds"] == 1


def test_a_store_is_read_wherever_a_table_file_is(tmp_path):
    """What a live session leaves in its store feeds the readers of 03/04/report unchanged."""
    path = tmp_path / "live.sqlite"
    with VoteStore(path) as store:
        store.record("prompts", {"prompt_id": "p1", "instruction": "Make a page", "source": "live"})
        for rid, model in (("r1", "alpha"), ("r2", "beta")):
            store.record(
                "responses",
                {"response_id": rid, "prompt_id": "p1", "model": model, "turn": 1,
                 "messages": [{"role": "user", "content": "Make a page"},
                              {"role": "assistant", "content": "<html></html>"}]},
            )  # fmt: skip
        store.record(
            "battles",
            {"battle_id": "b1", "prompt_id": "p1", "model_a": "alpha", "model_b": "beta",
             "response_a": "r1", "response_b": "r2", "source": "live"},
        )  # fmt: skip
        store.record_vote(
            {"battle_id": "b1", "prompt_id": "p1", "model_a": "alpha", "model_b": "beta",
             "winner": "model_b", "source": "live"}
        )  # fmt: skip
    assert is_store_location(path) and is_store_location("postgresql://u@127.0.0.1:1/db")
    assert not is_store_location(tmp_path / "votes.jsonl")
    inputs = report.read_inputs(
        votes_path=path, battles_path=path, responses_path=path, prompts_path=path
    )
    assert inputs.votes["winner"].tolist() == ["model_b"]
    assert inputs.battles["battle_id"].tolist() == ["b1"]
    assert inputs.responses["model"].tolist() == ["alpha", "beta"]
    assert inputs.prompts["source"].tolist() == ["live"]
    assert datasets.read_table(path, "responses")["turn"].tolist() == [1, 1]


def test_reading_a_missing_store_is_a_clear_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(ArenaDataError, match="no vote store here"):
        datasets.read_table(missing, "battles")
    with pytest.raises(ArenaDataError, match="no vote store here"):
        report.load_votes(missing)
    assert not missing.exists()
