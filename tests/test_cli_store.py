"""``arena-kit store copy`` and ``arena-kit store export`` on real stores of both engines:
SQLite ↔ PostgreSQL round trips, two machines' files merged, copies run twice, exports read
back, and the errors (nothing written, no password shown)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from postgres_harness import connect_raw, is_postgres

from arena_kit import datasets
from arena_kit.cli import main
from arena_kit.store import VoteStore


def _fill(store: VoteStore, machine: str, n: int = 6) -> None:
    """A session's worth of everything a store holds: votes, a skip, an undo, a failed
    round, records of each table, a claim."""
    for i in range(n):
        store.record_vote(
            {"battle_id": f"{machine}-b{i}", "model_a": "alpha", "model_b": "beta",
             "winner": ("model_a", "model_b", "tie", "both_bad")[i % 4],
             "annotator": f"ann-{machine}", "duration_s": 2.5 + i,
             "edits": [{"side": "a", "status": "ok", "note": "é ✓"}]},
        )  # fmt: skip
    store.record_skip(f"{machine}-b{n}", f"ann-{machine}", qc=None)
    store.undo_last(f"ann-{machine}")  # the skip
    store.undo_last(f"ann-{machine}")  # the last vote
    store.record_failed_round({"reason": "model b: 3 timeouts", "side": "b"}, annotator="x")
    store.record("prompts", {"prompt_id": f"{machine}-p", "instruction": "Draw a cat"})
    store.record("prompts", {"prompt_id": "shared-p", "instruction": "Sort a list"})
    store.claim(f"{machine}-b0", f"ann-{machine}")


def _rows(location) -> tuple[list[tuple], list[tuple]]:
    """Every event and record as stored (ids, times, payload text), in the store's order."""
    with connect_raw(location) as conn:
        events = conn.execute(
            "SELECT event_id, kind, annotator, battle_id, target, tstamp, payload FROM events "
            "ORDER BY seq"
        ).fetchall()
        records = conn.execute(
            "SELECT kind, record_id, tstamp, payload FROM records ORDER BY seq"
        ).fetchall()
    return [tuple(row) for row in events], [tuple(row) for row in records]


def _digest(location) -> str:
    return hashlib.sha256(repr(_rows(location)).encode()).hexdigest()


def test_sqlite_to_postgresql_and_back_keeps_every_event_and_record(tmp_path, postgres_url, capsys):
    first = tmp_path / "laptop.sqlite"
    with VoteStore(first) as store:
        _fill(store, "laptop")
        votes = store.votes()
    assert main(["store", "copy", str(first), postgres_url]) == 0
    out = capsys.readouterr().out
    assert "10 of 10 events and 2 of 2 records were new" in out
    assert postgres_url.split(":")[2].split("@")[0] not in out  # no password
    assert _rows(postgres_url) == _rows(first)  # ids, times, payloads byte for byte

    back = tmp_path / "back" / "votes.sqlite"
    assert main(["store", "copy", postgres_url, str(back)]) == 0
    assert _rows(back) == _rows(first)
    with VoteStore(back) as store:
        assert store.votes().equals(votes)
        assert store.claimed_by_others(None) == set()  # claims belong to a session, not copied
        assert store.table("prompts")["prompt_id"].tolist() == ["laptop-p", "shared-p"]


