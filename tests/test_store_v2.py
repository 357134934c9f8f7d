"""The store's schema version 2, on both engines: records of the other tables, failed rounds,
the v1 migration, and reading a store wherever a table file is read."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from postgres_harness import connect_raw, is_postgres

from arena_kit import datasets, report
from arena_kit.errors import ArenaDataError
from arena_kit.store import SCHEMA_VERSION, VoteStore, VoteStoreError, is_store_location

V1_FILE = Path(__file__).parent / "fixtures" / "store_v1.sqlite"


def _version(location) -> int:
    with connect_raw(location) as conn:
        if is_postgres(location):
            row = conn.execute("SELECT value FROM arena_kit_meta WHERE key = 'schema_version'")
            return int(row.fetchone()[0])
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _append_only_error(location):
    if is_postgres(location):
        import psycopg

        return psycopg.errors.RestrictViolation
    return sqlite3.DatabaseError


def _make_version_1(location) -> None:
    """The fixture's version-1 store at ``location``: the file itself (SQLite); the version-1
    schema with the file's events in it (PostgreSQL)."""
    if not is_postgres(location):
        shutil.copy(V1_FILE, location)
        return
    from arena_kit.store._postgres import apply_migrations

    with sqlite3.connect(V1_FILE) as old:
        rows = old.execute(
            "SELECT event_id, kind, annotator, battle_id, target, tstamp, payload FROM events "
            "ORDER BY seq"
        ).fetchall()
    with connect_raw(location) as conn, conn.transaction():
        apply_migrations(conn, 0, 1)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO events (event_id, kind, annotator, battle_id, target, tstamp, "
                "payload) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )


def test_a_version_1_store_is_migrated_in_place_and_keeps_every_event(store_location):
    _make_version_1(store_location)
    assert _version(store_location) == 1
    with VoteStore(store_location) as store:
        events = store.events()
        # The fixture (made by the version-1 code): 3 votes, a skip, a retract of the first vote.
        assert events["kind"].tolist() == ["vote", "vote", "skip", "retract", "vote"]
        assert events["seq"].tolist() == [1, 2, 3, 4, 5]
        assert store.votes()[["battle_id", "winner"]].values.tolist() == [
            ["b2", "tie"],
            ["b1", "model_b"],
        ]
        # Version-2 writes work on the migrated store, and seq keeps counting up.
        store.record_failed_round({"reason": "model b: 3 timeouts", "side": "b"}, annotator="ann")
        store.record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
        assert store.events()["seq"].tolist()[-2:] == [6, 7]
        assert store.record("prompts", {"prompt_id": "p1", "instruction": "Draw a cat"})
    assert _version(store_location) == SCHEMA_VERSION == 2
    with connect_raw(store_location) as conn:  # the log is still append-only after migrating
        with pytest.raises(_append_only_error(store_location), match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 1")
        with pytest.raises(_append_only_error(store_location), match="append-only"):
            conn.execute("UPDATE events SET kind = 'vote' WHERE seq = 4")


def test_records_are_validated_idempotent_append_only_and_read_back_in_order(store_location):
    path = store_location
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
    with connect_raw(path) as conn:
        with pytest.raises(_append_only_error(path), match="append-only"):
            conn.execute("UPDATE records SET payload = '{}'")
        with pytest.raises(_append_only_error(path), match="append-only"):
            conn.execute("DELETE FROM records")
        if is_postgres(path):
            with pytest.raises(_append_only_error(path), match="append-only"):
                conn.execute("TRUNCATE records")


def test_failed_rounds_are_events_that_never_count_as_votes(store_location):
    with VoteStore(store_location) as store:
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


def test_a_store_is_read_wherever_a_table_file_is(store_location, tmp_path):
    """What a live session leaves in its store feeds the readers of 03/04/report unchanged."""
    path = store_location
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
    assert is_store_location("postgres://u:pw@db.lab/votes")
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


def test_reading_a_missing_postgres_store_is_a_clear_error_and_creates_nothing(
    postgres_server, postgres_url
):
    missing = postgres_server.url("no_such_database")
    with pytest.raises(VoteStoreError, match="has no database 'no_such_database'"):
        datasets.read_table(missing, "battles")
    # An empty database is not read as an empty store (nor made one by reading it).
    with pytest.raises(VoteStoreError, match="no vote store here"):
        report.load_votes(postgres_url)
    with connect_raw(postgres_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public'"
        ).fetchone() == (0,)
