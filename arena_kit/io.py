"""Reading and writing table files (JSONL, JSON, Parquet, CSV): strict on read, atomic on write.

Reading keeps the file line of each JSONL row so that validation errors say ``line N``.
Writing goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a crash or a bad value never leaves a half-written file behind.

Columns that hold lists or dicts (the ``json`` kind of :mod:`arena_kit.schema`) are stored as
JSON text in Parquet and CSV files (Parquet records their names in the file's metadata), so
heterogeneous records such as ``edits`` round-trip exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_frame", "read_jsonl", "write_frame", "write_jsonl", "atomic_path", "FORMATS"]

FORMATS = (".jsonl", ".json", ".parquet", ".csv")
_JSON_COLUMNS_KEY = b"arena_kit.json_columns"


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ArenaDataError(
            f"unsupported file type {suffix or '(none)'!r}",
            source=str(path),
            fix=f"use one of {', '.join(FORMATS)}",
        )
    return suffix


def read_jsonl(path: str | Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Read a JSON Lines file: the records and the 1-based file line of each.

    Blank lines are skipped. A truncated or malformed line, or a line that is not a JSON object,
    raises :class:`ArenaDataError` naming the line.
    """
    path = Path(path)
    if not path.exists():
        raise ArenaDataError("file not found", source=str(path), fix="check the path")
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    with path.open("r", encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                raise ArenaDataError(
                    f"not valid JSON ({error.msg} at character {error.pos + 1}); "
                    f"the line starts {text.strip()[:60]!r}",
                    source=str(path),
                    location=f"line {number}",
                    value=text.strip()[:200],
                    fix="each line must be one complete JSON object; the file may be truncated",
                ) from None
            if not isinstance(record, dict):
                raise ArenaDataError(
                    f"expected a JSON object, got {type(record).__name__}",
                    source=str(path),
                    location=f"line {number}",
                    value=record,
                    fix="write one {...} object per line",
                )
            records.append(record)
            lines.append(number)
    if not records:
        raise ArenaDataError("the file is empty", source=str(path), fix="give at least one row")
    return records, lines


def read_frame(
    path: str | Path, *, json_columns: Iterable[str] = ()
) -> tuple[pd.DataFrame, list[int] | None]:
    """Read a table file into a DataFrame.

    Returns the frame and, for JSONL files, the file line of each row (``None`` otherwise).
    ``json_columns`` names columns that CSV files hold as JSON text (Parquet files written by
    :func:`write_frame` say so themselves).
    """
    import pandas as pd

    path = Path(path)
    suffix = _suffix(path)
    if not path.exists():
        raise ArenaDataError("file not found", source=str(path), fix="check the path")
    if path.stat().st_size == 0:
        raise ArenaDataError("the file is empty", source=str(path), fix="give at least one row")
    if suffix == ".jsonl":
        records, lines = read_jsonl(path)
        return pd.DataFrame.from_records(records), lines
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ArenaDataError(
                f"not valid JSON ({error.msg})",
                source=str(path),
                location=f"line {error.lineno}",
                fix="the file must be one JSON list of objects; it may be truncated",
            ) from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ArenaDataError(
                "expected a JSON list of objects", source=str(path), fix="write [{...}, {...}]"
            )
        if not data:
            raise ArenaDataError("the file is empty", source=str(path), fix="give at least one row")
        return pd.DataFrame.from_records(data), None
    if suffix == ".parquet":
        return _read_parquet(path), None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ArenaDataError(
            "the file is empty", source=str(path), fix="give a header and at least one row"
        ) from None
    except pd.errors.ParserError as error:
        raise ArenaDataError(f"not valid CSV ({error})", source=str(path)) from None
    frame = frame.astype(object).where(frame.notna(), None)
    for column in json_columns:
        if column in frame.columns:
            frame[column] = [_json_or_text(v) for v in frame[column]]
    # CSV has no types: header line 1, first row line 2 (no embedded newlines assumed).
    return frame, list(range(2, len(frame) + 2))


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(json.JSONDecodeError):
            return json.loads(value)
    return value


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ArenaDataError(
            f"not a readable Parquet file ({error})",
            source=str(path),
            fix="re-export the file; it may be truncated",
        ) from None
    metadata = table.schema.metadata or {}
    json_columns = json.loads(metadata.get(_JSON_COLUMNS_KEY, b"[]"))
    frame = table.to_pandas()
    for column in json_columns:
        frame[column] = [None if v is None else json.loads(v) for v in frame[column]]
    return frame


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write records as JSON Lines, atomically."""
    path = Path(path)
    with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, default=_json_default))
            handle.write("\n")
    return path


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready Python value (pandas' missing markers become None)."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to ``.jsonl``, ``.json``, ``.parquet`` or ``.csv``, atomically."""
    import pandas as pd

    path = Path(path)
    suffix = _suffix(path)
    json_columns = [
        c
        for c in frame.columns
        if frame[c].dtype == object and any(isinstance(v, (list, dict)) for v in frame[c])
    ]
    if suffix in (".jsonl", ".json"):
        records = [
            {str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
        ]
        if suffix == ".jsonl":
            return write_jsonl(records, path)
        with atomic_path(path) as temporary:
            temporary.write_text(
                json.dumps(records, ensure_ascii=False, default=_json_default), encoding="utf-8"
            )
        return path
    encoded = frame.copy()
    for column in json_columns:
        encoded[column] = [
            None if v is None else json.dumps(v, ensure_ascii=False, default=_json_default)
            for v in encoded[column]
        ]
    if suffix == ".csv":
        with atomic_path(path) as temporary:
            encoded.to_csv(temporary, index=False)
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.DataFrame(encoded), preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_JSON_COLUMNS_KEY] = json.dumps(json_columns).encode()
    table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return path
