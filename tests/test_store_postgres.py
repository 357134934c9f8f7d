"""The PostgreSQL vote store against a real server the tests start (tests/postgres_harness.py):
eight writer processes, kill -9 of writers, server restarts and a server that stays down,
dropped connections, and the errors a person meets (wrong password, nobody listening, no such
database or user, not a store) — none showing the password, none changing anything."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import pytest
from postgres_harness import connect_raw
from test_store import _CONCURRENT_WORKER  # one writer script for every concurrency test

from arena_kit.store import VoteStore, VoteStoreError


def _vote(battle_id: str, annotator: str = "ann-1", **extra):
    return {"battle_id": battle_id, "model_a": "x", "model_b": "y", "winner": "tie",
            "annotator": annotator, **extra}  # fmt: skip


def _popen(code: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_eight_processes_casting_500_votes_each_into_one_database(postgres_url):
    start = time.time() + 4.0  # together, after their imports
    writers = [
        _popen(_CONCURRENT_WORKER, postgres_url, str(w), "500", str(start)) for w in range(8)
    ]
    outputs = [w.communicate(timeout=300) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert out.startswith("DONE")
    with VoteStore(postgres_url) as store:
        votes = store.votes()
        assert len(store.iter_events()) == 4000
    assert len(votes) == 4000 and votes["vote_id"].is_unique
    assert set(votes["vote_id"]) == {f"w{w}-{i}" for w in range(8) for i in range(500)}
    assert votes["annotator"].value_counts().to_dict() == {f"ann-{w}": 500 for w in range(8)}


_SESSION_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from arena_kit.store import VoteStore
    url, stop = sys.argv[1], sys.argv[2]
    store = VoteStore(url)
    def vote(i):
        store.record_vote({"battle_id": f"b{i}", "model_a": "x", "model_b": "y",
                           "winner": "tie", "annotator": "ann"}, event_id=f"v{i}")
        print("ACK", f"v{i}", flush=True)
    for i in range(100):
        vote(i)
    print("PAUSE", flush=True)  # an annotator looking at a battle: the server restarts
    sys.stdin.readline()
    i = 100
    while not os.path.exists(stop):  # voting flat out: the server restarts again
        vote(i)
        i += 1
    print("DONE", store.reconnects, store.pop_notice(), flush=True)
    """
)


def test_a_server_restart_mid_session_loses_and_doubles_no_vote(
    postgres_server, postgres_url, tmp_path
):
    stop = tmp_path / "stop"
    writer = _popen(_SESSION_WRITER, postgres_url, str(stop), stdin=subprocess.PIPE)
    try:
        acked = []
        while (line := writer.stdout.readline().split()) != ["PAUSE"]:
            assert line and line[0] == "ACK", writer.stderr.read()
            acked.append(line[1])
        postgres_server.restart()  # while the session is idle
        writer.stdin.write("go\n")
        writer.stdin.flush()
        while len(acked) < 150:
            acked.append(writer.stdout.readline().split()[1])
        postgres_server.restart()  # while it writes
        target = len(acked) + 50
        while len(acked) < target:
            line = writer.stdout.readline().split()
            assert line and line[0] == "ACK", writer.stderr.read()
            acked.append(line[1])
        stop.touch()
        out = writer.stdout.read()  # to the end (communicate() would skip what readline
        err = writer.stderr.read()  # buffered)
        writer.wait(timeout=60)
    finally:
        writer.kill()
        stop.unlink(missing_ok=True)
    assert writer.returncode == 0, err
    lines = out.splitlines()
    acked += [line.split()[1] for line in lines if line.startswith("ACK")]
    done = lines[-1]
    # One reconnect per restart, and the session was told (in words without the server's).
    assert done.startswith("DONE 2 The connection to the vote store was lost and made again")
    assert "stored once" in done
    votes = VoteStore(postgres_url).votes()
    assert list(votes["vote_id"]) == acked  # each once, in order, none lost


def _free_loopback_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _catalogue(url: str) -> list[tuple]:
    """Every database of the server and every relation of ``url``'s database."""
    with connect_raw(url) as conn:
        databases = conn.execute("SELECT datname FROM pg_database ORDER BY 1").fetchall()
        relations = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
            "'information_schema', 'pg_toast') ORDER BY 1, 2"
        ).fetchall()
    return databases + relations


