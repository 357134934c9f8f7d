"""What a judge sees: one battle with both sides' whole conversations (``BattleInput``).

A judge never reads the four tables itself: :func:`battle_inputs` joins a battles (or votes)
table with the responses and prompts once, and judges get a list of :class:`BattleInput`.
Executions stay a table (looked up by ``execution_id``) because several responses may share one
run and because the with-execution and code-only modes differ only in whether it is passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ArenaDataError, require_columns
from ..schema import content_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BattleInput", "battle_inputs", "baseline_battles", "battles_frame", "is_missing"]


@dataclass(frozen=True)
class BattleInput:
    """One battle as a judge receives it.

    ``messages_a`` / ``messages_b`` are the full conversations (system, user and assistant
    turns) so that judges see earlier turns too, not only the last answer. ``winner`` is the
    human verdict when one is known (the first vote of the battle), for display only: scoring
    joins the votes table itself so that every vote counts.
    """

    battle_id: str
    instruction: str
    model_a: str
    model_b: str
    messages_a: list[dict[str, Any]]
    messages_b: list[dict[str, Any]]
    prompt_id: str | None = None
    category: str | None = None
    execution_id_a: str | None = None
    execution_id_b: str | None = None
    env_a: str | None = None
    env_b: str | None = None
    winner: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        """The number of user turns (the larger side's)."""
        return max(
            sum(m.get("role") == "user" for m in self.messages_a),
            sum(m.get("role") == "user" for m in self.messages_b),
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def is_missing(value: Any) -> bool:
    """None, NaN, ``pd.NA`` or ``pd.NaT`` (table cells that hold nothing); lists are values."""
    if value is None:
        return True
    if isinstance(value, (list, dict, tuple)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_missing = is_missing


def _turn(row: Mapping[str, Any]) -> int:
    value = row.get("turn")
    return 1 if value is None or is_missing(value) else int(value)


def _first_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def battle_inputs(
    battles: pd.DataFrame,
    responses: pd.DataFrame,
    *,
    prompts: pd.DataFrame | None = None,
    executions: pd.DataFrame | None = None,
    votes: pd.DataFrame | None = None,
) -> list[BattleInput]:
    """Join a battles or votes table with its responses (and prompts) into judge inputs.

    Parameters
    ----------
    battles
        A battles table (``battle_id, model_a, model_b, response_a, response_b``…) or a votes
        table (``battle_id, prompt_id, model_a, model_b``…). Without ``response_a/_b`` the
        response of each side is the one with the same ``prompt_id`` and ``model`` and the most
        turns. Several votes of one battle give one input.
    responses
        The responses table.
    prompts
        The prompts table, for the instruction and category (default: the first user message
        and the battle's ``category``).
    executions
        Optional: fills ``env_a`` / ``env_b`` from the runs when the battle does not say.
    votes
        Optional: fills ``winner`` (the first vote of each battle) for display.

    Raises
    ------
    ArenaDataError
        A battle whose response cannot be found, naming the battle and the side.
    """
    require_columns(
        responses, ("response_id", "prompt_id", "model", "messages"), "the responses table",
        "pass a responses table (datasets.read_answers, read_table(path, 'responses'))",
    )  # fmt: skip
    require_columns(
        battles, ("battle_id", "model_a", "model_b"), "the battles (or votes) table",
        "pass a battles table (battles.make_battles) or the votes of battles",
    )  # fmt: skip
    if not {"response_a", "response_b"} <= set(battles.columns):
        require_columns(
            battles, ("prompt_id",), "a battles table without response_a/response_b",
            "give response_a and response_b, or prompt_id to find each model's answer",
        )  # fmt: skip
    response_rows = {str(r["response_id"]): r for r in _records(responses)}
    by_model: dict[tuple[str, str], dict[str, Any]] = {}
    for row in response_rows.values():
        key = (str(row["prompt_id"]), str(row["model"]))
        best = by_model.get(key)
        if best is None or _turn(row) > _turn(best):
            by_model[key] = row
    prompt_rows = {str(r["prompt_id"]): r for r in _records(prompts)} if prompts is not None else {}
    environments: dict[Any, Any] = {}
    if executions is not None and len(executions):
        environments = dict(zip(executions["execution_id"], executions["environment"], strict=True))
    first_vote: dict[str, str] = {}
    if votes is not None:
        for vote in _records(votes):
            first_vote.setdefault(str(vote["battle_id"]), str(vote["winner"]))
    inputs: list[BattleInput] = []
    seen: set[str] = set()
    for position, row in enumerate(_records(battles)):
        battle_id = str(row.get("battle_id") or row.get("vote_id") or f"battle-{position + 1}")
        if battle_id in seen:
            continue
        seen.add(battle_id)
        sides = {}
        for side in ("a", "b"):
            response_id = row.get(f"response_{side}")
            if not _missing(response_id):
                found = response_rows.get(str(response_id))
            else:
                found = by_model.get((str(row.get("prompt_id")), str(row[f"model_{side}"])))
            if found is None:
                raise ArenaDataError(
                    f"battle {battle_id!r}: no response for side {side.upper()} "
                    f"(model {row[f'model_{side}']!r}, prompt {row.get('prompt_id')!r}, "
                    f"response {response_id!r})",
                    source="battle_inputs()",
                    location=f"row {position + 1}",
                    column=f"response_{side}" if not _missing(response_id) else "prompt_id",
                    fix="pass the responses table that holds both sides' answers",
                )
            sides[side] = found
        prompt_id = row.get("prompt_id")
        if _missing(prompt_id):
            prompt_id = sides["a"]["prompt_id"]
        prompt = prompt_rows.get(str(prompt_id), {})
        instruction = prompt.get("instruction") or _first_user_text(sides["a"]["messages"])
        category = row.get("category")
        if _missing(category):
            category = prompt.get("category")
        exec_a = sides["a"].get("execution_id")
        exec_b = sides["b"].get("execution_id")
        env_a = row.get("env_a")
        env_b = row.get("env_b")
        inputs.append(
            BattleInput(
                battle_id=battle_id,
                instruction=str(instruction),
                model_a=str(row["model_a"]),
                model_b=str(row["model_b"]),
                messages_a=list(sides["a"]["messages"]),
                messages_b=list(sides["b"]["messages"]),
                prompt_id=None if _missing(prompt_id) else str(prompt_id),
                category=None if _missing(category) else str(category),
                execution_id_a=None if _missing(exec_a) else str(exec_a),
                execution_id_b=None if _missing(exec_b) else str(exec_b),
                env_a=str(env_a) if not _missing(env_a) else environments.get(exec_a),
                env_b=str(env_b) if not _missing(env_b) else environments.get(exec_b),
                winner=first_vote.get(battle_id),
            )
        )
    return inputs


def baseline_battles(
    responses: pd.DataFrame,
    candidates: Iterable[str],
    baseline: str,
    *,
    prompts: pd.DataFrame | None = None,
    executions: pd.DataFrame | None = None,
) -> list[BattleInput]:
    """Each candidate against the baseline on every prompt both answered (AutoCodeArena).

    The candidate is ``model_a``, the baseline ``model_b``; the judge still sees both orders
    when asked for ``sides="both"``. Battle ids are content hashes of (prompt, candidate,
    baseline).
    """
    import pandas as pd

    answered: dict[str, set[str]] = {}
    for model, prompt_id in zip(responses["model"], responses["prompt_id"], strict=True):
        answered.setdefault(str(model), set()).add(str(prompt_id))
    if baseline not in answered:
        raise ArenaDataError(
            f"the baseline {baseline!r} has no responses",
            source="baseline_battles()",
            column="model",
            fix="generate the baseline's answers first (or name another baseline)",
        )
    rows = []
    for candidate in candidates:
        if candidate == baseline or candidate not in answered:
            continue
        for prompt_id in sorted(answered[candidate] & answered[baseline]):
            rows.append(
                {
                    "battle_id": "acb" + content_id(prompt_id, candidate, baseline, length=13),
                    "prompt_id": prompt_id,
                    "model_a": candidate,
                    "model_b": baseline,
                }
            )
    if not rows:
        raise ArenaDataError(
            "no prompt was answered by both a candidate and the baseline",
            source="baseline_battles()",
            fix="check the model names in the responses table",
        )
    return battle_inputs(pd.DataFrame(rows), responses, prompts=prompts, executions=executions)


def battles_frame(battles: Sequence[BattleInput]) -> pd.DataFrame:
    """The judge inputs as a DataFrame (one row per battle), for display."""
    import pandas as pd

    rows = []
    for battle in battles:
        row = asdict(battle)
        row["turns"] = battle.turns
        row.pop("extra", None)
        rows.append(row)
    return pd.DataFrame(rows)
