"""Controls for a Bradley-Terry fit: what differs between the two sides of a vote besides the
models — how the answer looks (style), whether its code ran (execution), and where it was shown
(position).

A control enters the fit as the **difference between the two sides** (``a`` minus ``b``), so its
coefficient is the Elo points a side gains from it, the models held fixed:

=================  ===========================================================================
control            per side, then the difference used
=================  ===========================================================================
``length``         characters of the last answer; ``(a - b) / (a + b)``
``headers``        markdown headers (``#`` … ``######``) outside code; ``(a - b) / (a + b)``
``lists``          markdown list items outside code; ``(a - b) / (a + b)``
``bold``           ``**bold**`` / ``__bold__`` spans outside code; ``(a - b) / (a + b)``
``code_blocks``    fenced code blocks; ``(a - b) / (a + b)``
``ran_ok``         its code ran with status ``ok`` (1/0); ``a - b`` ∈ {-1, 0, 1}
``visual``         it ran ``ok`` and produced a picture (screenshot or image artifact); ``a - b``
``timeout``        its run timed out (1/0); ``a - b``
``position``       ``+1`` when ``model_a`` was shown in the left panel, ``-1`` when on the right
=================  ===========================================================================

Style counts use the normalised difference ``(a - b) / (a + b)`` (0 when both are 0), as
LMArena's style control does, so one very long answer cannot dominate: the coefficient is the
Elo gain of a side with all of it against a side with none. ``"style"`` and ``"execution"``
name the groups.

Where the values come from: each vote's ``battle_id`` → the battle's ``response_a`` /
``response_b`` → the responses' last assistant message (the **last turn**) and
``execution_id`` → the executions' ``status``, ``screenshot`` and ``artifacts``. A re-run
recorded in the vote's ``edits`` for that side and the last turn replaces the run (the **last
re-run counts**: its status, and its picture when its execution is in the table). A side
without a run (no code, or not executed) did not run ok, produced nothing and did not time out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "STYLE_CONTROLS",
    "EXECUTION_CONTROLS",
    "CONTROL_GROUPS",
    "resolve_controls",
    "side_features",
    "control_features",
    "compare_controlled",
]

STYLE_CONTROLS: tuple[str, ...] = ("length", "headers", "lists", "bold", "code_blocks")
EXECUTION_CONTROLS: tuple[str, ...] = ("ran_ok", "visual", "timeout")
CONTROL_GROUPS: dict[str, tuple[str, ...]] = {
    "style": STYLE_CONTROLS,
    "execution": EXECUTION_CONTROLS,
}
_COMPUTED = STYLE_CONTROLS + EXECUTION_CONTROLS

_HEADER = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def resolve_controls(controls: str | Iterable[str] | None) -> list[str]:
    """Control names with the groups (``"style"``, ``"execution"``) expanded, in order, once."""
    if controls is None:
        return []
    names = [controls] if isinstance(controls, str) else list(controls)
    out: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"a control is a name, got {name!r}")
        for item in CONTROL_GROUPS.get(name, (name,)):
            if item not in out:
                out.append(item)
    return out


def _prose(text: str) -> tuple[str, int]:
    """The answer without its fenced code blocks, and the number of blocks."""
    from ..blocks import fenced_blocks

    blocks = fenced_blocks(text)
    if not blocks:
        return text, 0
    lines = text.splitlines()
    drop: set[int] = set()
    for block in blocks:
        body = block.code.count("\n") + 1 if block.code else 0
        end = block.start_line + body + (1 if block.closed else 0)
        drop.update(range(block.start_line - 1, min(end, len(lines))))
    return "\n".join(line for k, line in enumerate(lines) if k not in drop), len(blocks)


def _style(text: str) -> dict[str, float]:
    prose, n_blocks = _prose(text)
    return {
        "length": float(len(text)),
        "headers": float(len(_HEADER.findall(prose))),
        "lists": float(len(_LIST_ITEM.findall(prose))),
        "bold": float(len(_BOLD.findall(prose))),
        "code_blocks": float(n_blocks),
    }


def _run(row: Mapping[str, Any] | None, status: Any = None) -> dict[str, float]:
    """Execution features of one run (``status`` overrides the row's, for a re-run)."""
    if row is None and status is None:
        return {"ran_ok": 0.0, "visual": 0.0, "timeout": 0.0}
    status = str(status if status is not None else (row or {}).get("status"))
    picture = False
    if row is not None:
        screenshot = row.get("screenshot")
        artifacts = row.get("artifacts")
        picture = (isinstance(screenshot, str) and bool(screenshot)) or (
            isinstance(artifacts, list)
            and any(
                isinstance(a, Mapping) and str(a.get("mime") or "").startswith("image/")
                for a in artifacts
            )
        )
    return {
        "ran_ok": float(status == "ok"),
        "visual": float(status == "ok" and picture),
        "timeout": float(status == "timeout"),
    }


def side_features(responses: pd.DataFrame, executions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per response (index ``response_id``): the raw per-side values of every control.

    Style from the last assistant message; ``ran_ok``, ``visual``, ``timeout`` from the run the
    response names (``NaN`` when no executions are given). Also ``turn`` and ``execution_id``,
    which re-runs need.
    """
    import math

    import pandas as pd

    from ..execution import last_answer

    _need(responses, ("response_id", "messages"), "responses")
    runs = _runs_by_id(executions)
    rows = []
    ids = (
        responses["execution_id"]
        if "execution_id" in responses.columns
        else [None] * len(responses)
    )
    turns = responses["turn"] if "turn" in responses.columns else [1] * len(responses)
    for response_id, messages, execution_id, turn in zip(
        responses["response_id"], responses["messages"], ids, turns, strict=True
    ):
        text = last_answer(messages) if isinstance(messages, list) else ""
        row: dict[str, Any] = {"response_id": str(response_id), **_style(text)}
        if runs is None:
            row.update({"ran_ok": math.nan, "visual": math.nan, "timeout": math.nan})
        else:
            row.update(_run(runs.get(str(execution_id)) if _present(execution_id) else None))
        row["turn"] = int(turn) if _present(turn) else 1
        row["execution_id"] = str(execution_id) if _present(execution_id) else None
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame["response_id"].duplicated().any():
        duplicate = frame.loc[frame["response_id"].duplicated(), "response_id"].iloc[0]
        raise ArenaDataError(
            f"response_id {duplicate!r} appears twice in the responses",
            column="response_id",
            value=duplicate,
            fix="give each response its own response_id",
        )
    return frame.set_index("response_id")


def control_features(
    votes: pd.DataFrame,
    controls: str | Iterable[str] = ("style", "execution"),
    *,
    battles: pd.DataFrame | None = None,
    responses: pd.DataFrame | None = None,
    executions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The controls of each vote as the fit uses them (``a`` minus ``b``; module docstring).

    Parameters
    ----------
    votes
        A votes table; ``battle_id`` joins it to ``battles`` (or the votes carry
        ``response_a``/``response_b`` themselves). ``swapped`` gives ``position``; ``edits``
        give re-runs.
    controls
        Names or groups (``"style"``, ``"execution"``, ``"position"``).
    battles, responses, executions
        The tables the values come from; ``executions`` only for execution controls.

    Returns
    -------
    DataFrame
        One column per control, indexed like ``votes``.

    Raises
    ------
    ArenaDataError
        A table needed and not given, a vote whose battle or response is missing (naming the
        row and how many), responses that do not link to the executions.
    """
    import numpy as np
    import pandas as pd

    names = resolve_controls(controls)
    unknown = [n for n in names if n not in _COMPUTED and n != "position"]
    if unknown:
        raise ArenaDataError(
            f"unknown control(s) {', '.join(map(repr, unknown))}",
            fix=f"use {', '.join((*_COMPUTED, 'position'))} or the groups 'style', 'execution'",
        )
    out = pd.DataFrame(index=votes.index)
    if "position" in names:
        out["position"] = position_values(votes)
    computed = [n for n in names if n in _COMPUTED]
    if not computed:
        return out[names]
    if responses is None:
        raise ArenaDataError(
            f"control(s) {', '.join(computed)} need responses= (and battles= unless the votes "
            "carry response_a/response_b)",
            fix="pass battles=, responses= (and executions= for execution controls), or give "
            "the votes a column per control holding the a - b difference",
        )
    if any(n in EXECUTION_CONTROLS for n in computed) and executions is None:
        raise ArenaDataError(
            "execution controls (ran_ok, visual, timeout) need executions=",
            fix="pass the executions table the responses name (execution_id)",
        )
    if executions is not None and "execution_id" in responses.columns:
        from ..execution import check_links

        check_links(responses["execution_id"], executions, where="ratings controls")
    side_a, side_b = _sides(votes, battles)
    sides = side_features(responses, executions)
    missing = [r for r in pd.unique(np.concatenate([side_a, side_b])) if r not in sides.index]
    if missing:
        position = int(np.flatnonzero(np.isin(side_a, missing) | np.isin(side_b, missing))[0])
        raise ArenaDataError(
            f"{len(missing)} response(s) the votes' battles name are not in the responses, "
            f"e.g. {missing[0]!r}",
            location=f"row {position + 1}",
            column="response_a",
            value=missing[0],
            fix="pass the responses the battles were made from",
        )
    a = np.array(sides.loc[side_a, computed], dtype=float)
    b = np.array(sides.loc[side_b, computed], dtype=float)
    run_columns = [k for k, n in enumerate(computed) if n in EXECUTION_CONTROLS]
    if run_columns and "edits" in votes.columns:
        runs = _runs_by_id(executions) or {}
        turns = {
            "a": sides.loc[side_a, "turn"].to_numpy(),
            "b": sides.loc[side_b, "turn"].to_numpy(),
        }
        for position, edits in enumerate(votes["edits"]):
            if not isinstance(edits, list) or not edits:
                continue
            for side, values in (("a", a), ("b", b)):
                rerun = _last_rerun(edits, side, int(turns[side][position]))
                if rerun is None:
                    continue
                row = runs.get(str(rerun.get("execution_id")))
                features = _run(row, rerun.get("status"))
                if row is None and features["ran_ok"]:
                    # The re-run's own picture is unknown: keep the first run's.
                    features["visual"] = values[position, computed.index("visual")] if (
                        "visual" in computed
                    ) else 0.0  # fmt: skip
                for k in run_columns:
                    values[position, k] = features[computed[k]]
    total = a + b
    diff = a - b
    for k, name in enumerate(computed):
        if name in STYLE_CONTROLS:
            with np.errstate(invalid="ignore", divide="ignore"):
                diff[:, k] = np.where(total[:, k] > 0, diff[:, k] / total[:, k], 0.0)
        out[name] = diff[:, k]
    return out[names]


def position_values(votes: pd.DataFrame) -> Any:
    """``+1`` where ``model_a`` was shown on the left (``swapped`` False), ``-1`` on the right."""
    import numpy as np

    if "swapped" not in votes.columns:
        raise ArenaDataError(
            "the position control needs the column 'swapped' (True when model_a was shown on "
            "the right)",
            column="swapped",
            fix="record the display side in swapped, or leave position out",
        )
    swapped = votes["swapped"]
    if swapped.isna().any():
        position = int(np.flatnonzero(swapped.isna().to_numpy())[0])
        raise ArenaDataError(
            "the display side is missing",
            location=f"row {position + 1}",
            column="swapped",
            fix="give every vote swapped = True or False",
        )
    return np.where(swapped.to_numpy(dtype=bool), -1.0, 1.0)


def _last_rerun(edits: Sequence[Any], side: str, turn: int) -> Mapping[str, Any] | None:
    """The last finished re-run of ``side`` for the conversation's last turn, if any."""
    for edit in reversed(edits):
        if not isinstance(edit, Mapping) or edit.get("side") != side:
            continue
        if edit.get("status") in (None, "running"):
            continue
        edit_turn = edit.get("turn")
        if edit_turn is not None and int(edit_turn) != turn:
            continue
        return edit
    return None


def _sides(votes: pd.DataFrame, battles: pd.DataFrame | None) -> tuple[Any, Any]:
    """The response ids of each vote's ``model_a`` and ``model_b`` side."""
    import numpy as np
    import pandas as pd

    if {"response_a", "response_b"} <= set(votes.columns):
        return (
            votes["response_a"].astype(str).to_numpy(),
            votes["response_b"].astype(str).to_numpy(),
        )
    if battles is None:
        raise ArenaDataError(
            "the votes do not name their answers (no response_a/response_b)",
            fix="pass battles= (joined on battle_id)",
        )
    _need(votes, ("battle_id",), "votes")
    _need(battles, ("battle_id", "model_a", "model_b", "response_a", "response_b"), "battles")
    unique = battles.drop_duplicates("battle_id")
    table = unique.set_index(unique["battle_id"].astype(str))
    keys = votes["battle_id"].astype(str)
    found = keys.isin(table.index).to_numpy()
    if not found.all():
        position = int(np.flatnonzero(~found)[0])
        raise ArenaDataError(
            f"{int((~found).sum())} vote(s) name a battle the battles table does not hold",
            location=f"row {position + 1}",
            column="battle_id",
            value=keys.iloc[position],
            fix="pass the battles the votes were cast on",
        )
    rows = table.reindex(pd.Index(keys))
    same = (rows["model_a"].to_numpy() == votes["model_a"].to_numpy()) & (
        rows["model_b"].to_numpy() == votes["model_b"].to_numpy()
    )
    crossed = (rows["model_a"].to_numpy() == votes["model_b"].to_numpy()) & (
        rows["model_b"].to_numpy() == votes["model_a"].to_numpy()
    )
    if not (same | crossed).all():
        position = int(np.flatnonzero(~(same | crossed))[0])
        raise ArenaDataError(
            "the vote's models are not the battle's",
            location=f"row {position + 1}",
            column="battle_id",
            value=keys.iloc[position],
            fix="pass the battles the votes were cast on",
        )
    response_a = np.where(same, rows["response_a"], rows["response_b"]).astype(str)
    response_b = np.where(same, rows["response_b"], rows["response_a"]).astype(str)
    return response_a, response_b


def _runs_by_id(executions: pd.DataFrame | None) -> dict[str, dict[str, Any]] | None:
    if executions is None:
        return None
    _need(executions, ("execution_id", "status"), "executions")
    columns = [c for c in ("execution_id", "status", "screenshot", "artifacts") if c in executions]
    records = executions[columns].to_dict(orient="records")
    return {str(r["execution_id"]): {str(k): v for k, v in r.items()} for r in records}


def _need(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ArenaDataError(
            f"the {table} table lacks column(s) {', '.join(map(repr, missing))}",
            column=missing[0],
            fix=f"pass a {table} table with {', '.join(columns)}",
        )


def _present(value: Any) -> bool:
    import pandas as pd

    return value is not None and not (not isinstance(value, (list, dict)) and pd.isna(value))


def compare_controlled(
    votes: pd.DataFrame,
    *,
    battles: pd.DataFrame | None,
    responses: pd.DataFrame,
    executions: pd.DataFrame | None = None,
    controls: str | Iterable[str] | None = None,
    **fit_options: Any,
) -> tuple[Any, pd.DataFrame]:
    """The controlled fit and a table of each model's rating with and without the controls.

    ``controls`` default: ``"style"``, plus ``"execution"`` when ``executions`` are given.
    Returns ``(result, table)``: the controlled
    :class:`~arena_kit.ratings.BradleyTerryResult` and one row per model, in the controlled
    order — ``model, rating, rating_controlled, change, rank, rank_controlled`` (``change``:
    controlled minus plain, Elo points; a lead that shrinks was the controls').
    """
    import pandas as pd

    from .bradley_terry import fit_bradley_terry

    names = resolve_controls(
        controls if controls is not None else ("style", "execution") if executions is not None
        else "style"
    )  # fmt: skip
    features = control_features(
        votes, names, battles=battles, responses=responses, executions=executions
    )
    plain = fit_bradley_terry(votes, **fit_options)
    controlled = fit_bradley_terry(votes.assign(**features), controls=names, **fit_options)
    both = pd.DataFrame(
        {
            "model": controlled.models,
            "rating": plain.ratings.reindex(controlled.models).to_numpy(),
            "rating_controlled": controlled.ratings.reindex(controlled.models).to_numpy(),
        }
    )
    both["change"] = both["rating_controlled"] - both["rating"]
    plain_rank = plain.leaderboard.set_index("model")["rank"]
    both["rank"] = both["model"].map(plain_rank).astype("int64")
    both["rank_controlled"] = controlled.leaderboard["rank"].to_numpy()
    return controlled, both
