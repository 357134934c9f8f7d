"""The vote store on both engines (``store_location``: a real SQLite file | a real PostgreSQL
database): real processes, kill -9, concurrent writers, foreign and damaged stores."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from postgres_harness import connect_raw, is_postgres

from arena_kit.store import APPLICATION_ID, SCHEMA_VERSION, VoteStore, VoteStoreError

FOREIGN_VARIANTS = ["csv", "random-bytes", "sqlite-magic-then-garbage"]


def _snapshot(location):
    """What must not change when a store is refused: the file's bytes and the folder (SQLite);
    every relation, trigger and function of the schema and every row (PostgreSQL)."""
    if not is_postgres(location):
        folder = location.parent
        return _digest(location), sorted(p.name for p in folder.iterdir())
    with connect_raw(location) as conn:
        objects = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
        ).fetchall()
        triggers = conn.execute("SELECT tgname FROM pg_trigger ORDER BY 1").fetchall()
        functions = conn.execute(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' ORDER BY 1"
        ).fetchall()
        rows = {
            name: sorted(map(str, conn.execute(f'SELECT * FROM "{name}"').fetchall()))
            for name, kind in objects
            if kind == "r"
        }
    return objects, triggers, functions, rows


def _vote(i: int = 0, **extra):
    vote = {
        "battle_id": f"battle-{i}",
        "model_a": "model-x",
        "model_b": "model-y",
        "winner": ("model_a", "model_b", "tie", "both_bad")[i % 4],
        "annotator": "ann-1",
    }
    vote.update(extra)
    return vote


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_vote_skip_undo_and_the_derived_votes_table(store_location):
    store = VoteStore(store_location)
    first = store.record_vote(_vote(0, duration_s=3.5, edits=[{"side": "a", "status": "ok"}]))
    second = store.record_vote(_vote(1))
    store.record_skip("battle-2", "ann-1")
    votes = store.votes()
    assert list(votes["vote_id"]) == [first, second]
    assert votes["edits"].iloc[0] == [{"side": "a", "status": "ok"}]
    assert "qc" in votes.columns

    undone = store.undo_last("ann-1")
    assert undone.kind == "skip" and undone.battle_id == "battle-2"
    undone = store.undo_last("ann-1")
    assert undone.event_id == second
    assert list(store.votes()["vote_id"]) == [first]
    assert store.undo_last("someone-else") is None

    kinds = list(store.events()["kind"])
    assert kinds == ["vote", "vote", "skip", "retract", "retract"]
    with pytest.raises(VoteStoreError, match="already retracted"):
        store.retract(second)
    info = store.summary()
    assert info["votes"] == 1 and info["retracted"] == 2 and info["annotators"] == {"ann-1": 1}


def test_empty_store_gives_the_votes_columns(store_location):
    if not is_postgres(store_location):  # a file in a folder not made yet
        store_location = store_location.parent / "new" / store_location.name
    votes = VoteStore(store_location).votes()
    assert len(votes) == 0
    assert "winner" in votes.columns and "edits" in votes.columns


def test_the_log_is_append_only_and_writes_are_idempotent(store_location):
    store = VoteStore(store_location)
    vote_id = store.record_vote(_vote(0), event_id="fixed-id")
    assert store.record_vote(_vote(0), event_id="fixed-id") == vote_id
    assert len(store.votes()) == 1
    # An undo sent twice (a retry after a lost acknowledgement) retracts once.
    store.record_vote(_vote(1))
    undone = store.undo_last("ann-1", retract_id="undo-1")
    assert store.undo_last("ann-1", retract_id="undo-1") == undone
    assert store.retract(vote_id, retract_id="undo-2") == "undo-2"
    assert store.retract(vote_id, retract_id="undo-2") == "undo-2"
    assert list(store.events()["kind"]) == ["vote", "vote", "retract", "retract"]
    raw = connect_raw(store_location)
    if is_postgres(store_location):
        import psycopg

        refused = psycopg.errors.RestrictViolation
        statements = ["DELETE FROM events", "UPDATE events SET kind = 'skip'", "TRUNCATE events"]
        meta = dict(raw.execute("SELECT key, value FROM arena_kit_meta").fetchall())
        assert meta["application_id"] == str(APPLICATION_ID)
        assert meta["schema_version"] == str(SCHEMA_VERSION)
    else:
        refused = sqlite3.DatabaseError
        statements = ["DELETE FROM events", "UPDATE events SET kind = 'skip'"]
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for statement in statements:
        with pytest.raises(refused, match="append-only"):
            raw.execute(statement)
    raw.close()
    assert len(store.iter_events()) == 4


def test_a_malformed_vote_is_refused_before_it_is_written(store_location):
    store = VoteStore(store_location)
    with pytest.raises(VoteStoreError, match="winner"):
        store.record_vote(_vote(0, winner="left"))
    assert len(store.iter_events()) == 0


def test_no_personal_data_beyond_the_annotator_id(store_location):
    store = VoteStore(store_location)
    store.record_vote(_vote(0))
    store.claim("battle-1", "ann-1")
    store.close()
    if is_postgres(store_location):  # every row of every table, as text
        blob = repr(_snapshot(store_location)[3]).encode()
        assert b"ann-1" in blob
    else:
        blob = b"".join(p.read_bytes() for p in store_location.parent.iterdir())
    import getpass
    import socket

    for secret in {socket.gethostname(), getpass.getuser(), "127.0.0.1"}:
        if len(secret) >= 4:
            assert secret.encode() not in blob


def _make_foreign(location, variant: str) -> None:
    """Something that is not an arena-kit store where the store would be. PostgreSQL's
    counterparts of the files: a table of CSV-like rows, a table of random bytes, and a
    database that names itself a store of another application."""
    if not is_postgres(location):
        location.write_bytes(
            {
                "csv": b"vote_id,winner\n1,model_a\n",
                "random-bytes": os.urandom(4096),
                "sqlite-magic-then-garbage": b"SQLite format 3\x00" + os.urandom(4080),
            }[variant]
        )
        return
    with connect_raw(location) as conn:
        if variant == "csv":
            conn.execute("CREATE TABLE votes (vote_id TEXT, winner TEXT)")
            conn.execute("INSERT INTO votes VALUES ('1', 'model_a')")
        elif variant == "random-bytes":
            conn.execute("CREATE TABLE blob (data BYTEA)")
            conn.execute("INSERT INTO blob VALUES (%s)", (os.urandom(4096),))
        else:
            conn.execute("CREATE TABLE arena_kit_meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("INSERT INTO arena_kit_meta VALUES ('application_id', '42')")
            conn.execute("CREATE TABLE events (x BYTEA)")
            conn.execute("INSERT INTO events VALUES (%s)", (os.urandom(512),))


@pytest.mark.parametrize("variant", FOREIGN_VARIANTS)
def test_a_foreign_or_corrupt_file_is_refused_and_left_untouched(store_location, variant):
    _make_foreign(store_location, variant)
    before = _snapshot(store_location)
    with pytest.raises(VoteStoreError, match="not a vote store|damaged") as info:
        VoteStore(store_location)
    shown = str(store_location).replace(_password(store_location), "")
    assert shown in str(info.value) and "Fix:" in str(info.value)
    assert _password(store_location) not in str(info.value)
    assert _snapshot(store_location) == before


def _password(location) -> str:
    """The password in a URL ('' for a path): it must never be shown."""
    if not is_postgres(location):
        return "\0"
    from urllib.parse import urlsplit

    password = urlsplit(location).password
    assert password
    return ":" + password


def test_another_programs_database_is_refused_and_left_untouched(store_location):
    if is_postgres(store_location):
        with connect_raw(store_location) as conn:
            conn.execute("CREATE TABLE events (x INTEGER)")
            conn.execute("INSERT INTO events VALUES (1)")
    else:
        store_location = store_location.with_name("app.db")
        conn = sqlite3.connect(store_location)
        conn.execute("CREATE TABLE events (x)")
        conn.execute("INSERT INTO events VALUES (1)")
        conn.commit()
        conn.close()
    before = _snapshot(store_location)
    with pytest.raises(VoteStoreError, match="another application") as info:
        VoteStore(store_location)
    assert _password(store_location) not in str(info.value)
    assert _snapshot(store_location) == before


def _damage(location) -> None:
    """Overwrite the schema's and the log's first pages (SQLite); lose a table (PostgreSQL)."""
    if is_postgres(location):
        with connect_raw(location) as conn:
            conn.execute("DROP TABLE records")
        return
    data = bytearray(location.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[page : 3 * page] = os.urandom(2 * page)
    location.write_bytes(bytes(data))


def test_a_damaged_store_is_refused_and_left_untouched(store_location):
    store = VoteStore(store_location)
    for i in range(300):
        store.record_vote(_vote(i, reason="x" * 200))
    store.close()  # SQLite: the last connection checkpoints the log into the main file
    if not is_postgres(store_location):
        assert not store_location.with_name("votes.sqlite-wal").exists()
    _damage(store_location)
    before = _snapshot(store_location)
    with pytest.raises(VoteStoreError, match="damaged|not a vote store"):
        VoteStore(store_location)
    assert _snapshot(store_location) == before


def test_a_newer_schema_is_refused(store_location):
    VoteStore(store_location).close()
    with connect_raw(store_location) as conn:
        if is_postgres(store_location):
            conn.execute(
                "UPDATE arena_kit_meta SET value = %s WHERE key = 'schema_version'",
                (str(SCHEMA_VERSION + 1),),
            )
        else:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = _snapshot(store_location)
    with pytest.raises(VoteStoreError, match="upgrade arena-kit"):
        VoteStore(store_location)
    assert _snapshot(store_location) == before


_KILL_WORKER = textwrap.dedent(
    """
    import sys, time
    from arena_kit.store import VoteStore
    store = VoteStore(sys.argv[1])
    vote_id = store.record_vote({"battle_id": "b-kill", "model_a": "x", "model_b": "y",
                                 "winner": "model_b", "annotator": "ann-kill"})
    print("ACK", vote_id, flush=True)
    time.sleep(60)
    """
)


def test_kill_9_right_after_the_acknowledgement_keeps_the_vote(store_location):
    path = store_location
    process = subprocess.Popen(
        [sys.executable, "-c", _KILL_WORKER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert line.startswith("ACK ")
    vote_id = line.split()[1]
    votes = VoteStore(path).votes()
    assert list(votes["vote_id"]) == [vote_id]
    assert votes["winner"].iloc[0] == "model_b"


_ACK_WRITER = textwrap.dedent(
    """
    import sys, uuid
    from arena_kit.store import VoteStore
    store = VoteStore(sys.argv[1])
    worker = sys.argv[2]
    print("READY", flush=True)
    while True:
        vote_id = f"{worker}-{uuid.uuid4().hex}"
        store.record_vote({"battle_id": "b", "model_a": "x", "model_b": "y", "winner": "tie",
                           "annotator": worker}, event_id=vote_id)
        print("ACK", vote_id, flush=True)
    """
)


def test_kill_9_of_writers_voting_flat_out_loses_no_acknowledged_vote(store_location):
    """Four processes voting as fast as they can are killed (-9) mid-stream: every vote a
    writer was told is stored is there, and at most one more per writer (sent, not yet
    acknowledged)."""
    store = VoteStore(store_location)  # made first: the writers only open it
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _ACK_WRITER, str(store_location), f"w{w}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    acked: set[str] = set()
    try:
        for writer in writers:
            assert writer.stdout.readline() == "READY\n", writer.stderr.read()
        for _ in range(25):  # 25 acknowledgements from each writer, then kill them all
            for writer in writers:
                line = writer.stdout.readline().split()
                assert line and line[0] == "ACK", writer.stderr.read()
                acked.add(line[1])
        for writer in writers:
            os.kill(writer.pid, signal.SIGKILL)
    finally:
        for writer in writers:
            writer.kill()
            writer.wait(timeout=30)
            # Acknowledgements still in the pipe (or read ahead into its buffer) were given
            # before the kill: they count too.
            rest = writer.stdout.read()
            acked |= {line.split()[1] for line in rest.splitlines() if line.startswith("ACK ")}
            writer.stdout.close()
            writer.stderr.close()
    assert all(writer.returncode == -signal.SIGKILL for writer in writers)
    votes = store.votes()
    stored = set(votes["vote_id"])
    assert len(votes) == len(stored) >= len(acked) >= 100
    assert acked <= stored
    assert len(stored - acked) <= len(writers)


_CONCURRENT_WORKER = textwrap.dedent(
    """
    import sys, time
    from arena_kit.store import VoteStore
    path, worker, n, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    store = VoteStore(path)
    while time.time() < start:
        time.sleep(0.005)
    for i in range(n):
        store.record_vote({"battle_id": f"b-{worker}-{i}", "model_a": "x", "model_b": "y",
                           "winner": "tie", "annotator": f"ann-{worker}"},
                          event_id=f"w{worker}-{i}")
    print("DONE", worker, flush=True)
    """
)


@pytest.mark.slow
def test_four_processes_casting_500_votes_each_at_once(store_location):
    path = store_location
    start = time.time() + 3.0  # the four writers start together, after their imports
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_WORKER, str(path), str(w), "500", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.startswith("DONE")
    votes = VoteStore(path).votes()
    assert len(votes) == 2000
    assert votes["vote_id"].is_unique
    assert set(votes["vote_id"]) == {f"w{w}-{i}" for w in range(4) for i in range(500)}
    assert votes["annotator"].value_counts().to_dict() == {f"ann-{w}": 500 for w in range(4)}
    # The writers really overlapped: each one's votes are interleaved with the others'.
    # Spans, not a count of switches: on a loaded 2-core machine SQLite's busy handler may
    # keep one writer waiting until the others finish; the test needs writers that overlapped.
    order = list(votes["annotator"])
    spans = [(order.index(a), len(order) - 1 - order[::-1].index(a)) for a in set(order)]
    overlapping = [
        (one, two) for i, one in enumerate(spans) for two in spans[i + 1 :]
        if one[0] < two[1] and two[0] < one[1]
    ]  # fmt: skip
    assert overlapping, spans


def test_claims_keep_two_annotators_off_the_same_battle(store_location):
    path = store_location
    one, two = VoteStore(path), VoteStore(path)
    assert one.claim("b-1", "ann-1")
    assert one.claim("b-1", "ann-1")  # renewing one's own claim
    assert not two.claim("b-1", "ann-2")
    assert two.claimed_by_others("ann-2") == {"b-1"}
    assert one.claimed_by_others("ann-1") == set()
    assert two.claim("b-2", "ann-2", ttl_s=-1)  # already expired
    assert one.claim("b-2", "ann-1")
    one.release("ann-1")
    assert two.claim("b-1", "ann-2")
    assert len(one.iter_events()) == 0  # claims are not events


def test_the_state_per_annotator_reads_as_a_table(store_location, monkeypatch):
    import math

    import pandas as pd

    store = VoteStore(store_location)
    clock = iter([1_790_000_000.0 + 60 * i for i in range(20)])
    monkeypatch.setattr(time, "time", lambda: next(clock))
    store.record_vote(_vote(0, annotator="ann", duration_s=10.0))
    store.record_vote(_vote(1, annotator="ann", duration_s=30.0))
    store.record_vote(_vote(2, annotator="ann", duration_s=20.0))
    store.record_skip("battle-3", "ann")
    store.record_vote(_vote(4, annotator="bob"))  # not timed
    store.record_vote(_vote(5, annotator="bob", duration_s=5.0))
    store.undo_last("bob")

    table = store.by_annotator().set_index("annotator")
    assert list(table.index) == ["ann", "bob", "all"]
    assert table.loc["ann", ["votes", "skips", "undone"]].tolist() == [3, 1, 0]
    assert table.loc["bob", ["votes", "skips", "undone"]].tolist() == [1, 0, 1]
    assert table.loc["all", ["votes", "skips", "undone"]].tolist() == [4, 1, 1]
    assert table.loc["ann", "median_s"] == 20.0 and math.isnan(table.loc["bob", "median_s"])
    assert table.loc["all", "median_s"] == 20.0  # 10, 30, 20
    stamps = store.events().set_index("event_id")["tstamp"]
    assert table.loc["ann", "first"] == pd.Timestamp(stamps.iloc[0], unit="s", tz="UTC")
    assert table.loc["ann", "last"] == pd.Timestamp(stamps.iloc[3], unit="s", tz="UTC")

    html = store._repr_html_()
    assert "<b>4 votes</b> on 4 battles · 1 skipped · 1 undone · 2 annotators" in html
    assert "median s per vote" in html and "first (UTC)" in html
    first = pd.Timestamp(stamps.iloc[0], unit="s", tz="UTC")
    assert f"{first:%Y-%m-%d %H:%M}" in html
    # Times as dates, never as seconds since 1970 ("1.79e+09").
    assert "e+09" not in html and "1790000" not in html


def test_an_empty_store_says_so(store_location):
    store = VoteStore(store_location)
    assert store.by_annotator().empty
    html = store._repr_html_()
    assert "<b>0 votes</b>" in html and "No vote, skip or undo yet" in html
