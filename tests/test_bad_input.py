"""Every bad input gets an ArenaDataError/ArenaKitError that names the file (and line or
column) and the fix, never a raw Python exception, and never half-writes or changes data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arena_kit.datasets import read_arena_hard, read_table, read_votes, write_table
from arena_kit.errors import ArenaDataError, ArenaKitError
from arena_kit.io import read_jsonl
from arena_kit.store import VoteStore, VoteStoreError

VOTE = {"model_a": "alpha", "model_b": "beta", "winner": "model_a"}
FORMATS = (".jsonl", ".json", ".csv")


def _latin1(path: Path) -> tuple[int, int]:
    """Write a votes file whose second vote names 'café' in Latin-1; (line, column) of the
    bad byte."""
    suffix = path.suffix
    if suffix == ".csv":
        path.write_bytes(b"model_a,model_b,winner\nalpha,beta,model_a\ncaf\xe9,beta,tie\n")
        return 3, 4
    if suffix == ".jsonl":
        line = json.dumps(VOTE).encode()
        path.write_bytes(line + b"\n" + line.replace(b"alpha", b"caf\xe9") + b"\n")
        return 2, 17
    path.write_bytes(
        b'[\n {"model_a": "alpha", "model_b": "beta", "winner": "model_a"},\n'
        b' {"model_a": "caf\xe9", "model_b": "beta", "winner": "tie"}\n]\n'
    )
    return 3, 18


@pytest.mark.parametrize("suffix", FORMATS)
def test_latin1_bytes_name_the_file_line_column_and_the_fix(tmp_path, suffix):
    path = tmp_path / f"votes{suffix}"
    line, column = _latin1(path)
    before = path.read_bytes()
    with pytest.raises(ArenaDataError) as caught:
        read_votes(path)
    message = str(caught.value)
    assert str(path) in message and f"line {line}, column {column}" in message
    assert "not UTF-8" in message and "0xe9" in message and "save the file as UTF-8" in message
    assert path.read_bytes() == before


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_nested_100000_deep_is_a_clear_error(tmp_path, suffix):
    path = tmp_path / f"deep{suffix}"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(json.dumps([VOTE])[:-1] + ", " + deep + "]" if suffix == ".json" else deep)
    with pytest.raises(ArenaDataError, match="nested too deeply") as caught:
        read_votes(path)
    assert str(path) in str(caught.value) and "Fix: flatten" in str(caught.value)
    if suffix == ".jsonl":
        assert "line 1" in str(caught.value)


def test_a_json_cell_of_a_csv_nested_too_deeply_is_a_clear_error(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text("response_id,prompt_id,model,messages\nr,p,m," + "[" * 100_000 + "\n")
    with pytest.raises(ArenaDataError, match="nested too deeply"):
        read_table(path, "responses")


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_bom_is_read_and_a_bad_line_does_not_claim_truncation(tmp_path, suffix):
    path = tmp_path / f"votes{suffix}"
    good = tmp_path / f"good{suffix}"
    if suffix == ".csv":
        good.write_text("model_a,model_b,winner\nalpha,beta,model_a\n")
    else:
        good.write_text(json.dumps(VOTE if suffix == ".jsonl" else [VOTE]) + "\n")
    path.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    assert read_votes(path)[["model_a", "model_b", "winner"]].iloc[0].to_dict() == VOTE
    if suffix != ".csv":
        broken = tmp_path / f"broken{suffix}"
        text = good.read_text().replace('"winner"', '"winner" "', 1)
        broken.write_text(text)
        with pytest.raises(ArenaDataError, match="column") as caught:
            read_votes(broken)
        assert "truncated" not in str(caught.value)


def test_a_cut_off_line_still_suggests_truncation(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text(json.dumps(VOTE) + "\n" + json.dumps(VOTE)[:20] + "\n")
    with pytest.raises(ArenaDataError, match="line 2.*truncated"):
        read_votes(path)


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_folder_where_a_file_is_expected(tmp_path, suffix):
    folder = tmp_path / f"votes{suffix}"
    folder.mkdir()
    with pytest.raises(ArenaDataError, match="is a folder, not a file") as caught:
        read_votes(folder)
    assert str(folder) in str(caught.value) and "Fix:" in str(caught.value)
    with pytest.raises(ArenaDataError, match="is a folder"):
        read_jsonl(folder)


@pytest.mark.parametrize("name", ["votes.jsonl", "votes", "store.sqlite"])
def test_a_folder_as_votes_on_the_command_line(tmp_path, name):
    (tmp_path / name).mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "arena_kit", "report", "--votes", name, "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "folder" in result.stderr and name in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize(
    ("turns", "shape"),
    [("What is 2+2?", "a str"), (["What is 2+2?"], "a list of str"), ({"a": 1}, "a dict")],
)
def test_arena_hard_turns_that_is_not_a_list_of_objects(tmp_path, turns, shape):
    path = tmp_path / "question.jsonl"
    good = {"uid": "q1", "turns": [{"content": "ok"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"uid": "q2", "turns": turns}) + "\n")
    with pytest.raises(ArenaDataError) as caught:
        read_arena_hard(path)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and "column 'turns'" in message
    assert f"{shape}, not a list of objects" in message and '"turns": [{"content"' in message


class Opaque:
    """A value no table format can keep."""


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_an_unserialisable_extra_column_writes_nothing(tmp_path, suffix):
    target = tmp_path / f"votes{suffix}"
    write_table(pd.DataFrame([VOTE]), target, "votes")
    before = target.read_bytes()
    frame = pd.DataFrame([VOTE, {**VOTE, "winner": "tie"}])
    frame["extra"] = ["fine", Opaque()]
    with pytest.raises(ArenaDataError) as caught:
        write_table(frame, target, "votes")
    message = str(caught.value)
    assert str(target) in message and "row 2" in message and "column 'extra'" in message
    assert "Opaque" in message and "astype(str)" in message
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_nested_unserialisable_value_in_a_list_column(tmp_path):
    frame = pd.DataFrame([VOTE])
    frame["extra"] = [[1, {"x": Opaque()}]]
    with pytest.raises(ArenaDataError, match="column 'extra'"):
        write_table(frame, tmp_path / "votes.jsonl", "votes")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_a_folder_as_write_table_target_is_left_alone(tmp_path, suffix):
    folder = tmp_path / f"votes{suffix}"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept")
    with pytest.raises(ArenaDataError, match="is a folder, not a file name") as caught:
        write_table(pd.DataFrame([VOTE]), folder, "votes")
    assert str(folder) in str(caught.value) and "Fix:" in str(caught.value)
    assert [p.name for p in folder.iterdir()] == ["kept.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_write_table_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ArenaDataError, match="a part of the path is a file"):
        write_table(pd.DataFrame([VOTE]), tmp_path / "afile" / "votes.jsonl", "votes")
    assert (tmp_path / "afile").read_text() == "x"


def test_a_store_whose_folder_cannot_be_made(tmp_path):
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "afile" / "sub" / "votes.sqlite"
    with pytest.raises(VoteStoreError, match="cannot be made") as caught:
        VoteStore(path)
    assert isinstance(caught.value, ArenaKitError)
    assert str(path) in str(caught.value) and "a part of the path is a file" in str(caught.value)
    assert (tmp_path / "afile").read_text() == "x"


def test_a_store_folder_given_as_the_store(tmp_path):
    (tmp_path / "votes.sqlite").mkdir()
    with pytest.raises(VoteStoreError, match="not a file .*Fix"):
        VoteStore(tmp_path / "votes.sqlite")


_UNPRIVILEGED = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
_OPEN_STORE = """
import sys
from arena_kit.store import VoteStore, VoteStoreError
try:
    VoteStore(sys.argv[1]).record_vote({"model_a": "x", "model_b": "y", "winner": "tie"})
except VoteStoreError as error:
    print("REFUSED", error)
else:
    print("OPENED")
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to run a check as an unprivileged uid (as root, no folder is read-only)",
)
@pytest.mark.parametrize("existing", [False, True])
def test_a_store_in_a_read_only_folder(sandbox_tmp_path, existing):
    """As root no folder is read-only (and the tests mount nothing), so the store is opened by
    uid 65534 in a folder owned by root: read-only for it, as a real read-only folder is."""
    path = sandbox_tmp_path / "votes.sqlite"
    if existing:
        with VoteStore(path) as store:
            store.record_vote(VOTE)
        os.chmod(path, 0o666)  # the file itself is writable: only the folder is not
    before = {p.name: p.read_bytes() for p in sandbox_tmp_path.iterdir()}
    result = subprocess.run(
        [*_UNPRIVILEGED, sys.executable, "-c", _OPEN_STORE, str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("REFUSED"), result.stdout
    assert str(sandbox_tmp_path) in result.stdout and "read-only" in result.stdout
    assert "Fix: choose a writable folder" in result.stdout
    assert {p.name: p.read_bytes() for p in sandbox_tmp_path.iterdir()} == before
