"""The tables and the names of arena-kit: the one definition every module uses.

Five tables flow through the workbench (see the README's diagram)::

    prompts ─▶ responses ─▶ executions
                   └──▶ battles (two responses to one prompt) ─▶ votes

Each table is a frozen dataclass whose fields *are* the column contract: a field's metadata
says its kind, whether it is required and which values it may take. ``validate`` turns a
DataFrame or a JSONL/Parquet file into a DataFrame that follows the contract (canonical column
order and dtypes, defaults filled in, extra columns kept after the contract's), or raises
:class:`~arena_kit.errors.ArenaDataError` naming the file, the line or row and the value.

To add a column, add a field to the dataclass here; nothing else defines columns.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ENVIRONMENTS",
    "LANGUAGES",
    "CATEGORIES",
    "CATEGORY_LABELS",
    "WINNERS",
    "WINNER_ALIASES",
    "QC_KINDS",
    "Status",
    "STATUSES",
    "STATUS_COLORS",
    "Prompt",
    "Response",
    "Execution",
    "Vote",
    "Battle",
    "TABLES",
    "columns",
    "normalize_winner",
    "validate",
    "content_id",
]

# ---------------------------------------------------------------------------------------------
# Names: one list each.

ENVIRONMENTS: tuple[str, ...] = (
    "html", "react", "vue", "streamlit", "gradio", "server", "pygame", "mermaid", "markdown",
    "python", "javascript", "typescript", "c", "cpp", "java", "go", "rust",
)  # fmt: skip
"""Where a response's code runs (the execution environment)."""

LANGUAGES: tuple[str, ...] = (
    "python", "javascript", "typescript", "html", "css", "c", "cpp", "java", "go", "rust",
    "markdown", "mermaid",
)  # fmt: skip
"""The language a response's main code is written in."""

CATEGORIES: tuple[str, ...] = (
    "web_design", "problem_solving", "game_development", "scientific_computing",
    "creative_coding", "diagram_creation",
)  # fmt: skip
"""The six BigCodeArena / AutoCodeArena prompt categories."""

CATEGORY_LABELS: dict[str, str] = {c: c.replace("_", " ") for c in CATEGORIES}
"""How categories are shown to people (with spaces)."""

WINNERS: tuple[str, ...] = ("model_a", "model_b", "tie", "both_bad")
"""A vote's outcome. ``model_a``/``model_b`` name the *stored* sides, not the screen's."""

QC_KINDS: tuple[str, ...] = ("repeat", "gold")
"""Quality-control roles of a vote: a battle served again for agreement, or a gold battle."""

WINNER_ALIASES: dict[str, str] = {
    # BigCodeArena public data (bigcode/bigcodereward)
    "vote_model_A": "model_a",
    "vote_model_B": "model_b",
    "vote_tie": "tie",
    "vote_both_bad": "both_bad",
    # FastChat / Chatbot Arena battles
    "tie (bothbad)": "both_bad",
    # Spellings people type in CSV files
    "a": "model_a",
    "b": "model_b",
    "model_A": "model_a",
    "model_B": "model_b",
    "bothbad": "both_bad",
    "both bad": "both_bad",
}
"""Other spellings of the winner values, as found in public data, mapped to :data:`WINNERS`."""


class Status(str, enum.Enum):
    """How a run ended: exactly one per execution (see the README's status table)."""

    OK = "ok"
    BUILD_ERROR = "build_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    BLANK_RENDER = "blank_render"
    MISSING_DEPENDENCY = "missing_dependency"
    UNSUPPORTED = "unsupported"
    SANDBOX_ERROR = "sandbox_error"

    def __str__(self) -> str:
        return self.value


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)

STATUS_COLORS: dict[str, str] = {
    "ok": "#1a7f37",
    "build_error": "#9a6700",
    "runtime_error": "#cf222e",
    "timeout": "#8250df",
    "memory_limit": "#bc4c00",
    "output_limit": "#953800",
    "blank_render": "#57606a",
    "missing_dependency": "#0969da",
    "unsupported": "#8c959f",
    "sandbox_error": "#000000",
}
"""How each status is coloured wherever it is shown (badges, charts)."""

# ---------------------------------------------------------------------------------------------
# Column contracts.

Kind = Literal["str", "int", "float", "bool", "json"]

_PANDAS_DTYPES: dict[str, str] = {
    "str": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "bool",
    "json": "object",
}


