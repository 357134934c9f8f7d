"""Importers and exporters: public arena data in, the workbench's tables out.

Every importer returns validated tables (:func:`arena_kit.schema.validate`), so a bad file fails
here with its line and value, never later in an analysis. Exports are atomic.

========================  ===================================================================
source                    function
========================  ===================================================================
BigCodeArena votes        :func:`read_bigcodearena` (``bigcode/bigcodereward`` rows)
FastChat battles          :func:`read_fastchat` (``model_a, model_b, winner``, JSON/JSONL)
plain CSV votes           :func:`read_votes` (any table file; ``columns=``/``winner_map=`` map
                          a file's own names and winner spellings)
Copilot Arena battles     :func:`read_copilot_arena` (``model_a, model_b, acceptedIndex``)
LMArena human preference  :func:`read_lmarena` (``winner_model_a``/``_b``/``winner_tie`` …)
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
import os
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
    "read_copilot_arena",
    "read_lmarena",
    "read_autocodearena",
    "read_arena_hard",
    "read_answers",
    "write_table",
    "read_table",
    "bundled_data",
    "bundled_prompts",
    "bundled_responses",
    "bundled_battles",
    "battle_responses",
    "bundled_battle_votes",
    "bundled_votes",
    "BIGCODEARENA_ENVIRONMENTS",
]

DATA_DIR = Path(os.environ.get("ARENA_KIT_DATA") or Path(__file__).resolve().parent.parent / "data")
"""The repository's ``data/`` folder: the demo's bundled data (the real battles, the
Arena-Hard answers, the simulated votes), read-only. It is not part of the package: installed
from a wheel, arena-kit finds it where ``ARENA_KIT_DATA`` points (a copy of that folder), and the
functions that need it say so (:class:`~arena_kit.errors.ArenaDataError`). The labelled
AutoCodeArena prompts do ship in the package (:func:`bundled_prompts`)."""

ARENA_HARD_MODELS = ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")


# ---------------------------------------------------------------------------------------------
# Generic table files.


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read and validate a table file (``.jsonl``, ``.json``, ``.parquet``, ``.csv``), or the
    table of that name in a vote store (:func:`arena_kit.store.is_store_location`: a live
    session's store holds its prompts, responses, executions, battles and votes)."""
    from .store import is_store_location, open_existing

    if is_store_location(path):
        with open_existing(path, reading=table) as store:
            return store.table(table)
    return validate(path, table)


def read_votes(
    path: str | Path,
    *,
    source: str | None = None,
    columns: Mapping[str, str] | None = None,
    winner_map: Mapping[Any, str] | None = None,
) -> pd.DataFrame:
    """Votes from any table file (JSONL, JSON, CSV, Parquet), in the file's own words.

    Parameters
    ----------
    path
        The file. Without ``columns`` it needs ``model_a, model_b, winner``; public winner
        spellings (``vote_model_A``, ``tie (bothbad)``…) are accepted as they are.
    source
        The ``source`` of rows that have none (default: the file's name).
    columns
        The file's column names → the votes table's, as ``DataFrame.rename`` takes them, e.g.
        ``{"left": "model_a", "right": "model_b", "choice": "winner"}``.
    winner_map
        The file's winner values → ``model_a``, ``model_b``, ``tie`` or ``both_bad``, e.g.
        ``{"left": "model_a", "right": "model_b", "tie": "tie"}`` or, for a numeric index,
        ``{0: "model_a", 1: "model_b"}`` (numbers also match the same numbers written as text,
        as CSV holds them). Values already spelled as winners pass through.

    Raises
    ------
    ArenaDataError
        A column named in ``columns`` that the file lacks, a needed column missing (naming the
        file's column that probably holds it and the ``columns=`` to pass), a winner value the
        map does not cover, or any row that breaks the votes contract — naming the line.
    """
    from .io import read_frame
    from .schema import WINNERS
    from .schema import columns as contract

    path = Path(path)
    renames = dict(columns or {})
    file_name = {new: old for old, new in renames.items()}
    specs = contract("votes")
    raw, lines = read_frame(
        path,
        json_columns=[file_name.get(c.name, c.name) for c in specs if c.kind == "json"],
        kinds={
            file_name.get(c.name, c.name): c.kind
            for c in specs
            if c.kind in ("bool", "int", "float")
        },
    )
    found = [str(c) for c in raw.columns]
    raw.columns = found
    _check_renames(renames, found, path)
    frame = raw.rename(columns=renames)
    needed = [c for c in ("model_a", "model_b", "winner") if c not in frame.columns]
    if needed:
        raise _missing_vote_columns(needed, found, renames, path)
    if winner_map is not None:
        frame["winner"] = _map_winners(frame["winner"], winner_map, WINNERS, path, lines)
    else:
        _check_winner_words(frame["winner"], WINNERS, path, lines)
    frame = validate(frame, "votes", source=str(path), line_numbers=lines)
    frame["source"] = frame["source"].fillna(source or path.name)
    return frame


