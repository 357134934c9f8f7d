"""Importers and exporters: public arena data in, the workbench's tables out.

Every importer returns validated tables (:func:`arena_kit.schema.validate`), so a bad file fails
here with its line and value, never later in an analysis. Exports are atomic.

========================  ===================================================================
source                    function
========================  ===================================================================
BigCodeArena votes        :func:`read_bigcodearena` (``bigcode/bigcodereward`` rows)
FastChat battles          :func:`read_fastchat` (``model_a, model_b, winner``, JSON/JSONL)
plain CSV votes           :func:`read_votes` (any table file with ``model_a, model_b, winner``)
AutoCodeArena prompts     :func:`read_autocodearena` (``uid, instruction, category``)
Arena-Hard-Auto           :func:`read_arena_hard` (``question.jsonl`` + ``<model>.jsonl``)
your own models' answers  :func:`read_answers` (``prompt, model, answer`` rows, any format)
the bundled data          :func:`bundled_prompts`, :func:`bundled_battles`,
                          :func:`bundled_votes`, :func:`bundled_responses`
export                    :func:`write_table` (JSONL, Parquet, CSV; validated first)
========================  ===================================================================
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArenaDataError
from .schema import CATEGORIES, ENVIRONMENTS, LANGUAGES, content_id, normalize_winner, validate

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_DIR",
    "ImportedArena",
    "read_bigcodearena",
    "read_fastchat",
    "read_votes",
    "read_autocodearena",
    "read_arena_hard",
    "read_answers",
    "write_table",
    "read_table",
    "bundled_prompts",
    "bundled_responses",
    "bundled_battles",
    "battle_responses",
    "bundled_battle_votes",
    "bundled_votes",
    "BIGCODEARENA_ENVIRONMENTS",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
"""The repository's ``data/`` folder (bundled, read-only data)."""

ARENA_HARD_MODELS = ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")


