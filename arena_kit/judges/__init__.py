"""Judges: automated verdicts on battles, scored against people (BigCodeReward) and used to rank
models against a baseline (AutoCodeArena).

>>> from arena_kit import judges                                           # doctest: +SKIP
>>> battles = judges.battle_inputs(votes, responses, prompts=prompts)    # doctest: +SKIP
>>> judge = judges.get_judge("heuristic")                                 # offline baseline
>>> result = judges.bigcodereward(battles, judge, votes, executions)     # doctest: +SKIP
>>> result.summary()                                                      # doctest: +SKIP

Judges are registered by name: ``llm`` (:class:`LLMJudge`), ``heuristic``
(:class:`HeuristicJudge`), ``ensemble`` (:class:`EnsembleJudge`). See ``docs/judges.md``.
"""

from __future__ import annotations

from .autocodearena import (
    AutoCodeArenaResult,
    answered_prompts,
    autocodearena,
    games_table,
    pick_baseline,
    read_judgments,
    score_judgments,
    win_rates,
)
from .base import JUDGES, MODES, VERDICT_COLUMNS, Judge, get_judge, register_judge
from .battles import BattleInput, baseline_battles, battle_inputs, battles_frame
from .bigcodereward import BigCodeRewardResult, bigcodereward
from .ensemble import EnsembleJudge
from .execute import sandbox_executor
from .heuristic import HeuristicJudge
from .llm import LLMJudge
from .metrics import (
    agreement,
    bootstrap_scores,
    classification_scores,
    confusion_matrix,
    execution_lift,
    fleiss_kappa,
    merge_classes,
    orient,
    position_consistency,
    score_judge,
)
from .prompts import JudgePrompt, render_battle
from .verdicts import ARENA_LABELS, ParsedVerdict, parse_verdict

__all__ = [
    "ARENA_LABELS",
    "AutoCodeArenaResult",
    "BattleInput",
    "BigCodeRewardResult",
    "EnsembleJudge",
    "HeuristicJudge",
    "JUDGES",
    "Judge",
    "JudgePrompt",
    "LLMJudge",
    "MODES",
    "ParsedVerdict",
    "VERDICT_COLUMNS",
    "agreement",
    "answered_prompts",
    "autocodearena",
    "baseline_battles",
    "battle_inputs",
    "battles_frame",
    "bigcodereward",
    "bootstrap_scores",
    "classification_scores",
    "confusion_matrix",
    "execution_lift",
    "fleiss_kappa",
    "games_table",
    "get_judge",
    "merge_classes",
    "orient",
    "parse_verdict",
    "pick_baseline",
    "position_consistency",
    "read_judgments",
    "register_judge",
    "render_battle",
    "sandbox_executor",
    "score_judge",
    "score_judgments",
    "win_rates",
]
