"""The `arena-kit` command as a user runs it: version, help, notebooks, setup, demo without data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import arena_kit
from arena_kit import machine_setup
from arena_kit.resources import package_path


def arena_kit_command(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arena_kit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


def test_version_is_the_package_version(tmp_path):
    from importlib.metadata import version

    result = arena_kit_command("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"arena-kit {arena_kit.__version__}"
    assert version("arena-kit") == arena_kit.__version__  # pyproject reads the same attribute


def test_help_lists_the_commands(tmp_path):
    result = arena_kit_command("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "report", "setup", "notebooks"):
        assert f"\n    {command}" in result.stdout, command
    missing = arena_kit_command(cwd=tmp_path)
    assert missing.returncode == 2 and "COMMAND" in missing.stderr


def test_notebooks_are_copied_and_never_overwritten(tmp_path):
    result = arena_kit_command("notebooks", "mine", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shipped = sorted(p.name for p in package_path("notebooks").glob("*.ipynb"))
    assert "02_label.ipynb" in shipped
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == shipped
    copy = tmp_path / "mine" / "02_label.ipynb"
    assert copy.read_bytes() == (package_path("notebooks") / "02_label.ipynb").read_bytes()
    copy.write_text("my edits")
    again = arena_kit_command("notebooks", "mine", cwd=tmp_path)
    assert again.returncode == 1 and "already holds" in again.stderr
    assert copy.read_text() == "my edits"


def test_the_package_resources_are_the_repository_files():
    """One copy of each: the package's links lead to the repository's own folders."""
    root = Path(arena_kit.__file__).resolve().parent.parent
    assert package_path("notebooks") == root / "notebooks"
    assert package_path("scripts") == root / "scripts"
    assert package_path("autocodearena-v0", "prompts.jsonl") == (
        root / "data" / "autocodearena-v0" / "prompts.jsonl"
    )


def test_demo_without_the_data_says_where_to_get_it(tmp_path):
    result = arena_kit_command("demo", cwd=tmp_path, ARENA_KIT_DATA=str(tmp_path / "absent"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not installed with the package" in result.stderr
    assert "clone the arena-kit repository" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_setup_on_a_prepared_machine_says_ready(tmp_path):
    """`make test` prepared this machine: the packaged scripts find their stamps at once."""
    result = arena_kit_command("setup", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "arena-kit setup: ready" in result.stdout


def test_the_jupyter_extension_check_reads_the_config(tmp_path):
    user, environment = tmp_path / "user", tmp_path / "env"
    (environment / "jupyter_server_config.d").mkdir(parents=True)
    folders = [user, environment]
    assert machine_setup.jupyter_extension_enabled(folders) is None
    config = environment / "jupyter_server_config.d" / "arena_kit.json"
    enabled = {"ServerApp": {"jpserver_extensions": {machine_setup.JUPYTER_EXTENSION: True}}}
    config.write_text(json.dumps(enabled))
    assert machine_setup.jupyter_extension_enabled(folders) == config
    enabled["ServerApp"]["jpserver_extensions"][machine_setup.JUPYTER_EXTENSION] = False
    config.write_text(json.dumps(enabled))
    assert machine_setup.jupyter_extension_enabled(folders) is None
    config.write_text("{not json")
    assert machine_setup.jupyter_extension_enabled(folders) is None
    # The project's own config, as `make` puts it into the venv (and a wheel installs it).
    shipped = Path(arena_kit.__file__).resolve().parent.parent / "jupyter-config"
    assert machine_setup.jupyter_extension_enabled([shipped]) == (
        shipped / "jupyter_server_config.d" / "arena_kit.json"
    )