# ---------------------------------------------------------------------------------------------
# Generic table files.


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read and validate a table file (``.jsonl``, ``.json``, ``.parquet``, ``.csv``)."""
    return validate(path, table)


def read_votes(path: str | Path, *, source: str | None = None) -> pd.DataFrame:
    """Votes from any table file with at least ``model_a, model_b, winner`` (CSV included).

    Public winner spellings (``vote_model_A``, ``tie (bothbad)``…) are accepted. Rows without a
    ``source`` get ``source`` (default: the file's name).
    """
    frame = validate(path, "votes")
    frame["source"] = frame["source"].fillna(source or Path(path).name)
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, table: str) -> Path:
    """Validate ``frame`` as ``table`` and write it (format from the suffix), atomically.

    Reading the file back with :func:`read_table` gives an equal DataFrame: nothing is lost.
    """
    from .io import write_frame

    clean = validate(frame, table, source=f"<{table} to write to {path}>")
    return write_frame(clean, path)


# ---------------------------------------------------------------------------------------------
# FastChat / Chatbot Arena battles.


def read_fastchat(path: str | Path) -> pd.DataFrame:
    """Votes from FastChat / Chatbot Arena battles (``clean_battle`` JSON or JSONL).

    Uses ``model_a, model_b, winner`` (``model_a``, ``model_b``, ``tie``, ``tie (bothbad)``) and,
    when present, ``question_id`` (→ ``battle_id``), ``tstamp``, ``turn`` (→ ``turns``) and
    ``judge`` (→ ``annotator``). Conversations are not kept.
    """
    from .io import read_frame

    raw, lines = read_frame(path)
    renames = {"question_id": "battle_id", "turn": "turns", "judge": "annotator"}
    keep = ["model_a", "model_b", "winner", *[k for k in renames if k in raw.columns]]
    if "tstamp" in raw.columns:
        keep.append("tstamp")
    missing = [c for c in ("model_a", "model_b", "winner") if c not in raw.columns]
    if missing:
        raise ArenaDataError(
            f"missing required column(s) {', '.join(map(repr, missing))}",
            source=str(path),
            fix="a FastChat battle file has model_a, model_b and winner",
        )
    frame = raw[keep].rename(columns=renames)
    frame["source"] = "fastchat"
    return validate(frame, "votes", source=str(path), line_numbers=lines)


# ---------------------------------------------------------------------------------------------
# AutoCodeArena and Arena-Hard-Auto.


def read_autocodearena(path: str | Path) -> pd.DataFrame:
    """The AutoCodeArena prompts (``uid, instruction, category``) as a prompts table."""
    from .io import read_frame

    raw, lines = read_frame(path)
    _require(raw, ("uid", "instruction", "category"), path, "an AutoCodeArena prompt")
    frame = raw.rename(columns={"uid": "prompt_id"})
    frame["source"] = "autocodearena-v0"
    return validate(frame, "prompts", source=str(path), line_numbers=lines)


def read_arena_hard(
    question_path: str | Path, answer_paths: Iterable[str | Path] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arena-Hard-Auto questions and model answers → (prompts, responses).

    Reads both the v0.1 layout (``prompt`` and ``messages[1].content.answer``) and the older one
    (``turns[0].content`` and ``choices[0].turns[0].content``). Prompts keep ``cluster``; their
    ``category`` stays empty (Arena-Hard's own ``category`` is the benchmark's name, not a topic).
    """
    import pandas as pd

    from .io import read_jsonl

    questions, question_lines = read_jsonl(question_path)
    prompt_rows = []
    for record, line in zip(questions, question_lines, strict=True):
        where = {"source": str(question_path), "location": f"line {line}"}
        if "uid" not in record and "question_id" not in record:
            raise ArenaDataError("a question without 'uid'", **where, fix="give each one a uid")
        text = record.get("prompt")
        if text is None and record.get("turns"):
            text = _first_turn(record["turns"], where)
        if not isinstance(text, str):
            raise ArenaDataError(
                "a question without text ('prompt' or 'turns[0].content')",
                **where,
                value=record.get("prompt"),
                fix="give each question its prompt text",
            )
        prompt_rows.append(
            {
                "prompt_id": str(record.get("uid") or record.get("question_id")),
                "instruction": text,
                "category": None,
                "source": "arena-hard-v0.1",
                "cluster": record.get("cluster"),
            }
        )
    prompts = validate(prompt_rows, "prompts", source=str(question_path))
    known = set(prompts["prompt_id"])

    instructions = dict(zip(prompts["prompt_id"], prompts["instruction"], strict=True))
    response_rows = []
    for answer_path in answer_paths:
        answers, answer_lines = read_jsonl(answer_path)
        for record, line in zip(answers, answer_lines, strict=True):
            where = {"source": str(answer_path), "location": f"line {line}"}
            uid = str(record.get("uid") or record.get("question_id"))
            if uid not in known:
                raise ArenaDataError(
                    f"an answer to unknown question {uid!r}",
                    **where,
                    column="uid",
                    value=uid,
                    fix=f"answers must answer questions of {question_path}",
                )
            model = record.get("model") or record.get("model_id")
            if not isinstance(model, str):
                raise ArenaDataError("an answer without 'model'", **where, column="model")
            answer = _arena_hard_answer(record)
            if answer is None:
                raise ArenaDataError(
                    "an answer without text",
                    **where,
                    fix="expected messages[1].content.answer or choices[0].turns[0].content",
                )
            question = instructions[uid]
            response_rows.append(
                {
                    "response_id": str(record.get("ans_id") or content_id(uid, model)),
                    "prompt_id": uid,
                    "model": model,
                    "turn": 1,
                    "messages": [
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer},
                    ],
                }
            )
    if not response_rows:
        return prompts, pd.DataFrame(columns=[s.name for s in _columns("responses")])
    responses = validate(response_rows, "responses", source="Arena-Hard answers")
    return prompts, responses


def _first_turn(turns: Any, where: dict[str, str]) -> Any:
    """The content of an Arena-Hard question's first turn (``turns[0].content``)."""
    if not isinstance(turns, list) or not isinstance(turns[0], dict):
        if isinstance(turns, list):
            shape = f"a list of {type(turns[0]).__name__}"
        else:
            shape = f"a {type(turns).__name__}"
        raise ArenaDataError(
            f"{shape}, not a list of objects",
            **where,
            column="turns",
            value=turns,
            fix='write "turns": [{"content": "the question"}] (or give the text as "prompt")',
        )
    return turns[0].get("content")


def _arena_hard_answer(record: Mapping[str, Any]) -> str | None:
    messages = record.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "assistant":
                content = message.get("content")
                if isinstance(content, dict):
                    content = content.get("answer")
                if isinstance(content, str):
                    return content
    choices = record.get("choices")
    if isinstance(choices, list) and choices:
        turns = choices[0].get("turns") if isinstance(choices[0], dict) else None
        if isinstance(turns, list) and turns and isinstance(turns[0], dict):
            content = turns[0].get("content")
            return content if isinstance(content, str) else None
    return None


