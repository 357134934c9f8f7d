"""Streamlit and Gradio apps, and web servers: started in the sandbox, polled until ready,
always stopped.

An app runs in bubblewrap like any program (no network, private ``/work`` and ``/tmp``, its
own cgroup), listening on the loopback of its own network namespace; a :class:`Bridge` makes
that one port reachable on a free host loopback port, for the screenshot browser and for the
notebook (through the Jupyter server's proxy). Every app started is registered and stopped
at interpreter exit at the latest; :meth:`App.stop` kills the whole process tree (its
cgroup) and removes its work directory.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..errors import ArenaKitError
from ..sandbox import cgroups
from ..sandbox.api import check_file_names
from ..sandbox.bwrap import bwrap_command
from ..sandbox.limits import Limits
from ..sandbox.process import Started
from ..sandbox.runtimes import SANDBOX_RUNTIME
from ..sandbox.warmpool import WarmPool
from ..sandbox.workdir import WorkDir
from .bridge import Bridge, children, listening, sandbox_netns, sandbox_pid

__all__ = [
    "App",
    "AppStartError",
    "APP_KINDS",
    "APP_LIMITS",
    "start_app",
    "running_apps",
    "stop_all",
    "keep_warm",
]

APP_LIMITS = Limits(wall_s=600, cpu_s=600, memory_mb=2048, pids=512, disk_mb=256)
"""Defaults for apps: servers are long-lived, threaded and import large packages."""

_PYTHON = f"{SANDBOX_RUNTIME}/venv/bin/python"

# One launcher for every kind. It imports the framework first, then waits for its job (the
# code and settings) on stdin: a warm app (see keep_warm) has paid for the import before the
# answer arrives. Gradio answers often build an interface and forget launch(): the launcher
# runs the answer as __main__, then launches the last Blocks it left if no server is up. A
# server answer that only defines its app (a FastAPI ``app`` without ``uvicorn.run``, a Flask
# ``app`` without ``app.run``) is served the same way, by the framework's own runner; a Node
# server replaces the launcher with node.
_LAUNCHER = """
import json, os, runpy, sys
kind = sys.argv[1]
if kind == "streamlit":
    import streamlit.web.cli
    for name in ("numpy", "pandas", "altair"):
        try:
            __import__(name)
        except Exception:
            pass
elif kind == "gradio":
    import gradio
job = json.loads(sys.stdin.readline())
null = os.open(os.devnull, os.O_RDONLY)  # the control pipe never reaches the answer
os.dup2(null, 0)
os.close(null)
with open(job["file"], "w", encoding="utf-8") as handle:
    handle.write(job["code"])
os.environ.update(job["env"])
if kind == "streamlit":
    sys.argv = ["streamlit", "run", "main.py", *job["flags"]]
    sys.exit(streamlit.web.cli.main())
if job["file"] == "main.js":
    os.execvp("node", ["node", "main.js"])
sys.argv = ["main.py"]
sys.orig_argv = [sys.orig_argv[0], "main.py"]  # reloaders (Flask debug) restart `python main.py`
namespace = runpy.run_path("main.py", run_name="__main__")
if kind == "gradio":
    apps = [v for v in namespace.values() if isinstance(v, gradio.Blocks)]
    last = apps[-1] if apps else None
    if last and not getattr(last, "server", None) and not getattr(last, "is_running", False):
        last.launch()
    sys.exit(0)
host, port = "127.0.0.1", int(os.environ["PORT"])
for value in reversed(list(namespace.values())):
    framework = (getattr(type(value), "__module__", None) or "").split(".")[0]
    if framework in ("fastapi", "starlette") and callable(value):
        import uvicorn
        sys.exit(uvicorn.run(value, host=host, port=port))
    if framework in ("flask", "dash") and hasattr(value, "run"):
        sys.exit(value.run(host=host, port=port))
    if framework == "bottle" and hasattr(value, "route"):
        import bottle
        sys.exit(bottle.run(value, host=host, port=port))
if "bottle" in sys.modules and getattr(sys.modules["bottle"], "default_app", None):
    bottle = sys.modules["bottle"]
    if bottle.default_app().routes:  # module-level @route handlers, no run() call
        sys.exit(bottle.run(host=host, port=port))
