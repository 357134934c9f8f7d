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


def _plain(html: str) -> str:
    """The text of an HTML fragment, tags replaced by spaces and spaces collapsed."""
    import html as html_lib

    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([:;,.)])", r"\1", text)


def _section(html: str, heading: str) -> int:
    """Where the report's section ``heading`` starts (its h2; the banner names it too)."""
    return html.index(f'<h2 id="{heading.replace(" ", "-")}"')


def report_statuses() -> tuple[str, ...]:
    from arena_kit.schema import STATUSES

    return STATUSES


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_same_inputs_and_seed_give_the_same_numbers(built):
    for table in ("leaderboard_all", "leaderboard_views", "position_bias"):
        first = pd.read_csv(built / "first" / "tables" / f"{table}.csv")
        second = pd.read_csv(built / "second" / "tables" / f"{table}.csv")
        pd.testing.assert_frame_equal(first, second)


@pytest.mark.slow
def test_html_hides_code_and_says_the_votes_are_simulated(built):
    html = (built / "first" / "report.html").read_text()
    assert "SIMULATED" in html
    assert "fit_bradley_terry(" not in html  # code cells are hidden
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(charts) >= 3  # charts embedded as SVG images
    drawn = [base64.b64decode(c).decode() for c in charts]
    assert all("mark-" in svg and "<path" in svg for svg in drawn)  # not empty drawings
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html and "unpkg" not in html


@pytest.mark.slow
def test_html_opens_offline_in_chromium(built, tmp_path):
    from jupyter_harness import launch_test_browser, open_file_offline
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    with sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("requestfailed", lambda request: failed.append(request.url))
            remote = open_file_offline(page, built / "first" / "report.html")
            sizes = page.eval_on_selector_all(
                'img[src^="data:image/svg"]', "images => images.map(i => i.naturalWidth)"
            )
            n_tables = page.locator("table").count()
            leaderboard_text = page.inner_text("body")
            shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            cleanup()
    assert remote == [] and failed == []
    assert len(sizes) >= 3 and min(sizes) > 100 and n_tables >= 2
    assert "sim-aurora" in leaderboard_text and "Caveats" in leaderboard_text
    assert len(shot) > 50_000
    # Nothing a person cannot read: no "nan %", no raw underscores in category names.
    assert "nan" not in leaderboard_text.lower().split()
    assert "web_design" not in leaderboard_text and "web design" in leaderboard_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--votes", "missing.jsonl"], "file not found"),
        (["--votes", "{bad}"], "column(s) 'winner'"),
        (["--votes", "{good}", "--filter", "category=cooking"], "has no votes"),
        (["--votes", "{good}", "--filter", "colour=red"], "unknown column 'colour'"),
    ],
)
@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_out_that_is_a_file_is_refused_even_with_force(tmp_path, small_votes):
    out = tmp_path / "report.html"
    out.write_text("someone's page")
    for extra in ([], ["--force"]):
        result = arena_kit(
            "report", "--votes", str(small_votes), "--out", str(out), *extra, cwd=tmp_path
        )
        assert result.returncode == 1 and "is a file, not a report folder" in result.stderr
        assert out.read_text() == "someone's page"


@pytest.mark.slow
def test_force_never_replaces_the_folder_that_holds_the_inputs(tmp_path, small_votes):
    before = _tree(tmp_path)
    result = arena_kit(
        "report", "--votes", str(small_votes), "--out", str(tmp_path), "--force", cwd=tmp_path
    )
    assert result.returncode == 1 and "even with --force" in result.stderr, result.stderr
    assert _tree(tmp_path) == before


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    execution_part = text[_section(text, "Does the code run?") : _section(text, "By category")]
    assert "acme-coder" in execution_part and "data:image/svg+xml" in execution_part
    category_part = text[_section(text, "By category") : _section(text, "Do the views agree?")]
    assert "data:image/svg+xml" in category_part  # the chart, in report.html itself
    votes = pd.read_parquet(own["votes"])
    for category in votes["category"].unique():
        assert category.replace("_", " ") in category_part  # a panel and column per category
    assert ">thin<" in category_part  # 8 votes: every slice is too thin for an interval
    # The outcome table's columns run in the chart's status order, "no code" last.
    shown = _plain(execution_part[execution_part.index("<table") :])
    statuses = [s for s in (*report_statuses(), "no code") if s in outcomes.columns]
    headers = [s.replace("_", " ") for s in statuses]
    positions = [shown.index(f" {h} ") for h in headers]
    assert positions == sorted(positions), headers
    # The banner says which sections rest on what.
    top = _plain(text[: _section(text, "The data")])
    assert "Does the code run?: real answers, run in the sandbox (16 runs)" in top
    assert "SIMULATED" not in top


@pytest.mark.slow
def test_responses_that_do_not_name_their_runs_stop_the_report(tmp_path, own):
    with pytest.raises(report.ReportError, match="none of the 16 responses .*links to a run"):
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
@pytest.mark.slow
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
@pytest.mark.slow
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