def _column(
    kind: Kind,
    *,
    required: bool = False,
    choices: tuple[str, ...] | None = None,
    default: Any = None,
    doc: str = "",
) -> Any:
    """A dataclass field that carries its column contract in ``metadata``."""
    meta = {"kind": kind, "required": required, "choices": choices, "doc": doc}
    if required:
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class Prompt:
    """A task put to the models. Extra columns (e.g. ``cluster``) are kept."""

    prompt_id: str = _column("str", required=True, doc="stable id of the prompt")
    instruction: str = _column("str", required=True, doc="the user's request")
    category: str | None = _column("str", choices=CATEGORIES, doc="one of CATEGORIES or null")
    source: str | None = _column("str", doc="where the prompt comes from")


@dataclass(frozen=True, kw_only=True)
class Response:
    """One model's answer (a conversation up to ``turn``) to one prompt."""

    response_id: str = _column("str", required=True)
    prompt_id: str = _column("str", required=True)
    model: str = _column("str", required=True)
    turn: int = _column("int", default=1, doc="number of user turns in messages")
    messages: list[dict[str, str]] = _column(
        "json", required=True, doc="list of {role, content}; role in system/user/assistant"
    )
    execution_id: str | None = _column("str", doc="the run of this response's main code")


@dataclass(frozen=True, kw_only=True)
class Execution:
    """One sandboxed run of one piece of code."""

    execution_id: str = _column(
        "str", required=True, doc="content hash of code + environment + limits + runtimes"
    )
    code: str = _column("str", required=True)
    language: str | None = _column("str", choices=LANGUAGES)
    environment: str = _column("str", required=True, choices=ENVIRONMENTS)
    status: str = _column("str", required=True, choices=STATUSES)
    message: str = _column("str", default="", doc="one line a person understands")
    exit_code: int | None = _column("int")
    signal: int | None = _column("int")
    stdout: str = _column("str", default="")
    stderr: str = _column("str", default="")
    truncated: bool = _column("bool", default=False, doc="stdout or stderr was capped")
    build_log: str = _column("str", default="")
    wall_s: float | None = _column("float")
    cpu_s: float | None = _column("float")
    peak_mb: float | None = _column("float")
    limits_enforced: list[str] = _column("json", default=[], doc="limits really applied")
    screenshot: str | None = _column("str", doc="path of a PNG file, never base64")
    artifacts: list[dict[str, Any]] = _column("json", default=[], doc="files the run produced")


@dataclass(frozen=True, kw_only=True)
class Vote:
    """One person's (or simulated person's) verdict on one battle."""

    vote_id: str = _column("str", required=True, doc="filled from a content hash if missing")
    battle_id: str | None = _column("str", doc="the battle judged; one battle may get votes")
    prompt_id: str | None = _column("str")
    category: str | None = _column("str", choices=CATEGORIES)
    model_a: str = _column("str", required=True)
    model_b: str = _column("str", required=True)
    winner: str = _column("str", required=True, choices=WINNERS)
    env_a: str | None = _column("str", choices=ENVIRONMENTS)
    env_b: str | None = _column("str", choices=ENVIRONMENTS)
    lang_a: str | None = _column("str", choices=LANGUAGES)
    lang_b: str | None = _column("str", choices=LANGUAGES)
    annotator: str | None = _column("str")
    swapped: bool = _column("bool", default=False, doc="model_a was shown in the right panel")
    tstamp: float | None = _column("float", doc="seconds since the Unix epoch")
    duration_s: float | None = _column("float", doc="time the person spent on the vote")
    turns: int = _column("int", default=1)
    reason: str | None = _column("str")
    edits: list[dict[str, Any]] = _column("json", default=[], doc="re-runs before voting")
    interactions: dict[str, Any] = _column(
        "json",
        default={},
        doc="per stored side ('a', 'b'): clicks, keys, seconds spent trying its running output, "
        "whether its live view was opened (labeling sessions)",
    )
    source: str | None = _column("str", doc="e.g. 'bigcodearena', 'fastchat', 'simulated'")
    qc: str | None = _column(
        "str",
        choices=QC_KINDS,
        doc="quality control: 'repeat' (a battle served again), 'gold' (known answer) or null",
    )


@dataclass(frozen=True, kw_only=True)
class Battle:
    """Two models' responses to the same prompt, to be executed and judged (no outcome yet)."""

    battle_id: str = _column("str", required=True)
    prompt_id: str = _column("str", required=True)
    category: str | None = _column("str", choices=CATEGORIES)
    model_a: str = _column("str", required=True)
    model_b: str = _column("str", required=True)
    response_a: str = _column("str", required=True, doc="response_id of model_a's answer")
    response_b: str = _column("str", required=True, doc="response_id of model_b's answer")
    lang_a: str | None = _column("str", choices=LANGUAGES, doc="language of A's main code")
    lang_b: str | None = _column("str", choices=LANGUAGES)
    source: str | None = _column("str")


