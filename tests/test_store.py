"""The vote store: real SQLite files, real processes, kill -9, concurrent writers."""

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

from arena_kit.store import APPLICATION_ID, SCHEMA_VERSION, VoteStore, VoteStoreError


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


def test_vote_skip_undo_and_the_derived_votes_table(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
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


def test_empty_store_gives_the_votes_columns(tmp_path):
    votes = VoteStore(tmp_path / "new" / "votes.sqlite").votes()
    assert len(votes) == 0
    assert "winner" in votes.columns and "edits" in votes.columns


def test_the_log_is_append_only_and_writes_are_idempotent(tmp_path):
    path = tmp_path / "votes.sqlite"
    store = VoteStore(path)
    vote_id = store.record_vote(_vote(0), event_id="fixed-id")
    assert store.record_vote(_vote(0), event_id="fixed-id") == vote_id
    assert len(store.votes()) == 1
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM events")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE events SET kind = 'skip'")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


def test_a_malformed_vote_is_refused_before_it_is_written(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    with pytest.raises(VoteStoreError, match="winner"):
        store.record_vote(_vote(0, winner="left"))
    assert len(store.iter_events()) == 0


def test_no_personal_data_beyond_the_annotator_id(tmp_path):
    path = tmp_path / "votes.sqlite"
    store = VoteStore(path)
    store.record_vote(_vote(0))
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    import getpass
    import socket

    for secret in {socket.gethostname(), getpass.getuser(), "127.0.0.1"}:
        if len(secret) >= 4:
            assert secret.encode() not in blob


@pytest.mark.parametrize(
    "content",
    [
        b"vote_id,winner\n1,model_a\n",
        os.urandom(4096),
        b"SQLite format 3\x00" + os.urandom(4080),
    ],
    ids=["csv", "random-bytes", "sqlite-magic-then-garbage"],
)
def test_a_foreign_or_corrupt_file_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "votes.sqlite"
    path.write_bytes(content)
    before = _digest(path)
    with pytest.raises(VoteStoreError, match="not a vote store|damaged") as info:
        VoteStore(path)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["votes.sqlite"]


def test_another_programs_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (x)")
    conn.execute("INSERT INTO events VALUES (1)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(VoteStoreError, match="another application"):
        VoteStore(path)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_a_damaged_store_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "votes.sqlite"
    store = VoteStore(path)
    for i in range(300):
        store.record_vote(_vote(i, reason="x" * 200))
    store.close()  # the last connection checkpoints the log into the main file
    assert not (tmp_path / "votes.sqlite-wal").exists()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[page : 3 * page] = os.urandom(2 * page)  # the schema's and the log's first pages
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(VoteStoreError, match="damaged|not a vote store"):
        VoteStore(path)
    assert _digest(path) == before


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "votes.sqlite"
    VoteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(VoteStoreError, match="upgrade arena-kit"):
        VoteStore(path)


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


def test_kill_9_right_after_the_acknowledgement_keeps_the_vote(tmp_path):
    path = tmp_path / "votes.sqlite"
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
def test_four_processes_casting_500_votes_each_at_once(tmp_path):
    path = tmp_path / "votes.sqlite"
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


def test_claims_keep_two_annotators_off_the_same_battle(tmp_path):
    path = tmp_path / "votes.sqlite"
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


def test_the_state_per_annotator_reads_as_a_table(tmp_path, monkeypatch):
    import math

    import pandas as pd

    store = VoteStore(tmp_path / "votes.sqlite")
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


def test_an_empty_store_says_so(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    assert store.by_annotator().empty
    html = store._repr_html_()
    assert "<b>0 votes</b>" in html and "No vote, skip or undo yet" in html