@pytest.mark.slow
def test_judges_bundled_is_the_demo_on_the_bundled_battles(tmp_path, small_votes):
    html = report.run(
        small_votes, tmp_path / "out", judges="bundled", n_bootstrap=10, progress=False,
        parameters={"max_battles": 6, "max_prompts": 3, "wall_s": 5},
    )  # fmt: skip
    judged = pd.read_csv(tmp_path / "out" / "tables" / "judge_data.csv").iloc[0]
    assert judged["data"] == "the bundled real battles and their SIMULATED votes"
    assert judged["battles"] == 6
    text = html.read_text()
    assert "the bundled real battles and their SIMULATED votes" in text
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["judges"] == "bundled"
    # The banner names the sections: the judges' on real answers against simulated votes.
    top = _plain(text[: _section(text, "The data")])
    assert "Judges: real answers, judged and scored against SIMULATED votes" in top
    assert "AutoCodeArena: real answers played against a baseline and judged; no votes" in top
    # Judge tables read like the others: named metrics, percentages; the baseline says so.
    judges_part = _plain(text[_section(text, "Judges") : _section(text, "Method")])
    assert "macro-F1" in judges_part and "Cohen's κ" in judges_part
    assert re.search(r" \d+\.\d% ", judges_part)  # accuracy as a percentage
    baseline = judges_part[judges_part.index("gpt-4-0314") :].split("gpt-3.5")[0]
    assert "baseline" in baseline and "50.0%" not in baseline


# ---------------------------------------------------------------------------------------------
# How tables and banners read (fast: no notebook runs)


def _cells(styler) -> list[dict[str, str]]:
    """The rows of a shown table as the reader sees them (header → text)."""
    return styler.data.to_dict("records")


def test_show_table_reads_like_the_rest_of_the_report():
    board = pd.DataFrame(
        {"category": ["web_design", "diagram_creation"], "model": ["m_1", "m_2"],
         "rating": [1138.4, 990.2], "ci_low": [1117.0, float("nan")],
         "ci_high": [1160.2, float("nan")], "rank": [1, 2], "n_votes": [2169, 8],
         "win_rate": [0.6966, 0.25], "n_decisive": [300, 3], "thin": [False, True],
         "kappa": [0.41234, -0.067], "p_value": [4.2e-42, 0.48]}
    )  # fmt: skip
    styler = report.show_table(board)
    rows = _cells(styler)
    assert list(rows[0]) == [
        "category", "model", "rating", "interval", "rank", "votes", "win rate",
        "decisive votes", "thin", "Cohen's κ", "p-value",
    ]  # fmt: skip
    assert rows[0] == {
        "category": "web design", "model": "m_1", "rating": "1138", "interval": "1117 – 1160",
        "rank": "1", "votes": "2,169", "win rate": "69.7%", "decisive votes": "300",
        "thin": "", "Cohen's κ": "0.412", "p-value": "4.2e-42",
    }  # fmt: skip
    # A thin row has no interval; a model's name keeps its underscores.
    assert rows[1]["interval"] == "—" and rows[1]["thin"] == "thin" and rows[1]["model"] == "m_2"
    html = styler.to_html()
    assert "<th" in html and "row_heading" not in html  # no row numbers
    assert "white-space: nowrap" in html and "text-align: left" in html


def test_show_table_counts_read_back_from_a_csv_stay_integers():
    # AutoCodeArena's leaderboard from its CSV: counts are floats beside the baseline's blanks.
    board = pd.DataFrame(
        {"model": ["a", "base"], "n_prompts": [4.0, None], "wins": [3.0, None],
         "win_rate": [0.625, 0.5], "win_rate_low": [0.4, 0.5], "win_rate_high": [0.9, 0.5]}
    )  # fmt: skip
    rows = _cells(report.show_table(board))
    assert rows[0] == {"model": "a", "prompts": "4", "wins": "3", "win rate": "62.5%",
                       "win rate interval": "40.0% – 90.0%"}  # fmt: skip
    assert rows[1]["prompts"] == "—"
    baseline = _cells(report.show_against_baseline(board))[1]
    assert baseline["win rate"] == "baseline" and baseline["win rate interval"] == "—"
    assert _cells(report.show_against_baseline(board))[0]["win rate"] == "62.5%"


def test_show_table_names_judge_metrics_and_modes():
    lift = pd.DataFrame(
        {"judge": ["heuristic"], "mode": ["code_only"], "metric": ["macro_f1"],
         "consistency_3class": [1.0], "first_shown_wins": [float("nan")]}
    )  # fmt: skip
    (row,) = _cells(report.show_table(lift))
    assert row == {"judge": "heuristic", "mode": "code only", "metric": "macro-F1",
                   "consistency (3 classes)": "100.0%", "first shown wins": "—"}  # fmt: skip