TABLES: dict[str, type] = {
    "prompts": Prompt,
    "responses": Response,
    "executions": Execution,
    "battles": Battle,
    "votes": Vote,
}
"""Table name → record dataclass."""

_KEYS: dict[str, str] = {
    "prompts": "prompt_id",
    "responses": "response_id",
    "executions": "execution_id",
    "battles": "battle_id",
    "votes": "vote_id",
}


def key_column(table: str) -> str:
    """The column that identifies a row of ``table`` (``prompt_id``, ``vote_id``, …)."""
    return _KEYS[table]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    required: bool
    choices: tuple[str, ...] | None
    default: Any
    doc: str

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


def columns(table: str) -> list[ColumnSpec]:
    """The column contract of ``table`` (``prompts``, ``responses``, ``executions``, ``votes``)."""
    record = _table_record(table)
    specs = []
    for f in dataclasses.fields(record):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory
        else:
            default = None
        specs.append(
            ColumnSpec(
                name=f.name,
                kind=f.metadata["kind"],
                required=f.metadata["required"],
                choices=f.metadata["choices"],
                default=default,
                doc=f.metadata["doc"],
            )
        )
    return specs


def _table_record(table: str) -> type:
    try:
        return TABLES[table]
    except KeyError:
        raise ArenaDataError(
            f"unknown table {table!r}", fix=f"use one of {', '.join(TABLES)}"
        ) from None


def normalize_winner(value: Any) -> Any:
    """Map a public spelling of a winner (``vote_model_A``, ``tie (bothbad)``…) to WINNERS.

    Unknown values are returned unchanged so that validation can report them with their row.
    """
    if isinstance(value, str):
        text = value.strip()
        if text in WINNERS:
            return text
        return WINNER_ALIASES.get(text, WINNER_ALIASES.get(text.lower(), value))
    return value