sys.exit("arena-kit: the program ended without starting a server, and defines no Flask, "
         "FastAPI, Dash or Bottle app to serve")
"""
_STREAMLIT_FLAGS = [
    "--server.address", "127.0.0.1", "--server.headless", "true",
    "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    "--global.developmentMode", "false", "--server.enableCORS", "false",
    "--server.enableXsrfProtection", "false",
    # The viewer's toolbar: no "Deploy" button or developer menu in the arena's screenshots.
    "--client.toolbarMode", "viewer",
]  # fmt: skip


@dataclass(frozen=True)
class _Kind:
    inner_port: int
    health_path: str
    ready_selector: str
    error_selector: str | None
    busy_selector: str | None = None
    find_port: bool = False
    """A server listens where its code says: the port is found in the sandbox's namespace
    (``PORT`` is only offered), and any HTTP answer on its root means it serves."""


APP_KINDS: dict[str, _Kind] = {
    "streamlit": _Kind(
        8501,
        "/_stcore/health",
        '[data-testid="stElementContainer"], .element-container, [data-testid="stException"]',
        '[data-testid="stException"]',
        '[data-testid="stStatusWidget"] button, [data-testid="stStatusWidget"] img',
    ),
    "gradio": _Kind(7860, "/", ".gradio-container", None),
    "server": _Kind(8000, "/", "body", None, find_port=True),
}


class AppStartError(ArenaKitError):
    """The app did not come up: ``status`` is ``runtime_error`` or ``timeout``."""

    def __init__(self, status: str, message: str, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.stdout = stdout
        self.stderr = stderr


class _Drain:
    """Reads one pipe to the end in a thread, keeping at most ``cap`` bytes."""

    def __init__(self, stream: object, cap: int) -> None:
        self.data = bytearray()
        self.cap = cap
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        with contextlib.suppress(Exception):
            while True:
                chunk = stream.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    return
                room = self.cap - len(self.data)
                if room > 0:
                    self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


_running: set[App] = set()
_running_lock = threading.Lock()


class App:
    """A Streamlit or Gradio app, or a web server, running in the sandbox (see
    :func:`start_app`)."""

    def __init__(self, kind: str, limits: Limits) -> None:
        if kind not in APP_KINDS:
            raise ValueError(f"unknown app kind {kind!r}; use one of {sorted(APP_KINDS)}")
        self.kind = kind
        self.label = "server" if kind == "server" else f"{kind} app"
        """What messages call it: "the server", "the streamlit app"."""
        self.spec = APP_KINDS[kind]
        self.limits = limits
        self.started_at = time.monotonic()
        self.ready_s: float | None = None
        self.bridge = Bridge(self.spec.inner_port)
        self.work = WorkDir(limits.disk_mb)
        self.group = cgroups.create(limits.memory_mb * 2**20, limits.pids)
        self._stopped = False
        self.submitted = False
        self.root_status: int | None = None
        """The HTTP status its root page answered with, once it serves."""
        self.proxy_token: str | None = None
        """Its capability token at the Jupyter server, once shown through it (see
        :mod:`arena_kit.web.jupyter_app_proxy`); removed when the app stops."""
        self.work.write("arena_launch.py", _LAUNCHER)
        env = {"HF_HUB_OFFLINE": "1", "MPLCONFIGDIR": "/tmp/matplotlib"}
        rlimits = {"t": int(limits.cpu_s), "f": limits.file_mb * 2048, "c": 0}
        if self.group is None:
            rlimits["v"] = limits.memory_mb * 1024
        argv = bwrap_command(
            self.work.path, [_PYTHON, "arena_launch.py", kind], env=env, tmp_mb=limits.disk_mb
        )
        self.process = Started(argv, cgroup=self.group, rlimits=rlimits, hold=True)
        assert self.process.process.stdout is not None and self.process.process.stderr is not None
        self._stdout = _Drain(self.process.process.stdout, limits.output_bytes)
        self._stderr = _Drain(self.process.process.stderr, limits.output_bytes)

    def submit(
        self,
        code: str,
        root_path: str | None = None,
        language: str = "python",
        files: dict[str, str] | None = None,
    ) -> None:
        """Hand the app its code (once); the server starts serving it.

        ``language`` is ``javascript`` for a Node server (``server`` kind only); ``files``
        (name → text) are written next to the code first (a server's templates and pages).
        """
        if self.submitted:
            raise RuntimeError("an app runs one piece of code; start another app")
        if language not in ("python", "javascript") or (
            language == "javascript" and self.kind != "server"
        ):
            raise ValueError(f"a {self.kind} app runs Python, not {language!r}")
        check_file_names(files or {})
        self.submitted = True
        for name, text in (files or {}).items():
            self.work.write(name, text)
        port = str(self.spec.inner_port)
        env = {
            "GRADIO_ANALYTICS_ENABLED": "False",
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": port,
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            # Offered to servers (many read PORT); where one listens is found, not assumed.
            "PORT": port,
            "HOST": "127.0.0.1",
            "NODE_PATH": f"{SANDBOX_RUNTIME}/node_modules",
        }
        if root_path:
            env["GRADIO_ROOT_PATH"] = root_path
        flags = [*_STREAMLIT_FLAGS, "--server.port", port]
        self.started_at = time.monotonic()
        file = "main.js" if language == "javascript" else "main.py"
        job = json.dumps({"code": code, "file": file, "env": env, "flags": flags}) + "\n"
        self.process.release(job.encode("utf-8"))

    # -- state --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The host loopback port that reaches the app."""
        return self.bridge.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def alive(self) -> bool:
        return not self._stopped and self.process.process.poll() is None

    @property
    def stdout(self) -> str:
        return self._stdout.text()

    @property
    def stderr(self) -> str:
        return self._stderr.text()

    def pids(self) -> list[int]:
        """Processes of the app's tree still alive (its cgroup's members)."""
        return self.group.pids() if self.group is not None else []

    # -- start and stop -----------------------------------------------------------------------
    def wait_ready(self, timeout_s: float) -> None:
        """Poll the app's health URL through the bridge until it answers 200."""
        deadline = time.monotonic() + timeout_s
        attached = False
        while time.monotonic() < deadline:
            if self.process.process.poll() is not None:
                time.sleep(0.2)  # let the pipes drain
                raise AppStartError(
                    "runtime_error",
                    f"runtime error: the {self.label} exited before serving "
                    f"(exit {self.process.process.returncode}): {_last_line(self.stderr)}",
                    self.stdout,
                    self.stderr,
                )
            if not attached:
                attached = self._attach()
            if attached and self._healthy():
                self.ready_s = time.monotonic() - self.started_at
                return
            time.sleep(0.05 if self.spec.find_port else 0.15)
        raise AppStartError(
            "timeout",
            f"timeout: the {self.label} did not answer within {timeout_s:g} s: "
            f"{_last_line(self.stderr) or 'no output'}",
            self.stdout,
            self.stderr,
        )

    def _attach(self) -> bool:
        """Connect the bridge to the sandbox's namespace once it exists (and, for a server,
        once it listens: the port its code chose, ``PORT`` when it listens there too)."""
        pid = sandbox_pid(self.process.process.pid)
        if pid is None:
            return False
        if self.spec.find_port:
            ports = listening(pid)
            if not ports:
                return False
            offered = [pair for pair in ports if pair[1] == self.spec.inner_port]
            self.bridge.inner_host, self.bridge.inner_port = (offered or ports)[0]
        netns = sandbox_netns(pid)
        if netns is None:
            return False
        self.bridge.attach(netns)
        return True

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{self.spec.health_path}", timeout=2
            ) as response:
                self.root_status = int(response.status)
        except urllib.error.HTTPError as error:  # it answered: a server is up
            self.root_status = int(error.code)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return self.root_status == 200 or self.spec.find_port

    def stop(self) -> None:
        """Stop the app: kill its whole tree, close the bridge, remove its work directory."""
        if self._stopped:
            return
        self._stopped = True
        if self.proxy_token is not None:
            from .jupyter_app_proxy import unshare

            unshare(self.proxy_token)  # first: the server answers 404 from now on
        self.bridge.close()
        self._end_tree()
        if self.group is not None:
            self.group.remove()
        self.work.cleanup()
        with _running_lock:
            _running.discard(self)
        if self.submitted and self.kind in _pools:
            _pools[self.kind].refill()

    def _end_tree(self) -> None:
        end_tree(self.process, self.group)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else "stopped"
        return f"App({self.kind!r}, {state}, url={self.url!r})"

    def _repr_html_(self) -> str:
        from .display import live_app_html

        return live_app_html(self)


