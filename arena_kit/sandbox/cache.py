"""The result cache: content-addressed (code, environment, limits, runtime versions).

A repeated run returns the stored result at once; ``refresh=True`` runs again. Results are
JSON files named by their execution id; writes are atomic so that parallel runs can share
the cache.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .paths import results_dir
from .result import ExecutionResult

__all__ = ["load", "store", "clear"]

_NOT_CACHED = {"sandbox_error"}


def _path(execution_id: str) -> Path:
    return results_dir() / execution_id[:2] / f"{execution_id}.json"


def load(execution_id: str) -> ExecutionResult | None:
    """The stored result of ``execution_id`` (marked ``cached``), or None."""
    path = _path(execution_id)
    try:
        result = ExecutionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if any(not Path(a.get("path", "")).is_file() for a in result.artifacts):
            return None  # its files were cleaned away: run again
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # unreadable or not a result of this version: run again
    result.cached = True
    return result


def store(result: ExecutionResult) -> None:
    """Keep ``result`` (sandbox errors are never kept: they are not the code's doing)."""
    if result.status.value in _NOT_CACHED:
        return
    path = _path(result.execution_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    data["cached"] = False
    # A temporary file of its own per call: two threads of one process may store the same
    # result at once (two answers with the same code run in parallel).
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temporary:
            temporary.write(json.dumps(data, ensure_ascii=False))
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def clear() -> int:
    """Remove every stored result; returns how many."""
    count = 0
    root = results_dir()
    if root.is_dir():
        for path in root.glob("*/*.json"):
            path.unlink(missing_ok=True)
            count += 1
    return count
