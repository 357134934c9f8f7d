"""The Docker backend for real: a local engine (started here if needed) and a locally built
runtime image. Outside CI, a machine that cannot run Docker skips with the reason; in CI
(``CI=true``) that is a failure."""

from __future__ import annotations

import os

import pytest

from arena_kit.sandbox import SandboxUnavailableError, Status, get_backend, run, run_many
from arena_kit.sandbox import backend as backend_module
from arena_kit.sandbox.docker_image import image_name
from arena_kit.sandbox.dockerd import stop_shared_engine
from arena_kit.sandbox.testing import docker_preparable, prepare_docker

REASON = docker_preparable()
if REASON is not None and os.environ.get("CI") != "true":
    pytestmark = pytest.mark.skip(reason=f"Docker cannot run here: {REASON}")

CI_CASES = {
    ("python", "ok"): ("print('py', 6 * 7)", Status.OK, "py 42"),
    ("python", "build_error"): ("def f(:\n  pass", Status.BUILD_ERROR, "SyntaxError"),
    ("python", "runtime_error"): ("raise ValueError('boom')", Status.RUNTIME_ERROR, "ValueError"),
    ("python", "timeout"): ("while True: pass", Status.TIMEOUT, "timeout"),
    ("c", "ok"): (
        '#include <stdio.h>\nint main(void){printf("c %d\\n", 6*7);return 0;}',
        Status.OK,
        "c 42",
    ),
    ("c", "build_error"): ("int main(void){ return x; }", Status.BUILD_ERROR, "undeclared"),
    ("c", "runtime_error"): (
        "int main(void){ int *p = 0; return *p; }",
        Status.RUNTIME_ERROR,
        "SIGSEGV",
    ),
    ("c", "timeout"): ("int main(void){ for(;;){} }", Status.TIMEOUT, "timeout"),
}


@pytest.fixture(scope="module")
def engine():
    tag = prepare_docker("ci")
    yield tag
    stop_shared_engine()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "case"), list(CI_CASES), ids=[f"{a}-{b}" for a, b in CI_CASES]
)
def test_docker_runtime_case(engine, language, case):
    code, expected, text = CI_CASES[(language, case)]
    result = run(code, language, backend="docker", cache=False, limits={"wall_s": 3, "cpu_s": 3})
    assert result.backend == "docker"
    assert result.status is expected, (result.message, result.stderr, result.build_log)
    assert text in result.stdout + result.message + result.stderr + result.build_log


def test_docker_collects_artifacts_without_following_links(engine):
    code = (
        "import os\nopen('out.txt', 'w').write('made in docker')\n"
        "os.symlink('/etc/passwd', 'passwd')\nprint('data:image/png;base64,iVBORw0KGgo=')\n"
    )
    result = run(code, "python", backend="docker", cache=False)
    assert result.status is Status.OK, result.message
    names = sorted(a["name"] for a in result.artifacts)
    assert names == ["out.txt", "stdout_image_1.png"]
    with open(next(a["path"] for a in result.artifacts if a["name"] == "out.txt")) as handle:
        assert handle.read() == "made in docker"


def test_docker_fetches_files_only_when_the_program_left_some(engine, monkeypatch):
    """The run reports whether it left files (a line the host strips): no archive round trip
    otherwise, the program's output stays byte for byte, and its exit code is kept."""
    from arena_kit.sandbox import docker as docker_module

    fetched: list[str] = []
    original = docker_module._Container.fetch_artifacts

    def counting(self, destination, exclude):
        fetched.append(str(destination))
        return original(self, destination, exclude)

    monkeypatch.setattr(docker_module._Container, "fetch_artifacts", counting)
    plain = run("import sys\nprint('no newline', end='')\nsys.exit(3)", "python",
                backend="docker", cache=False)  # fmt: skip
    assert plain.stdout == "no newline" and plain.exit_code == 3 and fetched == []
    hidden = run("open('.hidden', 'w').write('x')\nprint('done')", "python", backend="docker",
                 cache=False)  # fmt: skip
    assert hidden.stdout == "done\n" and len(fetched) == 1
    assert [a["name"] for a in hidden.artifacts] == [".hidden"]
    compiled = run('#include <stdio.h>\nint main(void){puts("c");return 0;}', "c",
                   backend="docker", cache=False)  # fmt: skip
    assert compiled.stdout == "c\n" and len(fetched) == 1  # its binary is not a result


def test_docker_runtime_missing_from_the_image_is_unsupported(engine):
    backend = get_backend("docker")
    if "go" in backend.runtimes:
        pytest.skip("this image has every runtime")
    result = run("package main\nfunc main() {}", "go", backend="docker", cache=False)
    assert result.status is Status.UNSUPPORTED and "--flavor full" in result.message


def test_docker_warm_containers(engine):
    backend = get_backend("docker")
    backend.warm(2)
    try:
        results = run_many(
            [f"print({n})" for n in range(4)], backend="docker", cache=False, progress=False
        )
    finally:
        backend.close()
    assert [r.stdout.strip() for r in results] == ["0", "1", "2", "3"]


def test_no_engine_is_a_clear_error(engine, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/arena-kit.sock")
    monkeypatch.setattr(backend_module, "_instances", {})
    with pytest.raises(SandboxUnavailableError, match="no Docker engine is reachable"):
        run("print(1)", backend="docker", cache=False)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("ARENA_KIT_DOCKER_FULL") != "1",
    reason="builds the full image (~10 min, needs PyPI/npm/apt): set ARENA_KIT_DOCKER_FULL=1",
)
def test_full_image_runs_all_eight_runtimes(engine):
    from test_sandbox import PROGRAMS

    prepare_docker("full")
    os.environ["ARENA_KIT_DOCKER_IMAGE"] = image_name("full")
    backend_module._instances.pop("docker", None)
    try:
        for language, cases in PROGRAMS.items():
            code, expected, _ = cases["ok"]
            result = run(code, language, backend="docker", cache=False)
            assert result.status is expected, (language, result.message, result.build_log)
    finally:
        stop_shared_engine()  # pairs with prepare_docker("full") above
        os.environ.pop("ARENA_KIT_DOCKER_IMAGE", None)
        backend_module._instances.pop("docker", None)
