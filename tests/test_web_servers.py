"""The `server` environment end to end: real sandboxes, real servers, the real browser.

Each framework an answer may use is started from its own code, found on the port it chose,
asked for its root page through the bridge, and stopped; the text it serves is checked, not
only that something answered.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from arena_kit.extract import detect_environment, extract
from arena_kit.sandbox import Status
from arena_kit.web import execute_code, execute_response
from arena_kit.web.apps import AppStartError, running_apps, start_app
from arena_kit.web.bridge import listening
from arena_kit.web.execute import server_files

pytestmark = pytest.mark.slow
F = "```"

FRAMEWORKS = {
    # name: (language, code, text the root page holds, port its code listens on)
    "flask with its debug reloader": (
        "python",
        "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef home():\n"
        "    return '<h1>hello flask</h1>'\nif __name__ == '__main__':\n"
        "    app.run(debug=True, port=5000)\n",
        "hello flask",
        5000,
    ),
    "fastapi app without uvicorn.run": (
        "python",
        "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef root():\n"
        "    return {'hello': 'fastapi'}\n",
        '"hello":"fastapi"',
        8000,
    ),
    "fastapi with uvicorn.run": (
        "python",
        "import uvicorn\nfrom fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\n"
        "def root():\n    return {'hello': 'uvicorn'}\nif __name__ == '__main__':\n"
        "    uvicorn.run(app, host='0.0.0.0', port=8765)\n",
        '"hello":"uvicorn"',
        8765,
    ),
    "dash": (
        "python",
        "from dash import Dash, html\napp = Dash(__name__)\n"
        "app.layout = html.Div([html.H1('hello dash')])\nif __name__ == '__main__':\n"
        "    app.run(port=8050)\n",
        "<title>Dash</title>",  # the page is built in the browser: its shell is what answers
        8050,
    ),
    "bottle on localhost": (
        "python",
        "from bottle import route, run\n@route('/')\ndef index():\n    return 'hello bottle'\n"
        "run(host='localhost', port=8080)\n",
        "hello bottle",
        8080,
    ),
    "bottle routes without run()": (
        "python",
        "from bottle import route\n@route('/')\ndef index():\n    return 'hello default app'\n",
        "hello default app",
        8000,
    ),
    "http.server": (
        "python",
        "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
        "class H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200)\n"
        "        self.end_headers()\n        self.wfile.write(b'hello stdlib')\n"
        "HTTPServer(('', 9000), H).serve_forever()\n",
        "hello stdlib",
        9000,
    ),
    "node http on localhost (::1)": (
        "javascript",
        "const http = require('http');\nhttp.createServer((req, res) => res.end('hello node'))"
        ".listen(3000, 'localhost');\n",
        "hello node",
        3000,
    ),
    "express reading PORT": (
        "javascript",
        "const express = require('express');\nconst app = express();\n"
        "app.get('/', (req, res) => res.send('hello express'));\n"
        "app.listen(process.env.PORT || 3000);\n",
        "hello express",
        8000,
    ),
}


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_each_framework_serves_its_root_page_on_the_port_its_code_chose(name):
    language, code, text, port = FRAMEWORKS[name]
    answer = f"{F}{language}\n{code}{F}\n"
    assert detect_environment(answer) == ("server", language)
    app = start_app(code, "server", language=language)
    try:
        assert app.bridge.inner_port == port
        assert app.root_status == 200
        with urllib.request.urlopen(app.url, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
        assert text in body
        pids = app.pids()
        assert pids
    finally:
        app.stop()
    assert app not in running_apps()
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", app.port), timeout=2).close()


def test_a_flask_answer_with_its_template_renders_through_the_browser():
    answer = (
        f"{F}python\nfrom flask import Flask, render_template\napp = Flask(__name__)\n"
        "@app.route('/')\ndef home():\n    return render_template('index.html', n=3)\n"
        f"app.run()\n{F}\n\n{F}html\n<!-- index.html -->\n<html><body><h1>{{{{ n }}}} items</h1>"
        f"</body></html>\n{F}\n"
    )
    found = extract(answer)
    assert (found.environment, found.language) == ("server", "python")
    assert found.files == {"index.html": found.blocks[1].code}
    assert "templates/index.html" in server_files(found.code, found.files)
    result = execute_response(answer, refresh=True)
    assert result.status is Status.OK, result.message
    assert result.message.startswith("ok: server rendered in ")
    assert result.screenshot and Path(result.screenshot).stat().st_size > 1000
    assert "GET / HTTP" in result.stderr  # Flask's request log: the page came from the app


def test_express_static_folder_gets_the_answers_page():
    code = "app.use(express.static(path.join(__dirname, 'public')));"
    assert server_files(code, {"index.html": "<p>x</p>", "notes.txt": "t"}) == {
        "index.html": "<p>x</p>",
        "public/index.html": "<p>x</p>",
        "notes.txt": "t",
    }


@pytest.mark.parametrize(
    ("language", "code", "module", "hint"),
    [
        ("javascript", "const Koa = require('koa');\nnew Koa().listen(3000);\n", "koa",
         "npm install koa"),
        ("python", "from aiohttp import web\napp = web.Application()\nweb.run_app(app)\n",
         "aiohttp", "pip install aiohttp"),
    ],
)  # fmt: skip
def test_a_missing_framework_is_a_missing_dependency_naming_it(language, code, module, hint):
    result = execute_code(code, "server", language=language, refresh=True)
    assert result.status is Status.MISSING_DEPENDENCY
    assert result.message == f"missing dependency: {module!r} is not installed ({hint})"


def test_a_server_whose_root_page_fails_is_a_runtime_error_naming_the_exception():
    code = (
        "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef home():\n"
        "    return 1 / 0\napp.run()\n"
    )
    result = execute_code(code, "server", refresh=True)
    assert result.status is Status.RUNTIME_ERROR
    assert result.message.startswith("runtime error: the server answered HTTP 500 on its root")
    assert "ZeroDivisionError: division by zero (main.py, line 5)" in result.message
    assert result.screenshot  # the error page is what a person would see


def test_code_that_serves_nothing_says_so_at_once():
    started = time.monotonic()
    result = execute_code("import flask\nprint('no app here')\n", "server", refresh=True)
    assert time.monotonic() - started < 10
    assert result.status is Status.RUNTIME_ERROR
    assert "ended without starting a server" in result.message
    assert "no app here" in result.stdout


def test_a_python_server_with_a_syntax_error_is_a_build_error_without_starting():
    result = execute_code("from flask import Flask\napp = Flask(\n", "server", refresh=True)
    assert result.status is Status.BUILD_ERROR
    assert result.message.startswith("build error: SyntaxError:")


def test_a_server_cannot_reach_a_host_listener_and_finds_only_its_own_port():
    # A listener on the host's loopback, started here: the server's namespace has its own
    # loopback, so the connection is refused there, and only the server's port is listed.
    with socket.socket() as host_listener:
        host_listener.bind(("127.0.0.1", 0))
        host_listener.listen(1)
        host_listener.settimeout(0.5)
        port = host_listener.getsockname()[1]
        accepted: list[object] = []

        def accept() -> None:
            with contextlib.suppress(OSError):  # nothing came within its timeout
                accepted.append(host_listener.accept())

        watcher = threading.Thread(target=accept)
        watcher.start()
        code = (
            "import socket\nfrom flask import Flask\napp = Flask(__name__)\n"
            "@app.route('/')\ndef home():\n    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "        return 'REACHED'\n    except OSError as error:\n"
            "        return f'refused: {error}'\n"
        )
        app = start_app(code, "server")
        try:
            with urllib.request.urlopen(app.url, timeout=10) as response:
                body = response.read().decode()
            sandbox = next(pid for pid in app.pids() if listening(pid))
            assert listening(sandbox) == [("127.0.0.1", 8000)]
        finally:
            app.stop()
        watcher.join()
    assert body.startswith("refused:")
    assert not accepted


def test_a_server_that_never_listens_times_out_and_is_stopped():
    with pytest.raises(AppStartError) as caught:
        start_app("import time\nimport flask\ntime.sleep(60)\n", "server", ready_timeout_s=3)
    assert caught.value.status == "timeout"
    assert caught.value.message.startswith("timeout: the server did not answer within 3 s")
    assert not running_apps()


def test_a_root_page_behind_a_login_is_a_runtime_error_saying_so():
    # Chromium cannot show a 401 with a Basic challenge (no one types a password): the
    # answer's doing, not a sandbox failure.
    code = (
        "from flask import Flask, Response\napp = Flask(__name__)\n@app.route('/')\n"
        "def home():\n"
        "    return Response('login', 401, {'WWW-Authenticate': 'Basic realm=\"x\"'})\n"
        "app.run()\n"
    )
    result = execute_code(code, "server", refresh=True)
    assert result.status is Status.RUNTIME_ERROR
    assert result.message == (
        "runtime error: the server's page cannot be shown (it asks for a login: HTTP 401)"
    )
