"""End to end in a real browser: JupyterLab on loopback, notebooks/02_label.ipynb opened with
Playwright in the system Chromium (sandboxed: ``launch_test_browser``), one vote cast by
clicking and one by pressing ``1``, both found in the SQLite file."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_harness import free_port, launch_test_browser, running_jupyter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_label.ipynb"
CHROMIUM = "/usr/bin/chromium"
MODEL_NAMES = ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")  # the bundled battles'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed"),
]


def _votes(store: Path) -> list[tuple[str, str]]:
    if not store.exists():
        return []
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT event_id, json_extract(payload, '$.winner') FROM events WHERE kind = 'vote'"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _wait(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def jupyterlab(tmp_path):
    with serve_notebook(tmp_path) as server:
        yield server


@contextlib.contextmanager
def serve_notebook(tmp_path: Path):
    """A JupyterLab server on 127.0.0.1 serving a prepared copy of the notebook."""
    work = tmp_path / "work"
    work.mkdir()
    store = tmp_path / "votes.sqlite"
    subprocess.run(
        [
            sys.executable, "-m", "papermill", "--prepare-only", str(NOTEBOOK),
            str(work / "02_label.ipynb"), "-p", "store_path", str(store), "-k", "python3",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [
        str(jupyter), "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
        "--allow-root", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}", "--LabApp.news_url=None",
        "--ServerApp.open_browser=False",
    ]  # fmt: skip
    with running_jupyter(
        command, port=port, token=token, log_path=tmp_path / "jupyter.log", env=env, cwd=work
    ) as server:
        url = f"{server.url}lab/tree/02_label.ipynb?token={token}"
        yield {"url": url, "store": store, "port": port}


def test_vote_by_click_and_by_key_in_jupyterlab(jupyterlab, tmp_path):
    from playwright.sync_api import sync_playwright

    store = jupyterlab["store"]
    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [jupyterlab["port"]])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(jupyterlab["url"])
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            # Run every cell once the kernel is connected and idle.
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_text("Run All Cells", exact=True).click()

            news = page.get_by_role("button", name="No", exact=True)
            with contextlib.suppress(Exception):
                news.click(timeout=3_000)  # JupyterLab's "get notified about news?" toast

            # The annotator id is asked first.
            box = page.get_by_placeholder("your annotator id", exact=False)
            box.wait_for(timeout=120_000)
            box.fill("browser-annotator")
            page.locator(".arena-session").get_by_role("button", name="Start", exact=True).click()

            button_a = page.locator(".arena-session").get_by_role("button", name="A is better")
            _wait(lambda: button_a.is_visible() and button_a.is_enabled(), 120, "outputs")
            text = page.content().lower()
            for name in MODEL_NAMES:
                assert name not in text, f"{name} visible before the vote"
            page.screenshot(path=str(tmp_path / "session-before-vote.png"), full_page=False)
            shot = os.environ.get("ARENA_KIT_SCREENSHOT")
            if shot:
                page.locator(".arena-session").screenshot(path=shot)

            cells_before = page.locator(".jp-Notebook .jp-Cell").count()
            markdown_before = page.locator(".jp-Notebook .jp-MarkdownCell").count()
            button_a.click()
            votes = _wait(lambda: _votes(store), 30, "the clicked vote in the store")
            assert len(votes) == 1
            _wait(lambda: "Revealed" in page.locator(".arena-session").inner_text(), 30, "reveal")

            # Keys: focus the session (the key strip) and press 1.
            _wait(lambda: button_a.is_enabled(), 120, "the next battle's outputs")
            page.locator(".arena-keys").click()
            page.keyboard.press("1")
            votes = _wait(lambda: len(_votes(store)) == 2 and _votes(store), 30, "the key vote")
            assert len(votes) == 2
            # JupyterLab's own "1" (make the cell a heading) did not fire.
            assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
            assert page.locator(".jp-Notebook .jp-MarkdownCell").count() == markdown_before
            _wait(lambda: button_a.is_enabled(), 120, "the third battle")
            page.screenshot(path=str(tmp_path / "session-after-votes.png"), full_page=False)
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            cleanup()
    winners = {w for _, w in _votes(store)}
    assert winners <= {"model_a", "model_b"}