def test_connection_errors_are_clear_change_nothing_and_never_show_the_password(
    postgres_server, postgres_url
):
    wrong = "Wr0ng-pa55word"
    name = postgres_url.rsplit("/", 1)[1]
    before = _catalogue(postgres_url)
    port = _free_loopback_port()
    cases = {
        postgres_server.url(name, password=wrong): "refused the password of user 'arena'",
        f"postgresql://arena:{wrong}@127.0.0.1:{port}/{name}": (
            f"no PostgreSQL server answers at 127.0.0.1:{port}"
        ),
        postgres_server.url("votes_typo"): "has no database 'votes_typo'.*CREATE DATABASE",
        # (the server does not say whether the user or the password is wrong)
        postgres_url.replace("//arena:", "//nobody:"): "refused the password of user 'nobody'",
        f"postgresql://arena:{wrong}@127.0.0.1:notaport/{name}": "not a valid PostgreSQL URL",
    }
    for url, expected in cases.items():
        started = time.monotonic()
        with pytest.raises(VoteStoreError, match=expected) as info:
            VoteStore(url)
        assert time.monotonic() - started < 10  # refused at once, not after a long retry
        message = str(info.value)
        for secret in (wrong, postgres_server.password):
            assert secret not in message and secret not in repr(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert _catalogue(postgres_url) == before  # no database made, nothing written

    with VoteStore(postgres_url) as store:  # the right URL: the password is nowhere shown
        store.record_vote(_vote("b1"))
        shown = [repr(store), str(store), store.location, store.summary()["path"],
                 store._repr_html_()]  # fmt: skip
        assert all(postgres_server.password not in text for text in shown)
        assert store.location == postgres_url.replace(f":{postgres_server.password}@", "@")


def test_a_user_without_rights_on_the_schema_is_told_how_to_fix_it(postgres_server, postgres_url):
    """PostgreSQL 15 lets only a database's owner create tables in its public schema."""
    name = postgres_url.rsplit("/", 1)[1]
    with connect_raw(postgres_url) as conn:
        conn.execute("DROP ROLE IF EXISTS clerk")
        conn.execute("CREATE ROLE clerk LOGIN PASSWORD 'clerk-pw-1'")
    try:
        url = f"postgresql://clerk:clerk-pw-1@127.0.0.1:{postgres_server.port}/{name}"
        with pytest.raises(VoteStoreError, match="may not do this.*OWNER") as info:
            VoteStore(url)
        assert "clerk-pw-1" not in str(info.value)
        with connect_raw(postgres_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone() == (0,)
    finally:
        postgres_server.drop_database(name)  # its connections first, then the role
        with connect_raw(postgres_server.url()) as conn:
            conn.execute("DROP ROLE clerk")


def _backend_pid(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with connect_raw(url) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = "
            "'arena-kit'",
            (name,),
        ).fetchone()
    return int(row[0])


def test_a_dropped_connection_is_made_again_by_the_next_call(postgres_url):
    with VoteStore(postgres_url) as store:
        store.record_vote(_vote("b1"), event_id="v1")
        assert store.reconnects == 0 and store.pop_notice() is None
        with connect_raw(postgres_url) as admin:  # the network cuts this one connection
            admin.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(postgres_url),))
        store.record_vote(_vote("b2"), event_id="v2")
        assert store.reconnects == 1
        assert "made again" in store.pop_notice() and store.pop_notice() is None
        # Reads reconnect too, and an undo sent again after the cut retracts once.
        with connect_raw(postgres_url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(postgres_url),))
        assert list(store.votes()["vote_id"]) == ["v1", "v2"]
        assert store.reconnects == 2
        assert store.undo_last("ann-1", retract_id="u1").event_id == "v2"
        assert store.undo_last("ann-1", retract_id="u1").event_id == "v2"
        assert list(store.votes()["vote_id"]) == ["v1"]


def test_a_server_down_longer_than_the_bound_is_a_clear_error_and_the_vote_can_be_resent(
    postgres_server, postgres_url
):
    store = VoteStore(postgres_url, reconnect_s=1.0)
    store.record_vote(_vote("b1"), event_id="v1")
    with postgres_server.halted():
        started = time.monotonic()
        with pytest.raises(VoteStoreError, match="could not connect again") as info:
            store.record_vote(_vote("b2"), event_id="v2")
        assert time.monotonic() - started < 5
        assert "doing it again is safe" in str(info.value)
        assert postgres_server.password not in str(info.value)
    store.record_vote(_vote("b2"), event_id="v2")  # the annotator votes again
    store.record_vote(_vote("b2"), event_id="v2")
    assert list(store.votes()["vote_id"]) == ["v1", "v2"]
    store.close()


def test_the_labeling_session_says_it_reconnected(postgres_server, postgres_url):
    from test_labeling_helpers import make_data, needs_bwrap, sandbox

    if needs_bwrap.args[0]:
        pytest.skip(needs_bwrap.kwargs["reason"])
    from arena_kit.labeling import ArenaSession

    battles, responses = make_data()
    session = ArenaSession(battles, responses, postgres_url, executor=sandbox(), repeat_share=0.0)
    try:
        session.start("ann-1")
        assert session.wait_shown(60)
        session.buttons["A"].click()
        assert session.wait_shown(60)
        assert "Saved" in session.status.value and "made again" not in session.status.value
        postgres_server.restart()
        session.buttons["B"].click()
        assert session.wait_shown(60)
        status = session.status.value
        assert (
            "Saved" in status
            and "The connection to the vote store was lost and made again" in status
        )
        assert "127.0.0.1" not in status and str(postgres_server.port) not in status
    finally:
        session.close()
    votes = VoteStore(postgres_url).votes()
    assert len(votes) == 2 and votes["annotator"].tolist() == ["ann-1", "ann-1"]


def test_the_commands_02_shows_for_a_postgres_store_name_its_url_without_the_password(
    postgres_server, postgres_url
):
    from arena_kit.report import analysis_commands

    text = analysis_commands(postgres_url)
    shown = postgres_url.replace(f":{postgres_server.password}@", "@")
    assert postgres_server.password not in text
    assert f"votes_path = {shown!r}" in text and f"-p votes_path {shown}" in text
    assert f"report --votes {shown} --out reports/{shown.rsplit('/', 1)[1]}" in text
