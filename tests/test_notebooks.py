"""Every notebook is thin, parameterized, committed clean, and runs headless with papermill.

03_votes_by_category, 04_rankings and report run in tests/test_report.py (through the report
pipeline); 02_label in tests/test_labeling*.py. The others run here with small parameters.

"Committed without outputs" is the rule for ``notebooks/``. The tutorials in ``docs/tutorials``
are the one documented exception (README, "Notebooks and reports"): they are committed *with*
their outputs, which ``make test`` re-runs and compares with nbval.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arena_kit.report import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
# The exception: docs/tutorials is committed with outputs (nbval compares them in `make test`).
TUTORIALS_DIR = NOTEBOOKS_DIR.parent / "docs" / "tutorials"
TUTORIALS = sorted(TUTORIALS_DIR.glob("*.ipynb"))


def test_the_no_outputs_rule_covers_every_notebook_in_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"
    assert {p.name for p in NOTEBOOKS} >= {"01_execute.ipynb", "report.ipynb"}
    assert not set(NOTEBOOKS) & set(TUTORIALS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_a_parameters_cell(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorials_are_the_exception_committed_with_outputs(path):
    """Executed top to bottom in one kernel, with outputs GitHub can show and nbval compares."""
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    fix = "re-execute it (README, 'Notebooks and reports')"
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1)), fix
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert outputs, fix
    assert not [o for o in outputs if o["output_type"] == "error"], "a tutorial cell failed"
    kinds = {k for o in outputs for k in o.get("data", {})}
    # A widget shows nothing on GitHub and nbval cannot compare it (its ids are random).
    assert "application/vnd.jupyter.widget-view+json" not in kinds


def execute(name, tmp_path, **parameters):
    import papermill as pm

    tables = tmp_path / "tables"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / name),
        str(tmp_path / name),
        parameters={"tables_dir": str(tables), "n_bootstrap": 20, **parameters},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS_DIR),
    )
    return tables


@pytest.mark.slow
def test_execute_notebook_runs_real_answers_and_links_them(tmp_path):
    from arena_kit.report import read_inputs

    executions = tmp_path / "executions.parquet"
    linked = tmp_path / "linked.parquet"
    tables = execute(
        "01_execute.ipynb", tmp_path, max_responses=8, wall_s=5,
        executions_path=str(executions), linked_responses_path=str(linked),
    )  # fmt: skip
    outcomes = pd.read_csv(tables / "outcomes_by_model.csv")
    assert outcomes["total"].sum() == 8
    # The responses come back naming their runs: what every later step reads.
    written = read_inputs(executions_path=str(executions), responses_path=str(linked))
    assert len(written.responses) == 8
    assert written.responses["execution_id"].isin(written.executions["execution_id"]).all()


@pytest.mark.slow
def test_judges_notebook_scores_the_heuristic_judge_on_the_bundled_battles(tmp_path):
    # Given no data, the bundled battles and their simulated votes (said so in judge_data);
    # given yours, yours only: tests/test_notebooks_own_data.py.
    tables = execute("05_judges.ipynb", tmp_path, max_battles=12, wall_s=5)
    summary = pd.read_csv(tables / "judge_summary.csv").set_index("mode")
    assert set(summary.index) == {"code_only", "with_execution"}
    assert (summary["n"] == 12).all() and summary["accuracy"].between(0, 1).all()
    # The heuristic judge decides some battles only when it sees the runs.
    assert pd.notna(summary.loc["with_execution", "first_shown_wins"])
    judged = pd.read_csv(tables / "judge_data.csv").iloc[0]
    assert "SIMULATED" in judged["data"] and judged["battles"] == 12


@pytest.mark.slow
def test_autocodearena_notebook_ranks_against_the_baseline(tmp_path):
    tables = execute("06_autocodearena.ipynb", tmp_path, max_prompts=6, wall_s=5)
    board = pd.read_csv(tables / "autocodearena_leaderboard.csv").set_index("model")
    assert board.loc["gpt-4-0314", "win_rate"] == 0.5
    assert board.loc[["gpt-4-0613", "gpt-3.5-turbo-0125"], "n_prompts"].eq(6).all()


def _fresh_store(path):
    """A store as a short labeling session leaves it: three models, a few votes by two
    annotators (one battle judged twice), a skip and an undo."""
    from arena_kit.store import VoteStore

    store = VoteStore(path)
    rows = [
        ("b1", "web_design", "m-a", "m-b", "model_a", "html", "react", "ann"),
        ("b2", "web_design", "m-b", "m-c", "tie", "html", "html", "ann"),
        ("b3", "game_development", "m-a", "m-c", "model_a", "pygame", "pygame", "ann"),
        ("b4", "problem_solving", "m-c", "m-b", "both_bad", "python", "python", "ann"),
        ("b1", "web_design", "m-a", "m-b", "model_b", "html", "react", "bob"),
        ("b5", "problem_solving", "m-b", "m-a", "model_b", "cpp", "python", "bob"),
    ]
    for i, (battle, category, a, b, winner, env_a, env_b, who) in enumerate(rows):
        language = {"html": "html", "react": "javascript", "pygame": "python"}
        store.record_vote({
            "battle_id": battle, "category": category, "model_a": a, "model_b": b,
            "winner": winner, "env_a": env_a, "env_b": env_b,
            "lang_a": language.get(env_a, env_a), "lang_b": language.get(env_b, env_b),
            "annotator": who, "swapped": bool(i % 2), "duration_s": 20.0 + i, "turns": 1,
        })  # fmt: skip
    store.record_skip("b6", "bob")
    store.record_vote({"battle_id": "b7", "model_a": "m-a", "model_b": "m-c",
                       "winner": "tie", "annotator": "bob"})  # fmt: skip
    store.undo_last("bob")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["03_votes_by_category.ipynb", "04_rankings.ipynb", "report.ipynb"]
)
def test_analysis_notebooks_read_a_fresh_vote_store(tmp_path, name):
    """What 02_label's last cell offers: the store itself as votes_path, a handful of votes."""
    store = _fresh_store(tmp_path / "votes.sqlite")
    tables = execute(name, tmp_path, votes_path=str(store))
    assert any(tables.iterdir())
    notebook = json.loads((tmp_path / name).read_text())
    outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    shown = json.dumps([o.get("data", {}) for o in outputs] + [o.get("text") for o in outputs])
    assert "**6 votes** (6 from unknown)" in shown  # the undone vote is not counted
    # Nothing a reader cannot read: no "nan %", no seconds since 1970, no row numbers (nor
    # the stray "winner" header above them), no underscores in category names in tables.
    assert "nan%" not in shown and "nan %" not in shown and "e+09" not in shown
    assert "row_heading" not in shown and "index_name" not in shown  # no row numbers
    assert ">web_design<" not in shown
