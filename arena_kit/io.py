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
import csv
import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


_UTF8_FIX = (
    "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8'; or convert it, e.g. "
    "'iconv -f latin1 -t utf-8 IN > OUT')"
)
_BOM = b"\xef\xbb\xbf"


def _check_readable(path: Path) -> None:
    """Refuse a missing path or a folder with a message that says so (not a raw OSError)."""
    if not path.exists():
        raise ArenaDataError("file not found", source=str(path), fix="check the path")
    if path.is_dir():
        raise ArenaDataError(
            "is a folder, not a file",
            source=str(path),
            fix="give the path of the file itself (e.g. a .jsonl, .json, .parquet or .csv file)",
        )


def _read_error(path: Path, error: OSError) -> ArenaDataError:
    return ArenaDataError(
        f"cannot be read ({error.strerror or error})",
        source=str(path),
        fix="check that the file exists and that you may read it",
    )


def _not_utf8(path: Path, data: bytes | None = None, first_line: int = 1) -> ArenaDataError:
    """The error for a file that is not UTF-8, naming the first bad byte's line and column.

    ``data`` is the file's content from line ``first_line`` on when the caller has it;
    otherwise the file is read again line by line (only on this error path).
    """
    with contextlib.ExitStack() as stack:
        lines: Iterable[bytes] = (
            data.splitlines(keepends=True)
            if data is not None
            else stack.enter_context(path.open("rb"))
        )
        for number, raw in enumerate(lines, start=first_line):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start : error.start + 1]
                return ArenaDataError(
                    f"not UTF-8 text: byte 0x{byte.hex()} cannot be decoded (the file is perhaps "
                    "Latin-1 or Windows-1252)",
                    source=str(path),
                    location=f"line {number}, column {error.start + 1}",
                    value=raw[max(0, error.start - 20) : error.start + 20],
                    fix=_UTF8_FIX,
                )
    return ArenaDataError("not UTF-8 text", source=str(path), fix=_UTF8_FIX)


def _json_problem(error: json.JSONDecodeError, text: str) -> tuple[str, str]:
    """What a JSON decode error means and its fix: only an error at the very end of the text
    suggests a truncated file."""
    at_end = error.pos >= len(text.rstrip())
    if at_end:
        return error.msg, "complete the JSON; the file may be truncated"
    return f"{error.msg} at column {error.colno}", "correct the JSON at that place"


def _too_deep(path: Path, location: str | None = None) -> ArenaDataError:
    return ArenaDataError(
        "the JSON is nested too deeply to read (lists or objects within each other more "
        f"than about {sys.getrecursionlimit()} levels)",
        source=str(path),
        location=location,
        fix="flatten the data; a table row needs a few levels at most",
    )


