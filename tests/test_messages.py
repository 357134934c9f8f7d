"""One true line per failure (issue 13, item 2): real toolchains' output, read by classify.

Every program below really runs in the bwrap sandbox (no cache) or is really bundled by
esbuild; the message asserted is what a person voting on the answer would read. The network
cases reach only a ``.invalid`` name (never resolvable) or a closed port on the sandbox's own
loopback.
"""

from __future__ import annotations

import shutil

import pytest

from arena_kit.sandbox import ExecutionResult, Limits, Status, run_many
from arena_kit.sandbox.classify import is_local_import, python_exception, shorten_paths
from arena_kit.web.build import BuildError, build_page

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

LIMITS = Limits(wall_s=10, cpu_s=10)

# name: (code, language, status, the message must contain, it must not contain)
PROGRAMS: dict[str, tuple[str, str, Status, str, str]] = {
    "python_exception": (
        "x = 1\n\ndef f():\n    raise ValueError('bad value')\n\nf()\n",
        "python",
        Status.RUNTIME_ERROR,
        "ValueError: bad value (main.py, line 4)",
        "raise ValueError",
    ),
    "python_chained": (
        "try:\n    {}['k']\nexcept KeyError:\n    raise RuntimeError('wrapped')\n",
        "python",
        Status.RUNTIME_ERROR,
        "RuntimeError: wrapped (main.py, line 4)",
        "KeyError",
    ),
    "python_syntax": (
        "print('a')\ndef f(:\n    pass\n",
        "python",
        Status.BUILD_ERROR,
        "build error: SyntaxError: invalid syntax (main.py, line 2)",
        "def f(",
    ),
    "python_runtime_path": (
        "import requests\nraise RuntimeError(requests.__file__)\n",
        "python",
        Status.RUNTIME_ERROR,
        "RuntimeError: <runtime>/venv/",
        "/opt/arena",
    ),
    "python_no_dns": (
        "import urllib.request\nurllib.request.urlopen('http://arena-kit-test.invalid/')\n",
        "python",
        Status.RUNTIME_ERROR,
        "the sandbox has no network",
        "raise URLError",
    ),
    "python_requests_no_dns": (
        "import requests\nrequests.get('http://arena-kit-test.invalid/', timeout=5)\n",
        "python",
        Status.RUNTIME_ERROR,
        "the sandbox has no network (a host-name lookup or connection failed): "
        "requests.exceptions.ConnectionError (main.py, line 2)",
        "NameResolutionError",
    ),
    "python_closed_port": (
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=5)\n",
        "python",
        Status.RUNTIME_ERROR,
        "the sandbox has no network (a host-name lookup or connection failed): "
        "ConnectionRefusedError: [Errno 111] Connection refused (main.py, line 2)",
        "raise",
    ),
    "c_build": (
        '#include <stdio.h>\nint main(void) {\n    int x = "s";\n    return y;\n}\n',
        "c",
        Status.BUILD_ERROR,
        "build error: main.c:4:12: error: ‘y’ undeclared",
        "warning",
    ),
    "cpp_build": (
        "#include <iostream>\nint main() {\n    std::cout << z;\n}\n",
        "cpp",
        Status.BUILD_ERROR,
        "build error: main.cpp:3:18: error: ‘z’ was not declared in this scope",
        "In function",
    ),
    "cpp_throw": (
        '#include <stdexcept>\nint main() { throw std::runtime_error("boom"); }\n',
        "cpp",
        Status.RUNTIME_ERROR,
        "killed by SIGABRT: terminate called after throwing an instance of "
        "'std::runtime_error' (what(): boom)",
        "\n",
    ),
    "rust_build": (
        'fn main() {\n    let x: i32 = "s";\n}\n',
        "rust",
        Status.BUILD_ERROR,
        "build error: error[E0308]: mismatched types (main.rs:2:18)",
        "aborting",
    ),
    "rust_panic": (
        'fn main() {\n    let v: Vec<i32> = vec![];\n    println!("{}", v[3]);\n}\n',
        "rust",
        Status.RUNTIME_ERROR,
        "panicked at main.rs:3:",
        "RUST_BACKTRACE",
    ),
    "go_build": (
        'package main\nimport "fmt"\nfunc main() {\n    x := 1\n}\n',
        "go",
        Status.BUILD_ERROR,
        'build error: main.go:2:8: "fmt" imported and not used',
        "command-line-arguments",
    ),
    "go_panic": (
        'package main\nfunc main() {\n\tpanic("boom")\n}\n',
        "go",
        Status.RUNTIME_ERROR,
        "panic: boom (main.go:3)",
        "goroutine",
    ),
    "java_build": (
        'public class Main {\n  public static void main(String[] a) {\n    int x = "s";\n  }\n}\n',
        "java",
        Status.BUILD_ERROR,
        "build error: Main.java:3: error: incompatible types: String cannot be converted to int",
        "1 error",
    ),
    "java_exception": (
        "public class Main {\n  public static void main(String[] a) {\n"
        '    throw new IllegalStateException("boom");\n  }\n}\n',
        "java",
        Status.RUNTIME_ERROR,
        "java.lang.IllegalStateException: boom (Main.java:3)",
        "Exception in thread",
    ),
    "node_syntax": (
        "const a = ;\n",
        "javascript",
        Status.BUILD_ERROR,
        "build error: SyntaxError: Unexpected token ';' (main.js:1)",
        "/work/",
    ),
    "node_type_error": (
        "const o = undefined;\nconsole.log(o.x);\n",
        "javascript",
        Status.RUNTIME_ERROR,
        "TypeError: Cannot read properties of undefined (reading 'x') (main.js:2:15)",
        "console.log",
    ),
    "node_local_require": (
        "const s = require('./store');\nconsole.log(s);\n",
        "javascript",
        Status.RUNTIME_ERROR,
        "the answer imports ./store, a local file it did not include",
        "npm",
    ),
    "node_deep_package": (
        "const fp = require('left-pad-not-here/fp');\n",
        "javascript",
        Status.MISSING_DEPENDENCY,
        "(npm install left-pad-not-here)",
        "npm install left-pad-not-here/fp",
    ),
    "node_no_dns": (
        "require('http').get('http://arena-kit-test.invalid/', () => {});\n",
        "javascript",
        Status.RUNTIME_ERROR,
        "the sandbox has no network (a host-name lookup or connection failed): "
        "Error: getaddrinfo EAI_AGAIN arena-kit-test.invalid",
        "emitErrorNT",
    ),
    "typescript_syntax": (
        "const x: number = ;\n",
        "typescript",
        Status.BUILD_ERROR,
        'build error: main.ts:1:18: Unexpected ";"',
        "✘",
    ),
    "typescript_type_error": (
        "const o: any = undefined;\nconsole.log(o.bar);\n",
        "typescript",
        Status.RUNTIME_ERROR,
        "TypeError: Cannot read properties of undefined (reading 'bar')",
        "Module._compile",
    ),
}


