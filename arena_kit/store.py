"""The vote store: an append-only event log in one SQLite file that never loses a vote.

Every action of a labeling session is one *event* — ``vote``, ``skip``, ``retract`` (the
undo of an earlier vote or skip) or ``round_failed`` (a live round that could not be judged) —
written in its own transaction before the user interface moves on. The votes table
(:class:`arena_kit.schema.Vote`) is *derived* from the log: the ``vote`` events that no
``retract`` withdrew.

Since schema version 2 the store also keeps *records*: rows of the workbench's other tables
(prompts, responses, executions, battles) written as a live session produces them, so a store
alone is a whole data set — ``04``, the report and the judges read it wherever they read a
table file (:func:`is_store_location`). A version-1 file is migrated in place when opened.

Why this design:

* **SQLite in WAL mode** lets several processes (the kernels of a room of annotators on one
  JupyterHub host) write to one file at once; ``BEGIN IMMEDIATE`` plus a long busy timeout
  serialises the writers and ``synchronous=FULL`` makes each commit durable (fsync of the
  write-ahead log) before :meth:`VoteStore.record_vote` returns.
* **Append-only**: triggers refuse ``UPDATE`` and ``DELETE`` on the log, so an undo is a new
  event, and the history of a session can always be replayed.
* **Idempotent writes**: each event carries an id made by the caller; writing the same event
  twice (a retry after a lost acknowledgement) stores it once.
* **No personal data**: the log holds the annotator id the person typed and nothing about the
  machine or the network (no IP address, no host name, no user name).
* **Never damages a foreign file**: the first 100 bytes of an existing file are checked (the
  SQLite magic, the application id and the schema version live there) before SQLite opens
  it, so a CSV file, another program's database or a corrupt file gives a clear error and
  stays byte-for-byte as it was.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sqlite3
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArenaKitError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "VoteStore",
    "VoteStoreError",
    "StoreEvent",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
    "EVENT_KINDS",
    "RECORD_TABLES",
    "is_store_location",
    "open_existing",
]

SCHEMA_VERSION = 2
"""Version of the store's tables, kept in SQLite's ``user_version``."""

APPLICATION_ID = 0x41524B56
"""SQLite ``application_id`` of an arena-kit vote store (``"ARKV"``)."""

EVENT_KINDS: tuple[str, ...] = ("vote", "skip", "retract", "round_failed")
"""The kinds of events in the log."""

RECORD_TABLES: tuple[str, ...] = ("prompts", "responses", "executions", "battles")
"""The tables a store keeps records of besides its votes (schema version 2)."""

STORE_SUFFIXES: tuple[str, ...] = (".sqlite", ".sqlite3", ".db")
"""File name endings that mark a path as a vote store rather than a table file."""

_MAGIC = b"SQLite format 3\x00"
_BUSY_TIMEOUT_MS = 60_000

_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('vote', 'skip', 'retract', 'round_failed')),
    annotator TEXT,
    battle_id TEXT,
    target TEXT,
    tstamp REAL NOT NULL,
    payload TEXT NOT NULL
);
"""

# Indexes and append-only triggers of the event log (made again after the v1 → v2 rebuild).
_EVENTS_EXTRAS = """
CREATE INDEX IF NOT EXISTS events_by_annotator ON events (annotator, seq);
CREATE INDEX IF NOT EXISTS events_by_target ON events (target);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the vote log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the vote log is append-only'); END;
"""

_RECORDS = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('prompts', 'responses', 'executions', 'battles')),
    record_id TEXT NOT NULL,
    tstamp REAL NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (kind, record_id)
);
CREATE TRIGGER IF NOT EXISTS records_append_only_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'the records of a vote store are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_append_only_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'the records of a vote store are append-only'); END;
"""

_CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    battle_id TEXT PRIMARY KEY,
    annotator TEXT NOT NULL,
    expires REAL NOT NULL
);
"""

_SCHEMA = _EVENTS_TABLE.format(name="events") + _EVENTS_EXTRAS + _CLAIMS + _RECORDS
"""The whole schema of a new store (the current version)."""

