"""The SQLite engine of the vote store: one file, WAL, ``BEGIN IMMEDIATE``, ``synchronous=FULL``.

Opening never damages a foreign file: the first 100 bytes of an existing file are checked (the
SQLite magic, the application id and the schema version live there) before SQLite opens it, so
a CSV file, another program's database or a corrupt file gives a clear error and stays
byte-for-byte as it was. A version-1 file is migrated in place, in one transaction.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._base import APPLICATION_ID, SCHEMA_VERSION, T, Transaction, VoteStoreError

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


class _SQLiteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return self._conn.executemany(sql, rows).rowcount

    def serialize(self) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the file's one write lock."""


class SQLiteEngine:
    """A vote store in one SQLite file, shared by the processes of one machine.

    * **WAL mode** lets several processes (the kernels of a room of annotators on one
      JupyterHub host) write to one file at once; ``BEGIN IMMEDIATE`` plus a long busy
      timeout serialises the writers and ``synchronous=FULL`` makes each commit durable
      (fsync of the write-ahead log) before a write returns.
    * **Append-only**: triggers refuse ``UPDATE`` and ``DELETE`` on the log and the records.
    """

    reconnects = 0

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Path | None = Path(path).expanduser()
        self.location = str(self.path)
        self._file = self.path
        self._lock = threading.RLock()
        if self._file.exists():
            if not self._file.is_file():
                raise VoteStoreError(
                    f"{self._file}: not a file (a folder?). Fix: give the path of a store file, "
                    "e.g. votes.sqlite"
                )
            _check_header(self._file)
        else:
            self._make_folder()
        self._check_writable()
        try:
            self._conn = sqlite3.connect(
                str(self._file),
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise VoteStoreError(f"{self._file}: cannot open the vote store: {exc}") from exc
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise VoteStoreError(
                f"{self._file}: the vote store is damaged or unreadable ({exc}); it was not "
                "modified. Fix: restore it from a copy, or give a new path"
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------------------------
    # Opening.

    def _make_folder(self) -> None:
        folder = self._file.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            cause = exc.strerror or str(exc)
            if exc.errno in (errno.ENOTDIR, errno.EEXIST):
                fix = "a part of the path is a file, not a folder: choose another path"
            else:
                fix = "choose a folder you may write to"
            raise VoteStoreError(
                f"{self._file}: the store's folder {folder} cannot be made ({cause}). Fix: {fix}"
            ) from None

    def _check_writable(self) -> None:
        """Refuse a store SQLite could not write, before it fails with a misleading message:
        besides the file, SQLite makes its write-ahead log and index files in the folder."""
        folder = self._file.parent
        if not os.access(folder, os.W_OK | os.X_OK):
            raise VoteStoreError(
                f"{self._file}: the folder {folder} is read-only for this user (uid "
                f"{os.getuid()}); a vote store needs to write its file and, beside it, its "
                "write-ahead log, even to be read. Fix: choose a writable folder, or copy the "
                "store into one"
            )
        if self._file.exists() and not os.access(self._file, os.R_OK | os.W_OK):
            raise VoteStoreError(
                f"{self._file}: the store file is read-only for this user (uid {os.getuid()}); "
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
                f"{self._file}: SQLite could not switch the store to WAL mode (got {mode!r}). "
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
                f"{self._file}: not a vote store (tables: {', '.join(sorted(tables))}); it was "
                "left untouched. Fix: give the path of a new file or of an arena-kit vote store"
            )
        if version > SCHEMA_VERSION:
            raise VoteStoreError(
                f"{self._file}: schema version {version} is newer than {SCHEMA_VERSION}. "
                "Fix: upgrade arena-kit"
            )
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise VoteStoreError(
                f"{self._file}: the vote store is damaged ({check}); it was not modified. "
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

    # ------------------------------------------------------------------------------------
    # The engine contract.

    def transact(self, work: Callable[[Transaction], T]) -> T:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(_SQLiteTransaction(conn))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def pop_notice(self) -> str | None:
        return None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


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
