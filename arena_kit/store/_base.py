"""What both engines of the vote store share: names, the error, one event, the engine contract."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..errors import ArenaKitError

SCHEMA_VERSION = 2
"""Version of the store's tables (SQLite: ``user_version``; PostgreSQL: ``arena_kit_meta``)."""

APPLICATION_ID = 0x41524B56
"""The application id of an arena-kit vote store (``"ARKV"``; SQLite: ``application_id``)."""

EVENT_KINDS: tuple[str, ...] = ("vote", "skip", "retract", "round_failed")
"""The kinds of events in the log."""

RECORD_TABLES: tuple[str, ...] = ("prompts", "responses", "executions", "battles")
"""The tables a store keeps records of besides its votes (schema version 2)."""

STORE_SUFFIXES: tuple[str, ...] = (".sqlite", ".sqlite3", ".db")
"""File name endings that mark a path as a vote store rather than a table file."""

URL_SCHEMES: tuple[str, ...] = ("postgresql://", "postgres://")
"""Locations starting with these are PostgreSQL stores."""


def is_postgres_url(location: str) -> bool:
    """Whether ``location`` is a PostgreSQL URL (``postgresql://…`` or ``postgres://…``)
    rather than a file path."""
    return location.startswith(URL_SCHEMES)


T = TypeVar("T")


class VoteStoreError(ArenaKitError, RuntimeError):
    """The vote store cannot be used (not a store, damaged, newer schema, unreachable server,
    refused password…). Messages never hold a password."""


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


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    """One transaction of an engine. SQL is written once, in the dialect both engines speak
    (``?`` placeholders, ``ON CONFLICT``, ``IS NOT DISTINCT FROM``)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; returns the number of rows changed."""
        ...

    def serialize(self) -> None:
        """Hold the store's one write lock until the end of this transaction (for a read
        followed by a write that depends on it: retract, undo)."""
        ...


class Engine(Protocol):
    """Where the store's tables live: connection, schema and migrations, transactions."""

    location: str
    """The store as shown in messages (a path, or a URL without its password)."""
    path: Path | None
    """The SQLite file, or ``None``."""
    reconnects: int
    """How many times a lost connection was made again (always 0 for SQLite)."""

    def transact(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one durable transaction (again, whole, after a reconnect: ``work``
        must be idempotent); returns its result."""
        ...

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def pop_notice(self) -> str | None:
        """A message about the connection a person should see (once), or ``None``."""
        ...

    def close(self) -> None: ...
