"""The notebooks on *your* data: the bundled answers of two real models under new names, which
no notebook may replace by the bundled data ("none falls back when yours is given"), and
00_generate against the loopback OpenAI-protocol server. Run headless with papermill."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from openai_server import Reply, ScriptedOpenAIServer, last_user_text
from test_notebooks import execute

from arena_kit import datasets
from arena_kit.report import DATA_PARAMETERS, NOTEBOOKS_DIR, read_inputs

RENAMED = {"gpt-4-0314": "acme-coder", "gpt-3.5-turbo-0125": "bolt-7b"}


@pytest.mark.parametrize(
    "name",
    ["03_votes_by_category.ipynb", "04_rankings.ipynb", "05_judges.ipynb",
     "06_autocodearena.ipynb", "report.ipynb"],
)  # fmt: skip
def test_every_analysis_notebook_takes_the_same_input_names(name):
    import papermill as pm

    declared = pm.inspect_notebook(str(NOTEBOOKS_DIR / name))
    assert set(DATA_PARAMETERS) <= set(declared)
    assert all(declared[p]["default"] == '""' for p in DATA_PARAMETERS)


@pytest.fixture
def yours(tmp_path):
    """Eight battles of two renamed real models, their (unlinked) responses and votes."""
    battles = datasets.bundled_battles()
    battles = battles[battles["model_a"].isin(RENAMED) & battles["model_b"].isin(RENAMED)].head(8)
    used = set(battles["response_a"]) | set(battles["response_b"])
    responses = datasets.battle_responses()
    responses = responses[responses["response_id"].isin(used)].copy()
    responses["model"] = responses["model"].map(RENAMED)
    responses["response_id"] = "mine-" + responses["response_id"]
    battles = battles.assign(
        battle_id=[f"mine-{i}" for i in range(len(battles))],
        model_a=battles["model_a"].map(RENAMED), model_b=battles["model_b"].map(RENAMED),
        response_a="mine-" + battles["response_a"], response_b="mine-" + battles["response_b"],
        source="mine",
    )  # fmt: skip
    pick = random.Random(0).choice
    votes = battles[["battle_id", "prompt_id", "category", "model_a", "model_b"]].assign(
        winner=[pick(["model_a", "model_b", "tie"]) for _ in range(len(battles))],
        annotator="me", source="mine",
    )  # fmt: skip
    tables = {"battles": battles, "responses": responses, "votes": votes}
    return {
        name: str(datasets.write_table(frame, tmp_path / f"{name}.jsonl", name))
        for name, frame in tables.items()
    }


@pytest.mark.slow
def test_judges_notebook_judges_your_votes_not_the_bundled_battles(tmp_path, yours):
    """It used to judge the bundled battles whatever it was given ("no response for side A")."""
    tables = execute(
        "05_judges.ipynb", tmp_path, wall_s=5, votes_path=yours["votes"],
        responses_path=yours["responses"], battles_path=yours["battles"],
    )  # fmt: skip
    judged = pd.read_csv(tables / "judge_data.csv").iloc[0]
    assert (judged["data"], judged["battles"], judged["votes"]) == ("your votes", 8, 8)
    summary = pd.read_csv(tables / "judge_summary.csv")
    assert set(summary["mode"]) == {"code_only", "with_execution"} and (summary["n"] == 8).all()
    # From the votes alone (no battles table) the same battles are found and scored alike.
    (tmp_path / "alone").mkdir()
    alone = execute(
        "05_judges.ipynb", tmp_path / "alone", wall_s=5, votes_path=yours["votes"],
        responses_path=yours["responses"],
    )  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_csv(alone / "judge_summary.csv"), summary)


@pytest.mark.slow
def test_judges_notebook_refuses_runs_its_responses_do_not_name(tmp_path, yours):
    import papermill as pm

    executions = str(tmp_path / "executions.parquet")
    (tmp_path / "run").mkdir()
    execute(
        "01_execute.ipynb", tmp_path / "run", responses_path=yours["responses"],
        executions_path=executions, wall_s=5,
    )  # fmt: skip
    # Those runs with the *unlinked* responses: every side would be judged "no run".
    with pytest.raises(pm.PapermillExecutionError, match="links to a run") as caught:
        execute(
            "05_judges.ipynb", tmp_path, votes_path=yours["votes"],
            responses_path=yours["responses"], executions_path=executions,
        )  # fmt: skip
    assert "linked_responses_path" in str(caught.value)
    with pytest.raises(pm.PapermillExecutionError, match="no responses given"):
        execute("05_judges.ipynb", tmp_path, votes_path=yours["votes"])


@pytest.mark.slow
def test_autocodearena_notebook_plays_your_answers(tmp_path, yours):
    tables = execute(
        "06_autocodearena.ipynb", tmp_path, responses_path=yours["responses"], wall_s=5
    )
    board = pd.read_csv(tables / "autocodearena_leaderboard.csv").set_index("model")
    assert set(board.index) == {"acme-coder", "bolt-7b"}
    assert board.loc["acme-coder", "win_rate"] == 0.5  # the baseline: first by name on a tie
    answered = pd.read_json(yours["battles"], lines=True)["prompt_id"].nunique()
    assert board.loc["bolt-7b", "n_prompts"] == answered


@pytest.mark.slow
def test_label_notebook_pairs_your_answers_when_given_no_battles(tmp_path, yours):
    out = tmp_path / "label.ipynb"
    import papermill as pm

    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "02_label.ipynb"), str(out),
        parameters={"responses_path": yours["responses"], "annotator": "batch",
                    "store_path": str(tmp_path / "votes.sqlite")},
        kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS_DIR),
    )  # fmt: skip
    # 8 prompts, two models each: one battle per prompt (make_battles, every pair).
    assert "8 battles, 2 models" in out.read_text()


@pytest.mark.slow
def test_generate_notebook_asks_an_endpoint_shows_cost_and_failures(tmp_path):
    """Against the loopback OpenAI-protocol server: two priced models, one failing request."""
    prompts = datasets.write_table(
        pd.DataFrame({"prompt_id": ["p1", "p2", "p3"], "instruction": [
            "Write a Python program that prints the first 10 primes.",
            "Make an HTML page with a red button.",
            "Plot a sine wave with matplotlib. BREAK-BETA",
        ]}),
        tmp_path / "prompts.jsonl", "prompts",
    )  # fmt: skip

    def script(request):
        if request["model"] == "beta" and "BREAK-BETA" in last_user_text(request):
            return Reply(status=400)
        return Reply(
            text=f"```python\nprint({request['model']!r})\n```",
            prompt_tokens=100, completion_tokens=20,
        )  # fmt: skip

    with ScriptedOpenAIServer(script=script) as server:
        config = tmp_path / "models.yaml"
        config.write_text(
            f"base_url: {server.base_url}\napi_key_env: null\nmax_retries: 0\n"
            f"cache_dir: {tmp_path / 'cache'}\nmodels:\n"
            "  alpha: {price_in: 1.0, price_out: 2.0}\n  beta: {price_in: 3.0, price_out: 4.0}\n"
        )
        tables = execute(
            "00_generate.ipynb", tmp_path, model_config=str(config), prompts_path=str(prompts),
            responses_path=str(tmp_path / "responses.jsonl"),
            battles_path=str(tmp_path / "battles.jsonl"),
        )  # fmt: skip
        asked = len(server.requests)
    assert asked == 6
    usage = pd.read_csv(tables / "generation_usage.csv").set_index("model")
    assert usage.loc["alpha", "cost_usd"] == pytest.approx(3 * (100 * 1.0 + 20 * 2.0) / 1e6)
    assert usage.loc["beta", "failures"] == 1
    failures = pd.read_csv(tables / "generation_failures.csv")
    assert failures[["model", "prompt_id"]].values.tolist() == [["beta", "p3"]]
    assert "400" in failures.loc[0, "error"]
    made = read_inputs(
        responses_path=str(tmp_path / "responses.jsonl"),
        battles_path=str(tmp_path / "battles.jsonl"),
    )
    assert len(made.responses) == 5 and set(made.battles["prompt_id"]) == {"p1", "p2"}
    assert made.battles["category"].notna().all()
    output = (tmp_path / "00_generate.ipynb").read_text()
    assert "1 of 6 requests failed" in output and "Total: **$" in output
