"""The package's exceptions: one type per kind of failure; messages say what, where, how to fix."""

from __future__ import annotations

from typing import Any

__all__ = ["ArenaKitError", "ArenaDataError", "OutputExistsError", "require_columns"]


class ArenaKitError(Exception):
    """Base class of every error raised on purpose by arena-kit."""


class ArenaDataError(ArenaKitError, ValueError):
    """Input data does not follow a table contract (bad file, row, column or value).

    The message names the source (file path or ``"<DataFrame>"``), the location (``line N`` for
    JSONL, ``row N`` for tables, 1-based), the column, the offending value and a fix.
    The same facts are kept as attributes for programs.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str = "<DataFrame>",
        location: str | None = None,
        column: str | None = None,
        value: Any = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.location = location
        self.column = column
        self.value = value
        self.fix = fix
        parts = [source]
        if location:
            parts.append(location)
        if column:
            parts.append(f"column {column!r}")
        message = ": ".join(parts) + f": {problem}"
        if fix:
            message += f". Fix: {fix}"
        super().__init__(message)


class OutputExistsError(ArenaKitError, FileExistsError):
    """A writer refused to replace something at its output path that it did not write itself
    (a user's folder or file): arena-kit never deletes what is not its own output unless told
    to (``force=True``, ``--force``). The message names the path, what is there and the fix."""


def require_columns(frame: Any, columns: Any, what: str, fix: str) -> None:
    """Raise :class:`ArenaDataError` (not ``KeyError``) naming the columns ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ArenaDataError(
            f"{what} lacks column(s) {', '.join(map(repr, missing))} (found: "
            f"{', '.join(map(str, frame.columns))})",
            column=missing[0],
            fix=fix,
        )