def end_tree(started: Started, group: cgroups.Cgroup | None) -> None:
    """Kill a held sandbox (an app, a live game) from its inside out, so that every process
    is reaped, then close its pipes.

    Killing the namespace's first process (bwrap's child) ends every process in the sandbox
    and lets the outer bwrap reap them and exit; killing all at once would leave the inner
    one a zombie that nobody waits for.
    """
    process = started.process
    if process.returncode is None:
        for child in children(process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            status = None
            time.sleep(0.02)
        if status is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            if group is not None:
                group.kill_all()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process.pid, 0)
        process.returncode = -signal.SIGKILL
    started._close_status()  # reaped: bwrap wrote its exit code there last (else a leaked fd)
    with contextlib.suppress(OSError):
        os.close(started.pidfd)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def start_app(
    code: str,
    kind: str,
    *,
    limits: Limits | None = None,
    ready_timeout_s: float = 90.0,
    root_path: str | None = None,
    language: str = "python",
    files: dict[str, str] | None = None,
) -> App:
    """Start ``code`` as a ``streamlit`` or ``gradio`` app, or a ``server``, and wait until it
    serves.

    A server (Flask, FastAPI, Dash, Bottle, ``http.server``; Node ``http`` or Express with
    ``language="javascript"``) listens on a loopback port of its own namespace, found from
    its listening sockets (``PORT`` is set to 8000 for servers that read it); an app object
    its code only defines is served by the framework's runner.

    Parameters
    ----------
    root_path
        The URL prefix the app is served under (Gradio needs it behind the Jupyter proxy).
    language
        ``python``, or ``javascript`` for a Node server.
    files
        Other files of the answer (name → text), written next to its code.

    Raises
    ------
    AppStartError
        The app exited first (``runtime_error``, with its stderr) or did not answer in time
        (``timeout``); it has been stopped.
    """
    chosen = limits or APP_LIMITS
    app = _take_warm(kind, chosen) or App(kind, chosen)
    with _running_lock:
        _running.add(app)
    try:
        app.submit(code, root_path, language, files)
        app.wait_ready(ready_timeout_s)
    except BaseException:
        app.stop()
        raise
    return app


