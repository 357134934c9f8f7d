"""Run answers' code for AutoCodeArena: the sandbox as an ``execute(responses)`` callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..extract import extract

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sandbox_executor", "last_answer"]


def last_answer(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the conversation's last assistant message ("" when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "assistant" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def sandbox_executor(
    *, progress: bool = True, **run_options: Any
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """An ``execute(responses) -> executions`` callable built on :func:`arena_kit.sandbox.run_many`.

    For each response, the code of its last answer as :func:`arena_kit.extract.extract` finds it
    (main block or merged web page, language, environment, named extra files) is run; answers
    with nothing runnable are not run (their judges see "no run"). ``run_options`` go to every
    run (``backend=``, ``limits=``…).

    The returned table has one row per run response with a ``response_id`` column, which
    :func:`~arena_kit.judges.autocodearena` uses to fill ``responses.execution_id`` (two
    responses with the same code share one ``execution_id``).
    """

    def execute(responses: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        from ..sandbox import run_many

        jobs: list[dict[str, Any]] = []
        response_ids: list[str] = []
        for response_id, messages in zip(
            responses["response_id"], responses["messages"], strict=True
        ):
            found = extract(last_answer(messages))
            if found.environment is None or not found.code.strip():
                continue
            job: dict[str, Any] = {
                "code": found.code,
                "language": found.language,
                "environment": found.environment,
            }
            if found.files:
                job["files"] = dict(found.files)
            jobs.append(job)
            response_ids.append(str(response_id))
        columns = ["response_id", "execution_id", "code", "language", "environment", "status"]
        if not jobs:
            return pd.DataFrame(columns=columns)
        results = run_many(jobs, progress=progress, **run_options)
        records = [
            {"response_id": rid, **result.to_record()}
            for rid, result in zip(response_ids, results, strict=True)
        ]
        return pd.DataFrame(records)

    return execute