# The names files give the votes' columns, to suggest the ``columns=`` to pass.
_VOTE_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "model_a": ("left", "left_model", "model_left", "modelA", "model_1", "model1", "model_A"),
    "model_b": ("right", "right_model", "model_right", "modelB", "model_2", "model2", "model_B"),
    "winner": ("choice", "preference", "vote", "label", "outcome", "acceptedIndex", "result"),
}


def _check_renames(renames: Mapping[str, str], found: list[str], path: Path) -> None:
    for old, new in renames.items():
        if old in found:
            continue
        if new in found:
            fix = (
                f"the mapping goes from the file's name to the table's: pass columns={{{new!r}: "
                f"{old!r}}}"
            )
        else:
            fix = f"name one of the file's columns: {', '.join(map(repr, found))}"
        raise ArenaDataError(
            f"columns= names {old!r}, which the file does not have",
            source=str(path),
            column=old,
            fix=fix,
        )


def _missing_vote_columns(
    needed: list[str], found: list[str], renames: Mapping[str, str], path: Path
) -> ArenaDataError:
    import difflib

    guesses: dict[str, str] = {}
    for name in needed:
        free = [c for c in found if c not in renames and c not in guesses.values()]
        known = [c for c in _VOTE_FIELD_NAMES[name] if c in free]
        close = difflib.get_close_matches(name, free, n=1, cutoff=0.75)
        if known or close:
            guesses[(known or close)[0]] = name
    if guesses:
        fix = f"pass read_votes(path, columns={dict(renames) | guesses!r})"
        if "winner" in guesses.values():
            fix += " (and winner_map= if its values are not model_a/model_b/tie/both_bad)"
    else:
        fix = "pass read_votes(path, columns={'<your column>': '" + needed[0] + "', ...})"
    return ArenaDataError(
        f"missing column(s) {', '.join(map(repr, needed))}; found: {', '.join(map(repr, found))}",
        source=str(path),
        fix=fix,
    )


# Winner words that files use, to suggest the ``winner_map=`` to pass.
_WINNER_GUESSES: dict[str, str] = {
    "left": "model_a", "first": "model_a", "1st": "model_a",
    "right": "model_b", "second": "model_b", "2nd": "model_b",
    "draw": "tie", "equal": "tie", "same": "tie", "both_good": "tie",
    "neither": "both_bad", "bad": "both_bad", "none": "both_bad",
}  # fmt: skip


def _check_winner_words(
    values: pd.Series, winners: tuple[str, ...], path: Path, lines: Any
) -> None:
    """Refuse winner words that are neither winners nor public spellings, suggesting a map.

    Numbers are left to :func:`~arena_kit.schema.validate`, whose message says how to map them.
    """
    from .schema import looks_numeric

    unknown: dict[str, int] = {}
    for position, value in enumerate(values):
        if value is None or looks_numeric(value) or normalize_winner(value) in winners:
            continue
        unknown.setdefault(str(value), position)
    if not unknown:
        return
    first = min(unknown, key=unknown.__getitem__)
    position = unknown[first]
    guess = {word: _WINNER_GUESSES.get(word.strip().lower(), "?") for word in sorted(unknown)}
    shown = ", ".join(f"{k!r}: {v!r}" for k, v in list(guess.items())[:8])
    raise ArenaDataError(
        f"winner {first!r} is not a winner name ({len(unknown)} unknown value(s): "
        f"{', '.join(map(repr, list(unknown)[:8]))})",
        source=str(path),
        location=f"line {lines[position]}" if lines is not None else f"row {position + 1}",
        column="winner",
        value=first,
        fix=f"say what each value means: read_votes(path, winner_map={{{shown}}}), each mapped "
        f"to one of {', '.join(winners)}",
    )


def _number_or_self(value: Any) -> Any:
    """``0``, ``0.0``, ``'0'`` and ``'0.0'`` as the integer 0 (files write an index each way);
    anything else unchanged."""
    if isinstance(value, (bool, list, dict)):
        return value
    if isinstance(value, (int, float, str)):
        try:
            number = float(value)
        except ValueError:
            return value
        if number.is_integer():
            return int(number)
    return value


