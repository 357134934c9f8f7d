"""Responses → executions: run each answer's main code in the sandbox, once, cached.

This is the glue between the tables: it takes a responses table, finds each answer's main
code (:mod:`arena_kit.extract`), runs it (:mod:`arena_kit.web` for visual environments,
:mod:`arena_kit.sandbox` for programs), and returns the executions table plus the responses
with their ``execution_id`` filled. Answers with no runnable code get no execution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["last_answer", "plan_jobs", "execute_responses", "outcome_table"]

# A language's own environment, for answers whose environment nothing more specific names.
_LANGUAGE_ENVIRONMENT = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "c": "c",
    "cpp": "cpp",
    "java": "java",
    "go": "go",
    "rust": "rust",
    "html": "html",
    "css": "html",
    "markdown": "markdown",
    "mermaid": "mermaid",
}


def last_answer(messages: list[dict[str, str]]) -> str:
    """The text of the last assistant message ('' when there is none)."""
    return next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")


def _detect(markdown: str) -> tuple[str, str, str] | None:
    """(code, language, environment) of an answer's main code, or None."""
    from . import extract

    detect = getattr(extract, "detect", None)
    if detect is not None:  # the visual-environments detector, when present
        found = detect(markdown)
        if found is None:
            return None
        return found.code, found.language, found.environment
    from .blocks import block_language, main_block

    block = main_block(markdown)
    if block is None:
        return None
    language = block_language(block)
    if language is None:
        return None
    return block.code, language, _LANGUAGE_ENVIRONMENT[language]


def plan_jobs(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per response with runnable code: ``response_id, code, language, environment``."""
    import pandas as pd

    rows = []
    for response_id, messages in zip(responses["response_id"], responses["messages"], strict=True):
        found = _detect(last_answer(messages))
        if found is not None:
            code, language, environment = found
            rows.append(
                {
                    "response_id": response_id,
                    "code": code,
                    "language": language,
                    "environment": environment,
                }
            )
    return pd.DataFrame(rows, columns=["response_id", "code", "language", "environment"])


def execute_responses(
    responses: pd.DataFrame,
    *,
    limits: Any = None,
    backend: str | None = None,
    progress: bool = True,
    refresh: bool = False,
    executor: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every response's main code; return ``(executions, responses)``.

    ``executions`` is a validated executions table (one row per distinct run: answers with the
    same code share one); ``responses`` is a copy with ``execution_id`` filled. Results come
    from the sandbox's content-addressed cache when the same run was made before
    (``refresh=True`` runs again).
    """
    import pandas as pd

    from .sandbox import run_many
    from .schema import validate

    jobs = plan_jobs(responses)
    results = run_many(
        [
            {
                "code": row.code,
                "language": row.language,
                "environment": row.environment,
                "limits": limits,
                "backend": backend,
                "refresh": refresh,
            }
            for row in jobs.itertuples(index=False)
        ],
        executor=executor,
        progress=progress,
    )
    records = [r.to_record() for r in results]
    ids = dict(zip(jobs["response_id"], (r["execution_id"] for r in records), strict=True))
    updated = responses.copy()
    updated["execution_id"] = [ids.get(rid) for rid in updated["response_id"]]
    if not records:
        return pd.DataFrame(columns=list(validate_columns())), updated
    executions = pd.DataFrame(records).drop_duplicates("execution_id")
    return validate(executions, "executions", source="sandbox runs"), updated


def validate_columns() -> list[str]:
    from .schema import columns

    return [c.name for c in columns("executions")]


def outcome_table(
    executions: pd.DataFrame, responses: pd.DataFrame, *, by: str = "model"
) -> pd.DataFrame:
    """Counts of statuses per ``by`` (``model``, ``language`` or ``environment``).

    Responses without runnable code are counted as ``no code``; one row per ``by`` value, one
    column per status, plus ``total``.
    """
    import pandas as pd

    joined = responses.merge(
        executions[["execution_id", "status", "language", "environment"]],
        on="execution_id",
        how="left",
    )
    joined["status"] = joined["status"].fillna("no code")
    table = pd.crosstab(joined[by].fillna("none"), joined["status"])
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False).reset_index()
