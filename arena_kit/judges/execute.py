"""Run answers' code for AutoCodeArena: the sandbox as an ``execute(responses)`` callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..execution import last_answer, plan_jobs, run_planned

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sandbox_executor", "last_answer"]


def sandbox_executor(
    *, progress: bool = True, **run_options: Any
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """An ``execute(responses) -> executions`` callable built on :mod:`arena_kit.execution`.

    For each response, the code of its last answer as :func:`arena_kit.extract.extract` finds it
    (main block or merged web page, language, environment, named extra files) is run; answers
    with nothing runnable are not run (their judges see "no run"). ``run_options`` go to every
    run (``backend=``, ``limits=``…).

    The returned table has one row per run response with a ``response_id`` column, which
    :func:`~arena_kit.judges.autocodearena` uses to fill ``responses.execution_id`` (two
    responses with the same code share one ``execution_id``).
    """

    def execute(responses: pd.DataFrame) -> pd.DataFrame:
        return run_planned(plan_jobs(responses), progress=progress, **run_options)

    return execute