# Version 1 → 2: the event log's CHECK gains 'round_failed' (SQLite cannot alter a CHECK:
# the table is rebuilt with every row and seq kept), and the records table appears.
_MIGRATE_1_TO_2 = (
    "DROP TRIGGER IF EXISTS events_append_only_update;\n"
    "DROP TRIGGER IF EXISTS events_append_only_delete;\n"
    + _EVENTS_TABLE.format(name="events_v2")
    + "INSERT INTO events_v2 (seq, event_id, kind, annotator, battle_id, target, tstamp, payload)"
    " SELECT seq, event_id, kind, annotator, battle_id, target, tstamp, payload FROM events;\n"
    "DROP TABLE events;\n"
    "ALTER TABLE events_v2 RENAME TO events;\n" + _EVENTS_EXTRAS + _RECORDS
)


class VoteStoreError(ArenaKitError, RuntimeError):
    """The vote store file cannot be used (not a store, corrupt, newer schema, locked)."""


@dataclass(frozen=True)
class StoreEvent:
    """One row of the event log."""

    seq: int
    event_id: str
    kind: str
    annotator: str | None
    battle_id: str | None
    target: str | None
    tstamp: float
    payload: dict[str, Any]


def new_event_id() -> str:
    """A fresh, random event id (32 hex digits; it carries nothing about the machine)."""
    return uuid.uuid4().hex


def _check_header(path: Path) -> None:
    """Refuse a file that is not an arena-kit vote store, reading only its first 100 bytes."""
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(100)
    fix = "give the path of a new file (it is created) or of an existing arena-kit vote store"
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise VoteStoreError(
            f"{path}: not a vote store: the file is not an SQLite database "
            f"({size} bytes, starting {header[:16]!r}); it was left untouched. Fix: {fix}"
        )
    (user_version,) = struct.unpack(">I", header[60:64])
    (application_id,) = struct.unpack(">I", header[68:72])
    if application_id != APPLICATION_ID:
        raise VoteStoreError(
            f"{path}: not a vote store: an SQLite database of another application "
            f"(application_id {application_id:#x}, expected {APPLICATION_ID:#x}); it was left "
            f"untouched. Fix: {fix}"
        )
    if user_version > SCHEMA_VERSION:
        raise VoteStoreError(
            f"{path}: the vote store has schema version {user_version}, newer than this "
            f"arena-kit's {SCHEMA_VERSION}; it was left untouched. Fix: upgrade arena-kit"
        )


