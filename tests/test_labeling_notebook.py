"""notebooks/02_label.ipynb under papermill (no person present, it must not block), as
committed (opening it in JupyterLab changes nothing), and in JupyterLab itself."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_label.ipynb"
CHROMIUM = "/usr/bin/chromium"
# The notebooks whose committed metadata is the one JupyterLab writes (see the test below).
AS_JUPYTERLAB_WRITES = ["02_label.ipynb", "03_votes_by_category.ipynb", "04_rankings.ipynb",
                        "05_judges.ipynb", "report.ipynb"]  # fmt: skip


def test_the_notebook_is_committed_clean_with_a_parameters_cell():
    notebook = json.loads(NOTEBOOK.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("battles_path", "store_path", "annotator", "sampling"):
        assert f"{name} =" in source


@pytest.mark.parametrize("name", AS_JUPYTERLAB_WRITES)
def test_opening_the_notebook_in_jupyterlab_changes_nothing(name):
    """JupyterLab marks a notebook modified when the kernel's kernelspec or language_info
    differs from the file's (it writes them into the notebook on connecting), and saving
    then rewrites the committed file. So the file holds exactly what the kernel reports, in
    nbformat's own layout, with cell ids and no widget state."""
    import nbformat
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    path = ROOT / "notebooks" / name
    text = path.read_text()
    notebook = nbformat.reads(text, as_version=4)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert notebook.metadata["kernelspec"] == {
        "display_name": spec.display_name, "language": spec.language, "name": "python3"
    }  # fmt: skip
    info = dict(notebook.metadata["language_info"])
    kernel = dict(IPythonKernel.language_info)
    # The Python version is the one field that depends on the machine: where it differs from
    # the committed one, JupyterLab updates it (and marks the notebook modified) on opening.
    assert info.pop("version").count(".") == 2 and kernel.pop("version")
    assert info == kernel
    assert set(notebook.metadata) == {"kernelspec", "language_info"}  # no "widgets" state
    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in notebook.cells)  # else JupyterLab adds them
    assert text == nbformat.writes(notebook) + "\n"  # the bytes Jupyter's save would write


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium")
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")
def test_jupyterlab_opens_and_saves_the_notebook_without_a_change(tmp_path):
    """In a real JupyterLab: once the kernel is idle the tab shows no "modified" dot, and
    saving writes back the committed bytes (so git sees no change)."""
    import time

    from jupyter_harness import launch_test_browser, running_lab
    from playwright.sync_api import sync_playwright

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    with running_lab(work, tmp_path) as server, sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [server.port])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.url}lab/tree/{NOTEBOOK.name}?token={server.token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.get_by_text("| Idle").first.wait_for(timeout=60_000)
            time.sleep(3)  # the kernel's info has arrived; metadata updates are applied
            tab = page.locator(".lm-TabBar-tab", has_text=NOTEBOOK.name).first
            assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")
            assert page.locator(".lm-TabBar-tab.jp-mod-dirty").count() == 0
            page.screenshot(path=str(tmp_path / "opened.png"))
            saved = (work / NOTEBOOK.name).stat().st_mtime_ns
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while (work / NOTEBOOK.name).stat().st_mtime_ns == saved:
                assert time.monotonic() < deadline, "JupyterLab did not save"
                time.sleep(0.2)
        finally:
            cleanup()
    assert (work / NOTEBOOK.name).read_bytes() == NOTEBOOK.read_bytes()


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
    shown = "".join(
        "".join(o.get("data", {}).get(kind, ""))
        for c in notebook["cells"] for o in c.get("outputs", [])
        for kind in ("text/html", "text/markdown")
    )  # fmt: skip
    # The store's state is a table per annotator, times as dates (not "1.79e+09" seconds).
    assert "<b>1 vote</b> on 1 battle" in shown and "median s per vote" in shown
    assert ">z</td><td>1</td>" in shown and "e+09" not in shown
    assert "No battle was judged more than once" in shown
    # The last cell gives the exact commands that analyse this store: they run as shown.
    commands = shown.split("```bash\n")[1].split("\n```")[0].splitlines()
    assert all(str(store) in command for command in commands)
    for command in commands[:2]:  # 03_votes_by_category, 04_rankings
        analysed = subprocess.run(
            shlex.split(command), cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert analysed.returncode == 0, analysed.stderr[-3000:]
    ranked = json.loads((tmp_path / "votes-04.ipynb").read_text())
    assert "1 vote** (1 from unknown)" in json.dumps(ranked)
    widgets = [
        o for c in notebook["cells"] for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]  # fmt: skip
    assert widgets, "the session widget was not displayed"
