"""The report pipeline as a user runs it: `arena-kit report`, then the HTML in a real browser."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arena_kit import report
from arena_kit.datasets import write_table
from arena_kit.errors import OutputExistsError
from arena_kit.simulate import simulate_votes
from arena_kit.web.browser import CHROMIUM_ARGS

pytestmark = pytest.mark.slow


def arena_kit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arena_kit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One report of 1,500 simulated votes, built twice with the same seed."""
    folder = tmp_path_factory.mktemp("report")
    votes = simulate_votes(1500, seed=4, n_models=6).votes
    votes_path = write_table(votes, folder / "votes.parquet", "votes")
    first = arena_kit(
        "report", "--votes", str(votes_path), "--out", "first", "--n-bootstrap", "20",
        cwd=folder,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    second = arena_kit(
        "report", "--votes", str(votes_path), "--out", "second", "--n-bootstrap", "20",
        cwd=folder,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    return folder


def test_report_folder_has_html_notebooks_tables_and_manifest(built):
    out = built / "first"
    assert (out / "report.html").stat().st_size > 10_000
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == sorted(
        report.ANALYSIS_NOTEBOOKS
    )
    tables = {p.stem for p in (out / "tables").iterdir()}
    assert {"leaderboard_all", "leaderboard_views", "votes_by_category", "position_bias"} <= tables
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_votes"] == 1500
    assert manifest["parameters"]["seed"] == 0 and manifest["parameters"]["n_bootstrap"] == 20
    assert len(next(iter(manifest["inputs"].values()))) == 64  # sha256 of the votes file
    assert manifest["versions"]["pandas"] == pd.__version__
    assert not list(built.glob(".*building*")), "no temporary folder may be left behind"


def test_same_inputs_and_seed_give_the_same_numbers(built):
    for table in ("leaderboard_all", "leaderboard_views", "position_bias"):
        first = pd.read_csv(built / "first" / "tables" / f"{table}.csv")
        second = pd.read_csv(built / "second" / "tables" / f"{table}.csv")
        pd.testing.assert_frame_equal(first, second)


def test_html_hides_code_and_says_the_votes_are_simulated(built):
    html = (built / "first" / "report.html").read_text()
    assert "SIMULATED" in html
    assert "fit_bradley_terry(" not in html  # code cells are hidden
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(charts) >= 3  # charts embedded as SVG images
    drawn = [base64.b64decode(c).decode() for c in charts]
    assert all("mark-" in svg and "<path" in svg for svg in drawn)  # not empty drawings
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html and "unpkg" not in html


def test_html_opens_offline_in_chromium(built, tmp_path):
    from playwright.sync_api import sync_playwright

    failed, remote = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def route(request_route):
            if request_route.request.url.startswith(("file:", "data:")):
                request_route.continue_()
            else:
                remote.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto((built / "first" / "report.html").as_uri(), wait_until="load")
        sizes = page.eval_on_selector_all(
            'img[src^="data:image/svg"]', "images => images.map(i => i.naturalWidth)"
        )
        n_tables = page.locator("table").count()
        leaderboard_text = page.inner_text("body")
        shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert remote == [] and failed == []
    assert len(sizes) >= 3 and min(sizes) > 100 and n_tables >= 2
    assert "sim-aurora" in leaderboard_text and "Caveats" in leaderboard_text
    assert len(shot) > 50_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--votes", "missing.jsonl"], "file not found"),
        (["--votes", "{bad}"], "missing required column(s) 'winner'"),
        (["--votes", "{good}", "--filter", "category=cooking"], "has no votes"),
        (["--votes", "{good}", "--filter", "colour=red"], "unknown column 'colour'"),
    ],
)
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path, args, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("model_a,model_b\nx,y\n")
    good = write_table(simulate_votes(50, seed=1).votes, tmp_path / "good.jsonl", "votes")
    args = [a.format(bad=bad, good=good) for a in args]
    result = arena_kit("report", *args, "--out", "out", cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.jsonl"]


def test_a_failing_notebook_names_its_cell_and_keeps_the_old_report(tmp_path, monkeypatch):
    votes = write_table(simulate_votes(300, seed=2).votes, tmp_path / "v.jsonl", "votes")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("the previous report")
    manifest = {"kind": report.REPORT_KIND, "files": ["manifest.json", "report.html"]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    broken = tmp_path / "notebooks"
    broken.mkdir()
    source = json.loads((report.NOTEBOOKS_DIR / "04_rankings.ipynb").read_text())
    source["cells"].append(
        {"cell_type": "code", "id": "boom", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "raise RuntimeError('boom in the last cell')"}
    )  # fmt: skip
    (broken / "04_rankings.ipynb").write_text(json.dumps(source))
    monkeypatch.setattr(report, "NOTEBOOKS_DIR", broken)
    with pytest.raises(report.ReportError, match=r"04_rankings.ipynb failed in cell .*boom"):
        report.run(votes, out, notebooks=["04_rankings.ipynb"], n_bootstrap=0, progress=False)
    assert (out / "report.html").read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_parameter_no_notebook_takes_is_an_error_and_writes_nothing(tmp_path):
    """Each notebook gets only the parameters it declares (no papermill warnings); a name
    none of them declares is a typo, said before anything runs."""
    votes = write_table(simulate_votes(50, seed=3).votes, tmp_path / "v.jsonl", "votes")
    with pytest.raises(report.ReportError, match=r"parameter\(s\) min_vote;.*min_votes"):
        report.run(votes, tmp_path / "out", parameters={"min_vote": 3}, progress=False)
    assert not (tmp_path / "out").exists()
    declared = report._declared_parameters(list(report.ANALYSIS_NOTEBOOKS))
    assert all("votes_path" in names for names in declared.values())
    assert "wall_s" not in declared["04_rankings.ipynb"]


# ---------------------------------------------------------------------------------------------
# --out never destroys what is not an earlier report


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_votes(tmp_path):
    return write_table(simulate_votes(60, seed=5).votes, tmp_path / "votes.jsonl", "votes")


def test_an_out_folder_that_is_not_a_report_is_kept_byte_for_byte(tmp_path, small_votes):
    out = tmp_path / "thesis"
    (out / "chapters").mkdir(parents=True)
    (out / "notes.txt").write_bytes(b"my notes\x00\xff")
    (out / "chapters" / "one.md").write_text("# One")
    (out / "manifest.json").write_text('{"name": "my own manifest"}')
    before = _tree(out)
    result = arena_kit("report", "--votes", str(small_votes), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "is not an arena-kit report" in result.stderr and "--force" in result.stderr
    assert "notes.txt" in result.stderr and "Traceback" not in result.stderr
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis", "votes.jsonl"]


def test_an_out_that_is_a_file_is_refused_even_with_force(tmp_path, small_votes):
    out = tmp_path / "report.html"
    out.write_text("someone's page")
    for extra in ([], ["--force"]):
        result = arena_kit(
            "report", "--votes", str(small_votes), "--out", str(out), *extra, cwd=tmp_path
        )
        assert result.returncode == 1 and "is a file, not a report folder" in result.stderr
        assert out.read_text() == "someone's page"


def test_force_never_replaces_the_folder_that_holds_the_inputs(tmp_path, small_votes):
    before = _tree(tmp_path)
    result = arena_kit(
        "report", "--votes", str(small_votes), "--out", str(tmp_path), "--force", cwd=tmp_path
    )
    assert result.returncode == 1 and "even with --force" in result.stderr, result.stderr
    assert _tree(tmp_path) == before


def test_an_earlier_report_is_replaced_and_force_replaces_any_folder(tmp_path, small_votes):
    def build(out, **options):
        return report.run(
            small_votes, out, notebooks=["report.ipynb"], n_bootstrap=0, progress=False,
            **options,
        )  # fmt: skip

    out = tmp_path / "out"
    build(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == report.REPORT_KIND
    assert set(manifest["files"]) == set(_tree(out))
    (out / "report.html").write_text("stale")
    build(out)  # an earlier report: replaced without --force
    assert (out / "report.html").read_text() != "stale"

    (out / "tables").mkdir(exist_ok=True)
    (out / "tables" / "mine.txt").write_text("a user's file inside a report")
    with pytest.raises(OutputExistsError, match=r"tables/mine.txt"):
        build(out)
    assert (out / "tables" / "mine.txt").read_text() == "a user's file inside a report"

    other = tmp_path / "other"
    other.mkdir()
    (other / "old.txt").write_text("replace me")
    with pytest.raises(OutputExistsError, match="not an arena-kit report"):
        build(other)
    build(other, force=True)
    assert "old.txt" not in _tree(other) and (other / "report.html").is_file()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_report_made_before_manifests_listed_files_is_still_a_report(tmp_path):
    out = tmp_path / "old"
    (out / "tables").mkdir(parents=True)
    keys = ("created", "inputs", "parameters", "notebooks", "seconds_per_notebook")
    manifest = {**{key: {} for key in keys}, "versions": {"arena-kit": "0.1.0"}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "report.html").write_text("old report")
    (out / "tables" / "leaderboard_all.csv").write_text("model\n")
    report.check_out(out)  # accepted: replaced by the next run
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="notes.txt"):
        report.check_out(out)
    del manifest["versions"]["arena-kit"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "notes.txt").unlink()
    with pytest.raises(OutputExistsError, match="not an arena-kit report"):
        report.check_out(out)


# ---------------------------------------------------------------------------------------------
# Your own data: the execution section, the categories, linked runs, modes, the judges


RENAMED = {"gpt-4-0314": "acme-coder", "gpt-3.5-turbo-0125": "bolt-7b"}


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """Eight battles of two renamed real models: votes, linked responses and their runs."""
    from arena_kit import datasets, execution

    folder = tmp_path_factory.mktemp("own")
    battles = datasets.bundled_battles()
    battles = battles[battles["model_a"].isin(RENAMED) & battles["model_b"].isin(RENAMED)].head(8)
    used = set(battles["response_a"]) | set(battles["response_b"])
    responses = datasets.battle_responses()
    responses = responses[responses["response_id"].isin(used)].assign(
        model=lambda r: r["model"].map(RENAMED)
    )
    executions, linked = execution.execute_responses(responses, progress=False)
    votes = battles[["battle_id", "prompt_id", "category", "model_a", "model_b"]].assign(
        model_a=battles["model_a"].map(RENAMED), model_b=battles["model_b"].map(RENAMED),
        winner=["model_a", "model_b", "tie", "model_a"] * 2, annotator="me", source="mine",
    )  # fmt: skip
    tables = {
        "votes": (votes, "votes"),
        "responses": (linked, "responses"),
        "unlinked": (responses, "responses"),
        "executions": (executions, "executions"),
    }
    return {
        name: write_table(frame, folder / f"{name}.parquet", table)
        for name, (frame, table) in tables.items()
    }


def test_given_executions_make_the_execution_and_category_sections(tmp_path, own):
    """--executions used to remove "Does the code run?" (only 01_execute wrote its table)."""
    html = report.run(
        own["votes"], tmp_path / "out", responses=own["responses"],
        executions=own["executions"], n_bootstrap=10, progress=False,
    )  # fmt: skip
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "01_execute.ipynb" not in manifest["notebooks"]
    outcomes = pd.read_csv(tmp_path / "out" / "tables" / "outcomes_by_model.csv")
    assert set(outcomes["model"]) == set(RENAMED.values()) and outcomes["total"].sum() == 16
    text = html.read_text()
    execution_part = text[text.index("Does the code run?") : text.index("By category")]
    assert "acme-coder" in execution_part and "data:image/svg+xml" in execution_part
    category_part = text[text.index("By category") : text.index("Do the views agree?")]
    assert "data:image/svg+xml" in category_part  # the chart, in report.html itself
    votes = pd.read_parquet(own["votes"])
    for category in votes["category"].unique():
        assert category in category_part  # a table row per category
    assert ">thin<" in category_part  # 8 votes: every slice is too thin for an interval


def test_responses_that_do_not_name_their_runs_stop_the_report(tmp_path, own):
    with pytest.raises(report.ReportError, match="none of the 16 responses links to a run"):
        report.run(
            own["votes"], tmp_path / "out", responses=own["unlinked"],
            executions=own["executions"], notebooks=["report.ipynb"], n_bootstrap=0,
            progress=False,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executions", "{executions}"], "executions given without the responses"),
        (["--judges"], "--judges bundled"),
    ],
)
def test_inputs_a_step_cannot_use_are_refused_before_any_work(tmp_path, own, args, message):
    args = [a.format(executions=own["executions"]) for a in args]
    result = arena_kit("report", "--votes", str(own["votes"]), *args, "--out", "out", cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"),
    [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)],
    ids=["umask-022", "umask-027"],
)
def test_the_report_gets_your_umask(tmp_path, small_votes, umask, file_mode, folder_mode):
    """It used to be 0600 files in a 0700 folder whatever the umask: unreadable to others."""
    import os
    import stat

    out = tmp_path / "out"
    before = os.umask(umask)
    try:
        report.run(small_votes, out, notebooks=["report.ipynb"], n_bootstrap=0, progress=False)
        report.run(small_votes, out, notebooks=["report.ipynb"], n_bootstrap=0, progress=False)
    finally:
        os.umask(before)
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [out, *out.rglob("*")]
    }
    assert {"out/report.html", "out/inputs/votes.parquet", "out/manifest.json"} <= set(modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (folder_mode if (tmp_path / name).is_dir() else file_mode)
    }
    assert wrong == {}


def test_judges_bundled_is_the_demo_on_the_bundled_battles(tmp_path, small_votes):
    html = report.run(
        small_votes, tmp_path / "out", judges="bundled", n_bootstrap=10, progress=False,
        parameters={"max_battles": 6, "max_prompts": 3, "wall_s": 5},
    )  # fmt: skip
    judged = pd.read_csv(tmp_path / "out" / "tables" / "judge_data.csv").iloc[0]
    assert judged["data"] == "the bundled real battles and their SIMULATED votes"
    assert judged["battles"] == 6
    assert "the bundled real battles and their SIMULATED votes" in html.read_text()
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["judges"] == "bundled"
