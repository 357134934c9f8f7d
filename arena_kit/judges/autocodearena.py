"""AutoCodeArena: every candidate model against one baseline, judged, two games per prompt.

The steps, each optional when its output is given: **generate** the answers (a
:class:`~arena_kit.models.ModelClient`), **execute** them (any callable
``execute(responses) -> executions``, e.g. the sandbox; none → code-only judging), **judge**
each candidate against the baseline twice with the sides swapped, and **score**:

* a game's outcome for the candidate is 1 (win), ½ (tie or both bad) or 0 (loss);
* a strong verdict (``[[A>>B]]`` or ``[[B>>A]]``) counts ``strong_weight`` times (3 as the
  original);
* the score is the weighted mean outcome — the win rate against the baseline (baseline = 50 %),
  with a percentile bootstrap interval over **prompts** (both games of a prompt move together),
  at ``level`` (90 % as the original) — overall, per category and per environment;
* :meth:`AutoCodeArenaResult.bradley_terry` gives the same games as a Bradley-Terry
  leaderboard anchored at the baseline.

Judgments made elsewhere score the same way: :func:`read_judgments` reads arena-hard-auto's
judgment files (``model_judgment/<judge>/<model>.jsonl``, two games per question with
``A>>B``-style scores) into the verdicts table, and :func:`score_judgments` gives the
:class:`AutoCodeArenaResult` — no hand-built ``battle_id``, ``mode``, ``swapped`` or
``strong`` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..battles import answered_prompts
from ..errors import ArenaDataError, ArenaKitError, require_columns
from .base import Judge
from .battles import baseline_battles

if TYPE_CHECKING:
    import pandas as pd

    from ..models import ModelClient

__all__ = [
    "AutoCodeArenaResult",
    "autocodearena",
    "games_table",
    "win_rates",
    "answered_prompts",
    "pick_baseline",
    "read_judgments",
    "score_judgments",
]

GAME_COLUMNS: tuple[str, ...] = ("prompt_id", "model_a", "model_b", "winner", "strong")
"""What :func:`games_table` needs of a verdicts table (``category``, ``env_a`` optional)."""


def pick_baseline(responses: pd.DataFrame) -> str:
    """The default baseline: the model that answered the most prompts (the first by name on a
    tie), so that the most candidates' answers have an opponent."""
    counts = responses.groupby("model")["prompt_id"].nunique()
    if counts.empty:
        raise ArenaKitError("no responses, so no model to take as the baseline")
    return str(min(counts.index, key=lambda model: (-counts[model], str(model))))


def games_table(verdicts: pd.DataFrame, *, strong_weight: float = 3.0) -> pd.DataFrame:
    """Verdicts as games from the candidate's (``model_a``'s) side: outcome and weight.

    Unreadable verdicts are kept with a missing ``outcome`` and weight 0 so they can be counted.
    """
    import numpy as np

    require_columns(
        verdicts, GAME_COLUMNS, "the verdicts table",
        "pass the verdicts a judge returned, or read_judgments(...) for arena-hard-auto files",
    )  # fmt: skip
    games = verdicts.copy()
    for optional in ("category", "env_a"):
        if optional not in games.columns:
            games[optional] = None
    outcome_of = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "both_bad": 0.5}
    games["outcome"] = games["winner"].map(outcome_of).astype(float)
    games["weight"] = np.where(
        games["outcome"].isna(), 0.0, np.where(games["strong"].astype(bool), strong_weight, 1.0)
    )
    games["candidate"] = games["model_a"]
    games["baseline"] = games["model_b"]
    games["environment"] = games["env_a"].where(games["env_a"].notna(), "unknown")
    # Prompts without a category (e.g. Arena-Hard's) still get a row in the breakdown.
    games["category"] = games["category"].where(games["category"].notna(), "unknown")
    return games


