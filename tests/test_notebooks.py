"""Every notebook is thin, parameterized, committed clean, and runs headless with papermill.

03_votes_by_category, 04_rankings and report run in tests/test_report.py (through the report
pipeline); 02_label in tests/test_labeling*.py. The others run here with small parameters.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arena_kit.report import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_a_parameters_cell(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


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
def test_execute_notebook_runs_real_answers(tmp_path):
    executions = tmp_path / "executions.parquet"
    tables = execute(
        "01_execute.ipynb", tmp_path, max_responses=8, wall_s=5, executions_path=str(executions)
    )
    outcomes = pd.read_csv(tables / "outcomes_by_model.csv")
    assert outcomes["total"].sum() == 8
    assert executions.exists()


@pytest.mark.slow
def test_judges_notebook_scores_the_heuristic_judge(tmp_path):
    # executions_path is what the report pipeline passes; the notebook must still link each
    # side to its run (else "with execution" silently equals "code only").
    tables = execute(
        "05_judges.ipynb", tmp_path, max_battles=12, wall_s=5, executions_path="unused.parquet"
    )
    summary = pd.read_csv(tables / "judge_summary.csv").set_index("mode")
    assert set(summary.index) == {"code_only", "with_execution"}
    assert (summary["n"] == 12).all() and summary["accuracy"].between(0, 1).all()
    # The heuristic judge decides some battles only when it sees the runs.
    assert pd.notna(summary.loc["with_execution", "first_shown_wins"])


@pytest.mark.slow
def test_autocodearena_notebook_ranks_against_the_baseline(tmp_path):
    tables = execute("06_autocodearena.ipynb", tmp_path, max_prompts=6, wall_s=5)
    board = pd.read_csv(tables / "autocodearena_leaderboard.csv").set_index("model")
    assert board.loc["gpt-4-0314", "win_rate"] == 0.5
    assert board.loc[["gpt-4-0613", "gpt-3.5-turbo-0125"], "n_prompts"].eq(6).all()
