"""What a run leaves behind is data: odd names, deep trees, many files and bad input names
never crash the caller, cost a batch its other results, or turn the code's status into a
sandbox error."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest

from arena_kit.errors import ArenaDataError
from arena_kit.execution import execute_responses
from arena_kit.sandbox import BACKENDS, Status, run, run_many
from arena_kit.sandbox.artifacts import (
    MAX_ARTIFACT_DEPTH,
    MAX_ARTIFACTS,
    MAX_WALK_ENTRIES,
    collect_files,
    portable_artifacts,
)

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

NON_UTF8_NAME = "open(b'\\xff\\xfe.txt', 'wb').write(b'raw')\n"


def _unique(code: str) -> str:
    """``code`` that no earlier run has cached."""
    return f"# {uuid.uuid4()}\n{code}"


# ---------------------------------------------------------------------------------------------
# (a) names that are not UTF-8


@needs_bwrap
@pytest.mark.parametrize("cache", [True, False])
def test_a_file_name_that_is_not_utf8_is_kept_escaped_cached_or_not(cache):
    code = _unique(NON_UTF8_NAME + "open('plain.txt', 'w').write('ok')\nprint('done')")
    result = run(code, "python", backend="bwrap", cache=cache)
    assert result.status is Status.OK and result.stdout == "done\n"
    names = {a["name"]: a for a in result.artifacts}
    assert set(names) == {"plain.txt", "\\xff\\xfe.txt"}
    assert Path(names["\\xff\\xfe.txt"]["path"]).read_bytes() == b"raw"
    assert "not in UTF-8" in result.message and "\\xff\\xfe.txt" in result.message
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # storable anywhere
    again = run(code, "python", backend="bwrap", cache=cache)
    assert again.cached is cache and again.status is Status.OK
    assert [a["name"] for a in again.artifacts] == [a["name"] for a in result.artifacts]


@needs_bwrap
def test_a_run_with_a_non_utf8_name_does_not_cost_the_batch_its_results():
    jobs = [_unique(NON_UTF8_NAME + "print('odd')"), _unique("print('plain')")]
    results = run_many(jobs, progress=False, backend="bwrap", cache=True)
    assert [r.status for r in results] == [Status.OK, Status.OK]
    assert [r.stdout for r in results] == ["odd\n", "plain\n"]


@needs_bwrap
def test_execute_responses_keeps_every_row_when_one_answer_writes_a_non_utf8_name():
    answers = {
        "odd": "```python\n" + _unique(NON_UTF8_NAME + "print('odd')") + "\n```",
        "plain": "```python\n" + _unique("print('plain')") + "\n```",
    }
    responses = pd.DataFrame(
        [
            {"response_id": rid, "prompt_id": "p", "model": rid, "turn": 1,
             "messages": [{"role": "user", "content": "go"},
                          {"role": "assistant", "content": text}]}
            for rid, text in answers.items()
        ]
    )  # fmt: skip
    executions, updated = execute_responses(responses, backend="bwrap", progress=False)
    assert sorted(executions["status"]) == ["ok", "ok"]
    assert updated["execution_id"].notna().all()


def test_a_backend_handing_back_raw_names_gets_them_escaped(tmp_path):
    raw = os.fsdecode(b"\xff.bin")
    (tmp_path / raw).write_bytes(b"x")
    artifacts = [{"name": raw, "path": str(tmp_path / raw), "size": 1, "mime": "x"}]
    notes = portable_artifacts(artifacts)
    assert artifacts[0]["name"] == "\\xff.bin"
    assert Path(artifacts[0]["path"]).read_bytes() == b"x" and notes


# ---------------------------------------------------------------------------------------------
# (b) deep trees, many entries, links


@needs_bwrap
@pytest.mark.parametrize(("exit_code", "status"), [(0, Status.OK), (3, Status.RUNTIME_ERROR)])
def test_six_thousand_nested_folders_leave_the_status_to_the_code(exit_code, status):
    code = _unique(
        "import os\nopen('top.txt', 'w').write('top')\n"
        "for _ in range(6000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        f"open('deep.txt', 'w').write('deep')\nraise SystemExit({exit_code})\n"
    )
    result = run(code, "python", backend="bwrap", cache=True)
    assert result.status is status and result.exit_code == exit_code, result.message
    assert [a["name"] for a in result.artifacts] == ["top.txt"]
    assert f"deeper than {MAX_ARTIFACT_DEPTH} levels not searched" in result.message


@needs_bwrap
def test_many_files_are_capped_and_said_so():
    code = _unique(
        f"for n in range({MAX_WALK_ENTRIES + 500}):\n    open(f'f{{n:05}}.txt', 'w').close()\n"
    )
    result = run(code, "python", backend="bwrap", cache=False)
    assert result.status is Status.OK, result.message
    assert len(result.artifacts) == MAX_ARTIFACTS
    assert f"over the cap of {MAX_ARTIFACTS} left out" in result.message
    assert f"only the first {MAX_WALK_ENTRIES:,} entries" in result.message


def test_the_walk_is_iterative_and_never_follows_a_link(tmp_path):
    work, outside, destination = tmp_path / "work", tmp_path / "outside", tmp_path / "out"
    work.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (work / "to_dir").symlink_to(outside)
    (work / "to_file.txt").symlink_to(outside / "secret.txt")
    os.mkfifo(work / "pipe")
    # Deeper than Python's recursion limit, made relative to each new folder.
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    (work / "d" / "kept.txt").write_text("kept")
    try:
        found = collect_files(work, destination, exclude=())
    finally:
        # pytest's own clean-up recurses and would fail on the tree later: GNU rm does not.
        subprocess.run(["rm", "-rf", "--one-file-system", str(work / "d")], check=True)
    assert [a["name"] for a in found] == ["d/kept.txt"]
    assert any("deeper than" in note for note in found.notes)
    assert not (destination / "to_dir").exists() and not (destination / "to_file.txt").exists()


# ---------------------------------------------------------------------------------------------
# (c) one job's exception is that job's result


@needs_bwrap
def test_a_job_that_raises_is_its_own_sandbox_error_and_the_others_complete():
    jobs = [
        {"code": "print('first')"},
        {"code": "print('bad backend')", "backend": "no-such-backend"},
        {"code": "print('bad name')", "files": {"../escape.txt": "x"}},
        {"code": "print('last')"},
    ]
    results = run_many(jobs, progress=False, backend="bwrap", cache=False)
    assert [r.status for r in results] == [
        Status.OK, Status.SANDBOX_ERROR, Status.SANDBOX_ERROR, Status.OK
    ]  # fmt: skip
    assert "SandboxUnavailableError" in results[1].message
    assert "ArenaDataError" in results[2].message and "../escape.txt" in results[2].message
    assert results[0].stdout == "first\n" and results[3].stdout == "last\n"


@needs_bwrap
def test_a_job_a_process_pool_cannot_send_is_its_own_sandbox_error():
    jobs = [{"code": "print(1)"}, {"code": "print(2)", "limits": lambda: None}]
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        results = run_many(jobs, executor=pool, progress=False, backend="bwrap", cache=False)
    assert results[0].status is Status.OK and results[0].stdout == "1\n"
    assert results[1].status is Status.SANDBOX_ERROR and "Error" in results[1].message


# ---------------------------------------------------------------------------------------------
# (d) input file names


@needs_bwrap
@pytest.mark.parametrize(
    "name", ["/etc/evil.txt", "../escape.txt", "sub/../../escape.txt", "nul\0.txt", "", "."]
)
def test_a_bad_input_file_name_is_refused_before_anything_runs(name, monkeypatch):
    started = []
    monkeypatch.setattr(BACKENDS["bwrap"], "execute", lambda self, job: started.append(job))
    with pytest.raises(ArenaDataError, match="input file name") as caught:
        run("print(1)", "python", backend="bwrap", files={name: "x"}, cache=False)
    assert repr(name) in str(caught.value)
    assert started == []


@needs_bwrap
def test_a_plain_input_file_name_is_accepted():
    code = "print(open('data.csv').read())"
    result = run(code, "python", backend="bwrap", files={"data.csv": "a,b"}, cache=False)
    assert result.status is Status.OK and result.stdout == "a,b\n"


@needs_bwrap
def test_input_files_in_folders_are_made_and_belong_to_the_program():
    code = "open('sub/deep/data.csv', 'a').write('c')\nprint(open('sub/deep/data.csv').read())"
    result = run(code, "python", backend="bwrap", files={"sub/deep/data.csv": "a,b"}, cache=False)
    assert result.status is Status.OK, result.message
    assert result.stdout == "a,bc\n"