def _columns(table: str) -> list[Any]:
    from .schema import columns

    return columns(table)


def _require(raw: pd.DataFrame, needed: Iterable[str], path: str | Path, what: str) -> None:
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ArenaDataError(
            f"missing required column(s) {', '.join(map(repr, missing))} "
            f"(found: {', '.join(map(str, raw.columns))})",
            source=str(path),
            fix=f"{what} has the fields {', '.join(needed)}",
        )


# ---------------------------------------------------------------------------------------------
# Your own models' answers.

# Column names people give each field, to suggest the alias to pass when the default is absent.
_ANSWER_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "instruction", "question", "query", "input", "user_prompt", "task"),
    "answer": ("answer", "response", "output", "completion", "generation", "reply", "text"),
    "model": ("model", "model_name", "model_id", "system", "generator"),
    "prompt_id": ("prompt_id", "question_id", "uid", "id", "task_id"),
    "messages": ("messages", "conversation", "chat", "dialog"),
}


def read_answers(
    path: str | Path,
    *,
    prompt: str = "prompt",
    answer: str = "answer",
    model: str = "model",
    prompt_id: str | None = None,
    messages: str = "messages",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Your models' answers (one row per model and prompt) → ``(prompts, responses)``.

    The file (JSONL, JSON, CSV or Parquet) needs, per row, the model's name (``model``) and
    either the prompt and the answer text (``prompt``, ``answer``) or a whole conversation
    (``messages``: a list of ``{role, content}``, as the OpenAI API takes; for CSV, as JSON
    text). Other names are passed as aliases: ``read_answers(path, answer="output")``.

    Parameters
    ----------
    path
        The answers file.
    prompt, answer, model
        The columns holding the prompt text, the answer text and the model's name. With a
        conversation and no ``prompt`` column, the prompt is its first user message.
    prompt_id
        The column holding each prompt's id. ``None``: a ``prompt_id`` column when the file has
        one, otherwise ids made from the prompt text, so that every model's answer to the same
        prompt gets the same id (and can be paired, :func:`arena_kit.battles.make_battles`).
    messages
        The conversation column, used for rows only when the file has no ``answer`` column.

    Returns
    -------
    prompts, responses
        Validated tables (:func:`arena_kit.schema.validate`). Prompts are in order of first
        appearance; their ``source`` is the file's name; a ``category`` column in the file is
        kept (spelled as in :data:`~arena_kit.schema.CATEGORIES`, spaces allowed), and missing
        categories are predicted by :func:`arena_kit.categories.fill_categories`, which marks
        each one in ``category_source`` (``"label"`` or ``"predicted"``). Responses get
        ``response_id`` (the file's ``response_id`` column, or an id made from the prompt id and
        the model), ``messages`` (user prompt, assistant answer) and ``turn`` (user messages).

    Raises
    ------
    ArenaDataError
        A column that is not there (naming the columns looked for, those found and the alias to
        pass), a missing or non-text value (an empty answer is text: ``""``, or an empty CSV
        cell; a JSON ``null`` answer is refused, as it usually means a failed generation), a
        prompt id used for two different texts, two answers of one model to one prompt, or a
        conversation without an answer — naming the file, the line (row for Parquet) and the
        column.
    """
    from .categories import fill_categories
    from .io import read_frame

    path = Path(path)
    raw, lines = read_frame(path, json_columns=[messages])
    columns = [str(c) for c in raw.columns]
    raw.columns = columns

    def where(position: int) -> str:
        return f"line {lines[position]}" if lines is not None else f"row {position + 1}"

    use_answer = answer in columns
    if not use_answer and messages not in columns:
        raise _missing_answer_column(path, columns, answer, messages)
    _require_answer_column(path, columns, model, "model", "the model's name")
    if use_answer:
        _require_answer_column(path, columns, prompt, "prompt", "the prompt's text")
    id_column = prompt_id if prompt_id is not None else "prompt_id"
    if prompt_id is not None:
        _require_answer_column(path, columns, prompt_id, "prompt_id", "the prompt's id")
    has_ids = id_column in columns
    texts_by_id: dict[str, tuple[str, int]] = {}
    prompt_rows: dict[str, dict[str, Any]] = {}
    response_rows: list[dict[str, Any]] = []
    answered: dict[tuple[str, str], int] = {}
    records = raw.to_dict(orient="records")
    for position, record in enumerate(records):
        here = {"source": str(path), "location": where(position)}
        name = _answer_text(record.get(model), model, here, "the model's name", empty=False)
        if use_answer:
            text = _answer_text(record.get(prompt), prompt, here, "the prompt's text", empty=False)
            reply = record.get(answer)
            if reply is None and path.suffix.lower() == ".csv":
                reply = ""  # CSV has no null: an empty cell is an empty answer
            reply = _answer_text(reply, answer, here, "the answer's text", empty=True)
            conversation = [
                {"role": "user", "content": text},
                {"role": "assistant", "content": reply},
            ]
        else:
            conversation = _conversation(record.get(messages), messages, here)
            text = next((m["content"] for m in conversation if m["role"] == "user"), "")
            given = record.get(prompt) if prompt in columns else None
            if isinstance(given, str) and given.strip():
                text = given
            if not text.strip():
                raise ArenaDataError(
                    "a conversation without a user message (the prompt)",
                    **here,
                    column=messages,
                    value=record.get(messages),
                    fix=f"start the conversation with the user's prompt, or give a {prompt!r} "
                    "column",
                )
        key = _answer_id(record.get(id_column), id_column, here) if has_ids else content_id(text)
        seen = texts_by_id.get(key)
        if seen is None:
            texts_by_id[key] = (text, position)
            prompt_rows[key] = {
                "prompt_id": key,
                "instruction": text,
                "category": None,
                "source": path.name,
            }
        elif seen[0] != text:
            raise ArenaDataError(
                f"prompt id {key!r} is used for two different prompts (the other at "
                f"{where(seen[1])})",
                **here,
                column=id_column,
                value=key,
                fix="give each prompt its own id, or leave the ids out to have them made from "
                "the prompt text",
            )
        category_value = _answer_category(record.get("category"), here)
        if category_value is not None:
            before = prompt_rows[key]["category"]
            if before is not None and before != category_value:
                raise ArenaDataError(
                    f"prompt {key!r} has two categories, {before!r} and {category_value!r}",
                    **here,
                    column="category",
                    value=category_value,
                    fix="give each prompt one category (or none, to have it predicted)",
                )
            prompt_rows[key]["category"] = category_value
        earlier = answered.get((key, name))
        if earlier is not None:
            raise ArenaDataError(
                f"model {name!r} answers prompt {key!r} twice (first at {where(earlier)})",
                **here,
                column=model,
                value=name,
                fix="keep one answer per model and prompt (an arena pairs one answer of each "
                "model), or give the second answer another model name",
            )
        answered[(key, name)] = position
        given_id = record.get("response_id") if "response_id" in columns else None
        response_rows.append(
            {
                "response_id": (
                    _answer_id(given_id, "response_id", here)
                    if given_id is not None
                    else content_id(key, name)
                ),
                "prompt_id": key,
                "model": name,
                "turn": max(1, sum(m["role"] == "user" for m in conversation)),
                "messages": conversation,
            }
        )
    prompts = validate(list(prompt_rows.values()), "prompts", source=str(path))
    prompts = validate(fill_categories(prompts), "prompts", source=str(path))
    responses = validate(response_rows, "responses", source=str(path))
    return prompts, responses


def _suggest(columns: list[str], field: str, wanted: str) -> str | None:
    """A column of the file that probably holds ``field`` (known synonyms, then close names)."""
    import difflib

    known = [c for c in _ANSWER_FIELD_NAMES[field] if c in columns and c != wanted]
    if known:
        return known[0]
    lowered = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def _require_answer_column(
    path: Path, columns: list[str], wanted: str, field: str, what: str
) -> None:
    if wanted in columns:
        return
    guess = _suggest(columns, field, wanted)
    alias = f"{field}={guess!r}" if guess else f"{field}='<your column>'"
    raise ArenaDataError(
        f"no column {wanted!r} ({what}); found: {', '.join(map(repr, columns))}",
        source=str(path),
        fix=f"pass read_answers(..., {alias}) to name the column that holds {what}",
    )


def _missing_answer_column(
    path: Path, columns: list[str], answer: str, messages: str
) -> ArenaDataError:
    guess = _suggest(columns, "answer", answer)
    conversation = _suggest(columns, "messages", messages)
    if guess:
        fix = f"pass read_answers(..., answer={guess!r})"
    elif conversation:
        fix = f"pass read_answers(..., messages={conversation!r})"
    else:
        fix = "pass answer='<your column>' (the answer text) or messages='<your column>' (a list "
        fix += "of {role, content})"
    return ArenaDataError(
        f"no answer: looked for a column {answer!r} (the answer's text) or {messages!r} (the "
        f"conversation); found: {', '.join(map(repr, columns))}",
        source=str(path),
        fix=fix,
    )


def _answer_text(value: Any, column: str, here: dict[str, str], what: str, *, empty: bool) -> str:
    """A cell that must be text (an empty answer is allowed: a model may say nothing)."""
    if isinstance(value, str) and (empty or value.strip()):
        return value
    if value is None or (isinstance(value, float) and value != value):
        problem = "missing value"
    elif isinstance(value, str):
        problem = "empty value"
    else:
        problem = f"not text: {type(value).__name__}"
    raise ArenaDataError(
        f"{problem} ({what})",
        **here,
        column=column,
        value=value,
        fix=f"give every row {what} as text" + (" ('' for no answer)" if empty else ""),
    )


def _answer_id(value: Any, column: str, here: dict[str, str]) -> str:
    """An id cell as text: strings as they are, whole numbers (``question_id: 7``) as digits."""
    import numpy as np

    if isinstance(value, str) and value.strip():
        return value
    whole = isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and float(value).is_integer()
    )
    if whole and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    raise ArenaDataError(
        "missing or unusable id",
        **here,
        column=column,
        value=value,
        fix=f"give every row a {column} (text or a whole number)",
    )


def _answer_category(value: Any, here: dict[str, str]) -> str | None:
    """A given category (``Web Design`` and ``web_design`` alike), None when empty."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    category = _bigcodearena_category(value)
    if category is None:
        raise ArenaDataError(
            f"unknown category {value!r}",
            **here,
            column="category",
            value=value,
            fix=f"use one of {', '.join(CATEGORIES)}, or leave it empty to have it predicted",
        )
    return category


def _conversation(value: Any, column: str, here: dict[str, str]) -> list[dict[str, str]]:
    """A conversation cell as a list of ``{role, content}`` ending with the model's answer."""
    import numpy as np

    if isinstance(value, str):  # JSON text (CSV and foreign Parquet files)
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    if isinstance(value, np.ndarray):  # a Parquet list column
        value = value.tolist()
    shape_fix = (
        'write the conversation as [{"role": "user", "content": "..."}, '
        '{"role": "assistant", "content": "..."}]'
    )
    if not isinstance(value, list) or not value:
        raise ArenaDataError(
            "not a conversation (a non-empty list of {role, content})",
            **here,
            column=column,
            value=value,
            fix=shape_fix,
        )
    conversation = []
    for message in value:
        if (
            not isinstance(message, Mapping)
            or message.get("role") not in ("system", "user", "assistant")
            or not isinstance(message.get("content"), str)
        ):
            raise ArenaDataError(
                f"a message that is not {{role, content}} with role system, user or assistant "
                f"and text content (got {message!r:.80})",
                **here,
                column=column,
                value=message,
                fix=shape_fix,
            )
        conversation.append({"role": str(message["role"]), "content": str(message["content"])})
    if conversation[-1]["role"] != "assistant":
        raise ArenaDataError(
            "the conversation does not end with the model's answer (an assistant message)",
            **here,
            column=column,
            value=conversation[-1],
            fix="end each conversation with the assistant's answer",
        )
    return conversation


# ---------------------------------------------------------------------------------------------
# BigCodeArena public votes.

BIGCODEARENA_ENVIRONMENTS: dict[str, str] = {
    "html": "html",
    "react": "react",
    "vue": "vue",
    "gradio": "gradio",
    "streamlit": "streamlit",
    "pygame": "pygame",
    "mermaid": "mermaid",
    "markdown": "markdown",
    "python code interpreter": "python",
    "python runner": "python",
    "python": "python",
    "javascript code interpreter": "javascript",
    "javascript runner": "javascript",
    "javascript": "javascript",
    "typescript code interpreter": "typescript",
    "typescript runner": "typescript",
    "c code interpreter": "c",
    "c runner": "c",
    "c++ code interpreter": "cpp",
    "c++ runner": "cpp",
    "cpp code interpreter": "cpp",
    "java code interpreter": "java",
    "java runner": "java",
    "golang code interpreter": "go",
    "go code interpreter": "go",
    "golang runner": "go",
    "rust code interpreter": "rust",
    "rust runner": "rust",
}
"""BigCodeArena's ``sandbox_environment`` names (lower-cased) → :data:`ENVIRONMENTS`."""

_CODE_LANGUAGES: dict[str, str] = {
    **{name: name for name in LANGUAGES},
    "py": "python",
    "js": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "vue": "javascript",
    "c++": "cpp",
    "golang": "go",
    "md": "markdown",
}


@dataclass(frozen=True)
class ImportedArena:
    """The tables of an imported arena data set."""

    prompts: pd.DataFrame
    responses: pd.DataFrame
    executions: pd.DataFrame
    votes: pd.DataFrame


def read_bigcodearena(
    path: str | Path, *, screenshot_dir: str | Path | None = None
) -> ImportedArena:
    """Import BigCodeArena's public votes (``bigcode/bigcodereward`` rows).

    Each row (one voted session) becomes a prompt, two responses (one per side), up to two
    executions (the **last** sandbox round of each side that has one) and one vote.

    Parameters
    ----------
    path
        A Parquet or JSONL file of rows with ``chat_session_id, instruction, human_vote,
        model_A, model_B, category_name`` and the per-side ``states`` (either one ``states``
        column holding ``{"model_A": {...}, "model_B": {...}}`` or flattened
        ``states.model_A`` / ``states.model_B`` columns) with ``messages``, ``total_rounds``,
        ``system_message`` and ``sandbox_logs_by_round``.
    screenshot_dir
        Where screenshots are written as ``<execution_id>.png`` (default: a ``screenshots``
        folder beside ``path``). Tables hold the file path, never base64.

    Notes
    -----
    The lossy status rule: the public data only says ``execution_success`` true or false, so
    true → ``ok`` and false → ``runtime_error`` (a build error or a timeout cannot be told apart
    there); the original message is kept in ``message``. Sides are recorded as shown
    (``swapped=False``): the public data does not say otherwise. No annotator ids are public.
    """
    from .io import read_frame

    path = Path(path)
    raw, lines = read_frame(path)
    shots = Path(screenshot_dir) if screenshot_dir is not None else path.parent / "screenshots"
    _require(
        raw,
        ("chat_session_id", "instruction", "human_vote", "model_A", "model_B"),
        path,
        "a BigCodeArena vote row",
    )
    prompts, responses, executions, votes = [], [], [], []
    unknown_categories: set[str] = set()
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in record.items()} for record in raw.to_dict(orient="records")
    ]
    for position, row in enumerate(rows):
        where = f"line {lines[position]}" if lines else f"row {position + 1}"
        session = str(row["chat_session_id"])
        category = _bigcodearena_category(row.get("category_name"))
        if category is None and row.get("category_name"):
            unknown_categories.add(str(row["category_name"]))
        prompts.append(
            {
                "prompt_id": session,
                "instruction": row["instruction"],
                "category": category,
                "source": "bigcodearena",
            }
        )
        sides: dict[str, dict[str, Any]] = {}
        for side in ("A", "B"):
            state = _side_state(row, side, path, where)
            messages = _bigcodearena_messages(state, path, where, side)
            execution = _last_execution(state, row, side, session, shots, path, where)
            if execution is not None:
                executions.append(execution)
            response_id = f"{session}-{side}"
            responses.append(
                {
                    "response_id": response_id,
                    "prompt_id": session,
                    "model": row[f"model_{side}"],
                    "turn": int(
                        state.get("total_rounds") or sum(m["role"] == "user" for m in messages) or 1
                    ),
                    "messages": messages,
                    "execution_id": execution["execution_id"] if execution else None,
                }
            )
            sides[side] = {
                "env": execution["environment"] if execution else None,
                "lang": execution["language"] if execution else None,
                "turns": responses[-1]["turn"],
            }
        votes.append(
            {
                "vote_id": f"bigcodearena-{session}",
                "battle_id": session,
                "prompt_id": session,
                "category": category,
                "model_a": row["model_A"],
                "model_b": row["model_B"],
                "winner": normalize_winner(row["human_vote"]),
                "env_a": sides["A"]["env"],
                "env_b": sides["B"]["env"],
                "lang_a": sides["A"]["lang"],
                "lang_b": sides["B"]["lang"],
                "swapped": False,
                "turns": max(sides["A"]["turns"], sides["B"]["turns"]),
                "source": "bigcodearena",
            }
        )
    if unknown_categories:
        warnings.warn(
            f"{path}: categories not among {', '.join(CATEGORIES)} were left empty: "
            f"{', '.join(sorted(unknown_categories))}",
            stacklevel=2,
        )
    import pandas as pd

    prompt_frame = pd.DataFrame(prompts).drop_duplicates("prompt_id")
    execution_frame = pd.DataFrame(executions)
    if len(execution_frame):
        execution_frame = execution_frame.drop_duplicates("execution_id")
        execution_frame = validate(execution_frame, "executions", source=str(path))
    else:
        execution_frame = pd.DataFrame(columns=[s.name for s in _columns("executions")])
    return ImportedArena(
        prompts=validate(prompt_frame, "prompts", source=str(path)),
        responses=validate(responses, "responses", source=str(path)),
        executions=execution_frame,
        votes=validate(votes, "votes", source=str(path), line_numbers=lines),
    )