def content_id(*parts: Any, length: int = 16) -> str:
    """A short, stable hex id from the JSON of ``parts`` (same content → same id)."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


# ---------------------------------------------------------------------------------------------
# Validation.


_FAST_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "json": (list, dict),
    "bool": (bool,),
    "float": (float, int),
    "int": (int,),
}


def _first_bad(
    values: Any, missing_mask: list[bool], spec: ColumnSpec
) -> tuple[int, Any, bool] | None:
    """The first (position, value, is_missing) that breaks the column's contract, or None.

    The common case (every value of the exact expected Python type) is checked with a cheap
    ``type(v) in ...`` pass; only columns that fail it get the slower, exact check.
    """
    fast = _FAST_TYPES[spec.kind]
    choices = frozenset(spec.choices) if spec.choices is not None else None
    for position, (value, is_missing) in enumerate(zip(values, missing_mask, strict=True)):
        if is_missing:
            if spec.required:
                return position, value, True
            continue
        if type(value) not in fast and not _type_ok(spec.kind, value):
            return position, value, False
        if choices is not None and value not in choices:
            return position, value, False
    return None


def _type_ok(kind: Kind, value: Any) -> bool:
    import numpy as np

    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        if isinstance(value, (bool, np.bool_)):
            return False
        if isinstance(value, (int, np.integer)):
            return True
        return isinstance(value, (float, np.floating)) and float(value).is_integer()
    if kind == "float":
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        )
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    return isinstance(value, (list, dict))


_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "json": "a JSON list or object",
}


def validate(
    data: pd.DataFrame | str | Path | Iterable[Mapping[str, Any]],
    table: str,
    *,
    source: str | None = None,
    line_numbers: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Check ``data`` against the contract of ``table`` and return a clean DataFrame.

    Parameters
    ----------
    data
        A DataFrame, a list of dicts, or the path of a ``.jsonl``/``.json``/``.parquet``/``.csv``
        file.
    table
        ``"prompts"``, ``"responses"``, ``"executions"`` or ``"votes"``.
    source
        Name used in error messages (defaults to the path, or ``"<DataFrame>"``).
    line_numbers
        For rows read from a text file: the file line of each row, so errors say ``line N``.

    Returns
    -------
    DataFrame
        Contract columns first, in contract order, with canonical dtypes (``Int64`` for
        integers) and defaults filled in; extra columns kept after them; a fresh RangeIndex.
        Winner spellings of public data are normalised (:data:`WINNER_ALIASES`); a missing
        ``vote_id`` is filled from a content hash of the row; a missing ``battle_id`` from the
        ``vote_id``.

    Raises
    ------
    ArenaDataError
        Empty input, a missing required column, a wrong type, an unknown name, a self-battle,
        a malformed message list or a duplicated key — naming the row and value.
    """
    import pandas as pd

    from . import io as arena_io

    specs = columns(table)
    if isinstance(data, (str, Path)):
        frame, line_numbers = arena_io.read_frame(
            data,
            json_columns=[s.name for s in specs if s.kind == "json"],
            kinds={s.name: s.kind for s in specs if s.kind in ("bool", "int", "float")},
        )
        source = source or str(data)
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        frame = pd.DataFrame(list(data))
    source = source or "<DataFrame>"

    def where(position: int) -> str:
        if line_numbers is not None and position < len(line_numbers):
            return f"line {line_numbers[position]}"
        return f"row {position + 1}"

    if len(frame) == 0:
        raise ArenaDataError(
            f"no rows: an empty {table} table",
            source=source,
            fix=f"give a file with at least one {table[:-1]} record",
        )
    frame = frame.reset_index(drop=True).copy()

    names = {s.name for s in specs}
    missing = [
        s.name
        for s in specs
        if s.required and s.name not in frame.columns and not _auto_filled(table, s.name)
    ]
    if missing:
        raise ArenaDataError(
            f"missing required column(s) {', '.join(map(repr, missing))} "
            f"(found: {', '.join(map(str, frame.columns))})",
            source=source,
            fix=f"add the column(s); the {table} contract is listed by "
            f"arena_kit.schema.columns({table!r})",
        )

    if table == "votes" and "winner" in frame.columns:
        frame["winner"] = frame["winner"].map(normalize_winner)

    for spec in specs:
        if spec.name not in frame.columns:
            if _auto_filled(table, spec.name):
                continue
            values: Any = [None] * len(frame)
        else:
            values = frame[spec.name].to_numpy(dtype=object)
        missing_mask = pd.isna(values).tolist()
        bad = _first_bad(values, missing_mask, spec)
        if bad is not None:
            position, value, is_missing = bad
            if is_missing:
                raise ArenaDataError(
                    "required value is missing",
                    source=source,
                    location=where(position),
                    column=spec.name,
                    value=value,
                    fix=f"give every row a {spec.name}",
                )
            if table == "votes" and spec.name == "winner" and looks_numeric(value):
                raise ArenaDataError(
                    f"the winner is a number ({value!r}), not a name",
                    source=source,
                    location=where(position),
                    column=spec.name,
                    value=value,
                    fix=numeric_winner_fix(value),
                )
            if not _type_ok(spec.kind, value):
                raise ArenaDataError(
                    f"wrong type: {value!r} is {type(value).__name__}, "
                    f"expected {_KIND_WORDS[spec.kind]}",
                    source=source,
                    location=where(position),
                    column=spec.name,
                    value=value,
                    fix=f"write {spec.name} as {_KIND_WORDS[spec.kind]}",
                )
            raise ArenaDataError(
                f"unknown value {value!r}",
                source=source,
                location=where(position),
                column=spec.name,
                value=value,
                fix=f"use one of {', '.join(spec.choices or ())}",
            )
        frame[spec.name] = _coerce(values, missing_mask, spec, frame.index)

    if table in ("votes", "battles"):
        _check_self_battles(frame, source, where)
    if table == "votes":
        _fill_vote_ids(frame)
    if table == "responses":
        _check_messages(frame, source, where)

    key = _KEYS[table]
    duplicated = frame[key].duplicated(keep="first")
    if duplicated.any():
        position = int(duplicated.to_numpy().nonzero()[0][0])
        raise ArenaDataError(
            f"duplicate {key} {frame[key].iloc[position]!r} "
            f"({int(duplicated.sum())} duplicated row(s))",
            source=source,
            location=where(position),
            column=key,
            value=frame[key].iloc[position],
            fix=f"give each row its own {key}",
        )

    extras = [c for c in frame.columns if c not in names]
    return frame[[s.name for s in specs] + extras]


