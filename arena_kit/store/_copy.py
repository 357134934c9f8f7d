"""Copying and merging stores: every event and record once, whatever the engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base import Transaction
    from ._votestore import VoteStore

_BATCH = 1000

_EVENTS = (
    "SELECT seq, event_id, kind, annotator, battle_id, target, tstamp, payload FROM events "
    "WHERE seq > ? ORDER BY seq LIMIT ?",
    "INSERT INTO events (event_id, kind, annotator, battle_id, target, tstamp, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
)
_RECORDS = (
    "SELECT seq, kind, record_id, tstamp, payload FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
    "INSERT INTO records (kind, record_id, tstamp, payload) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING",
)


@dataclass(frozen=True)
class CopyResult:
    """What :func:`copy_store` did: rows read from the source, and how many of them were new
    to the target (it held the others already)."""

    events_read: int
    events_added: int
    records_read: int
    records_added: int

    def __str__(self) -> str:
        return (
            f"{self.events_added:,} of {self.events_read:,} events and {self.records_added:,} "
            f"of {self.records_read:,} records were new"
        )


def copy_store(source: VoteStore, target: VoteStore, *, progress: bool = False) -> CopyResult:
    """Copy every event and record of ``source`` into ``target`` (SQLite or PostgreSQL, either
    way).

    Rows keep their ids, times and payloads byte for byte; a row whose id ``target`` holds
    already is not written again, so copying twice changes nothing and copying two stores
    into one merges them with each event once. The source's order is kept (appended after
    what ``target`` holds). Claims are not copied: they belong to a live session, not to the
    data. Each batch of rows is one transaction: an interrupted copy is finished by running
    it again (and a store still being written to is caught up the same way).

    Parameters
    ----------
    progress
        Show a progress bar (tqdm: on a terminal or in a notebook).
    """
    from tqdm.auto import tqdm

    counts = source._rows("SELECT COUNT(*) FROM events UNION ALL SELECT COUNT(*) FROM records")
    with tqdm(
        total=sum(int(row[0]) for row in counts),
        unit=" rows",
        desc=f"copying {source}",
        disable=None if progress else True,
    ) as bar:
        events = _copy(source, target, *_EVENTS, bar.update)
        records = _copy(source, target, *_RECORDS, bar.update)
    return CopyResult(events[0], events[1], records[0], records[1])


def _copy(
    source: VoteStore, target: VoteStore, select: str, insert: str, done: Callable[[int], Any]
) -> tuple[int, int]:
    """Page through ``source`` by ``seq`` (no long read transaction, little memory)."""
    read = added = after = 0
    while True:
        rows = source._rows(select, (after, _BATCH))
        if not rows:
            return read, added
        after = int(rows[-1][0])
        batch = [tuple(row[1:]) for row in rows]

        def write(tx: Transaction, batch: list[tuple[Any, ...]] = batch) -> int:
            return tx.executemany(insert, batch)

        added += target._engine.transact(write)
        read += len(rows)
        done(len(rows))