@pytest.fixture(scope="module")
def results() -> dict[str, ExecutionResult]:
    """Every program run once, in parallel (the tests below only look)."""
    names = list(PROGRAMS)
    jobs = [
        {"code": PROGRAMS[name][0], "language": PROGRAMS[name][1], "limits": LIMITS,
         "cache": False, "backend": "bwrap"}
        for name in names
    ]  # fmt: skip
    return dict(zip(names, run_many(jobs, progress=False, max_workers=4), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_message_is_the_line_that_explains(results, name):
    _, _, status, wanted, unwanted = PROGRAMS[name]
    result = results[name]
    shown = f"{result.status.value}: {result.message!r}\n{result.stderr}{result.build_log}"
    assert result.status is status, shown
    assert wanted in result.message, shown
    assert unwanted not in result.message, shown
    assert "\n" not in result.message


def test_a_wall_clock_timeout_names_the_limit_and_how_to_raise_it():
    [result] = run_many(
        [{"code": "while True:\n    pass\n", "language": "python", "cache": False,
          "backend": "bwrap", "limits": Limits(wall_s=1, cpu_s=30)}],
        progress=False,
    )  # fmt: skip
    assert result.status is Status.TIMEOUT
    assert result.message == (
        'timeout: the wall-clock limit (1 s) was reached; raise it with limits={"wall_s": 60}'
    )


def test_a_cpu_timeout_names_the_limit_and_how_to_raise_it():
    [result] = run_many(
        [{"code": "while True:\n    pass\n", "language": "python", "cache": False,
          "backend": "bwrap", "limits": Limits(wall_s=30, cpu_s=1)}],
        progress=False,
    )  # fmt: skip
    assert result.status is Status.TIMEOUT
    assert "the CPU time limit (1 s" in result.message
    assert result.message.endswith('raise it with limits={"cpu_s": 60}')


# React answers, bundled by the real esbuild against the npm cache.
APP = "export default function App() {{ return <div>{body}</div>; }}\n"


def _build_error(code: str) -> BuildError:
    with pytest.raises(BuildError) as caught:
        build_page(code, "react")
    return caught.value


def test_a_react_syntax_error_says_build_error_with_its_place():
    error = _build_error("export default function App() {\n  return <div>{1 +}</div>;\n}\n")
    assert error.status == "build_error"
    assert error.message == 'build error: App.jsx:2:18: Unexpected "}"'


@pytest.mark.parametrize("spec", ["./store.js", "@/hooks", "/stores/notes"])
def test_a_local_import_the_answer_left_out_is_named_without_npm_advice(spec):
    error = _build_error(f"import thing from '{spec}';\n" + APP.format(body="{thing}"))
    assert error.status == "build_error"
    assert (
        error.message == f"build error: the answer imports {spec}, a local file it did not include"
    )
    assert "npm" not in error.message


def test_a_real_missing_package_gets_npm_advice_and_the_local_file_is_named_too():
    code = "import pad from 'left-pad-not-here';\nimport s from './store';\n"
    error = _build_error(code + APP.format(body="{pad}{s}"))
    assert error.status == "missing_dependency"
    assert error.message == (
        "missing dependency: left-pad-not-here (not in the local npm cache: npm install "
        "left-pad-not-here); the answer imports ./store, a local file it did not include"
    )


@pytest.mark.parametrize(
    "spec",
    [
        "three/examples/jsm/controls/OrbitControls.js",
        "three/examples/jsm/controls/OrbitControls",  # three's exports map needs the .js
    ],
)
def test_a_deep_import_of_a_cached_package_resolves(spec):
    code = f"import {{ OrbitControls }} from '{spec}';\nconsole.log(OrbitControls);\n"
    page = build_page(code + APP.format(body="x"), "react")
    assert "OrbitControls" in page.html


def test_a_deep_path_a_cached_package_lacks_is_not_called_a_missing_package():
    error = _build_error("import x from 'three/no/such/file';\n" + APP.format(body="{x}"))
    assert error.status == "build_error"
    assert error.message == "build error: three/no/such/file is not part of the cached three"


@pytest.mark.parametrize(
    ("spec", "local"),
    [("./a", True), ("../a", True), ("/a/b", True), ("@/hooks", True), ("~/lib", True),
     ("react", False), ("@scope/pkg", False), ("lodash/fp", False), ("three/examples/x", False)],
)  # fmt: skip
def test_local_imports_are_told_from_package_names(spec, local):
    assert is_local_import(spec) is local


def test_sandbox_paths_are_shortened_only_where_they_start_a_path():
    text = 'File "/opt/arena/venv/x.py", /opt/arena-kit/pylaunch.py /work/main.js /home/work/x'
    assert shorten_paths(text) == (
        'File "<runtime>/venv/x.py", <launcher>/pylaunch.py main.js /home/work/x'
    )


def test_a_python_traceback_without_user_frames_still_gives_its_exception():
    text = 'Traceback (most recent call last):\n  File "<string>", line 1, in <module>\n'
    text += "KeyError: 'k'\n"
    assert python_exception(text) == "KeyError: 'k'"


@pytest.mark.parametrize(
    ("environment", "code", "line"),
    [
        ("streamlit", 'import streamlit as st\nst.title("x"\n', 2),
        ("gradio", "import gradio as gr\ndef greet(name) return name\n", 2),
        ("pygame", "import pygame\nwhile True\n    pass\n", 2),
    ],
)
def test_an_app_or_game_that_does_not_compile_is_a_build_error_before_anything_starts(
    environment, code, line
):
    """No server or display is started for code that cannot run: the status says so at once
    (it used to wait a minute for a page that never came, then say timeout)."""
    from arena_kit.web import execute_code
    from arena_kit.web.apps import running_apps

    result = execute_code(code, environment, refresh=True)
    assert result.status is Status.BUILD_ERROR, result.message
    assert result.message.startswith("build error: SyntaxError: ")
    assert f"(main.py, line {line})" in result.message
    assert running_apps() == []


def test_a_failure_said_only_on_stdout_is_quoted_as_the_last_output_line():
    from arena_kit.sandbox import run

    code = "import sys\nprint('working')\nprint('Usage: tool.py <folder>')\nsys.exit(1)\n"
    result = run(code, "python", backend="bwrap", cache=False)
    assert result.status is Status.RUNTIME_ERROR
    assert (
        result.message
        == "runtime error: exit code 1: its last output line: Usage: tool.py <folder>"
    )
    silent = run("import sys\nsys.exit(3)\n", "python", backend="bwrap", cache=False)
    assert silent.message == "runtime error: exit code 3"


def test_a_timeout_names_the_wait_it_ran_out_of_for_pages_and_for_apps():
    from arena_kit.web.browser import Render
    from arena_kit.web.execute import APP_RENDER_WAIT_S, _apply_render

    page = ExecutionResult("p", "", None, "html", Status.SANDBOX_ERROR)
    _apply_render(page, Render(png=None, timed_out=True), "html page", limit_s=10)
    assert page.status is Status.TIMEOUT
    assert page.message == (
        "timeout: the html page did not finish rendering within the wall-clock limit (10 s); "
        'raise it with limits={"wall_s": 60}'
    )
    app = ExecutionResult("a", "", None, "streamlit", Status.SANDBOX_ERROR)
    _apply_render(app, Render(png=None, timed_out=True), "streamlit app", app_wait_s=60.0)
    assert app.message == (
        f"timeout: the streamlit app did not finish rendering within {APP_RENDER_WAIT_S:g} s "
        "(how long a screenshot waits for an app's page)"
    )