def looks_numeric(value: Any) -> bool:
    """A number, or text that is one (CSV): a winner given as an index, not a name."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def numeric_winner_fix(value: Any) -> str:
    """How to say what numeric winners mean (e.g. Copilot Arena's ``acceptedIndex`` 0/1)."""
    zero, one = ("'0'", "'1'") if isinstance(value, str) else ("0", "1")
    return (
        "say what each number means, e.g. datasets.read_votes(path, winner_map={"
        f"{zero}: 'model_a', {one}: 'model_b'}}) when 0 means model_a won (add the numbers "
        "for a tie or both bad if the file has them); for a DataFrame: "
        f"votes['winner'] = votes['winner'].map({{{zero}: 'model_a', {one}: 'model_b'}})"
    )


def _auto_filled(table: str, column: str) -> bool:
    return table == "votes" and column == "vote_id"


def _coerce(values: Any, missing_mask: list[bool], spec: ColumnSpec, index: Any) -> Any:
    import pandas as pd

    if spec.kind == "int":
        return pd.array(
            [spec.default if m else int(v) for v, m in zip(values, missing_mask, strict=True)],
            dtype="Int64",
        )
    if spec.kind == "float":
        return pd.array(
            [
                (math.nan if spec.default is None else spec.default) if m else float(v)
                for v, m in zip(values, missing_mask, strict=True)
            ],
            dtype="float64",
        )
    if spec.kind == "bool":
        default = bool(spec.default_value())
        return pd.array(
            [default if m else bool(v) for v, m in zip(values, missing_mask, strict=True)],
            dtype="bool",
        )
    # A plain object Series: pandas 3 would otherwise infer its "str" dtype for text columns,
    # which turns None into NaN; object keeps None and behaves the same on pandas 2 and 3.
    if spec.kind == "json":
        return pd.Series(
            [spec.default_value() if m else v for v, m in zip(values, missing_mask, strict=True)],
            dtype=object,
            index=index,
        )
    return pd.Series(
        [spec.default if m else v for v, m in zip(values, missing_mask, strict=True)],
        dtype=object,
        index=index,
    )


def _check_self_battles(frame: pd.DataFrame, source: str, where: Any) -> None:
    self_battle = (frame["model_a"] == frame["model_b"]).to_numpy()
    if self_battle.any():
        position = int(self_battle.nonzero()[0][0])
        model = frame["model_a"].iloc[position]
        raise ArenaDataError(
            f"self-battle: model_a and model_b are both {model!r} "
            f"({int(self_battle.sum())} such row(s))",
            source=source,
            location=where(position),
            column="model_b",
            value=model,
            fix="drop the row or correct one of the two model names",
        )


def _fill_vote_ids(frame: pd.DataFrame) -> None:
    """Give rows without a vote_id one from their content, and rows without a battle its vote."""
    import pandas as pd

    if "vote_id" not in frame.columns:
        frame.insert(0, "vote_id", None)
    missing = frame["vote_id"].isna().to_numpy()
    if missing.any():
        generated = _row_ids(frame)
        frame["vote_id"] = pd.Series(
            [g if m else v for v, g, m in zip(frame["vote_id"], generated, missing, strict=True)],
            dtype=object,
            index=frame.index,
        )
    no_battle = frame["battle_id"].isna().to_numpy()
    if no_battle.any():
        frame["battle_id"] = pd.Series(
            [
                v if m else b
                for v, b, m in zip(frame["vote_id"], frame["battle_id"], no_battle, strict=True)
            ],
            dtype=object,
            index=frame.index,
        )


def _row_ids(frame: pd.DataFrame) -> list[str]:
    """Ids for rows that have none: a hash of the row's content and its position.

    The position is part of the hash because two identical votes are two votes.
    """
    base = frame[["model_a", "model_b", "winner"]].astype(str)
    return [
        "v" + content_id(position, a, b, w, length=15)
        for position, (a, b, w) in enumerate(base.itertuples(index=False, name=None))
    ]


_ROLES = ("system", "user", "assistant")


def _check_messages(frame: pd.DataFrame, source: str, where: Any) -> None:
    for position, messages in enumerate(frame["messages"]):
        problem = None
        if not isinstance(messages, list) or not messages:
            problem = "messages must be a non-empty list of {role, content}"
        else:
            for message in messages:
                if not isinstance(message, dict) or message.get("role") not in _ROLES:
                    problem = f"a message without a valid role (got {message!r:.80})"
                    break
                if not isinstance(message.get("content"), str):
                    problem = f"a message whose content is not text (got {message!r:.80})"
                    break
        if problem:
            raise ArenaDataError(
                problem,
                source=source,
                location=where(position),
                column="messages",
                value=messages,
                fix="write messages as [{'role': 'user', 'content': '...'}, ...]",
            )