_pools: dict[str, WarmPool[App]] = {}
_pools_lock = threading.Lock()


def _pool(kind: str) -> WarmPool[App]:
    with _pools_lock:
        if kind not in _pools:
            _pools[kind] = WarmPool(
                functools.partial(App, kind, APP_LIMITS),
                App.stop,
                alive=lambda app: app.alive,
                name=f"arena-kit-warm-{kind}",
            )
        return _pools[kind]


def keep_warm(kind: str, count: int = 1) -> None:
    """Keep ``count`` sandboxes of ``kind`` started ahead, their framework imported (0: none).

    Each serves exactly one app (isolation is unchanged); Gradio's import alone takes
    seconds, which a warm one has already paid. Idle ones hold memory (~200-400 MB each).
    """
    if kind not in APP_KINDS:
        raise ValueError(f"unknown app kind {kind!r}; use one of {sorted(APP_KINDS)}")
    _pool(kind).resize(count)


def _take_warm(kind: str, limits: Limits) -> App | None:
    # The pool is refilled when this app stops: starting the next one now would take the
    # CPU from the app being shown.
    return _pool(kind).take() if limits == APP_LIMITS else None


def running_apps() -> list[App]:
    """The apps started by this process and not stopped yet."""
    with _running_lock:
        return list(_running)


def stop_all() -> None:
    """Stop every app this process started, warm ones included (also run at exit)."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.close()
    for app in running_apps():
        app.stop()


atexit.register(stop_all)
