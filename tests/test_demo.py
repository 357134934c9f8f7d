"""`make demo`'s job, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_prints_the_summary_and_where_the_result_is(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "arena_kit", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "600 real user requests" in result.stdout
    assert "SIMULATED votes" in result.stdout
    written = Path(result.stdout.strip().splitlines()[-1].split("result: ")[1])
    assert written.exists() and written.is_relative_to(tmp_path)
    assert "real battles" in written.read_text().lower()
