"""Answers find their runs through ``execution_id``: ``execute_responses`` fills it, and every
consumer refuses (none linked) or warns about (few linked) responses that do not, instead of
counting their answers as never run."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from arena_kit import execution
from arena_kit.errors import ArenaDataError
from arena_kit.execution import UnlinkedRunsWarning, check_links, outcome_table
from arena_kit.schema import validate


def answer(code: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "write a program"},
        {"role": "assistant", "content": f"Here:\n```python\n{code}\n```"},
    ]


@pytest.fixture
def runs():
    executions = validate(
        [
            {"execution_id": f"x{i}", "code": "print(1)", "environment": "python", "status": s}
            for i, s in enumerate(["ok", "ok", "runtime_error", "ok"])
        ],
        "executions",
    )
    responses = validate(
        [
            {
                "response_id": f"r{i}",
                "prompt_id": f"p{i // 2}",
                "model": "alpha" if i % 2 else "beta",
                "messages": answer("print(1)"),
                "execution_id": f"x{i}",
            }
            for i in range(4)
        ],
        "responses",
    )
    return executions, responses


def test_linked_answers_pass_quietly(runs):
    executions, responses = runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_links(responses["execution_id"], executions, where="test") == 4
        table = outcome_table(executions, responses)
    assert table.set_index("model")["ok"].to_dict() == {"alpha": 2, "beta": 1}


def test_answers_that_name_no_run_are_refused_with_the_fix(runs):
    executions, responses = runs
    unlinked = responses.assign(execution_id=None)  # read back from the file never linked
    with pytest.raises(ArenaDataError) as caught:
        outcome_table(executions, unlinked)
    message = str(caught.value)
    assert (
        "outcome_table()" in message
        and "none of the 4 responses with code links to a run" in message
    )
    assert "4 have no execution_id" in message and "execute_responses" in message
    # Ids of another executions table are refused the same way.
    other = responses.assign(execution_id=lambda r: "old-" + r["execution_id"])
    with pytest.raises(ArenaDataError, match="4 name a run the table does not hold"):
        check_links(other["execution_id"], executions, what="responses", where="test")


def test_few_linked_answers_warn_and_count(runs):
    executions, responses = runs
    mostly = responses.assign(execution_id=["x0", None, None, "gone"])
    with pytest.warns(
        UnlinkedRunsWarning, match=r"only 1 of 4 responses with code link .*2 have no"
    ):
        table = outcome_table(executions, mostly)
    assert table["no code"].sum() == 3  # still counted, but no longer silently
    # Half linked is not "few": answers without code have no run, and that is normal.
    half = responses.assign(execution_id=["x0", None, "x2", None])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_links(half["execution_id"], executions, where="test") == 2


def test_no_runs_and_no_ids_warn_rather_than_raise():
    """Answers without any runnable code: nothing is mislinked, but nothing ran either."""
    empty = pd.DataFrame(columns=["execution_id"])
    with pytest.warns(UnlinkedRunsWarning, match="only 0 of 2"):
        assert check_links([None, None], empty, where="test") == 0
    assert check_links([], empty, where="test") == 0


@pytest.mark.slow
def test_execute_responses_links_every_answer_with_code_to_its_run():
    responses = validate(
        [
            {"response_id": "ok", "prompt_id": "p", "model": "a", "messages": answer("print(2)")},
            {"response_id": "boom", "prompt_id": "p", "model": "b",
             "messages": answer("raise SystemExit(3)")},
            {"response_id": "prose", "prompt_id": "q", "model": "a",
             "messages": [{"role": "user", "content": "hi"},
                          {"role": "assistant", "content": "no code here"}]},
        ],
        "responses",
    )  # fmt: skip
    executions, linked = execution.execute_responses(responses, progress=False)
    ids = linked.set_index("response_id")["execution_id"]
    assert ids[["ok", "boom"]].isin(executions["execution_id"]).all()
    assert pd.isna(ids["prose"])
    assert responses["execution_id"].isna().all(), "the input table is left as it was"
    statuses = executions.set_index("execution_id")["status"]
    assert (statuses[ids["ok"]], statuses[ids["boom"]]) == ("ok", "runtime_error")
    assert check_links(linked["execution_id"], executions, where="test") == 2


def test_answers_without_code_are_not_counted_as_unlinked(runs):
    """Most answers to a chat prompt hold no code: they have no run, and that is no warning."""
    executions, responses = runs
    prose = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Just text."}]
    chatty = pd.concat(
        [responses] + [responses.head(1).assign(response_id=f"t{i}", messages=[prose],
                                                 execution_id=None) for i in range(6)],
        ignore_index=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 4 of 10 link, but the other 6 have nothing to run
        table = outcome_table(executions, chatty)
    assert table["no code"].sum() == 6
