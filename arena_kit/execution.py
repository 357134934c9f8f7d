"""Responses → executions: run each answer's main code in the sandbox, once, cached.

This is the glue between the tables: it takes a responses table, finds each answer's main
code (:mod:`arena_kit.extract`), runs it (:mod:`arena_kit.web` renders pages, diagrams and
apps; :mod:`arena_kit.sandbox` runs programs), and returns the executions table plus the
responses with their ``execution_id`` filled. Answers with no runnable code get no execution.

Every later step finds an answer's run through that ``execution_id``: responses read from a
file that was never linked (or linked to another executions table) would make each answer look
as if it never ran. :func:`check_links` is what the consumers (:func:`outcome_table`, the
judges) call to refuse that, loudly, instead of scoring it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .errors import ArenaDataError

if TYPE_CHECKING:
    import pandas as pd

    from .sandbox import ExecutionResult

__all__ = [
    "last_answer",
    "plan_jobs",
    "run_job",
    "run_planned",
    "link_runs",
    "execute_responses",
    "outcome_table",
    "check_links",
    "UnlinkedRunsWarning",
    "MIN_LINKED_SHARE",
]

MIN_LINKED_SHARE = 0.5
"""Below this share of answers with a run in the executions table, :func:`check_links` warns."""

LINK_FIX = (
    "use the responses that execute_responses() returned (`executions, responses = "
    "execution.execute_responses(responses)`; 01_execute writes them with linked_responses_path), "
    "whose execution_id names each answer's run, together with the executions made with them"
)


class UnlinkedRunsWarning(UserWarning):
    """Fewer than :data:`MIN_LINKED_SHARE` of the answers have a run in the executions given."""


def last_answer(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the conversation's last assistant message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "assistant" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def plan_jobs(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per response with runnable code, as :func:`arena_kit.extract.extract` finds it:
    ``response_id, code, language, environment, files`` (other files of multi-file answers)."""
    import pandas as pd

    from .extract import extract

    rows = []
    for response_id, messages in zip(responses["response_id"], responses["messages"], strict=True):
        found = extract(last_answer(messages))
        if found.environment is None or not found.code.strip():
            continue
        rows.append(
            {
                "response_id": str(response_id),
                "code": found.code,
                "language": found.language,
                "environment": found.environment,
                "files": dict(found.files),
            }
        )
    return pd.DataFrame(rows, columns=["response_id", "code", "language", "environment", "files"])


def _is_visual(environment: str, code: str) -> bool:
    from .web.execute import APP_ENVIRONMENTS, WEB_ENVIRONMENTS, is_browser_javascript

    return environment in WEB_ENVIRONMENTS + APP_ENVIRONMENTS or (
        environment == "javascript" and is_browser_javascript(code)
    )


def _run_arguments(job: Mapping[str, Any], limits: Any, refresh: bool) -> dict[str, Any]:
    """:func:`arena_kit.sandbox.run`'s arguments for a program job (a :func:`plan_jobs` row)."""
    files = job.get("files")
    return {
        "code": job["code"],
        "language": job["language"],
        "environment": job["environment"],
        "limits": limits,
        "refresh": refresh,
        **({"files": files} if files else {}),
    }


def _render(job: Mapping[str, Any], limits: Any, refresh: bool) -> ExecutionResult:
    """A page, diagram or app job rendered and screenshotted (a ``sandbox_error`` result when
    that raises: one page's failure is its own result)."""
    from .sandbox import Limits
    from .sandbox.api import error_result
    from .web import APP_ENVIRONMENTS, execute_code

    app = job["environment"] in APP_ENVIRONMENTS
    try:
        return execute_code(
            job["code"],
            job["environment"],
            language=job["language"],
            files=job.get("files") or None,
            # App servers keep their own, longer limits (they need time to start).
            limits=None if app or limits is None else Limits.coerce(limits),
            refresh=refresh,
        )
    except Exception as error:  # noqa: BLE001 - one page's failure is its own result
        return error_result(job["code"], job["language"], job["environment"], error)