def win_rates(
    games: pd.DataFrame,
    by: str | None = None,
    *,
    n_bootstrap: int = 100,
    level: float = 0.90,
    seed: int = 0,
) -> pd.DataFrame:
    """Weighted win rate of each candidate (per ``by`` group) with a bootstrap over prompts.

    Returns
    -------
    DataFrame
        ``candidate`` (``by``), ``n_prompts, n_games, n_unparsed, wins, ties, losses,
        win_rate, win_rate_low, win_rate_high``, sorted best first.
    """
    import numpy as np
    import pandas as pd

    keys = ["candidate"] if by is None else ["candidate", by]
    require_columns(
        games, [*keys, "prompt_id", "outcome", "weight"], "the games table",
        "build it with games_table(verdicts)",
    )  # fmt: skip
    rows = []
    rng = np.random.default_rng(seed)
    tail = (1 - level) / 2 * 100
    for key, group in games.groupby(keys, sort=True):
        key_values = key if isinstance(key, tuple) else (key,)
        per_prompt = (
            group.assign(score=group["outcome"].fillna(0.0) * group["weight"])
            .groupby("prompt_id")[["score", "weight"]]
            .sum()
        )
        scores = per_prompt["score"].to_numpy()
        weights = per_prompt["weight"].to_numpy()
        total = weights.sum()
        rate = scores.sum() / total if total else np.nan
        low = high = np.nan
        if n_bootstrap and total:
            samples = rng.integers(0, len(scores), size=(n_bootstrap, len(scores)))
            sampled_weights = weights[samples].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                draws = scores[samples].sum(axis=1) / sampled_weights
            low, high = np.nanpercentile(draws, [tail, 100 - tail])
        readable = group[group["outcome"].notna()]
        row: dict[str, Any] = dict(zip(keys, key_values, strict=True))
        row.update(
            {
                "n_prompts": int(group["prompt_id"].nunique()),
                "n_games": len(group),
                "n_unparsed": int(group["outcome"].isna().sum()),
                "wins": int((readable["outcome"] == 1.0).sum()),
                "ties": int((readable["outcome"] == 0.5).sum()),
                "losses": int((readable["outcome"] == 0.0).sum()),
                "win_rate": float(rate),
                "win_rate_low": float(low),
                "win_rate_high": float(high),
            }
        )
        rows.append(row)
    columns = [
        *keys, "n_prompts", "n_games", "n_unparsed", "wins", "ties", "losses",
        "win_rate", "win_rate_low", "win_rate_high",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    order = keys[1:] + ["win_rate"] if by else ["win_rate"]
    ascending = [True] * (len(order) - 1) + [False]
    return frame.sort_values(order, ascending=ascending).reset_index(drop=True)


@dataclass
class AutoCodeArenaResult:
    """Everything an AutoCodeArena run made, and its scores.

    Attributes
    ----------
    leaderboard
        Win rate against the baseline per candidate (the baseline's own row is 50 %).
    by_category, by_environment
        The same per category and per the candidate's execution environment.
    games
        One row per game (verdicts + outcome and weight).
    responses, executions, verdicts
        The intermediate tables (``executions`` is ``None`` when code-only).
    """

    baseline: str
    leaderboard: pd.DataFrame
    by_category: pd.DataFrame
    by_environment: pd.DataFrame
    games: pd.DataFrame
    responses: pd.DataFrame
    executions: pd.DataFrame | None
    verdicts: pd.DataFrame
    strong_weight: float = 3.0

    def votes(self) -> pd.DataFrame:
        """The games as a votes-like table (``model_a, model_b, winner, weight``)."""
        read = self.games[self.games["outcome"].notna()]
        frame = read[["battle_id", "prompt_id", "category", "model_a", "model_b", "winner"]].copy()
        frame["weight"] = read["weight"].to_numpy()
        return frame.reset_index(drop=True)

    def bradley_terry(self, **options: Any) -> Any:
        """A Bradley-Terry leaderboard of the games, anchored at the baseline (1000).

        Strong verdicts count ``strong_weight`` times (the ``weight`` column); ``options`` go
        to :func:`arena_kit.ratings.fit_bradley_terry`.
        """
        from ..ratings import fit_bradley_terry

        options.setdefault("anchor", self.baseline)
        options.setdefault("weights", "weight")
        return fit_bradley_terry(self.votes(), **options)


def _link_executions(responses: pd.DataFrame, executions: pd.DataFrame) -> pd.DataFrame:
    """Fill ``responses.execution_id`` from an executions table that names its response."""
    if "response_id" not in executions.columns:
        return responses
    mapping = dict(zip(executions["response_id"], executions["execution_id"], strict=True))
    linked = responses.copy()
    linked["execution_id"] = [
        mapping.get(r, e)
        for r, e in zip(linked["response_id"], linked["execution_id"], strict=True)
    ]
    return linked


def autocodearena(
    candidates: Sequence[str],
    baseline: str,
    judge: Judge,
    *,
    prompts: pd.DataFrame | None = None,
    responses: pd.DataFrame | None = None,
    client: ModelClient | None = None,
    system_prompt: str | None = None,
    execute: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    executions: pd.DataFrame | None = None,
    strong_weight: float = 3.0,
    n_bootstrap: int = 100,
    level: float = 0.90,
    seed: int = 0,
    progress: bool = True,
) -> AutoCodeArenaResult:
    """Run AutoCodeArena: generate, execute, judge against the baseline, score.

    Parameters
    ----------
    candidates
        The models to rank.
    baseline
        The fixed opponent (its win rate is 50 % by definition).
    judge
        Any judge; an :class:`~arena_kit.judges.LLMJudge` with ``style="arena"`` reads the
        five-label verdicts.
    prompts
        The prompts table; default: the prompts the ``responses`` answer
        (:func:`answered_prompts`), or without responses the bundled 600 AutoCodeArena-v0
        prompts.
    responses
        Answers already made; only the missing (prompt, model) pairs are generated.
    client
        Generates missing answers (with ``system_prompt``, default the environment-aware
        :data:`~arena_kit.models.DEFAULT_SYSTEM_PROMPT`). Without it, only given answers count.
    execute
        ``execute(responses) -> executions``, e.g. :func:`~arena_kit.judges.sandbox_executor`;
        the executions either carry a ``response_id`` column (one row per run response, used
        to fill ``responses.execution_id``) or the responses already name their run. Default:
        no execution, code-only judging (unless ``executions`` is given).
    executions
        Runs already made (joined with what ``execute`` returns).
    strong_weight, n_bootstrap, level, seed
        Scoring (see the module docstring).
    """
    import pandas as pd

    from ..models import DEFAULT_SYSTEM_PROMPT, generate
    from ..schema import validate

    if prompts is None and responses is not None:
        prompts = answered_prompts(responses)
    elif prompts is None:
        from ..datasets import bundled_prompts

        prompts = bundled_prompts()
    models = [*dict.fromkeys([*candidates, baseline])]
    prompt_ids = set(map(str, prompts["prompt_id"]))
    have = (
        set(zip(responses["prompt_id"].astype(str), responses["model"], strict=True))
        if responses is not None
        else set()
    )
    frames = [responses[responses["prompt_id"].astype(str).isin(prompt_ids)]] if (
        responses is not None
    ) else []  # fmt: skip
    if client is not None:
        for model in models:
            missing = [p for p in sorted(prompt_ids) if (p, model) not in have]
            if missing:
                todo = prompts[prompts["prompt_id"].astype(str).isin(missing)]
                frames.append(
                    generate(
                        todo,
                        model,
                        client=client,
                        system_prompt=system_prompt or DEFAULT_SYSTEM_PROMPT,
                        progress=progress,
                    )
                )
    if not frames:
        raise ArenaKitError(
            "no answers to judge: give responses=..., or a client=ModelClient(...) to generate them"
        )
    answers = validate(pd.concat(frames, ignore_index=True), "responses", source="autocodearena")
    if execute is not None:
        new_runs = execute(answers)
        answers = _link_executions(answers, new_runs)
        runs = new_runs if executions is None else pd.concat([executions, new_runs])
        # Responses with the same code share a run: one row per execution_id.
        runs = runs.drop_duplicates("execution_id").drop(columns="response_id", errors="ignore")
        executions = validate(runs, "executions", source="execute()") if len(runs) else executions
    mode = "with_execution" if executions is not None else "code_only"
    battles = baseline_battles(
        answers, candidates, baseline, prompts=prompts, executions=executions
    )
    verdicts = judge.judge(battles, executions, mode, sides="both", progress=progress)
    return _scored(
        verdicts, baseline, answers, executions, strong_weight=strong_weight,
        n_bootstrap=n_bootstrap, level=level, seed=seed,
    )  # fmt: skip


def _scored(
    verdicts: pd.DataFrame,
    baseline: str,
    responses: pd.DataFrame,
    executions: pd.DataFrame | None,
    *,
    strong_weight: float,
    n_bootstrap: int,
    level: float,
    seed: int,
) -> AutoCodeArenaResult:
    """Verdicts → games → win rates against the baseline (the module docstring's scoring)."""
    import pandas as pd

    games = games_table(verdicts, strong_weight=strong_weight)
    options: dict[str, Any] = {"n_bootstrap": n_bootstrap, "level": level, "seed": seed}
    leaderboard = win_rates(games, **options)
    baseline_row = pd.DataFrame(
        [{"candidate": baseline, "win_rate": 0.5, "win_rate_low": 0.5, "win_rate_high": 0.5}]
    )
    leaderboard = pd.concat([leaderboard, baseline_row], ignore_index=True)
    counts = ["n_prompts", "n_games", "n_unparsed", "wins", "ties", "losses"]
    leaderboard[counts] = leaderboard[counts].astype("Int64")
    leaderboard = leaderboard.sort_values("win_rate", ascending=False).reset_index(drop=True)
    leaderboard = leaderboard.rename(columns={"candidate": "model"})
    return AutoCodeArenaResult(
        baseline=baseline,
        leaderboard=leaderboard,
        by_category=win_rates(games, "category", **options),
        by_environment=win_rates(games, "environment", **options),
        games=games,
        responses=responses,
        executions=executions,
        verdicts=verdicts,
        strong_weight=strong_weight,
    )


# Game 1 of an arena-hard-auto judgment shows the baseline as A, game 2 the candidate.
_SHOWN = {"A>>B": ("A", True), "A>B": ("A", False), "A=B": ("tie", False),
          "B>A": ("B", False), "B>>A": ("B", True)}  # fmt: skip


def read_judgments(
    paths: str | Path | Iterable[str | Path],
    *,
    baseline: str = "gpt-4-0314",
    judge: str | None = None,
) -> pd.DataFrame:
    """arena-hard-auto judgment files → the verdicts table (``VERDICT_COLUMNS``).

    Parameters
    ----------
    paths
        One or more ``model_judgment/<judge>/<model>.jsonl`` files, or a folder of them. Each
        line judges one candidate (``model``) on one question (``question_id`` or ``uid``) in
        ``games``: game 1 with the baseline shown as assistant A, game 2 with the sides swapped;
        each game's ``score`` is ``A>>B``, ``A>B``, ``A=B``, ``B>A``, ``B>>A`` or missing
        (an unparsed judgment).
    baseline
        The model every candidate was judged against (arena-hard-auto v0.1: ``gpt-4-0314``).
    judge
        The judge's name; default the lines' ``judge`` field, else the folder's name.

    Returns
    -------
    DataFrame
        One verdict per game, from the candidate's side: ``model_a`` the candidate,
        ``model_b`` the baseline, ``battle_id`` ``<question>-<candidate>``, ``swapped`` True for
        game 1 (the baseline was shown first), ``winner`` in stored sides, ``strong`` for
        ``>>``, ``label`` the score as written, ``mode`` ``"code_only"`` (the judge read the
        answers, it ran nothing), ``raw`` the judgment text.

    Raises
    ------
    ArenaDataError
        A line without a question id, a model or games, or a score that is not one of the
        five labels — naming the file and line.
    """
    import pandas as pd

    from ..io import read_jsonl
    from .base import VERDICT_COLUMNS
    from .verdicts import to_stored

    files = _judgment_files(paths)
    rows = []
    for path in files:
        records, lines = read_jsonl(path)
        for record, line in zip(records, lines, strict=True):
            where = {"source": str(path), "location": f"line {line}"}
            question = record.get("question_id", record.get("uid"))
            model = record.get("model")
            games = record.get("games")
            if question is None or not isinstance(model, str) or not isinstance(games, list):
                raise ArenaDataError(
                    "a judgment line needs 'question_id' (or 'uid'), 'model' and a list 'games'",
                    **where,
                    fix="pass arena-hard-auto's model_judgment/<judge>/<model>.jsonl files",
                )
            name = judge or record.get("judge") or path.parent.name
            for number, game in enumerate(games[:2], start=1):
                score = game.get("score") if isinstance(game, dict) else None
                if score is not None and score not in _SHOWN:
                    raise ArenaDataError(
                        f"game {number}: unknown score {score!r}",
                        **where,
                        column="score",
                        value=score,
                        fix=f"scores are one of {', '.join(_SHOWN)} (or null when unparsed)",
                    )
                swapped = number == 1
                shown, strong = _SHOWN.get(score, (None, False)) if score else (None, False)
                rows.append(
                    {
                        "battle_id": f"{question}-{model}",
                        "judge": str(name),
                        "mode": "code_only",
                        "swapped": swapped,
                        "winner": to_stored(shown, swapped),
                        "strong": bool(strong),
                        "label": score,
                        "parse_status": "label" if score else "unparseable",
                        "raw": str(game.get("judgment") or "") if isinstance(game, dict) else "",
                        "reason": "",
                        "prompt_id": str(question),
                        "category": record.get("category"),
                        "model_a": model,
                        "model_b": baseline,
                        "env_a": None,
                        "env_b": None,
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cached": False,
                    }
                )
    if not rows:
        raise ArenaDataError(
            "no judgments", source=", ".join(map(str, files)), fix="pass non-empty judgment files"
        )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def _judgment_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(item.glob("*.jsonl"))
            if not found:
                raise ArenaDataError(
                    "no .jsonl judgment files in this folder",
                    source=str(item),
                    fix="pass model_judgment/<judge>/ or its <model>.jsonl files",
                )
            files.extend(found)
        else:
            files.append(item)
    return files


def score_judgments(
    paths: str | Path | Iterable[str | Path],
    *,
    baseline: str = "gpt-4-0314",
    judge: str | None = None,
    strong_weight: float = 3.0,
    n_bootstrap: int = 100,
    level: float = 0.90,
    seed: int = 0,
) -> AutoCodeArenaResult:
    """Score arena-hard-auto judgment files as AutoCodeArena scores its own games.

    :func:`read_judgments`, then the module docstring's scoring: win rate against the baseline
    with strong verdicts weighted ``strong_weight``, a bootstrap over questions, and
    :meth:`AutoCodeArenaResult.bradley_terry`. ``responses`` of the result is empty and
    ``executions`` ``None`` (the files hold judgments only).
    """
    import pandas as pd

    verdicts = read_judgments(paths, baseline=baseline, judge=judge)
    return _scored(
        verdicts, baseline, pd.DataFrame(), None, strong_weight=strong_weight,
        n_bootstrap=n_bootstrap, level=level, seed=seed,
    )  # fmt: skip
