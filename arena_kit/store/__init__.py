"""The vote store: an append-only event log that never loses a vote, in one SQLite file or in
a PostgreSQL database shared by many machines.

Every action of a labeling session is one *event* — ``vote``, ``skip``, ``retract`` (the
undo of an earlier vote or skip) or ``round_failed`` (a live round that could not be judged) —
written in its own transaction before the user interface moves on. The votes table
(:class:`arena_kit.schema.Vote`) is *derived* from the log: the ``vote`` events that no
``retract`` withdrew.

Since schema version 2 the store also keeps *records*: rows of the workbench's other tables
(prompts, responses, executions, battles) written as a live session produces them, so a store
alone is a whole data set — ``04``, the report and the judges read it wherever they read a
table file (:func:`is_store_location`). A version-1 store is migrated in place when opened.

``VoteStore(location)``: a path is an SQLite file (one machine: the kernels of a JupyterHub
host), a ``postgresql://user:password@host:port/db`` URL a PostgreSQL database (annotators on
many machines). :func:`copy_store` (``arena-kit store copy``) moves and merges stores between
the two.

Why this design:

* **Append-only**: triggers refuse ``UPDATE`` and ``DELETE`` on the log (and ``TRUNCATE`` in
  PostgreSQL), so an undo is a new event, and the history of a session can always be replayed.
* **Idempotent writes**: each event carries an id made by the caller (a retract too); writing
  the same event twice — a retry after a lost acknowledgement, a copy run twice, two machines'
  files merged — stores it once.
* **One code path above the SQL, no SQLAlchemy**: the store's behaviour (:class:`VoteStore`)
  is written once, in SQL both engines speak (``ON CONFLICT … DO NOTHING``, an upsert with a
  ``WHERE`` for claims, ``IS [NOT] DISTINCT FROM``); an engine (``_sqlite``, ``_postgres``)
  only connects, creates and migrates its schema, and runs a transaction. What differs is a
  short list: placeholders (``?`` → ``%s``), the schema's column types, how writers are
  serialised (``BEGIN IMMEDIATE`` / an advisory lock) and reconnecting after a lost
  connection. SQLAlchemy Core would abstract the first two and none of the rest, and add a
  dependency and its connection pool between the store and psycopg's error states, which
  the reconnect logic reads.
* **No personal data**: the log holds the annotator id the person typed and nothing about the
  machine or the network (no IP address, no host name, no user name).
* **Never damages what is not a store**: a foreign file (checked by its first 100 bytes before
  SQLite opens it), another program's database or schema, a newer schema version, are
  refused with a clear error and left exactly as they were.
"""

from ._base import (
    APPLICATION_ID,
    EVENT_KINDS,
    RECORD_TABLES,
    SCHEMA_VERSION,
    STORE_SUFFIXES,
    StoreEvent,
    VoteStoreError,
    is_postgres_url,
    new_event_id,
)
from ._copy import CopyResult, copy_store
from ._votestore import VoteStore, is_store_location, open_existing, public_location

__all__ = [
    "VoteStore",
    "VoteStoreError",
    "StoreEvent",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
    "EVENT_KINDS",
    "RECORD_TABLES",
    "STORE_SUFFIXES",
    "is_store_location",
    "is_postgres_url",
    "open_existing",
    "public_location",
    "new_event_id",
    "copy_store",
    "CopyResult",
]
