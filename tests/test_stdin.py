"""stdin: empty and closed for every sandboxed program, or the text given to ``run(stdin=)``.

A program that waits for input gets EOF at once (not the wall limit), and never holds the
control channel of the process that started it: a launcher's command line and the warm
pool's release line travel on a pipe that must not reach the program.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import backends_here  # one param per backend; the `ready` fixture is there too

from arena_kit.sandbox import Limits, Status, cgroups, run, run_many
from arena_kit.sandbox.api import job_id

# The program waits for a line, then reports what it holds: its stdin's target, every other
# open descriptor, and whatever it can read from any of them without blocking.
PROBE = r"""
import json, os, time
began = time.monotonic()
try:
    input()
    got = "a line"
except EOFError:
    got = "eof"
waited = time.monotonic() - began
names = sorted(int(name) for name in os.listdir("/proc/self/fd"))
targets, read = {}, b""
for fd in names:
    try:
        targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue  # the descriptor listdir used, closed by now
    if fd in (1, 2):
        continue
    try:
        os.set_blocking(fd, False)
        read += os.read(fd, 65536)
    except OSError:
        pass
print(json.dumps({"got": got, "waited": waited, "targets": targets,
                  "read": read.decode("utf-8", "replace")}))
"""
# Long enough that a program left waiting on a pipe is a timeout, not a slow pass.
LIMITS = Limits(wall_s=20)


def _probe(result) -> dict:
    assert result.status is Status.OK, (result.status, result.message, result.stderr)
    return json.loads(result.stdout)


def _assert_no_control_channel(report: dict, *, warm: bool = False) -> None:
    """EOF at once; fd 0 is /dev/null; nothing but 0, 1, 2 is open; nothing was readable."""
    assert report["got"] == "eof"
    assert report["waited"] < 5, report  # EOF at once: a pipe left open waits out the limit
    targets = {int(fd): target for fd, target in report["targets"].items()}
    assert targets[0] == "/dev/null", targets  # not the launcher's or the warm pool's pipe
    assert set(targets) <= {0, 1, 2}, targets
    assert report["read"] == "", report
    if warm:
        assert "pipe:" not in targets[0]


@pytest.mark.parametrize("ready", [True, False], ids=["ready-launcher", "plain-launcher"])
def test_bwrap_launcher_program_gets_eof_and_no_control_line(monkeypatch, ready):
    """A launcher reads its command line on a pipe: the program's stdin is /dev/null. A ready
    launcher (sandbox made ahead) serves a run with the default disk, a plain one the rest."""
    from arena_kit.sandbox import bwrap, get_backend

    if not cgroups.available():
        pytest.skip("no writable cgroups here: runs use no launcher")
    backend = get_backend("bwrap")
    assert isinstance(backend, bwrap.BwrapBackend)
    backend.launchers(2)
    taken: list[object] = []
    original = bwrap._take_launcher

    def recording(*args, **kwargs):  # the real function; only what it returned is kept
        launcher = original(*args, **kwargs)
        taken.append(launcher)
        return launcher

    monkeypatch.setattr(bwrap, "_take_launcher", recording)
    limits = LIMITS if ready else Limits(wall_s=20, disk_mb=Limits().disk_mb + 1)
    result = None
    for _ in range(5):  # the pools fill on first use: a later run finds a launcher
        taken.clear()
        result = run(PROBE, backend="bwrap", cache=False, limits=limits)
        # The last launcher taken is the one that ran the program (a run that found no
        # ready one takes a plain one).
        if taken and taken[-1] is not None and taken[-1].ready is ready:
            break
    assert taken and taken[-1] is not None, "no run took a launcher"
    assert taken[-1].ready is ready
    _assert_no_control_channel(_probe(result))


def test_bwrap_without_launchers_program_gets_eof():
    from arena_kit.sandbox import bwrap, get_backend

    backend = get_backend("bwrap")
    assert isinstance(backend, bwrap.BwrapBackend)
    backend.launchers(0)
    try:
        _assert_no_control_channel(_probe(run(PROBE, backend="bwrap", cache=False, limits=LIMITS)))
    finally:
        backend.launchers(2)


def test_bwrap_warm_sandbox_never_hands_its_release_pipe_to_the_program(monkeypatch):
    """The warm pool releases its sandbox with a line on a pipe; the program gets /dev/null."""
    import time

    from arena_kit.sandbox import bwrap, get_backend

    backend = get_backend("bwrap")
    assert isinstance(backend, bwrap.BwrapBackend)
    served: list[object] = []
    original = bwrap.BwrapBackend._take_warm

    def recording(self, job):  # the real method; only what it returned is kept
        warm = original(self, job)
        served.append(warm)
        return warm

    monkeypatch.setattr(bwrap.BwrapBackend, "_take_warm", recording)
    backend.warm(1)
    try:
        deadline = time.monotonic() + 60
        while len(backend._pool._entries) < 1:
            assert time.monotonic() < deadline, "the warm pool did not fill"
            time.sleep(0.05)
        result = run(PROBE, backend="bwrap", cache=False)  # default limits: warm-eligible
        assert served and served[-1] is not None, "the run did not use the warm sandbox"
        _assert_no_control_channel(_probe(result), warm=True)
        fed = run("print(input())", backend="bwrap", cache=False, stdin="fed\n")
        assert served[-1] is None  # stdin text: a cold sandbox, its stdin a sealed file
        assert fed.status is Status.OK and fed.stdout == "fed\n"
    finally:
        backend.close()


@pytest.mark.parametrize("backend", backends_here())
def test_input_gets_eof_at_once(ready):
    _assert_no_control_channel(_probe(run(PROBE, backend=ready, cache=False, limits=LIMITS)))


SUM = {
    "python": "n = int(input())\nprint(sum(map(int, input().split()[:n])))\n",
    "c": (
        '#include <stdio.h>\nint main(void) {\n  int n, x, s = 0;\n  scanf("%d", &n);\n'
        '  for (int i = 0; i < n; i++) { scanf("%d", &x); s += x; }\n'
        '  printf("%d\\n", s);\n  return 0;\n}\n'
    ),
    "javascript": (
        "const [n, ...xs] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/)"
        ".map(Number);\nconsole.log(xs.slice(0, n).reduce((a, b) => a + b, 0));\n"
    ),
}


@pytest.mark.parametrize("backend", backends_here())
@pytest.mark.parametrize("language", sorted(SUM))
def test_stdin_text_is_read(ready, language):
    result = run(SUM[language], language, backend=ready, cache=False, stdin="3\n1 2 3\n")
    if result.status is Status.UNSUPPORTED:  # Docker's CI image holds Python and C only
        pytest.skip(result.message)
    assert result.status is Status.OK, (result.message, result.stderr)
    assert result.stdout == "6\n"


@pytest.mark.parametrize("backend", backends_here())
def test_stdin_file_is_sealed_and_read_only(ready):
    """The program can read its input, not change it, and reaches nothing else through it."""
    code = (
        "import os, sys\ndata = sys.stdin.read()\n"
        "try:\n    os.write(0, b'x')\n    print('written')\nexcept OSError as e:\n"
        "    print('refused', e.errno)\nprint(repr(data))\n"
    )
    text = "line one\n" + "é" * 70_000 + "\nend\n"  # more than a pipe holds (64 KiB)
    if ready == "docker":
        text = "line one\nend\n"  # the exec's environment carries it: kept small there
        big = run("print(1)", backend=ready, cache=False, stdin="x" * 200_000)
        assert big.status is Status.SANDBOX_ERROR and "backend='bwrap'" in big.message
    result = run(code, backend=ready, cache=False, stdin=text)
    assert result.status is Status.OK, (result.message, result.stderr)
    first, second = result.stdout.split("\n", 1)
    assert first.startswith("refused")
    assert second.rstrip("\n") == repr(text)


def test_stdin_keys_the_cache_and_run_many_passes_it():
    from arena_kit.sandbox.runtimes import RUNTIMES, resolve

    resolved = resolve(RUNTIMES["python"], "print(input())")
    assert not isinstance(resolved, str)
    keys = {
        job_id("print(input())", "python", Limits(), resolved.version, {"stdin": text})
        for text in ("", "a\n", "b\n")
    }
    assert len(keys) == 3
    code = "print(input())"
    first = run(code, stdin="one\n", refresh=True)
    second = run(code, stdin="two\n")  # a different input is not served from first's entry
    assert (first.stdout, second.stdout) == ("one\n", "two\n")
    assert first.execution_id != second.execution_id
    assert run(code).status is Status.RUNTIME_ERROR  # no stdin: EOFError at once
    many = run_many([{"code": code, "stdin": f"{n}\n"} for n in range(3)], progress=False,
                    cache=False)  # fmt: skip
    assert [r.stdout for r in many] == ["0\n", "1\n", "2\n"]


def test_stdin_must_be_text():
    from arena_kit.errors import ArenaDataError

    with pytest.raises(ArenaDataError, match="stdin must be text"):
        run("print(1)", stdin=b"bytes")  # type: ignore[arg-type]


def test_sample_io_runs_an_answer_on_a_real_prompt():
    """A real Arena-Hard prompt's sample (CodeChef, chess pairs), an answer fed with it."""
    from arena_kit.sampleio import same_output, sample_io

    questions = Path(__file__).resolve().parents[1] / "data/arena-hard-v0.1/question.jsonl"
    rows = (json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines())
    prompt = next(r["prompt"] for r in rows if r["uid"] == "dbff049f35b142249c18d8faebe84039")
    found = sample_io(prompt)
    assert found is not None
    sample_input, expected = found
    answer = (
        "t = int(input())\nfor _ in range(t):\n    n, x = map(int, input().split())\n"
        "    print(max(0, 2 * x - 2 * n))\n"
    )
    result = run(answer, cache=False, stdin=sample_input)
    assert result.status is Status.OK and same_output(result.stdout, expected)
    wrong = run(answer.replace("2 * x - 2 * n", "x - n"), cache=False, stdin=sample_input)
    assert not same_output(wrong.stdout, expected)
