"""``arena-kit store``: copy, merge and export vote stores (SQLite files, PostgreSQL URLs).

* ``arena-kit store copy SRC [SRC …] DST`` copies every event and record of each source into
  ``DST`` (made when missing: a new SQLite file, or an empty PostgreSQL database). Rows keep
  their ids, so copying again changes nothing and two machines' files merge into one store
  with each event once.
* ``arena-kit store export STORE --out votes.parquet`` writes a table of a store (``--table``:
  the votes by default) to a ``.parquet``, ``.jsonl``, ``.json`` or ``.csv`` file.

A store is a path or a URL (``postgresql://user:password@host:port/db``); messages show URLs
without their password.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

TABLES = ("votes", "prompts", "responses", "executions", "battles", "events", "failed_rounds")
"""What ``export`` can write: the workbench's tables, the raw event log, the failed rounds."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arena-kit store",
        description="Copy, merge and export vote stores: SQLite files or PostgreSQL URLs "
        "(postgresql://user:password@host:port/database).",
    )
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = commands.add_parser(
        "copy",
        help="copy (or merge) stores into one: every event and record once",
        description="Copy every event and record of each SRC into DST (created when missing). "
        "Rows keep their ids: copying again changes nothing, and several sources merge with "
        "each event once. Claims (who is looking at which battle) are not copied.",
    )
    copy.add_argument("stores", nargs="+", metavar="SRC", help="the store(s) to copy from")
    copy.add_argument("target", metavar="DST", help="the store to copy into")
    export = commands.add_parser(
        "export",
        help="write a table of a store to a .parquet, .jsonl, .json or .csv file",
        description="Write a table of STORE to a file; the format follows --out's ending.",
    )
    export.add_argument("store", metavar="STORE", help="a store file or URL")
    export.add_argument("--out", required=True, help="the file to write (.parquet, .jsonl, …)")
    export.add_argument(
        "--table", default="votes", choices=TABLES, help="which table (default: votes)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``arena-kit store …``; returns the exit status (1 with a message on an error)."""
    from .errors import ArenaKitError

    args = _parser().parse_args(argv)
    try:
        if args.action == "copy":
            return _copy(args.stores, args.target)
        return _export(args.store, args.out, args.table)
    except (ArenaKitError, OSError) as error:
        print(f"arena-kit store {args.action}: error: {error}", file=sys.stderr)
        return 1


def _copy(sources: list[str], target: str) -> int:
    from contextlib import ExitStack

    from .store import VoteStore, copy_store, open_existing

    with ExitStack() as stack:
        # Every source opened (and so checked) before the target is made or written.
        opened = [stack.enter_context(open_existing(s, reading="events")) for s in sources]
        destination = stack.enter_context(VoteStore(target))
        for source in opened:
            result = copy_store(source, destination, progress=True)
            print(f"{source} → {destination}: {result}")
    return 0


def _export(location: str, out: str, table: str) -> int:
    from .io import write_frame
    from .store import open_existing

    with open_existing(location, reading=table) as store:
        if table == "events":
            frame = store.events()
        elif table == "failed_rounds":
            frame = store.failed_rounds()
        else:
            frame = store.table(table)
        written = write_frame(frame, out)
        print(f"{store}: {len(frame):,} rows of {table} → {written}")
    return 0
