"""Your own models, end to end, as the README's "Your own models" walks it: a plain answers file
→ read → pair → execute → scripted votes → fit by category → ``arena-kit report --judges`` →
an HTML report with the execution section, the category table and the judge table, readable by
others, checked in Chromium. Only documented calls; the answers are the bundled Arena-Hard
answers of two real models, renamed, so nothing here is bundled data the workbench knows.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arena_kit import datasets, execution
from arena_kit.battles import make_battles
from arena_kit.labeling import ArenaSession
from arena_kit.ratings import compare_slices

pytestmark = pytest.mark.slow

NEW_NAMES = {"gpt-4-0314": "acme-coder-2", "gpt-3.5-turbo-0125": "bolt-7b"}


def write_answers_file(path: Path) -> None:
    """10 prompts × 2 models, one JSON object per line: ``prompt, model, answer`` — no ids, no
    categories, no conversations: the plainest file a user may have."""
    battles = datasets.bundled_battles()
    sides = zip(battles["model_a"], battles["model_b"], strict=True)
    pair = [{a, b} == set(NEW_NAMES) for a, b in sides]
    # Every 16th prompt: Python, JavaScript, TypeScript, React and HTML answers, several
    # categories, some runs that fail (runtime errors, a missing package).
    prompt_ids = battles[pair].drop_duplicates("prompt_id")["prompt_id"].iloc[::16]
    prompts, responses = datasets.bundled_responses()
    instructions = dict(zip(prompts["prompt_id"], prompts["instruction"], strict=True))
    chosen = responses[responses["prompt_id"].isin(prompt_ids) & responses["model"].isin(NEW_NAMES)]
    with path.open("w", encoding="utf-8") as handle:
        for row in chosen.itertuples():
            record = {
                "prompt": instructions[row.prompt_id],
                "model": NEW_NAMES[row.model],
                "answer": row.messages[-1]["content"],
            }
            handle.write(json.dumps(record) + "\n")


def test_from_a_plain_answers_file_to_a_shared_report(tmp_path):
    folder = tmp_path
    answers = folder / "answers.jsonl"
    write_answers_file(answers)

    # README "Your own models", step by step.
    prompts, responses = datasets.read_answers(answers)
    battles = make_battles(responses, prompts)
    executions, responses = execution.execute_responses(responses, progress=False)
    tables = {"responses": responses, "executions": executions, "battles": battles}
    for table, frame in tables.items():
        datasets.write_table(frame, folder / f"{table}.parquet", table)
    assert len(prompts) == 10 and set(responses["model"]) == set(NEW_NAMES.values())
    assert len(battles) == 10 and battles["category"].notna().all()
    assert responses["execution_id"].isin(executions["execution_id"]).all()

    # The votes, cast through the session's own buttons and keys (docs/labeling.md): an
    # annotator who prefers the side whose code ran.
    session = ArenaSession(
        battles, responses, store=folder / "votes.sqlite", annotator="tester", repeat_share=0.0
    )
    try:
        while True:
            assert session.wait_shown(timeout=180), "a battle's code did not finish in 180 s"
            item = session.controller.current
            if item is None:
                break
            ran = {}
            for screen in ("A", "B"):
                run = item.main_run(screen)
                ran[screen] = run is not None and run.result().status == "ok"
            if ran["A"] != ran["B"]:
                session.click("A" if ran["A"] else "B")
            else:
                session.press("3")
            assert "Saved" in session.status.value, session.status.value
        votes = session.store.votes()
    finally:
        session.close()
    assert len(votes) == 10 and set(votes["battle_id"]) == set(battles["battle_id"])
    assert (votes["winner"] != "tie").any(), "some battles had one side run and not the other"

    by_category = compare_slices(votes, by="category", n_bootstrap=20)
    assert set(by_category["slice"]) == set(votes["category"])

    report = subprocess.run(
        [sys.executable, "-m", "arena_kit", "report", "--votes", "votes.sqlite",
         "--responses", "responses.parquet", "--executions", "executions.parquet",
         "--battles", "battles.parquet", "--judges", "--n-bootstrap", "20",
         "--out", "reports/mine"],
        cwd=folder, capture_output=True, text=True, timeout=900, umask=0o022,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr[-3000:]
    out = folder / "reports" / "mine"

    # Shareable: every file readable and every folder enterable by others.
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), f"{path}: {oct(mode)}"

    # The tables behind the sections come from these inputs, not from the bundled data.
    made = out / "tables"
    outcomes = pd.read_csv(made / "outcomes_by_model.csv")
    assert set(outcomes["model"]) == set(NEW_NAMES.values())
    assert outcomes["total"].sum() == 20
    judged = pd.read_csv(made / "judge_data.csv").iloc[0]
    assert judged["data"] == "your votes" and judged["battles"] == 10
    summary = pd.read_csv(made / "judge_summary.csv")
    assert set(summary["mode"]) == {"code_only", "with_execution"} and (summary["n"] == 10).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judges"] == "yours" and "01_execute.ipynb" not in manifest["notebooks"]

    shown = _open_in_chromium(out / "report.html", folder / "report.png")
    assert shown["remote"] == [] and len(shown["png"]) > 50_000
    text = shown["text"]
    for heading in ("Does the code run?", "By category", "Judges"):
        assert heading in shown["headings"], shown["headings"]
    assert "your votes" in text and "bolt-7b" in text and "acme-coder-2" in text
    assert "gpt-4-0314" not in text  # nothing of the bundled data leaks in
    headers = shown["table_headers"]
    assert any({"model", "ok", "total"} <= set(h) for h in headers), headers  # execution
    assert any({"category", "model", "rating", "thin"} <= set(h) for h in headers), headers
    assert any({"judge", "mode", "accuracy"} <= set(h) for h in headers), headers


def _open_in_chromium(html: Path, png: Path) -> dict:
    """The report as Chromium shows it, offline: headings, table headers, text, a screenshot
    (in the sandboxed test browser)."""
    from jupyter_harness import launch_test_browser, open_file_offline
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            remote = open_file_offline(page, html)
            shown = {
                "headings": [h.strip() for h in page.locator("h2").all_inner_texts()],
                "table_headers": page.eval_on_selector_all(
                    "table",
                    "tables => tables.map(t => [...t.querySelectorAll('th')]"
                    ".map(th => th.innerText.trim()))",
                ),
                "text": page.inner_text("body"),
                "png": page.screenshot(path=str(png), full_page=True),
                "remote": remote,
            }
        finally:
            cleanup()
    return shown