def _map_winners(
    values: pd.Series,
    winner_map: Mapping[Any, str],
    winners: tuple[str, ...],
    path: Path,
    lines: Any,
) -> list[Any]:
    lookup: dict[Any, str] = {}
    for key, winner in winner_map.items():
        target = normalize_winner(winner)
        if target not in winners:
            raise ArenaDataError(
                f"winner_map maps {key!r} to {winner!r}, which is not a winner",
                source=str(path),
                column="winner",
                value=winner,
                fix=f"map each value to one of {', '.join(winners)}",
            )
        lookup[_number_or_self(key)] = target
        lookup.setdefault(str(key), target)
    mapped = []
    for position, value in enumerate(values):
        key = _number_or_self(value.item() if hasattr(value, "item") else value)
        if key in lookup or (not isinstance(key, (list, dict)) and str(key) in lookup):
            mapped.append(lookup.get(key, lookup.get(str(key))))
        elif value is None or normalize_winner(value) in winners:
            mapped.append(value)
        else:
            shown = sorted({str(v) for v in values if str(v) not in lookup})[:10]
            where = f"line {lines[position]}" if lines is not None else f"row {position + 1}"
            raise ArenaDataError(
                f"winner {value!r} is not in winner_map (values not covered: {', '.join(shown)})",
                source=str(path),
                location=where,
                column="winner",
                value=value,
                fix="add every value the file uses to winner_map",
            )
    return mapped


def write_table(frame: pd.DataFrame, path: str | Path, table: str) -> Path:
    """Validate ``frame`` as ``table`` and write it (format from the suffix), atomically.

    Reading the file back with :func:`read_table` gives an equal DataFrame: nothing is lost.
    """
    from .io import write_frame

    clean = validate(frame, table, source=f"<{table} to write to {path}>")
    return write_frame(clean, path)


# ---------------------------------------------------------------------------------------------
# Copilot Arena and LMArena human-preference releases.


def read_copilot_arena(path: str | Path) -> pd.DataFrame:
    """Votes from Copilot Arena battles (``lmarena/copilot-arena``'s released rows).

    Each row offered two completions (``completion_a`` of ``model_a``, ``completion_b`` of
    ``model_b``) and the user accepted one: ``acceptedIndex`` 0 means ``model_a`` won, 1
    ``model_b`` (written ``0.0``/``1.0`` in the CSV release). There are no ties. The release has
    no ids: ``vote_id`` (and ``battle_id``) are made from each row's content and position. The
    code context (``prefix``, ``suffix``) and the completions are not kept.
    """
    frame = read_votes(
        path,
        source="copilot-arena",
        columns={"acceptedIndex": "winner"},
        winner_map={0: "model_a", 1: "model_b"},
    )
    text = ("prefix", "suffix", "completion_a", "completion_b")
    return frame[[c for c in frame.columns if c not in text]].reset_index(drop=True)


_LMARENA_ONE_HOT = {
    "winner_model_a": "model_a",
    "winner_model_b": "model_b",
    "winner_tie": "tie",
    "winner_tie (bothbad)": "both_bad",
}