def test_show_table_shows_time_stamps_as_dates():
    votes = pd.DataFrame({"tstamp": [1_790_000_000.0], "winner": ["tie"]})
    (row,) = _cells(report.show_table(votes))
    assert row == {"time (UTC)": "2026-09-21 14:13", "winner": "tie"}  # 1790000000 s, UTC


def test_show_ranks_marks_thin_rows_and_slices_and_missing_ranks():
    long = pd.DataFrame(
        [("web_design", 300, "x", 2, False), ("web_design", 300, "y", 1, False),
         ("web_design", 300, "z", 3, False), ("diagram_creation", 12, "x", 1, True),
         ("diagram_creation", 12, "y", 2, False)],
        columns=["slice", "n_votes", "model", "rank", "thin"],
    ).assign(by="category")  # fmt: skip
    styler = report.show_ranks(long, order=["y", "x", "z"], min_votes=50)
    rows = _cells(styler)
    assert rows == [
        {"model": "y", "web design": "1", "diagram creation": "2"},
        {"model": "x", "web design": "2", "diagram creation": "(1)"},  # thin row
        {"model": "z", "web design": "3", "diagram creation": "—"},  # no vote there
    ]
    # The thin slice's column is grey, the full slice's is not.
    html = styler.to_html()
    (selectors,) = re.findall(r"([^{}]+)\{\s*color: #9e9e9e;", html)
    grey = re.findall(r"_row(\d)_col(\d)", selectors)
    assert sorted(grey) == [("0", "2"), ("1", "2"), ("2", "2")]


def test_show_ranks_of_views_move_against_all_votes():
    long = pd.DataFrame(
        [("all", 10, "x", 1), ("all", 10, "y", 2), ("env_matched", 6, "x", 2),
         ("env_matched", 6, "y", 1)],
        columns=["slice", "n_votes", "model", "rank"],
    ).assign(by="view")  # fmt: skip
    rows = _cells(report.show_ranks(long, order=["x", "y"], base="all"))
    assert rows == [
        {"model": "x", "all": "1", "env matched": "2", "Δ env matched": "-1"},
        {"model": "y", "all": "2", "env matched": "1", "Δ env matched": "+1"},
    ]


def test_fold_keeps_detail_one_click_away():
    html = report.fold(report.show_table(pd.DataFrame({"a": [1]})), "All <rows>").data
    assert html.startswith("<details><summary>All &lt;rows&gt;</summary><style")
    assert report.fold("<p>x</p>", "s", unfolded=True).data.startswith("<details open>")


def test_the_banner_says_which_sections_are_simulated_and_which_are_real():
    simulated = simulate_votes(30, seed=1, n_models=3).votes
    assert report.data_banner(simulated).startswith("> ⚠️ **SIMULATED DATA** — 100%")
    assert "*Judges*" not in report.data_banner(simulated)  # no section named: votes only
    text = report.data_banner(
        simulated, runs=12, judged="the bundled real battles and their SIMULATED votes",
        autocodearena=True,
    )  # fmt: skip
    assert "the 30 votes — **SIMULATED**" in text
    assert "*Does the code run?*: real answers, run in the sandbox (12 runs)" in text
    assert "*Judges*: real answers, judged and scored against **SIMULATED** votes" in text
    assert "*AutoCodeArena*: real answers" in text
    yours = simulated.assign(source="mine")
    text = report.data_banner(yours, runs=3, judged="your votes")
    assert "SIMULATED" not in text and "the 30 votes — not simulated" in text
    assert "scored against votes that are not simulated" in text
    # Real votes, judges on the bundled demo: the judges' section is still called simulated.
    text = report.data_banner(yours, judged="the bundled real battles and their SIMULATED votes")
    assert text.startswith("> ⚠️ **SIMULATED DATA** — the judges are scored against simulated")


def test_analysis_commands_name_the_store_and_run_from_anywhere(tmp_path):
    import shlex

    text = report.analysis_commands(tmp_path / "my votes.sqlite")
    store = str((tmp_path / "my votes.sqlite").resolve())
    assert f"votes_path = {store!r}" in text
    commands = text.split("```bash\n")[1].split("\n```")[0].splitlines()
    assert len(commands) == 3
    for command in commands:
        words = shlex.split(command)
        assert Path(words[0]).is_absolute() and Path(words[0]).exists(), words[0]
        assert store in words  # quoted: the space stays inside one word
    assert shlex.split(commands[0])[1] == str(report.NOTEBOOKS_DIR / "03_votes_by_category.ipynb")


def test_table_writer_reads_back_what_an_earlier_notebook_saved(tmp_path):
    save = report.TableWriter(tmp_path / "tables")
    assert save.read("judge_data") is None
    save(pd.DataFrame({"data": ["your votes"], "battles": [3]}), "judge_data")
    assert save.read("judge_data").to_dict("records") == [{"data": "your votes", "battles": 3}]
    assert report.TableWriter("").read("judge_data") is None
