"""The PostgreSQL engine of the vote store: many machines writing into one database.

``VoteStore("postgresql://user:password@host:5432/db")`` keeps the same tables as the SQLite
file (the event log, the records, the claims) in the schema first on the connection's
``search_path`` (``public`` unless the URL says ``?options=-csearch_path=…``), plus a small
``arena_kit_meta`` table holding the application id and the schema version.

* **Opening never damages a foreign database**: the catalogue is read first; a schema that
  holds tables but no ``arena_kit_meta`` of an arena-kit store is refused before anything is
  written. An empty schema becomes a store in one transaction, under an advisory lock, so
  processes opening a new database at once create it once.
* **Migrations**: the schema is the list :data:`MIGRATIONS` (version *n* → *n* + 1); a new
  store runs all of them, an older store the ones it lacks, in one transaction.
* **Append-only**: triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on the log and the
  records, as in SQLite.
* **Durable**: each write is one transaction, committed (``synchronous_commit`` as the server
  has it: ``on`` by default) before the call returns.
* **Reconnects**: when the connection is lost (a server restart, a network cut), the next
  call connects again — bounded retries with backoff for :attr:`PostgresEngine.reconnect_s`
  seconds — and sends its whole transaction again. Every write is idempotent (event ids,
  record ids; a retract carries its own id), so a write whose acknowledgement was lost is
  stored once. :attr:`PostgresEngine.reconnects` counts them and :meth:`pop_notice` gives the
  message a labeling session shows.
* **No password in any message**: errors and ``repr`` show the URL without it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._base import APPLICATION_ID, SCHEMA_VERSION, T, Transaction, VoteStoreError

if TYPE_CHECKING:
    import psycopg

_log = logging.getLogger(__name__)

META_TABLE = "arena_kit_meta"
"""The table that marks a PostgreSQL schema as an arena-kit vote store."""

_APPLICATION = "arena-kit vote store"

# Version 1: the event log and the claims (as the SQLite store of version 1).
_V1 = """
CREATE TABLE arena_kit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CONSTRAINT events_kind CHECK (kind IN ('vote', 'skip', 'retract')),
    annotator TEXT,
    battle_id TEXT,
    target TEXT,
    tstamp DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_by_annotator ON events (annotator, seq);
CREATE INDEX events_by_target ON events (target);
CREATE TABLE claims (
    battle_id TEXT PRIMARY KEY,
    annotator TEXT NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);
CREATE FUNCTION arena_kit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation'; END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION arena_kit_append_only('the vote log is append-only');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION arena_kit_append_only('the vote log is append-only');
"""

# Version 1 → 2: round_failed events; the records of the other tables.
_V1_TO_V2 = """
ALTER TABLE events DROP CONSTRAINT events_kind, ADD CONSTRAINT events_kind
    CHECK (kind IN ('vote', 'skip', 'retract', 'round_failed'));
CREATE TABLE records (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('prompts', 'responses', 'executions', 'battles')),
    record_id TEXT NOT NULL,
    tstamp DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (kind, record_id)
);
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
FOR EACH ROW EXECUTE FUNCTION arena_kit_append_only('the records of a vote store are append-only');
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
FOR EACH STATEMENT EXECUTE FUNCTION
    arena_kit_append_only('the records of a vote store are append-only');
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V1_TO_V2)
"""``MIGRATIONS[n]`` takes a store from version *n* to *n* + 1 (0: an empty schema)."""

# The tables each version has (a store missing one is damaged).
_TABLES = {1: {"events", "claims"}, 2: {"events", "claims", "records"}}

# Keys of the advisory locks (pg_advisory_xact_lock(APPLICATION_ID, key)).
_LOCK_SCHEMA = 0
_LOCK_WRITES = 1

