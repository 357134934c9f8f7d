"""The vote store's behaviour, written once above the SQL of both engines."""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._base import (
    RECORD_TABLES,
    SCHEMA_VERSION,
    STORE_SUFFIXES,
    Engine,
    StoreEvent,
    Transaction,
    VoteStoreError,
    is_postgres_url,
    new_event_id,
)

if TYPE_CHECKING:
    import pandas as pd

_EVENT_COLUMNS = "seq, event_id, kind, annotator, battle_id, target, tstamp, payload"

# The events in force: votes and skips that no retract withdrew.
_IN_FORCE = "NOT EXISTS (SELECT 1 FROM events r WHERE r.kind = 'retract' AND r.target = e.event_id)"


class VoteStore:
    """An append-only log of labeling events, in one SQLite file or a PostgreSQL database.

    Parameters
    ----------
    location
        A file path (SQLite; created with its folder when missing) or a PostgreSQL URL,
        ``postgresql://user:password@host:port/database`` (an empty database becomes a store
        when first opened). :func:`is_store_location` says which strings are stores.
    reconnect_s
        PostgreSQL: how long a call keeps trying to connect again after the connection was
        lost (a server restart) before it gives up with :class:`VoteStoreError`.
    create
        PostgreSQL: make an empty database a store (``False``: refuse it, for readers).

    Raises
    ------
    VoteStoreError
        Not an arena-kit vote store (another program's file or database, a corrupt file, a
        newer schema): it is not modified. For PostgreSQL also: no server answers, the
        password is refused, the database does not exist. Messages never hold the password.

    Examples
    --------
    >>> store = VoteStore("votes.sqlite")                       # doctest: +SKIP
    >>> store = VoteStore("postgresql://arena@db.lab:5432/votes")  # doctest: +SKIP
    >>> vote_id = store.record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
    ...                                                         # doctest: +SKIP
    >>> store.votes()                                           # doctest: +SKIP
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        reconnect_s: float = 30.0,
        create: bool = True,
    ) -> None:
        text = os.fspath(location)
        self._engine: Engine
        if is_postgres_url(text):
            from ._postgres import PostgresEngine

            self._engine = PostgresEngine(text, reconnect_s=reconnect_s, create=create)
        else:
            from ._sqlite import SQLiteEngine

            self._engine = SQLiteEngine(text)
        self.location: str = self._engine.location
        """The store as shown to people: its path, or its URL without the password."""
        self.path: Path | None = self._engine.path
        """The SQLite file (``None`` for PostgreSQL)."""

    @property
    def engine(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self.path is not None else "postgresql"

    @property
    def reconnects(self) -> int:
        """How many times a lost connection to the server was made again (SQLite: 0)."""
        return self._engine.reconnects

    def pop_notice(self) -> str | None:
        """What a person should be told about the store since the last call (a reconnect
        after a server restart), once; ``None`` when nothing happened."""
        return self._engine.pop_notice()

    def close(self) -> None:
        """Close the connection (the data is already on disk)."""
        self._engine.close()

    def __enter__(self) -> VoteStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VoteStore({self.location!r})"

    def __str__(self) -> str:
        return self.location

    # ------------------------------------------------------------------------------------
    # Writing. Every write is one transaction of ``work`` that may run twice (again after a
    # lost connection), so each is idempotent: its ids are chosen before it runs.

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._engine.rows(sql, params)

    @staticmethod
    def _insert(
        tx: Transaction,
        *,
        event_id: str,
        kind: str,
        annotator: str | None,
        battle_id: str | None,
        target: str | None,
        tstamp: float,
        payload: Mapping[str, Any],
    ) -> None:
        tx.execute(
            "INSERT INTO events (event_id, kind, annotator, battle_id, target, tstamp, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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

    def _append(
        self,
        *,
        event_id: str,
        kind: str,
        annotator: str | None,
        battle_id: str | None,
        tstamp: float,
        payload: Mapping[str, Any],
    ) -> None:
        _check_text(annotator=annotator, battle_id=battle_id, event_id=event_id)
        self._engine.transact(
            lambda tx: self._insert(
                tx,
                event_id=event_id,
                kind=kind,
                annotator=annotator,
                battle_id=battle_id,
                target=None,
                tstamp=tstamp,
                payload=payload,
            )
        )

    def record_vote(self, vote: Mapping[str, Any], *, event_id: str | None = None) -> str:
        """Append one vote; it is durable when this returns. Returns the ``vote_id``.

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
        self._append(
            event_id=event_id,
            kind="vote",
            annotator=record.get("annotator"),
            battle_id=record.get("battle_id"),
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
        self._append(
            event_id=event_id,
            kind="skip",
            annotator=annotator,
            battle_id=battle_id,
            tstamp=time.time(),
            payload=details,
        )
        return event_id

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
        self._append(
            event_id=event_id,
            kind="round_failed",
            annotator=annotator,
            battle_id=battle_id,
            tstamp=time.time(),
            payload=payload,
        )
        return event_id

    def retract(
        self, event_id: str, *, annotator: str | None = None, retract_id: str | None = None
    ) -> str:
        """Withdraw an earlier vote or skip (an undo); returns the retract event's id.

        ``retract_id`` (default: a fresh id) makes the call idempotent: the same id again
        returns it without retracting anything more.

        Raises
        ------
        VoteStoreError
            No such vote or skip, or it was already retracted (by another retract).
        """
        retract_id = retract_id or new_event_id()

        def work(tx: Transaction) -> str:
            tx.serialize()
            done = tx.execute(
                "SELECT target FROM events WHERE event_id = ? AND kind = 'retract'", (retract_id,)
            ).fetchone()
            if done is not None and done[0] == event_id:
                return retract_id  # this very retract, sent again after a lost connection
            row = tx.execute(
                "SELECT kind, battle_id FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
            if row is None or row[0] not in ("vote", "skip"):
                raise VoteStoreError(f"{self}: no vote or skip with id {event_id!r} to retract")
            if tx.execute(
                "SELECT 1 FROM events WHERE kind = 'retract' AND target = ?", (event_id,)
            ).fetchone():
                raise VoteStoreError(f"{self}: {event_id!r} was already retracted")
            self._insert(
                tx,
                event_id=retract_id,
                kind="retract",
                annotator=annotator,
                battle_id=row[1],
                target=event_id,
                tstamp=time.time(),
                payload={},
            )
            return retract_id

        return self._engine.transact(work)

    def undo_last(
        self, annotator: str | None, *, retract_id: str | None = None
    ) -> StoreEvent | None:
        """Retract ``annotator``'s latest vote or skip that is still in force.

        Returns the retracted event, or ``None`` when there is nothing to undo. The look-up
        and the retraction are one transaction, so two undos never retract the same event;
        ``retract_id`` (default: a fresh id) makes the call idempotent: the same id again
        returns the event it retracted, retracting nothing more.
        """
        retract_id = retract_id or new_event_id()

        def work(tx: Transaction) -> StoreEvent | None:
            tx.serialize()
            row = tx.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events e WHERE event_id = "
                "(SELECT target FROM events WHERE event_id = ? AND kind = 'retract')",
                (retract_id,),
            ).fetchone()
            if row is not None:
                return _event(row)  # this very undo, sent again after a lost connection
            row = tx.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events e WHERE kind IN ('vote', 'skip') "
                f"AND annotator IS NOT DISTINCT FROM ? AND {_IN_FORCE} ORDER BY seq DESC LIMIT 1",
                (annotator,),
            ).fetchone()
            if row is None:
                return None
            event = _event(row)
            self._insert(
                tx,
                event_id=retract_id,
                kind="retract",
                annotator=annotator,
                battle_id=event.battle_id,
                target=event.event_id,
                tstamp=time.time(),
                payload={},
            )
            return event

        return self._engine.transact(work)

    def record(self, table: str, row: Mapping[str, Any]) -> bool:
        """Append one row of ``table`` (one of :data:`RECORD_TABLES`); durable on return.

        The row is checked against the table's contract (:func:`arena_kit.schema.validate`)
        first. Its id is the table's key column (``prompt_id``, ``response_id``,
        ``execution_id``, ``battle_id``); a row whose id is already stored is not written
        again — the first write wins (execution ids are content hashes of what ran, so a
        re-run of the same code keeps its first result). Returns True when the row was new
        (PostgreSQL: a row sent again after a lost connection may report False although this
        call stored it).

        Raises
        ------
        VoteStoreError
            ``table`` is not one the store keeps.
        ArenaDataError
            The row breaks the table's contract (the message names the column).
        """
        from ..schema import key_column, validate

        if table not in RECORD_TABLES:
            raise VoteStoreError(
                f"{self}: no table {table!r} in a vote store. Fix: use one of "
                f"{', '.join(RECORD_TABLES)} (votes are written with record_vote)"
            )
        record = {key: _plain_value(value) for key, value in row.items()}
        validate([record], table, source=f"{self} ({table} record)")
        record_id = str(record[key_column(table)])
        _check_text(record_id=record_id)
        params = (
            table,
            record_id,
            time.time(),
            json.dumps(record, ensure_ascii=False, default=_json_default),
        )
        added = self._engine.transact(
            lambda tx: (
                tx.execute(
                    "INSERT INTO records (kind, record_id, tstamp, payload) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    params,
                ).rowcount
            )
        )
        return added == 1

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
        # One statement: the row is taken, renewed, or left to its unexpired holder, atomically
        # in both engines (ON CONFLICT … DO UPDATE … WHERE).
        taken = self._engine.transact(
            lambda tx: (
                tx.execute(
                    "INSERT INTO claims (battle_id, annotator, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT (battle_id) DO UPDATE SET annotator = excluded.annotator, "
                    "expires = excluded.expires "
                    "WHERE claims.annotator = excluded.annotator OR claims.expires <= ?",
                    (battle_id, annotator, now + ttl_s, now),
                ).rowcount
            )
        )
        return taken == 1

    def claimed_by_others(self, annotator: str | None) -> set[str]:
        """Battles that other annotators hold unexpired claims on."""
        rows = self._rows(
            "SELECT battle_id FROM claims WHERE annotator IS DISTINCT FROM ? AND expires > ?",
            (annotator, time.time()),
        )
        return {row[0] for row in rows}

    def release(self, annotator: str, battle_ids: list[str] | None = None) -> None:
        """Drop ``annotator``'s claims (all of them, or those on ``battle_ids``)."""

        def work(tx: Transaction) -> None:
            if battle_ids is None:
                tx.execute("DELETE FROM claims WHERE annotator = ?", (annotator,))
            else:
                tx.executemany(
                    "DELETE FROM claims WHERE annotator = ? AND battle_id = ?",
                    [(annotator, b) for b in battle_ids],
                )

        self._engine.transact(work)

    # ------------------------------------------------------------------------------------
    # Reading.

    def iter_events(self) -> list[StoreEvent]:
        """Every event of the log, oldest first."""
        return [
            _event(row) for row in self._rows(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq")
        ]

    def active_events(self, annotator: str | None = None) -> list[StoreEvent]:
        """The votes and skips in force (not retracted), oldest first; one annotator's if given."""
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events e WHERE kind IN ('vote', 'skip') AND {_IN_FORCE}"
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
        from ..schema import validate

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
        return validate([json.loads(row[0]) for row in rows], table, source=f"{self} ({table})")

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
        from ..schema import validate

        records = [e.payload for e in self.active_events() if e.kind == "vote"]
        if not records:
            return _empty_table("votes")
        return validate(records, "votes", source=self.location)

    def vote_counts(self) -> Counter[str]:
        """Battle id → number of votes in force."""
        return Counter(
            row[0]
            for row in self._rows(
                f"SELECT battle_id FROM events e WHERE kind = 'vote' AND {_IN_FORCE}"
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
            "path": self.location,
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
            f"<div class='arena-store'><p>{headline}<br><code>{html.escape(self.location)}"
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
    return is_postgres_url(text) or Path(text).suffix.lower() in STORE_SUFFIXES


def public_location(location: str | os.PathLike[str]) -> str:
    """``location`` as it may be shown or written down: a URL without its password, a path
    as given."""
    text = os.fspath(location)
    if is_postgres_url(text):
        from ._postgres import redact

        return redact(text)
    return text


def open_existing(location: str | os.PathLike[str], *, reading: str) -> VoteStore:
    """Open a store that must already exist, to read its ``reading`` table: unlike
    :class:`VoteStore`, a missing file (or an empty PostgreSQL database) is an error here, not
    a new empty store."""
    from ..errors import ArenaDataError

    text = os.fspath(location)
    if not is_postgres_url(text) and not Path(text).is_file():
        raise ArenaDataError(
            f"no vote store here (to read its {reading})",
            source=text,
            fix="check the path; a store is made by a labeling or a live-arena session",
        )
    return VoteStore(text, create=False)


def _check_text(**values: Any) -> None:
    """Refuse text PostgreSQL cannot store (NUL), in both engines alike."""
    for name, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise VoteStoreError(f"{name} {value!r}: contains a NUL character (\\x00)")


def _empty_table(table: str) -> pd.DataFrame:
    """An empty table with the contract's columns (a store not yet written to)."""
    import pandas as pd

    from ..schema import columns

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
    from ..schema import columns, normalize_winner

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
