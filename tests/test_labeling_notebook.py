"""notebooks/02_label.ipynb under papermill: no person present, it must not block."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_label.ipynb"


def test_the_notebook_is_committed_clean_with_a_parameters_cell():
    notebook = json.loads(NOTEBOOK.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("battles_path", "store_path", "annotator", "sampling"):
        assert f"{name} =" in source


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")
def test_the_notebook_runs_under_papermill_and_reports_the_store(tmp_path):
    from test_labeling_helpers import make_data

    battles, responses = make_data(2)
    battles.to_json(tmp_path / "battles.jsonl", orient="records", lines=True)
    responses.to_json(tmp_path / "responses.jsonl", orient="records", lines=True)
    store = tmp_path / "votes.sqlite"
    from arena_kit.store import VoteStore

    VoteStore(store).record_vote(
        {"battle_id": "b-1-01", "model_a": "x", "model_b": "y", "winner": "tie", "annotator": "z"}
    )
    output = tmp_path / "out.ipynb"
    completed = subprocess.run(
        [
            sys.executable, "-m", "papermill", str(NOTEBOOK), str(output),
            "-p", "battles_path", str(tmp_path / "battles.jsonl"),
            "-p", "responses_path", str(tmp_path / "responses.jsonl"),
            "-p", "store_path", str(store),
            "-p", "annotator", "papermill",
            "-p", "sampling", "active",
            "-k", "python3", "--cwd", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    notebook = json.loads(output.read_text())
    texts = "".join(
        "".join(o.get("text", "")) for c in notebook["cells"] for o in c.get("outputs", [])
    )
    assert "12 battles, 4 models" in texts
    assert "votes: 1" in texts and "schema_version: 1" in texts
    widgets = [
        o for c in notebook["cells"] for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]  # fmt: skip
    assert widgets, "the session widget was not displayed"