def read_lmarena(path: str | Path) -> pd.DataFrame:
    """Votes from LMArena's human-preference releases (``lmarena-ai/arena-human-preference-…``).

    Reads both layouts: one-hot outcome columns (``winner_model_a``, ``winner_model_b``,
    ``winner_tie`` and, when present, ``winner_tie (bothbad)``; exactly one of them is 1 per
    row) or a ``winner`` column (``model_a``, ``model_b``, ``tie``, ``tie (bothbad)``). ``id``
    (or ``question_id``) becomes the ``battle_id``, ``judge`` the ``annotator``, a numeric
    ``tstamp``/``timestamp`` the ``tstamp``. Prompts and responses are not kept.

    Raises
    ------
    ArenaDataError
        No outcome columns, or a row whose one-hot columns do not hold exactly one 1 (naming
        the line and what it holds).
    """
    import pandas as pd

    from .io import read_frame

    path = Path(path)
    raw, lines = read_frame(path)
    raw.columns = [str(c) for c in raw.columns]
    _require(raw, ("model_a", "model_b"), path, "an LMArena preference row")
    one_hot = [c for c in _LMARENA_ONE_HOT if c in raw.columns]
    if not one_hot and "winner" not in raw.columns:
        raise ArenaDataError(
            "no outcome: neither a 'winner' column nor the one-hot columns "
            f"{', '.join(_LMARENA_ONE_HOT)} (found: {', '.join(raw.columns)})",
            source=str(path),
            fix="pass a human-preference release, or read_votes(path, columns=..., winner_map=...)",
        )
    frame = pd.DataFrame({"model_a": raw["model_a"], "model_b": raw["model_b"]})
    if one_hot:
        values = raw[one_hot].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
        set_ = values.astype(float) == 1.0
        bad = set_.sum(axis=1) != 1
        if bad.any():
            position = int(bad.nonzero()[0][0])
            shown = ", ".join(f"{c}={raw[c].iloc[position]}" for c in one_hot)
            raise ArenaDataError(
                f"the outcome columns must hold exactly one 1, here: {shown}",
                source=str(path),
                location=f"line {lines[position]}" if lines is not None else f"row {position + 1}",
                column=one_hot[0],
                fix="drop or correct the row",
            )
        frame["winner"] = [_LMARENA_ONE_HOT[one_hot[k]] for k in set_.argmax(axis=1)]
    else:
        frame["winner"] = raw["winner"]
    for name, target in (("id", "battle_id"), ("question_id", "battle_id"), ("judge", "annotator")):
        if name in raw.columns and target not in frame.columns:
            frame[target] = raw[name].astype(str)
    for name in ("tstamp", "timestamp"):
        if name in raw.columns and "tstamp" not in frame.columns:
            stamps = pd.to_numeric(raw[name], errors="coerce")
            if stamps.notna().all():
                frame["tstamp"] = stamps.astype(float)
    frame["source"] = "lmarena"
    return validate(frame, "votes", source=str(path), line_numbers=lines)


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


def bundled_data(relative: str) -> Path:
    """The path of a file of the repository's ``data/`` (:data:`DATA_DIR`), e.g.
    ``"battles/arena-hard-battles.jsonl"``.

    Raises
    ------
    ArenaDataError
        The file is not there: arena-kit was installed without the repository (a wheel holds
        no demo data); the message says where the data comes from.
    """
    path = DATA_DIR / relative
    if not path.is_file():
        raise ArenaDataError(
            "the bundled demo data is not here: it lives in the arena-kit repository's data/ "
            "folder and is not installed with the package",
            source=str(path),
            fix="clone the arena-kit repository and run from it (make demo), or set "
            "ARENA_KIT_DATA to a copy of its data/ folder; your own data needs none of it",
        )
    return path


def bundled_prompts() -> pd.DataFrame:
    """The 600 AutoCodeArena-v0 prompts (real user requests; Apache-2.0, see PROVENANCE.md).

    Shipped in the package (the category classifier trains on them), so this works from a wheel.
    """
    from .resources import package_path

    return read_autocodearena(package_path("autocodearena-v0", "prompts.jsonl"))


def bundled_responses() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arena-Hard-Auto v0.1: 500 real prompts, three real models' answers (prompts, responses)."""
    return read_arena_hard(
        bundled_data("arena-hard-v0.1/question.jsonl"),
        [bundled_data(f"arena-hard-v0.1/{m}.jsonl") for m in ARENA_HARD_MODELS],
    )


def bundled_battles() -> pd.DataFrame:
    """The demo's real battles: pairs of Arena-Hard answers to the same prompt, both with code.

    Read from ``data/battles/arena-hard-battles.jsonl`` (made by ``python -m arena_kit.bundle``).
    """
    return read_table(bundled_data("battles/arena-hard-battles.jsonl"), "battles")


def battle_responses() -> pd.DataFrame:
    """The responses that the bundled real battles use (a subset of :func:`bundled_responses`)."""
    _, responses = bundled_responses()
    battles = bundled_battles()
    used = set(battles["response_a"]) | set(battles["response_b"])
    return responses[responses["response_id"].isin(used)].reset_index(drop=True)


def bundled_battle_votes() -> pd.DataFrame:
    """**Simulated** votes on the bundled real battles (for the judges' offline demo)."""
    return read_table(bundled_data("simulated/arena-hard-battle-votes.jsonl"), "votes")


def bundled_votes() -> pd.DataFrame:
    """The bundled **simulated** votes (``source == "simulated"``; :mod:`arena_kit.simulate`)."""
    return read_table(bundled_data("simulated/simulated-votes.jsonl"), "votes")