class VoteStore:
    """An append-only log of labeling events in one SQLite file, shared by many processes.

    Parameters
    ----------
    path
        The store file. Created (with its folder) when missing.

    Raises
    ------
    VoteStoreError
        The file exists but is not an arena-kit vote store (another program's file, a corrupt
        database, a newer schema). The file is not modified.

    Examples
    --------
    >>> store = VoteStore("votes.sqlite")                       # doctest: +SKIP
    >>> vote_id = store.record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
    ...                                                         # doctest: +SKIP
    >>> store.votes()                                           # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.RLock()
        if self.path.exists():
            if not self.path.is_file():
                raise VoteStoreError(
                    f"{self.path}: not a file (a folder?). Fix: give the path of a store file, "
                    "e.g. votes.sqlite"
                )
            _check_header(self.path)
        else:
            self._make_folder()
        self._check_writable()
        try:
            self._conn = sqlite3.connect(
                str(self.path),
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise VoteStoreError(f"{self.path}: cannot open the vote store: {exc}") from exc
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise VoteStoreError(
                f"{self.path}: the vote store is damaged or unreadable ({exc}); it was not "
                "modified. Fix: restore it from a copy, or give a new path"
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------------------------
    # Opening.

    def _make_folder(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            cause = exc.strerror or str(exc)
            if exc.errno in (errno.ENOTDIR, errno.EEXIST):
                fix = "a part of the path is a file, not a folder: choose another path"
            else:
                fix = "choose a folder you may write to"
            raise VoteStoreError(
                f"{self.path}: the store's folder {folder} cannot be made ({cause}). Fix: {fix}"
            ) from None

    def _check_writable(self) -> None:
        """Refuse a store SQLite could not write, before it fails with a misleading message:
        besides the file, SQLite makes its write-ahead log and index files in the folder."""
        folder = self.path.parent
        if not os.access(folder, os.W_OK | os.X_OK):
            raise VoteStoreError(
                f"{self.path}: the folder {folder} is read-only for this user (uid "
                f"{os.getuid()}); a vote store needs to write its file and, beside it, its "
                "write-ahead log, even to be read. Fix: choose a writable folder, or copy the "
                "store into one"
            )
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            raise VoteStoreError(
                f"{self.path}: the store file is read-only for this user (uid {os.getuid()}); "
                "it was left untouched. Fix: make it writable, or copy it into a writable folder"
            )

    def _open(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        # Read before any write: a damaged file fails here, untouched.
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables:
            self._verify(tables)
            self._migrate()
        else:
            self._create()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise VoteStoreError(
                f"{self.path}: SQLite could not switch the store to WAL mode (got {mode!r}). "
                "Fix: put the store on a local file system"
            )
        # FULL: the write-ahead log is synced at every commit, so an acknowledged vote
        # survives a crash of the process and of the machine.
        conn.execute("PRAGMA synchronous = FULL")

    def _verify(self, tables: set[str]) -> None:
        conn = self._conn
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if application_id != APPLICATION_ID or "events" not in tables:
            raise VoteStoreError(
                f"{self.path}: not a vote store (tables: {', '.join(sorted(tables))}); it was "
                "left untouched. Fix: give the path of a new file or of an arena-kit vote store"
            )
        if version > SCHEMA_VERSION:
            raise VoteStoreError(
                f"{self.path}: schema version {version} is newer than {SCHEMA_VERSION}. "
                "Fix: upgrade arena-kit"
            )
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise VoteStoreError(
                f"{self.path}: the vote store is damaged ({check}); it was not modified. "
                "Fix: restore it from a copy, or give a new path"
            )

    def _create(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created the tables while this one waited for the lock.
            existing = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not existing:
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if existing:
            self._verify(existing)

    def _migrate(self) -> None:
        """Bring an older store to :data:`SCHEMA_VERSION` in one transaction (a crash midway
        leaves it as it was); another process may have done it while this one waited."""
        conn = self._conn
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:
                for statement in _statements(_MIGRATE_1_TO_2):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection (the data is already on disk)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> VoteStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VoteStore({str(self.path)!r})"

    # ------------------------------------------------------------------------------------
    # Writing.

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _insert(
        self,
        conn: sqlite3.Connection,
        *,
        event_id: str,
        kind: str,
        annotator: str | None,
        battle_id: str | None,
        target: str | None,
        tstamp: float,
        payload: Mapping[str, Any],
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO events "
            "(event_id, kind, annotator, battle_id, target, tstamp, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event_id,
                kind,
                annotator,
                battle_id,
                target,
                tstamp,
                json.dumps(dict(payload), ensure_ascii=False, default=_json_default),
            ),
        )

    def record_vote(self, vote: Mapping[str, Any], *, event_id: str | None = None) -> str:
        """Append one vote; it is on disk when this returns. Returns the ``vote_id``.

        Parameters
        ----------
        vote
            The columns of :class:`arena_kit.schema.Vote` (``vote_id`` is the event id;
            ``tstamp`` defaults to now). Checked against the votes contract first.
        event_id
            The id to store it under (default: ``vote["vote_id"]`` or a fresh one). Writing
            the same id twice stores one vote.
        """
        event_id = event_id or vote.get("vote_id") or new_event_id()
        record = dict(vote)
        record["vote_id"] = event_id
        if record.get("tstamp") is None:
            record["tstamp"] = time.time()
        _check_vote(record)
        with self._write() as conn:
            self._insert(
                conn,
                event_id=event_id,
                kind="vote",
                annotator=record.get("annotator"),
                battle_id=record.get("battle_id"),
                target=None,
                tstamp=float(record["tstamp"]),
                payload=record,
            )
        return event_id

    def record_skip(
        self,
        battle_id: str,
        annotator: str | None,
        *,
        event_id: str | None = None,
        **details: Any,
    ) -> str:
        """Append a skip of ``battle_id`` by ``annotator``; returns the event id."""
        event_id = event_id or new_event_id()
        with self._write() as conn:
            self._insert(
                conn,
                event_id=event_id,
                kind="skip",
                annotator=annotator,
                battle_id=battle_id,
                target=None,
                tstamp=time.time(),
                payload=details,
            )
        return event_id

    def retract(self, event_id: str, *, annotator: str | None = None) -> str:
        """Withdraw an earlier vote or skip (an undo); returns the retract event's id.

        Raises
        ------
        VoteStoreError
            No such vote or skip, or it was already retracted.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT kind, battle_id FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
            if row is None or row[0] == "retract":
                raise VoteStoreError(
                    f"{self.path}: no vote or skip with id {event_id!r} to retract"
                )
            if conn.execute(
                "SELECT 1 FROM events WHERE kind = 'retract' AND target = ?", (event_id,)
            ).fetchone():
                raise VoteStoreError(f"{self.path}: {event_id!r} was already retracted")
            retract_id = new_event_id()
            self._insert(
                conn,
                event_id=retract_id,
                kind="retract",
                annotator=annotator,
                battle_id=row[1],
                target=event_id,
                tstamp=time.time(),
                payload={},
            )
        return retract_id

    def undo_last(self, annotator: str | None) -> StoreEvent | None:
        """Retract ``annotator``'s latest vote or skip that is still in force.

        Returns the retracted event, or ``None`` when there is nothing to undo. The look-up
        and the retraction are one transaction, so two undos never retract the same event.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT seq, event_id, kind, annotator, battle_id, target, tstamp, payload "
                "FROM events e WHERE kind IN ('vote', 'skip') AND annotator IS ? "
                "AND NOT EXISTS (SELECT 1 FROM events r WHERE r.kind = 'retract' "
                "AND r.target = e.event_id) ORDER BY seq DESC LIMIT 1",
                (annotator,),
            ).fetchone()
            if row is None:
                return None
            event = _event(row)
            self._insert(
                conn,
                event_id=new_event_id(),
                kind="retract",
                annotator=annotator,
                battle_id=event.battle_id,
                target=event.event_id,
                tstamp=time.time(),
                payload={},
            )
        return event

    def record_failed_round(
        self,
        payload: Mapping[str, Any],
        *,
        annotator: str | None = None,
        battle_id: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Append a ``round_failed`` event: a live round that could not be judged (a model
        failed for good, the person cancelled). ``payload`` says why (``reason``, ``side``,
        the models). Returns the event id."""
        event_id = event_id or new_event_id()
        with self._write() as conn:
            self._insert(
                conn,
                event_id=event_id,
                kind="round_failed",
                annotator=annotator,
                battle_id=battle_id,
                target=None,
                tstamp=time.time(),
                payload=payload,
            )
        return event_id

    def record(self, table: str, row: Mapping[str, Any]) -> bool:
        """Append one row of ``table`` (one of :data:`RECORD_TABLES`); durable on return.

        The row is checked against the table's contract (:func:`arena_kit.schema.validate`)
        first. Its id is the table's key column (``prompt_id``, ``response_id``,
        ``execution_id``, ``battle_id``); a row whose id is already stored is not written
        again — the first write wins (execution ids are content hashes of what ran, so a
        re-run of the same code keeps its first result). Returns True when the row was new.

        Raises
        ------
        VoteStoreError
            ``table`` is not one the store keeps.
        ArenaDataError
            The row breaks the table's contract (the message names the column).
        """
        from .schema import key_column, validate

        if table not in RECORD_TABLES:
            raise VoteStoreError(
                f"{self}: no table {table!r} in a vote store. Fix: use one of "
                f"{', '.join(RECORD_TABLES)} (votes are written with record_vote)"
            )
        record = {key: _plain_value(value) for key, value in row.items()}
        validate([record], table, source=f"{self.path} ({table} record)")
        record_id = record[key_column(table)]
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO records (kind, record_id, tstamp, payload) "
                "VALUES (?, ?, ?, ?)",
                (
                    table,
                    str(record_id),
                    time.time(),
                    json.dumps(record, ensure_ascii=False, default=_json_default),
                ),
            )
        return cursor.rowcount == 1

    # ------------------------------------------------------------------------------------
    # Claims: which battle each annotator is looking at (not part of the log).

    def claim(self, battle_id: str, annotator: str, *, ttl_s: float = 900.0) -> bool:
        """Reserve ``battle_id`` for ``annotator`` for ``ttl_s`` seconds.

        Two annotators in a room should not judge the same battle at the same time when one
        vote per battle is wanted. Returns False when another annotator holds an unexpired
        claim on it. Claims are advisory and expire on their own (a closed laptop frees its
        battles after ``ttl_s``).
        """
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                "SELECT annotator, expires FROM claims WHERE battle_id = ?", (battle_id,)
            ).fetchone()
            if row is not None and row[0] != annotator and row[1] > now:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO claims (battle_id, annotator, expires) VALUES (?, ?, ?)",
                (battle_id, annotator, now + ttl_s),
            )
        return True

    def claimed_by_others(self, annotator: str | None) -> set[str]:
        """Battles that other annotators hold unexpired claims on."""
        rows = self._rows(
            "SELECT battle_id FROM claims WHERE annotator IS NOT ? AND expires > ?",
            (annotator, time.time()),
        )
        return {row[0] for row in rows}

    def release(self, annotator: str, battle_ids: list[str] | None = None) -> None:
        """Drop ``annotator``'s claims (all of them, or those on ``battle_ids``)."""
        with self._write() as conn:
            if battle_ids is None:
                conn.execute("DELETE FROM claims WHERE annotator = ?", (annotator,))
            else:
                conn.executemany(
                    "DELETE FROM claims WHERE annotator = ? AND battle_id = ?",
                    [(annotator, b) for b in battle_ids],
                )

    # ------------------------------------------------------------------------------------
    # Reading.

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def iter_events(self) -> list[StoreEvent]:
        """Every event of the log, oldest first."""
        return [
            _event(row)
            for row in self._rows(
                "SELECT seq, event_id, kind, annotator, battle_id, target, tstamp, payload "
                "FROM events ORDER BY seq"
            )
        ]

    def active_events(self, annotator: str | None = None) -> list[StoreEvent]:
        """The votes and skips in force (not retracted), oldest first; one annotator's if given."""
        sql = (
            "SELECT seq, event_id, kind, annotator, battle_id, target, tstamp, payload "
            "FROM events e WHERE kind IN ('vote', 'skip') "
            "AND NOT EXISTS (SELECT 1 FROM events r WHERE r.kind = 'retract' "
            "AND r.target = e.event_id)"
        )
        params: tuple[Any, ...] = ()
        if annotator is not None:
            sql += " AND annotator = ?"
            params = (annotator,)
        return [_event(row) for row in self._rows(sql + " ORDER BY seq", params)]

    def events(self) -> pd.DataFrame:
        """The event log as a DataFrame (``seq, event_id, kind, annotator, battle_id, target,
        tstamp, payload``)."""
        import pandas as pd

        rows = [vars(e) for e in self.iter_events()]
        columns = ["seq", "event_id", "kind", "annotator", "battle_id", "target", "tstamp"]
        return pd.DataFrame(rows, columns=[*columns, "payload"])

    def table(self, table: str) -> pd.DataFrame:
        """The rows of ``table`` the store holds, in write order, validated like a file of
        that table (``"votes"``: :meth:`votes`). An empty table has the contract's columns."""
        from .schema import validate

        if table == "votes":
            return self.votes()
        if table not in RECORD_TABLES:
            raise VoteStoreError(
                f"{self}: no table {table!r} in a vote store. Fix: use one of "
                f"{', '.join((*RECORD_TABLES, 'votes'))}"
            )
        rows = self._rows("SELECT payload FROM records WHERE kind = ? ORDER BY seq", (table,))
        if not rows:
            return _empty_table(table)
        return validate(
            [json.loads(row[0]) for row in rows], table, source=f"{self.path} ({table})"
        )

    def failed_rounds(self) -> pd.DataFrame:
        """The ``round_failed`` events: ``tstamp, annotator, battle_id`` and their payload's
        keys (``reason``, ``side``, …), oldest first."""
        import pandas as pd

        rows = [
            {"tstamp": e.tstamp, "annotator": e.annotator, "battle_id": e.battle_id, **e.payload}
            for e in self.iter_events()
            if e.kind == "round_failed"
        ]
        return pd.DataFrame(rows, columns=None if rows else ["tstamp", "annotator", "battle_id"])

    def votes(self) -> pd.DataFrame:
        """The votes table (:class:`arena_kit.schema.Vote`): votes in force, oldest first.

        An empty store gives an empty DataFrame with the contract's columns.
        """
        from .schema import validate

        records = [e.payload for e in self.active_events() if e.kind == "vote"]
        if not records:
            return _empty_table("votes")
        return validate(records, "votes", source=str(self.path))

    def vote_counts(self) -> Counter[str]:
        """Battle id → number of votes in force."""
        return Counter(
            row[0]
            for row in self._rows(
                "SELECT battle_id FROM events e WHERE kind = 'vote' AND NOT EXISTS "
                "(SELECT 1 FROM events r WHERE r.kind = 'retract' AND r.target = e.event_id)"
            )
        )

    def __len__(self) -> int:
        return sum(self.vote_counts().values())

    def summary(self) -> dict[str, Any]:
        """Counts a person checks at a glance: votes, skips, undos, annotators, winners."""
        events = self.iter_events()
        active = self.active_events()
        votes = [e for e in active if e.kind == "vote"]
        by_annotator: Counter[str] = Counter(str(e.annotator) for e in votes)
        durations = _durations(votes)
        return {
            "path": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "events": len(events),
            "votes": len(votes),
            "skips": sum(e.kind == "skip" for e in active),
            "retracted": sum(e.kind == "retract" for e in events),
            "battles_voted": len({e.battle_id for e in votes}),
            "annotators": dict(sorted(by_annotator.items())),
            "winners": dict(Counter(str(e.payload.get("winner")) for e in votes)),
            "repeats": sum(e.payload.get("qc") == "repeat" for e in votes),
            "gold": sum(e.payload.get("qc") == "gold" for e in votes),
            "median_duration_s": _median(durations),
            "failed_rounds": sum(e.kind == "round_failed" for e in events),
            "records": dict(self._rows("SELECT kind, COUNT(*) FROM records GROUP BY kind")),
        }

    def by_annotator(self) -> pd.DataFrame:
        """The store's state per annotator, as a person checks it at a glance.

        Returns
        -------
        DataFrame
            One row per annotator (most votes first), then an ``all`` row when there are
            several: ``annotator, votes, skips, undone`` (votes and skips withdrawn with undo),
            ``median_s`` (median seconds per vote; NaN when none was timed), ``first`` and
            ``last`` (the first and last vote or skip in force, UTC timestamps).
        """
        import pandas as pd

        events = self.iter_events()
        active = self.active_events()
        columns = ["annotator", "votes", "skips", "undone", "median_s", "first", "last"]

        def row(name: str, mine: list[StoreEvent], undone: int) -> dict[str, Any]:
            stamps = [e.tstamp for e in mine]
            durations = _durations([e for e in mine if e.kind == "vote"])
            median = _median(durations)
            return {
                "annotator": name,
                "votes": sum(e.kind == "vote" for e in mine),
                "skips": sum(e.kind == "skip" for e in mine),
                "undone": undone,
                "median_s": float("nan") if median is None else median,
                "first": pd.to_datetime(min(stamps), unit="s", utc=True) if stamps else pd.NaT,
                "last": pd.to_datetime(max(stamps), unit="s", utc=True) if stamps else pd.NaT,
            }

        names = sorted({str(e.annotator) for e in [*active, *events]})
        rows = [
            row(
                name,
                [e for e in active if str(e.annotator) == name],
                sum(e.kind == "retract" and str(e.annotator) == name for e in events),
            )
            for name in names
        ]
        rows.sort(key=lambda r: (-r["votes"], r["annotator"]))
        if len(rows) > 1:
            rows.append(row("all", active, sum(e.kind == "retract" for e in events)))
        return pd.DataFrame(rows, columns=columns)

    def _repr_html_(self) -> str:
        """A headline (votes, battles, skips, winners) and :meth:`by_annotator` as a table."""
        import html

        info = self.summary()
        table = self.by_annotator()
        winners = info["winners"]
        mix = " · ".join(
            f"{label} {winners.get(key, 0)}"
            # The stored sides, not the panels: model_a may have been shown on the right.
            for key, label in (("model_a", "model_a"), ("model_b", "model_b"), ("tie", "tie"),
                               ("both_bad", "both bad"))
        )  # fmt: skip
        headline = (
            f"<b>{info['votes']:,} vote{'s' * (info['votes'] != 1)}</b> on "
            f"{info['battles_voted']:,} battle{'s' * (info['battles_voted'] != 1)} · "
            f"{info['skips']:,} skipped · {info['retracted']:,} undone · "
            f"{len(info['annotators'])} annotator{'s' * (len(info['annotators']) != 1)}"
            + (f" · winners: {mix}" if info["votes"] else "")
        )
        if info["repeats"] or info["gold"]:
            headline += f" · {info['repeats']} repeat, {info['gold']} gold"
        cells = {
            "annotator": lambda v: html.escape(str(v)),
            "votes": lambda v: f"{v:,}",
            "skips": lambda v: f"{v:,}",
            "undone": lambda v: f"{v:,}",
            "median_s": lambda v: "—" if v != v else f"{v:,.1f}",
            "first": lambda v: "—" if v is None or v != v else f"{v:%Y-%m-%d %H:%M}",
            "last": lambda v: "—" if v is None or v != v else f"{v:%Y-%m-%d %H:%M}",
        }
        heads = ["annotator", "votes", "skips", "undone", "median s per vote", "first (UTC)",
                 "last (UTC)"]  # fmt: skip
        left = " style='text-align:left'"  # a name reads from the left
        head = "".join(f"<th{left if h == 'annotator' else ''}>{h}</th>" for h in heads)
        body = "".join(
            "<tr>"
            + "".join(f"<td{left if c == 'annotator' else ''}>{cells[c](r[c])}</td>" for c in cells)
            + "</tr>"
            for r in table.to_dict("records")
        )
        empty = "" if len(table) else "<p>No vote, skip or undo yet.</p>"
        return (
            f"<div class='arena-store'><p>{headline}<br><code>{html.escape(str(self.path))}"
            f"</code></p>{empty}"
            + (
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                if len(table)
                else ""
            )
            + "</div>"
        )


_PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "json": (list, dict),
}


def is_store_location(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a vote store rather than a table file: a path ending in
    one of :data:`STORE_SUFFIXES`, or a PostgreSQL URL."""
    text = os.fspath(location)
    return _is_url(text) or Path(text).suffix.lower() in STORE_SUFFIXES


def _is_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_existing(location: str | os.PathLike[str], *, reading: str) -> VoteStore:
    """Open a store that must already exist, to read its ``reading`` table: unlike
    :class:`VoteStore`, a missing file is an error here, not a new empty store."""
    from .errors import ArenaDataError

    text = os.fspath(location)
    if not _is_url(text) and not Path(text).is_file():
        raise ArenaDataError(
            f"no vote store here (to read its {reading})",
            source=text,
            fix="check the path; a store is made by a labeling or a live-arena session",
        )
    return VoteStore(text)


def _empty_table(table: str) -> pd.DataFrame:
    """An empty table with the contract's columns (a store not yet written to)."""
    import pandas as pd

    from .schema import columns

    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in columns(table)})


def _plain_value(value: Any) -> Any:
    """A cell as plain JSON-able Python (NumPy scalars, NaN and pandas' NA become plain)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, dict, str)):
        with suppress(TypeError, ValueError):
            value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _check_vote(record: dict[str, Any]) -> None:
    """Refuse a malformed vote before it reaches the log.

    The same contract as ``schema.validate(..., "votes")`` for one plain-Python row, without
    building a DataFrame (that costs ~30 ms a call; this, a few µs).
    """
    from .schema import columns, normalize_winner

    if "winner" in record:
        record["winner"] = normalize_winner(record["winner"])
    for spec in columns("votes"):
        value = record.get(spec.name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if spec.required:
                raise VoteStoreError(f"vote: column {spec.name!r}: required value is missing")
            continue
        kinds = _PLAIN_TYPES[spec.kind]
        wrong_bool = isinstance(value, bool) and spec.kind in ("int", "float")
        if not isinstance(value, kinds) or wrong_bool:
            raise VoteStoreError(
                f"vote: column {spec.name!r}: wrong type {type(value).__name__} "
                f"({value!r:.60}), expected {spec.kind}"
            )
        if spec.choices is not None and value not in spec.choices:
            raise VoteStoreError(
                f"vote: column {spec.name!r}: unknown value {value!r}. "
                f"Fix: use one of {', '.join(spec.choices)}"
            )
    if record["model_a"] == record["model_b"]:
        model = record["model_a"]
        raise VoteStoreError(f"vote: self-battle: model_a and model_b are both {model!r}")


def _statements(script: str) -> list[str]:
    """Split the schema into statements (triggers contain ``;`` inside BEGIN … END)."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER") or "END;" in text):
            statements.append(text)
            current = []
    return statements


def _event(row: tuple[Any, ...]) -> StoreEvent:
    seq, event_id, kind, annotator, battle_id, target, tstamp, payload = row
    return StoreEvent(
        seq=int(seq),
        event_id=event_id,
        kind=kind,
        annotator=annotator,
        battle_id=battle_id,
        target=target,
        tstamp=float(tstamp),
        payload=json.loads(payload),
    )


def _durations(votes: list[StoreEvent]) -> list[float]:
    """The seconds the votes took, where they were timed."""
    return [
        float(e.payload["duration_s"])
        for e in votes
        if isinstance(e.payload.get("duration_s"), (int, float))
        and not math.isnan(e.payload["duration_s"])
    ]


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)