def run_job(
    job: Mapping[str, Any], *, limits: Any = None, refresh: bool = False, **run_options: Any
) -> ExecutionResult:
    """One :func:`plan_jobs` row run the way :func:`run_planned` runs it; an ``ExecutionResult``.

    Pages, diagrams and apps are rendered (:func:`arena_kit.web.execute_code`), programs run in
    the sandbox (``run_options`` such as ``backend=`` go to :func:`arena_kit.sandbox.run`).
    Module-level and self-contained, so that a Dask worker runs it as a task
    (:mod:`arena_kit.cluster`). A job whose run raises gets a ``sandbox_error`` result naming
    the exception.
    """
    from .sandbox import run
    from .sandbox.api import error_result

    if _is_visual(str(job["environment"]), str(job["code"])):
        return _render(job, limits, refresh)
    try:
        return run(**_run_arguments(job, limits, refresh), **run_options)
    except Exception as error:  # noqa: BLE001 - the job's failure is its own result
        return error_result(job.get("code"), job.get("language"), job.get("environment"), error)


def run_planned(
    jobs: pd.DataFrame,
    *,
    progress: bool = True,
    executor: Any = None,
    limits: Any = None,
    refresh: bool = False,
    **run_options: Any,
) -> pd.DataFrame:
    """Run :func:`plan_jobs` rows; one executions row per job, with its ``response_id``.

    Programs run in parallel through :func:`arena_kit.sandbox.run_many` (any ``executor``;
    ``run_options`` such as ``backend=`` go to every run); pages, diagrams and apps are
    rendered and screenshotted by :func:`arena_kit.web.execute_code`, one after the other
    (one browser serves them all). Each job runs as :func:`run_job` runs it. Two responses
    with the same code share one ``execution_id``. A job whose run or render raises gets a
    ``sandbox_error`` row that names the exception; every other job keeps its result.
    """
    import pandas as pd

    from .sandbox import run_many
    from .schema import columns

    if jobs.empty:
        return pd.DataFrame(columns=["response_id", *(c.name for c in columns("executions"))])
    rows = cast("list[dict[str, Any]]", jobs.to_dict("records"))
    visual = [_is_visual(str(row["environment"]), str(row["code"])) for row in rows]
    results: list[Any] = [None] * len(rows)
    programs = [i for i, v in enumerate(visual) if not v]
    for index, result in zip(
        programs,
        run_many(
            [_run_arguments(rows[i], limits, refresh) for i in programs],
            executor=executor,
            progress=progress,
            **run_options,
        ),
        strict=True,
    ):
        results[index] = result
    pages = [i for i, v in enumerate(visual) if v]
    if pages:
        from tqdm.auto import tqdm

        for i in tqdm(pages, desc="render", unit="page", disable=not progress):
            results[i] = _render(rows[i], limits, refresh)
    return pd.DataFrame(
        [
            {"response_id": row["response_id"], **result.to_record()}
            for row, result in zip(rows, results, strict=True)
        ]
    )