def read_jsonl(path: str | Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Read a JSON Lines file: the records and the 1-based file line of each.

    Blank lines are skipped; a UTF-8 byte-order mark at the start is allowed. A truncated or
    malformed line, a line that is not a JSON object, bytes that are not UTF-8 or JSON nested
    too deeply raise :class:`ArenaDataError` naming the line (and column).
    """
    path = Path(path)
    _check_readable(path)
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        raise _read_error(path, error) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _not_utf8(path, raw, number) from None
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                problem, fix = _json_problem(error, text)
                raise ArenaDataError(
                    f"not valid JSON ({problem}); the line starts {text.strip()[:60]!r}",
                    source=str(path),
                    location=f"line {number}",
                    value=text.strip()[:200],
                    fix=f"each line must be one complete JSON object: {fix}",
                ) from None
            except RecursionError:
                raise _too_deep(path, f"line {number}") from None
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
    path: str | Path, *, json_columns: Iterable[str] = (), kinds: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, Sequence[int] | None]:
    """Read a table file into a DataFrame.

    Returns the frame and, for JSONL and CSV files, the file line where each row starts
    (``None`` otherwise). ``json_columns`` names columns that CSV files hold as JSON text
    (Parquet files written by :func:`write_frame` say so themselves). ``kinds`` maps column
    names to ``"bool"``, ``"int"`` or ``"float"``: CSV holds only text, so those columns' cells
    are read back as such (``True``/``False`` as written by pandas, ``true``/``false``, ``1``/``0``
    for booleans); a cell that does not parse stays text, for validation to report with its line.
    """
    import pandas as pd

    path = Path(path)
    # A Parquet data set may be a folder; nothing else is.
    data_set = path.suffix.lower() == ".parquet" and path.is_dir()
    if path.is_dir() and not data_set:
        _check_readable(path)
    suffix = _suffix(path)
    if not data_set:
        _check_readable(path)
    if path.is_file() and path.stat().st_size == 0:
        raise ArenaDataError("the file is empty", source=str(path), fix="give at least one row")
    if suffix == ".jsonl":
        records, lines = read_jsonl(path)
        return pd.DataFrame.from_records(records), lines
    if suffix == ".json":
        data = _read_json(path)
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
        # utf-8-sig: a byte-order mark (as spreadsheets write) is not part of the first name.
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise ArenaDataError(
            "the file is empty", source=str(path), fix="give a header and at least one row"
        ) from None
    except pd.errors.ParserError as error:
        raise ArenaDataError(f"not valid CSV ({error})", source=str(path)) from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except OSError as error:
        raise _read_error(path, error) from None
    frame = frame.astype(object).where(frame.notna(), None)
    for column, kind in (kinds or {}).items():
        parse = _CSV_PARSERS.get(kind)
        if parse is not None and column in frame.columns:
            frame[column] = [None if v is None else parse(v) for v in frame[column]]
    for column in json_columns:
        if column in frame.columns:
            try:
                frame[column] = [_json_or_text(v) for v in frame[column]]
            except RecursionError:
                raise _too_deep(path) from None
    return frame, _CsvLines(path, len(frame))


def _csv_bool(text: str) -> Any:
    word = text.strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(word, text)


def _csv_int(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else text


def _csv_float(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


_CSV_PARSERS: dict[str, Any] = {"bool": _csv_bool, "int": _csv_int, "float": _csv_float}


class _CsvLines(Sequence[int]):
    """The physical file line where each CSV record starts, found only when asked.

    A quoted field may hold newlines, so record ``k`` is not line ``k + 2``. Only error messages
    need the lines, so the file is scanned again (with the ``csv`` module, which counts lines
    as it reads) on the first access, not on every read.
    """

    def __init__(self, path: Path, n_rows: int) -> None:
        self._path = path
        self._n_rows = n_rows
        self._lines: list[int] | None = None

    def __len__(self) -> int:
        return self._n_rows

    def __getitem__(self, index: Any) -> Any:
        if self._lines is None:
            self._lines = _csv_record_lines(self._path, self._n_rows)
        return self._lines[index]


def _csv_record_lines(path: Path, n_rows: int) -> list[int]:
    """First physical line of each data record (blank lines skipped, as pandas skips them)."""
    starts: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header_seen = False
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except (StopIteration, csv.Error):
                break
            if not row:
                continue
            if header_seen:
                starts.append(start)
            header_seen = True
    if len(starts) != n_rows:
        # The csv module read the file differently from pandas (an unusual dialect): fall back
        # to one line per record rather than name a wrong line.
        return list(range(2, n_rows + 2))
    return starts


def _read_json(path: Path) -> Any:
    """The parsed content of a ``.json`` file; every failure is an :class:`ArenaDataError`."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _read_error(path, error) from None
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(path, data) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        problem, fix = _json_problem(error, text)
        raise ArenaDataError(
            f"not valid JSON ({problem})",
            source=str(path),
            location=f"line {error.lineno}",
            fix=f"the file must be one JSON list of objects: {fix}",
        ) from None
    except RecursionError:
        raise _too_deep(path) from None


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
        try:
            frame[column] = [None if v is None else json.loads(v) for v in frame[column]]
        except RecursionError:
            raise _too_deep(path) from None
    return frame


def _write_error(target: Path, error: OSError) -> ArenaDataError:
    """A clear error for a place a file cannot be written (the path is the user's input)."""
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "a part of the path is a file, not a folder: choose another path"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "the folder is read-only for you: choose a folder you may write to"
    elif error.errno == errno.ENOSPC:
        fix = "free some disk space or choose another disk"
    else:
        fix = "choose another path"
    return ArenaDataError(
        f"cannot write the file here ({error.strerror or error})", source=str(target), fix=fix
    )


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for a moment, for
    every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    """The permission bits a file written at ``target`` should get."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was. Only a
    file is ever replaced: a folder at ``target`` is refused.

    Raises
    ------
    ArenaDataError
        ``target`` is a folder, or its folder cannot be made or written (read-only, a part of
        the path is a file, disk full): the message names the path and the fix.
    """
    target = Path(target)
    if target.is_dir():
        raise ArenaDataError(
            "is a folder, not a file name (a folder is never replaced by a file)",
            source=str(target),
            fix=f"give a file name, e.g. {target / ('data' + (target.suffix or '.jsonl'))}",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
        # mkstemp makes the file 0600: give it the mode a plain open() would (the file's own
        # when it is replaced, else 0666 less the umask), so colleagues can read what we write.
        os.chmod(name, _mode_for(target))
    except OSError as error:
        raise _write_error(target, error) from None
    temporary = Path(name)
    try:
        yield temporary
        try:
            with temporary.open("rb") as written:
                os.fsync(written.fileno())
            os.replace(temporary, target)
        except OSError as error:  # e.g. a folder made at ``target`` meanwhile
            raise _write_error(target, error) from None
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


def _as_json(value: Any) -> bool:
    """Whether ``value`` can be written as JSON (what the JSON writers and list cells need)."""
    try:
        json.dumps(_plain(value), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _as_text(value: Any) -> bool:
    """Whether a CSV cell keeps ``value``: not an object whose text is only its address."""
    if isinstance(value, (list, dict)):
        return _as_json(value)
    kind = type(value)
    return not (kind.__str__ is object.__str__ and kind.__repr__ is object.__repr__)


def _bad_cell(frame: pd.DataFrame, path: Path, fits: Any, what: str) -> ArenaDataError | None:
    """The error for the first cell of ``frame`` that ``fits`` refuses (None when all fit)."""
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        for row, value in enumerate(frame[column], start=1):
            if not fits(value):
                return ArenaDataError(
                    f"a value of type {type(value).__name__} cannot be written as {what}",
                    source=str(path),
                    location=f"row {row}",
                    column=str(column),
                    value=repr(value)[:200],
                    fix=(
                        f"convert the column to text, numbers, lists or dicts (e.g. "
                        f"frame[{str(column)!r}] = frame[{str(column)!r}].astype(str)) or "
                        "drop it before writing; nothing was written"
                    ),
                )
    return None


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to ``.jsonl``, ``.json``, ``.parquet`` or ``.csv``, atomically.

    Raises
    ------
    ArenaDataError
        The path is a folder or cannot be written, or a cell holds a value the format cannot
        keep (an arbitrary object): the message names the column and row. Nothing is written
        then and an existing file at ``path`` is left as it was.
    """
    try:
        return _write_frame(frame, Path(path))
    except (TypeError, ValueError, RecursionError) as error:
        if isinstance(error, ArenaDataError):
            raise
        bad = _bad_cell(frame, Path(path), _as_json, "JSON")
        if bad is None:
            raise
        raise bad from None


def _write_frame(frame: pd.DataFrame, path: Path) -> Path:
    import pandas as pd

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
        bad = _bad_cell(frame, path, _as_text, "CSV text")
        if bad is not None:
            raise bad  # written, it would be '<… object at 0x…>': lost without a word
        with atomic_path(path) as temporary:
            encoded.to_csv(temporary, index=False)
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(pd.DataFrame(encoded), preserve_index=False)
    except pa.ArrowException as error:
        bad = _bad_cell(frame, path, _as_text, "Parquet")
        if bad is not None:
            raise bad from None
        raise ArenaDataError(
            f"a column cannot be stored in Parquet ({' '.join(map(str, error.args))})",
            source=str(path),
            fix="give the column one type (text, numbers, lists or dicts) or drop it; "
            "nothing was written",
        ) from None
    metadata = dict(table.schema.metadata or {})
    metadata[_JSON_COLUMNS_KEY] = json.dumps(json_columns).encode()
    table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return path