def test_two_machines_files_merge_with_every_event_once_and_a_second_copy_changes_nothing(
    tmp_path, store_location, capsys
):
    one, two = tmp_path / "one.sqlite", tmp_path / "two.sqlite"
    with VoteStore(one) as store:
        _fill(store, "one")
    with VoteStore(two) as store:
        _fill(store, "two", n=4)
    # Machine two had already pulled machine one's file once (an earlier merge).
    assert main(["store", "copy", str(one), str(two)]) == 0
    events_one, records_one = _rows(one)
    events_two, records_two = _rows(two)
    assert set(events_one) <= set(events_two)

    assert main(["store", "copy", str(one), str(two), str(store_location)]) == 0
    capsys.readouterr()
    events, records = _rows(store_location)
    assert len(events) == len(set(events)) == len(set(events_one) | set(events_two)) == 18
    assert {r[1] for r in records} == {"one-p", "two-p", "shared-p"}  # the first write wins
    with VoteStore(store_location) as store:
        votes = store.votes()
    assert votes["vote_id"].is_unique and len(votes) == 5 + 3
    assert sorted(votes["annotator"].unique()) == ["ann-one", "ann-two"]

    before = _digest(store_location)
    assert main(["store", "copy", str(one), str(two), str(store_location)]) == 0
    out = capsys.readouterr().out
    assert "0 of 10 events and 0 of 2 records were new" in out
    assert "0 of 18 events and 0 of 3 records were new" in out
    assert _digest(store_location) == before
    if not is_postgres(store_location):
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite") == [
            "one.sqlite", "two.sqlite", "votes.sqlite"
        ]  # fmt: skip


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_export_writes_a_table_that_reads_back_as_the_store_holds_it(
    tmp_path, store_location, suffix, capsys
):
    with VoteStore(store_location) as store:
        _fill(store, "m")
        votes = store.votes()
    out = tmp_path / f"votes{suffix}"
    assert main(["store", "export", str(store_location), "--out", str(out)]) == 0
    assert f"5 rows of votes → {out}" in capsys.readouterr().out
    back = datasets.read_table(out, "votes")
    columns = ["vote_id", "battle_id", "winner", "annotator", "duration_s", "edits"]
    assert back[columns].to_dict("records") == votes[columns].to_dict("records")

    prompts = tmp_path / f"prompts{suffix}"
    assert main(["store", "export", str(store_location), "--table", "prompts", "--out",
                 str(prompts)]) == 0  # fmt: skip
    assert datasets.read_table(prompts, "prompts")["prompt_id"].tolist() == ["m-p", "shared-p"]


def test_the_event_log_exports_with_its_payloads(tmp_path):
    from arena_kit.io import read_frame

    store_path = tmp_path / "s.sqlite"
    with VoteStore(store_path) as store:
        _fill(store, "m", n=2)
        events = store.events()
    out = tmp_path / "events.jsonl"
    assert main(["store", "export", str(store_path), "--table", "events", "--out", str(out)]) == 0
    back, _ = read_frame(out)
    assert back["kind"].tolist() == events["kind"].tolist()
    assert back["payload"].tolist() == events["payload"].tolist()


def test_errors_write_nothing_and_show_no_password(tmp_path, postgres_server, postgres_url, capsys):
    target = tmp_path / "target.sqlite"
    # A missing source: nothing is made, not even the target.
    assert main(["store", "copy", str(tmp_path / "typo.sqlite"), str(target)]) == 1
    assert "no vote store here" in capsys.readouterr().err
    assert not target.exists()
    # A refused password.
    wrong = postgres_server.url(postgres_url.rsplit("/", 1)[1], password="Secr3t-typo")
    assert main(["store", "export", wrong, "--out", str(tmp_path / "v.parquet")]) == 1
    err = capsys.readouterr().err
    assert "refused the password" in err and "Secr3t-typo" not in err
    assert not (tmp_path / "v.parquet").exists()
    # A target that is another program's file: refused, untouched.
    source = tmp_path / "source.sqlite"
    VoteStore(source).record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
    foreign = tmp_path / "notes.db"
    foreign.write_bytes(b"vote_id,winner\n1,model_a\n")
    assert main(["store", "copy", str(source), str(foreign)]) == 1
    assert "not a vote store" in capsys.readouterr().err
    assert foreign.read_bytes() == b"vote_id,winner\n1,model_a\n"


def test_the_command_line_runs_it(tmp_path):
    store_path = tmp_path / "s.sqlite"
    VoteStore(store_path).record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
    done = subprocess.run(
        [sys.executable, "-m", "arena_kit", "store", "export", str(store_path), "--out",
         str(tmp_path / "v.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 rows of votes" in done.stdout
    assert (
        "store"
        in subprocess.run(
            [sys.executable, "-m", "arena_kit", "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