def link_runs(responses: pd.DataFrame, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(executions, responses)`` from :func:`run_planned`'s rows (or rows like them).

    ``executions`` is a validated executions table, one row per distinct run (answers with the
    same code share one); ``responses`` is a copy with ``execution_id`` filled (None for an
    answer without a run).
    """
    from .schema import validate

    ids = dict(zip(runs["response_id"], runs["execution_id"], strict=True))
    updated = responses.copy()
    updated["execution_id"] = [ids.get(str(rid)) for rid in updated["response_id"]]
    executions = runs.drop(columns=["response_id"]).drop_duplicates("execution_id")
    if executions.empty:
        return executions, updated
    return validate(executions, "executions", source="sandbox runs"), updated


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

    runs = run_planned(
        plan_jobs(responses),
        progress=progress,
        executor=executor,
        limits=limits,
        refresh=refresh,
        backend=backend,
    )
    return link_runs(responses, runs)


def has_runnable_code(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the conversation's last answer holds code the workbench runs (what
    :func:`plan_jobs` would run): an answer without any has no run, rightly."""
    from .extract import extract

    found = extract(last_answer(messages))
    return found.environment is not None and bool(found.code.strip())


def check_links(
    execution_ids: Iterable[Any],
    executions: pd.DataFrame,
    *,
    what: str = "answers",
    where: str,
    runnable: Iterable[bool] | None = None,
) -> int:
    """Check that answers find their runs in ``executions``; return how many do.

    ``execution_ids`` holds one entry per answer (``None`` when it has none). An answer whose
    id is missing, or names a run the table does not hold, would count as "never ran".
    ``runnable`` (one flag per answer, see :func:`has_runnable_code`) leaves the answers
    without code out: they have no run, and nothing is missing.

    Raises
    ------
    ArenaDataError
        The table holds runs (or answers name runs) but **no** answer links to one: the
        responses were not the ones :func:`execute_responses` returned, or the two tables do
        not belong together. The message counts both kinds and names the fix.

    Warns
    -----
    UnlinkedRunsWarning
        Fewer than :data:`MIN_LINKED_SHARE` of the answers link to a run (answers without
        runnable code have none, so a few are normal; most is not).
    """
    ids = list(execution_ids)
    if runnable is not None:  # an answer without code and without a run is as it should be
        flags = list(runnable)
        ids = [v for v, code in zip(ids, flags, strict=True) if code or not _is_missing(v)]
    known = set(map(str, executions["execution_id"])) if len(executions) else set()
    missing = sum(_is_missing(value) for value in ids)
    dangling = sum(not _is_missing(value) and str(value) not in known for value in ids)
    linked = len(ids) - missing - dangling
    if not ids or linked == len(ids):
        return linked
    counts = (
        f"{missing} ha{'s' if missing == 1 else 've'} no execution_id, {dangling} name"
        f"{'s' if dangling == 1 else ''} a run the table does not hold"
    )
    if linked == 0 and (known or dangling):
        raise ArenaDataError(
            f"none of the {len(ids)} {what} links to a run of the executions table "
            f"({len(known)} runs): {counts}; each would count as never run",
            source=where,
            column="execution_id",
            fix=LINK_FIX,
        )
    if linked < MIN_LINKED_SHARE * len(ids):
        warnings.warn(
            f"{where}: only {linked} of {len(ids)} {what} link to a run of the executions "
            f"table ({counts}); the others count as never run. If their answers have code, "
            f"{LINK_FIX}",
            UnlinkedRunsWarning,
            stacklevel=3,
        )
    return linked


def _is_missing(value: Any) -> bool:
    """None, NaN or ``pd.NA`` (an empty cell)."""
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def outcome_table(
    executions: pd.DataFrame, responses: pd.DataFrame, *, by: str = "model"
) -> pd.DataFrame:
    """Counts of statuses per ``by`` (``model``, ``language`` or ``environment``).

    Responses without runnable code are counted as ``no code``; one row per ``by`` value, one
    column per status, plus ``total``. Responses that do not link to ``executions`` are
    refused (or warned about), as :func:`check_links` says: they would be counted as
    ``no code``.
    """
    import pandas as pd

    check_links(
        responses["execution_id"], executions, what="responses with code",
        where="outcome_table()", runnable=map(has_runnable_code, responses["messages"]),
    )  # fmt: skip

    joined = responses.merge(
        executions[["execution_id", "status", "language", "environment"]],
        on="execution_id",
        how="left",
    )
    joined["status"] = joined["status"].fillna("no code")
    table = pd.crosstab(joined[by].fillna("none"), joined["status"])
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False).reset_index()