def _bigcodearena_category(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return key if key in CATEGORIES else None


def _as_mapping(value: Any, path: Path, where: str, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ArenaDataError(
                f"{what} is text that is not JSON", source=str(path), location=where
            ) from None
    if not isinstance(value, Mapping):
        raise ArenaDataError(
            f"{what} must be an object, got {type(value).__name__}",
            source=str(path),
            location=where,
            value=value,
        )
    return dict(value)


def _side_state(row: Mapping[str, Any], side: str, path: Path, where: str) -> dict[str, Any]:
    if f"states.model_{side}" in row:
        return _as_mapping(row[f"states.model_{side}"], path, where, f"states.model_{side}")
    states = _as_mapping(row.get("states"), path, where, "states")
    if f"model_{side}" not in states:
        raise ArenaDataError(
            f"no conversation state for side {side}",
            source=str(path),
            location=where,
            column="states",
            fix=f"give states.model_{side} (with messages and sandbox_logs_by_round)",
        )
    return _as_mapping(states[f"model_{side}"], path, where, f"states.model_{side}")


def _bigcodearena_messages(
    state: Mapping[str, Any], path: Path, where: str, side: str
) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    system = state.get("system_message")
    if isinstance(system, str) and system.strip():
        messages.append({"role": "system", "content": system})
    for item in state.get("messages") or []:
        if isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            role, content = item
        else:
            raise ArenaDataError(
                f"a message of side {side} is neither [role, content] nor {{role, content}}",
                source=str(path),
                location=where,
                column=f"states.model_{side}.messages",
                value=item,
            )
        if content is None:  # an unanswered last turn
            continue
        messages.append({"role": _role(str(role)), "content": str(content)})
    if not messages:
        raise ArenaDataError(
            f"side {side} has no messages",
            source=str(path),
            location=where,
            column=f"states.model_{side}.messages",
        )
    return messages


def _role(role: str) -> str:
    lowered = role.lower()
    if "system" in lowered:
        return "system"
    if "user" in lowered or "human" in lowered:
        return "user"
    return "assistant"


def _last_execution(
    state: Mapping[str, Any],
    row: Mapping[str, Any],
    side: str,
    session: str,
    shots: Path,
    path: Path,
    where: str,
) -> dict[str, Any] | None:
    logs = _as_mapping(state.get("sandbox_logs_by_round"), path, where, "sandbox_logs_by_round")
    rounds = sorted((k for k, v in logs.items() if v), key=lambda k: int(k))
    sandbox: dict[str, Any] = {}
    for key in reversed(rounds):
        entry = _as_mapping(logs[key], path, where, f"sandbox_logs_by_round[{key}]")
        sandbox = _as_mapping(entry.get("sandbox_state"), path, where, "sandbox_state")
        if sandbox.get("code_to_execute"):
            break
    code = sandbox.get("code_to_execute")
    if not code:
        return None
    environment = _bigcodearena_environment(sandbox)
    if environment is None:
        raise ArenaDataError(
            f"unknown sandbox environment {sandbox.get('sandbox_environment')!r} "
            f"(auto-selected: {sandbox.get('auto_selected_sandbox_environment')!r})",
            source=str(path),
            location=where,
            column=f"states.model_{side}.sandbox_state.sandbox_environment",
            value=sandbox.get("sandbox_environment"),
            fix="extend arena_kit.datasets.BIGCODEARENA_ENVIRONMENTS with the new name",
        )
    language = _CODE_LANGUAGES.get(str(sandbox.get("code_language") or "").lower())
    execution_id = content_id("bigcodearena", session, side, code, environment)
    success = sandbox.get("execution_success")
    stdout = _text(sandbox.get("sandbox_output")) or _text(row.get(f"execution_output_{side}"))
    stderr = _text(sandbox.get("sandbox_error")) or _text(row.get(f"execution_error_{side}"))
    screenshot = _save_screenshot(
        sandbox.get("screenshot_base64") or row.get(f"execution_screenshot_{side}"),
        shots / f"{execution_id}.png",
        path,
        where,
    )
    if success is True:
        status, message = "ok", "ran (imported: BigCodeArena reported success)"
    elif success is False:
        first_error = stderr.strip().splitlines()[-1] if stderr.strip() else "no error text"
        status = "runtime_error"
        message = f"imported: BigCodeArena reported failure: {first_error[:200]}"
    else:
        status, message = "sandbox_error", "imported: BigCodeArena did not record an outcome"
    return {
        "execution_id": execution_id,
        "code": code,
        "language": language,
        "environment": environment,
        "status": status,
        "message": message,
        "stdout": stdout,
        "stderr": stderr,
        "screenshot": str(screenshot) if screenshot else None,
    }


def _bigcodearena_environment(sandbox: Mapping[str, Any]) -> str | None:
    for key in ("sandbox_environment", "auto_selected_sandbox_environment"):
        name = str(sandbox.get(key) or "").strip().lower()
        if name and name != "auto":
            return BIGCODEARENA_ENVIRONMENTS.get(name, name if name in ENVIRONMENTS else None)
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from a missing Parquet cell
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _save_screenshot(value: Any, target: Path, path: Path, where: str) -> Path | None:
    """Decode a screenshot (base64 text, a data URL, raw bytes or {'bytes': ...}) to a PNG file."""
    if isinstance(value, Mapping):
        value = value.get("bytes")
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    if isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") else value
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ArenaDataError(
                "screenshot is not valid base64", source=str(path), location=where
            ) from None
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        raise ArenaDataError(
            f"screenshot of unexpected type {type(value).__name__}",
            source=str(path),
            location=where,
        )
    if not data.startswith(b"\x89PNG") and not data.startswith(b"\xff\xd8"):
        raise ArenaDataError(
            "screenshot is neither PNG nor JPEG data", source=str(path), location=where
        )
    from .io import atomic_path

    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return target


# ---------------------------------------------------------------------------------------------
# The bundled data.


def bundled_prompts() -> pd.DataFrame:
    """The 600 AutoCodeArena-v0 prompts (real user requests; Apache-2.0, see PROVENANCE.md)."""
    return read_autocodearena(DATA_DIR / "autocodearena-v0" / "prompts.jsonl")


def bundled_responses() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arena-Hard-Auto v0.1: 500 real prompts, three real models' answers (prompts, responses)."""
    folder = DATA_DIR / "arena-hard-v0.1"
    return read_arena_hard(
        folder / "question.jsonl", [folder / f"{m}.jsonl" for m in ARENA_HARD_MODELS]
    )


def bundled_battles() -> pd.DataFrame:
    """The demo's real battles: pairs of Arena-Hard answers to the same prompt, both with code.

    Read from ``data/battles/arena-hard-battles.jsonl`` (made by ``python -m arena_kit.bundle``).
    """
    return read_table(DATA_DIR / "battles" / "arena-hard-battles.jsonl", "battles")


def battle_responses() -> pd.DataFrame:
    """The responses that the bundled real battles use (a subset of :func:`bundled_responses`)."""
    _, responses = bundled_responses()
    battles = bundled_battles()
    used = set(battles["response_a"]) | set(battles["response_b"])
    return responses[responses["response_id"].isin(used)].reset_index(drop=True)


def bundled_battle_votes() -> pd.DataFrame:
    """**Simulated** votes on the bundled real battles (for the judges' offline demo)."""
    return read_table(DATA_DIR / "simulated" / "arena-hard-battle-votes.jsonl", "votes")


def bundled_votes() -> pd.DataFrame:
    """The bundled **simulated** votes (``source == "simulated"``; :mod:`arena_kit.simulate`)."""
    return read_table(DATA_DIR / "simulated" / "simulated-votes.jsonl", "votes")