# Messages of the server or libpq that mean "try again soon": nobody listens (yet), the
# server is starting or stopping, the connection broke.
_TRANSIENT = re.compile(
    r"connection refused|could not connect|timeout expired|starting up|shutting down|"
    r"in recovery|server closed the connection|no such file or directory|"
    r"terminating connection|connection reset|network is unreachable|no route to host|"
    r"could not receive data|could not send data|ssl syscall",
    re.IGNORECASE,
)
_CONNECT_DEFAULTS = {
    "connect_timeout": "10",
    "application_name": "arena-kit",
    # A server that vanished without closing the connection fails a call in ~30 s instead of
    # hanging it for ever.
    "keepalives": "1",
    "keepalives_idle": "15",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


def redact(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` parameter)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = "&".join(
        item for item in parts.query.split("&") if item and not item.lower().startswith("password=")
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secrets(url: str) -> list[str]:
    """The password of ``url`` as it may appear in a message (as written and decoded)."""
    parts = urllib.parse.urlsplit(url)
    found = []
    if parts.password:
        found += [parts.password, urllib.parse.unquote(parts.password)]
    for key, value in urllib.parse.parse_qsl(parts.query):
        if key.lower() == "password" and value:
            found.append(value)
    return sorted({s for s in found if s}, key=len, reverse=True)


@lru_cache(maxsize=256)
def _dialect(sql: str) -> str:
    """The store's SQL with psycopg's placeholders (the store's own SQL never holds ``%``)."""
    assert "%" not in sql, sql
    return sql.replace("?", "%s")


class _PostgresTransaction:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(_dialect(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self._conn.cursor() as cursor:
            cursor.executemany(_dialect(sql), rows)
            return cursor.rowcount

    def serialize(self) -> None:
        self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (APPLICATION_ID, _LOCK_WRITES))


class PostgresEngine:
    """A vote store in a PostgreSQL database (psycopg 3).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/database`` (any libpq URL parameter may follow
        ``?``; without a password in the URL libpq reads ``PGPASSWORD`` or ``~/.pgpass``).
    reconnect_s
        How long a call keeps trying to connect again after the connection was lost.
    create
        Make an empty database a store (else an empty database is an error).
    """

    path: Path | None = None

    def __init__(self, url: str, *, reconnect_s: float = 30.0, create: bool = True) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise VoteStoreError(
                f"{redact(url)}: a PostgreSQL vote store needs psycopg. "
                "Fix: pip install 'arena-kit[postgres]'"
            ) from None
        self._url = url
        self.location = redact(url)
        self._secrets = _secrets(url)
        self.reconnect_s = reconnect_s
        self.reconnects = 0
        self._notice: str | None = None
        self._lock = threading.RLock()
        self._conninfo = self._make_conninfo(url)
        self._conn: psycopg.Connection[Any] | None = self._first_connection()
        try:
            self._open(create)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------------------------
    # Connecting.

    def _make_conninfo(self, url: str) -> str:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            given = conninfo_to_dict(url)
        except Exception as exc:  # psycopg.ProgrammingError: a malformed URL
            raise VoteStoreError(
                f"{self.location}: not a valid PostgreSQL URL ({self._scrub(str(exc))}). "
                "Fix: write it as postgresql://user:password@host:port/database"
            ) from None
        options = {k: v for k, v in _CONNECT_DEFAULTS.items() if k not in given}
        return make_conninfo(url, **options)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _where(self) -> tuple[str, str, str, str]:
        """Host, port, user and database as libpq reads them from the URL."""
        from psycopg.conninfo import conninfo_to_dict

        given = conninfo_to_dict(self._conninfo)
        return (
            str(given.get("host") or "localhost"),
            str(given.get("port") or 5432),
            str(given.get("user") or "(the login name)"),
            str(given.get("dbname") or "(the user's)"),
        )

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(self._conninfo, autocommit=True)

    def _explain(self, exc: Exception) -> tuple[bool, str]:
        """Whether a failed connection is worth retrying, and what to tell the person."""
        detail = " ".join(self._scrub(str(exc)).split())
        host, port, user, database = self._where()
        lowered = detail.lower()
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            return False, (
                f"{self.location}: the server refused the password of user {user!r} (a wrong "
                "password or user name, or no password given); nothing was read or written. "
                "Fix: check the user and the password (in the URL, PGPASSWORD or ~/.pgpass)"
            )
        if re.search(r'database ".*" does not exist', detail):
            return False, (
                f"{self.location}: the server has no database {database!r}; nothing was "
                f"written. Fix: create it (createdb {database}, or CREATE DATABASE "
                f"{database} OWNER {user}): an empty database becomes a vote store when it "
                "is first opened"
            )
        if re.search(r'role ".*" does not exist', detail):
            return False, (
                f"{self.location}: the server has no user {user!r}. Fix: check the user in "
                "the URL, or create it (CREATE ROLE … LOGIN PASSWORD …)"
            )
        if "invalid" in lowered and ("connection option" in lowered or "uri" in lowered):
            return False, (
                f"{self.location}: not a valid PostgreSQL URL ({detail}). Fix: write it as "
                "postgresql://user:password@host:port/database"
            )
        if _TRANSIENT.search(detail):
            return True, (
                f"{self.location}: no PostgreSQL server answers at {host}:{port} ({detail}). "
                "Fix: start the server, or check the host and port in the URL"
            )
        return False, f"{self.location}: cannot connect to the PostgreSQL server ({detail})"

    def _first_connection(self) -> psycopg.Connection[Any]:
        """Connect, waiting only for a server that is starting up (refused: an error now)."""
        import psycopg

        deadline = time.monotonic() + 10
        while True:
            try:
                return self._connect()
            except psycopg.OperationalError as exc:
                _, message = self._explain(exc)
                starting = "starting up" in str(exc) or "shutting down" in str(exc)
                if not starting or time.monotonic() > deadline:
                    raise VoteStoreError(message) from None
                time.sleep(0.2)

    def _reconnect(self, cause: BaseException) -> None:
        """Connect again after ``cause`` broke the connection: bounded retries, doubling
        waits (0.05 s … 2 s), for :attr:`reconnect_s` seconds at most."""
        import psycopg

        self._drop()
        why = " ".join(self._scrub(str(cause)).split()) or type(cause).__name__
        started, delay, tries = time.monotonic(), 0.05, 0
        while True:
            tries += 1
            try:
                self._conn = self._connect()
                break
            except psycopg.OperationalError as exc:
                transient, message = self._explain(exc)
                waited = time.monotonic() - started
                if not transient or waited + delay > self.reconnect_s:
                    raise VoteStoreError(
                        f"lost the connection to the vote store ({why}) and could not connect "
                        f"again in {waited:.1f} s ({tries} tries): {message}. The last action "
                        "may not be stored: doing it again is safe (each event is stored once)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.reconnects += 1
        waited = time.monotonic() - started
        # For the person (a served page too): no host, port or server message in it.
        self._notice = (
            f"The connection to the vote store was lost and made again ({waited:.1f} s); "
            "the last action was sent again and is stored once."
        )
        _log.info(
            "%s: connection lost (%s); reconnected after %.1f s, %d tr%s",
            self.location, why, waited, tries, "y" if tries == 1 else "ies",
        )  # fmt: skip

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.close()

    def _run(self, step: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``step`` on the connection; once more, on a new one, each time it was lost."""
        import psycopg

        with self._lock:
            while True:
                conn = self._conn
                try:
                    if conn is None or conn.closed:
                        raise psycopg.OperationalError("the connection was closed")
                    return step(conn)
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    if conn is not None and not (conn.broken or conn.closed):
                        raise VoteStoreError(
                            f"{self.location}: {' '.join(self._scrub(str(exc)).split())}"
                        ) from None
                    self._reconnect(exc)
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise VoteStoreError(
                        f"{self.location}: the user may not do this "
                        f"({' '.join(self._scrub(str(exc)).split())}). Fix: GRANT the user "
                        "the rights, or make it the owner of the database (CREATE DATABASE … "
                        "OWNER …)"
                    ) from None
                except psycopg.Error as exc:  # e.g. a table dropped behind the store's back
                    raise VoteStoreError(
                        f"{self.location}: {' '.join(self._scrub(str(exc)).split())}"
                    ) from None

    # ------------------------------------------------------------------------------------
    # Opening: verify, create, migrate.

    def _open(self, create: bool) -> None:
        version = self._run(self._read_version)
        if version == 0 and not create:
            raise VoteStoreError(
                f"{self.location}: no vote store here: the database holds no tables; it was "
                "left untouched. Fix: check the database name in the URL"
            )
        if version < SCHEMA_VERSION:
            self._run(self._upgrade)

    def _read_version(self, conn: psycopg.Connection[Any]) -> int:
        """The store's schema version (0: an empty schema), reading only the catalogue and
        the meta table; refuses a schema that is not an arena-kit store."""
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise VoteStoreError(
                f"{self.location}: no schema to keep the store in (the search_path names none "
                "that exists). Fix: CREATE SCHEMA, or set search_path in the URL's options"
            )
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            )
        }
        if not tables:
            return 0
        fix = (
            "give the URL of an empty database (createdb …) or of an arena-kit vote store, or "
            "put the store in a schema of its own (?options=-csearch_path%3Dvotes)"
        )
        shown = ", ".join(sorted(tables)[:8]) + (", …" if len(tables) > 8 else "")
        if META_TABLE not in tables:
            raise VoteStoreError(
                f"{self.location}: not a vote store: schema {schema[0]!r} holds tables of "
                f"another application ({shown}) and no {META_TABLE}; it was left untouched. "
                f"Fix: {fix}"
            )
        meta = dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
        if meta.get("application_id") != str(APPLICATION_ID):
            raise VoteStoreError(
                f"{self.location}: not a vote store: {META_TABLE} names another application "
                f"({meta.get('application', '?')!r}); it was left untouched. Fix: {fix}"
            )
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            version = -1
        if version > SCHEMA_VERSION:
            raise VoteStoreError(
                f"{self.location}: the vote store has schema version {version}, newer than "
                f"this arena-kit's {SCHEMA_VERSION}; it was left untouched. Fix: upgrade "
                "arena-kit"
            )
        missing = _TABLES.get(version, {"?"}) - tables
        if missing:
            raise VoteStoreError(
                f"{self.location}: the vote store is damaged (schema version {version}, "
                f"missing: {', '.join(sorted(missing))}); it was not modified. Fix: restore "
                "the database from a backup, or give a new database"
            )
        return version

    def _upgrade(self, conn: psycopg.Connection[Any]) -> None:
        """Create the store or bring it to :data:`SCHEMA_VERSION`, in one transaction, under
        an advisory lock (another process may have done it while this one waited)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (APPLICATION_ID, _LOCK_SCHEMA))
            version = self._read_version(conn)
            apply_migrations(conn, version, SCHEMA_VERSION)

    # ------------------------------------------------------------------------------------
    # The engine contract.

    def transact(self, work: Callable[[Transaction], T]) -> T:
        import psycopg

        def step(conn: psycopg.Connection[Any]) -> T:
            try:
                with conn.transaction():
                    return work(_PostgresTransaction(conn))
            except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
                raise VoteStoreError(
                    f"{self.location}: the server refused the write "
                    f"({' '.join(self._scrub(str(exc)).split())})"
                ) from None

        return self._run(step)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(_dialect(sql), params).fetchall())

    def pop_notice(self) -> str | None:
        with self._lock:
            notice, self._notice = self._notice, None
            return notice

    def close(self) -> None:
        with self._lock:
            self._drop()


def apply_migrations(conn: psycopg.Connection[Any], version: int, target: int) -> None:
    """Run :data:`MIGRATIONS` from ``version`` to ``target`` on ``conn`` (inside the caller's
    transaction) and record ``target`` in the meta table."""
    if version >= target:
        return
    for step in MIGRATIONS[version:target]:
        conn.execute(step)
    conn.execute(
        f"INSERT INTO {META_TABLE} (key, value) VALUES ('application', %s), "
        "('application_id', %s), ('schema_version', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_APPLICATION, str(APPLICATION_ID), str(target)),
    )
