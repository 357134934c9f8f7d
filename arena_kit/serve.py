"""``arena-kit label --serve``: the labeling session as a web page for annotators (Voilà).

Each browser session gets its own kernel running the served notebook
(``arena_kit/templates/serve/labeling.ipynb``), whose one cell is :func:`served_session`;
Voilà sends the page its widgets only — no code cells, no kernel to type into — and culls the
kernels of closed pages. README, "The annotator web app", says how to run it behind
JupyterHub or a reverse proxy.

Annotators are not trusted: a browser can send any widget value or click through the comm
channel, hidden buttons included. So:

* the session is ``served`` (:class:`~arena_kit.labeling.ArenaSession`): nothing installs
  packages, **Try it live** is off, the annotator of a page cannot change, failures show a
  generic line (details in the server's log);
* the kernels accept only widget messages (Voilà refuses ``execute_request``), and the
  server has no ``/api/kernels`` list, no contents, no terminals, and serves no file of its
  folder (``file_allowlist`` is empty);
* the store's location (a PostgreSQL URL may hold a password) reaches the kernels through the
  server's environment only (:data:`STORE_ENV`), never the notebook, a command line of the
  served processes or the page; the kernels print nothing to the page
  (``capture_fd_output`` off, ``sys.stdout`` and ``sys.stderr`` sent to the server's log);
* no page asks anything of another origin: Voilà's ``lab`` template links Font Awesome from
  a CDN, so the served template is a copy without those lines;
* the server and its kernels never run as root: started as root, ``arena-kit label --serve``
  runs them as an unprivileged user of their own (``--user``, default ``arena-kit``, made if
  missing; never the sandbox's uid), in a private mount namespace where a Python installed
  under a home the user cannot enter (``/root/.pyenv``) is bound back read-only and the rest
  of that home is an empty tmpfs. The sandboxed runs then start from that user (bubblewrap
  in a user namespace; ``--cache`` holds their results).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ArenaKitError

__all__ = [
    "main",
    "served_session",
    "served_annotator",
    "NotSignedInError",
    "STORE_ENV",
    "TABLES_ENV",
    "USER_HEADER_ENV",
    "OPTIONS_ENV",
    "DEFAULT_USER",
]

STORE_ENV = "ARENA_KIT_SERVE_STORE"
"""The served kernels' vote store (a path or a ``postgresql://`` URL), set in the server's
environment by ``arena-kit label --serve``."""
TABLES_ENV = "ARENA_KIT_SERVE_TABLES"
"""The folder with the served ``battles.parquet`` and ``responses.parquet`` (read, validated
and written once by the command: a bad input file fails before the server starts)."""
USER_HEADER_ENV = "ARENA_KIT_SERVE_USER_HEADER"
"""The HTTP header holding the proxy's authenticated user (``--user-header``), when trusted."""
OPTIONS_ENV = "ARENA_KIT_SERVE_OPTIONS"
"""The session's options (sampling, seed, votes per battle), as JSON."""
DEFAULT_USER = "arena-kit"
"""The user the server and its kernels run as when the command is started as root."""
TEMPLATE = "arena-serve"
"""The Voilà template's name (``arena_kit/templates/serve``: ``lab`` without its CDN links)."""
NOTEBOOK = "labeling.ipynb"


class NotSignedInError(ArenaKitError, PermissionError):
    """``--user-header`` is set, and the request that opened the page did not carry it."""


# ---------------------------------------------------------------------------------------------
# In the served kernel.


def served_annotator(environ: Mapping[str, str]) -> str | None:
    """The annotator of a served page: the proxy's authenticated user when there is one.

    ``--user-header NAME``: the header's value (Voilà hands the headers named in
    ``http_header_envs`` to the kernel as ``HTTP_NAME``); a page opened without it is refused
    (:class:`NotSignedInError`) — it did not come through the proxy. Else ``JUPYTERHUB_USER``
    (set by JupyterHub for a user's own server). Else None: the page asks for an id.
    """
    header = environ.get(USER_HEADER_ENV, "").strip()
    if header:
        value = environ.get("HTTP_" + header.upper().replace("-", "_"), "").strip()
        if not value:
            raise NotSignedInError(f"the request carried no {header} header")
        return value
    return environ.get("JUPYTERHUB_USER", "").strip() or None


def _load_tables(folder: str | Path) -> tuple[Any, Any]:
    from .datasets import read_table

    folder = Path(folder)
    return (
        read_table(folder / "battles.parquet", "battles"),
        read_table(folder / "responses.parquet", "responses"),
    )


def _server_log() -> Any:
    """The kernel process's own stderr (the server's log), not the page's output stream."""
    return sys.__stderr__ or sys.stderr


def served_session() -> Any:
    """The annotator's session in a served kernel: what the served notebook shows.

    Reads :data:`STORE_ENV`, :data:`TABLES_ENV`, :data:`OPTIONS_ENV` and the annotator
    (:func:`served_annotator`) from the environment; returns a served
    :class:`~arena_kit.labeling.ArenaSession`, or a one-line widget saying the page cannot be
    used (the reason goes to the server's log, never to the page).
    """
    import ipywidgets as widgets

    # Nothing the kernel prints reaches the page (an error's text can name the store).
    sys.stdout, sys.stderr = sys.__stdout__ or sys.stdout, _server_log()
    try:
        annotator = served_annotator(os.environ)
        battles, responses = _load_tables(os.environ[TABLES_ENV])
        options = json.loads(os.environ.get(OPTIONS_ENV) or "{}")
        from .labeling import ArenaSession

        return ArenaSession(
            battles, responses, os.environ[STORE_ENV], annotator=annotator, served=True,
            **options,
        )  # fmt: skip
    except NotSignedInError as error:
        print(f"arena-kit serve: page refused: {error}", file=_server_log(), flush=True)
        return widgets.HTML("<b>Sign in first:</b> open this page through the campaign's link.")
    except Exception:
        import traceback

        traceback.print_exc(file=_server_log())
        return widgets.HTML(
            "<b>The labeling session could not start.</b> The organiser finds why in the "
            "server's log."
        )


# ---------------------------------------------------------------------------------------------
# The command.


@dataclass(frozen=True)
class ServedUser:
    """Who the server and its kernels run as."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arena-kit label",
        description="Serve the labeling session to annotators' browsers through Voila: the "
        "widgets only, one kernel per browser session, idle kernels culled (README, 'The "
        "annotator web app').",
    )
    parser.add_argument("--serve", action="store_true", help="serve it (the only mode here)")
    parser.add_argument(
        "--store",
        help="the vote store: a SQLite path or a postgresql:// URL (default: $ARENA_KIT_STORE; "
        "a URL with a password belongs there, not on a command line other users can read)",
    )
    parser.add_argument("--port", type=int, default=8866, help="default: 8866")
    parser.add_argument("--ip", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--battles", default="", help="a battles table (default: bundled)")
    parser.add_argument("--responses", default="", help="the responses the battles point into")
    parser.add_argument("--prompts", default="", help="the prompts (categories of made battles)")
    parser.add_argument("--base-url", default="/", help="the path prefix behind a proxy")
    parser.add_argument(
        "--user-header",
        default="",
        metavar="NAME",
        help="take the annotator from this HTTP header (e.g. X-Forwarded-User), which only a "
        "reverse proxy that authenticates users and removes the client's own copy may set",
    )
    parser.add_argument(
        "--user",
        default=None,
        help=f"started as root: the unprivileged user to run as (default {DEFAULT_USER}, made "
        "if missing)",
    )
    parser.add_argument(
        "--cull-idle",
        type=int,
        default=600,
        metavar="SECONDS",
        help="shut down the kernel of a page closed or disconnected this long (default 600)",
    )
    parser.add_argument(
        "--cache",
        default=None,
        help="the served user's sandbox cache (as root, default: <the arena-kit "
        "cache>/serve/<user>; else your own cache)",
    )
    parser.add_argument("--sampling", default="balanced", help="uniform, balanced or active")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--votes-per-battle", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``arena-kit label --serve …``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.serve:
        parser.error(
            "only --serve is here; to label in JupyterLab, open notebooks/02_label.ipynb "
            "(arena-kit notebooks FOLDER copies it)"
        )
    try:
        return _serve(args)
    except ArenaKitError as error:
        print(f"arena-kit label: error: {error}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    from .sampling import SAMPLING_MODES

    store = args.store or os.environ.get("ARENA_KIT_STORE", "")
    if not store:
        raise ArenaKitError("no vote store: give --store (a SQLite path or a postgresql:// URL)")
    if "://" not in store:  # a path: the kernels start elsewhere
        store = str(Path(store).expanduser().resolve())
    if args.sampling not in SAMPLING_MODES:
        raise ArenaKitError(f"--sampling {args.sampling!r}: use one of {', '.join(SAMPLING_MODES)}")
    try:
        import voila  # noqa: F401
    except ImportError:
        raise ArenaKitError("Voila is not installed: pip install 'arena-kit[serve]'") from None
    user = _served_user(args.user)
    state = Path(tempfile.mkdtemp(prefix="arena-kit-serve-"))
    try:
        environment = _prepare(state, store, user, args)
        launch = _launcher(state, user)
        _preflight(launch, environment, state, user)
        command = [sys.executable, "-m", "voila", str(state / "app" / NOTEBOOK)]
        url = f"http://{args.ip}:{args.port}{_base_url(args.base_url)}"
        print(
            f"arena-kit label: serving the labeling session at {url} (kernels run as user "
            f"{user.name}, uid {user.uid}; Ctrl-C stops)",
            flush=True,
        )
        return _run_until_stopped(launch + command, environment, state / "app")
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _base_url(base_url: str) -> str:
    return "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"


# ---------------------------------------------------------------------------------------------
# Who runs it.


def _served_user(name: str | None) -> ServedUser:
    """The user the server runs as: yourself, or (started as root) an unprivileged user."""
    import pwd

    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        if name not in (None, me.pw_name):
            raise ArenaKitError("--user needs root: run the command as the user you name")
        return ServedUser(me.pw_name, me.pw_uid, me.pw_gid, frozenset(os.getgroups()))
    from .sandbox.confine import configured_uid

    name = name or DEFAULT_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _make_user(name)
    if entry.pw_uid == 0:
        raise ArenaKitError(f"--user {name}: uid 0 is root; name an unprivileged user")
    if entry.pw_uid == configured_uid():
        raise ArenaKitError(
            f"--user {name}: uid {entry.pw_uid} is the sandbox's own uid; the server must not "
            "share it with the code it runs: name another user"
        )
    groups = frozenset(os.getgrouplist(name, entry.pw_gid))
    return ServedUser(name, entry.pw_uid, entry.pw_gid, groups)


def _make_user(name: str) -> Any:
    import pwd

    command = [
        "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
        "--shell", "/usr/sbin/nologin", name,
    ]  # fmt: skip
    if shutil.which("useradd") is None:
        raise ArenaKitError(f"no user {name!r} and no useradd to make it: make it, or give --user")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ArenaKitError(f"could not make the user {name!r}: {done.stderr.strip()}")
    print(
        f"arena-kit label: made the system user {name} (no login, no home) to run the server "
        "and its kernels",
        flush=True,
    )
    return pwd.getpwnam(name)


def _allows(path: Path, user: ServedUser, bits: int) -> bool:
    """Whether ``user`` has the permission ``bits`` (4 read, 2 write, 1 search) on ``path``
    by its mode (ACLs are not read)."""
    info = path.stat()
    if info.st_uid == user.uid:
        mode = info.st_mode >> 6
    elif info.st_gid in user.groups:
        mode = info.st_mode >> 3
    else:
        mode = info.st_mode
    return mode & bits == bits


def _hidden_paths(needed: list[Path], user: ServedUser) -> dict[Path, list[Path]]:
    """The folders ``user`` cannot enter on the way to each needed path, each with the needed
    paths under it (the launcher shows those, read-only, in an otherwise empty tmpfs)."""
    hidden: dict[Path, list[Path]] = {}
    for path in sorted(set(needed)):
        if any(path.is_relative_to(other) for other in needed if other != path):
            continue  # shown with the folder that holds it
        if not _allows(path, user, 5):
            mode = stat.filemode(path.stat().st_mode)
            raise ArenaKitError(
                f"{path}: user {user.name} cannot read it (mode {mode}): make it readable to "
                "all, or install arena-kit where every user can read it"
            )
        for parent in reversed(path.parents):
            if not _allows(parent, user, 1):
                hidden.setdefault(parent, []).append(path)
                break
    return hidden


def _needed_paths() -> list[Path]:
    """What the served processes read: the Python installation, the environment,
    arena-kit's own folder, and the sandbox's runtime and web cache."""
    from .sandbox.paths import runtime_dir
    from .web.assets import web_dir

    paths = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(sys.executable).resolve().parent,
        Path(__file__).resolve().parent.parent,
    ]
    paths += [p.resolve() for p in (runtime_dir(), web_dir()) if p.exists()]
    return paths


def _launcher(state: Path, user: ServedUser) -> list[str]:
    """The command prefix that starts a served process: nothing when you are not root; as
    root, a private mount namespace (folders the user cannot enter replaced by a tmpfs that
    shows only what the server needs, read-only), then ``setpriv`` to the user, with no
    capabilities and no way to gain privileges."""
    if os.geteuid() != 0:
        return []
    needed = _needed_paths()
    hidden = _hidden_paths(needed, user)
    if shutil.which("setpriv") is None or (hidden and shutil.which("unshare") is None):
        raise ArenaKitError("setpriv and unshare (util-linux) are needed to drop root")
    setpriv = [
        "setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]  # fmt: skip
    if not hidden:
        return setpriv
    lines = ["set -e"]
    shown = [path for paths in hidden.values() for path in paths]
    stages = []
    for index, path in enumerate(shown):
        stage = state / "mnt" / str(index)
        stage.mkdir(parents=True)
        stages.append(stage)
        lines.append(f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(stage))}")
    for folder in hidden:
        lines.append(
            f"mount -t tmpfs -o mode=0755,size=1m arena-kit-serve {shlex.quote(str(folder))}"
        )
    for path, stage in zip(shown, stages, strict=True):
        where, staged = shlex.quote(str(path)), shlex.quote(str(stage))
        lines += [
            f"mkdir -p {where}",
            f"mount --bind {staged} {where}",
            f"mount -o remount,bind,ro {where}",
            f"umount {staged}",
        ]
    lines.append('exec "$@"')
    script = "\n".join(lines)
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
            "arena-kit-serve", *setpriv]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# What it serves.


def _prepare(state: Path, store: str, user: ServedUser, args: argparse.Namespace) -> dict[str, str]:
    """Fill the server's private folder; returns the server's environment."""
    from .datasets import write_table
    from .resources import package_path

    battles, responses = _read_inputs(args)
    folders = {
        name: state / name
        for name in ("app", "tables", "home", "config", "ipython", "runtime", "data", "tmp")
    }
    for folder in folders.values():
        folder.mkdir(mode=0o700)
    write_table(battles, folders["tables"] / "battles.parquet", "battles")
    write_table(responses, folders["tables"] / "responses.parquet", "responses")
    served = package_path("templates", "serve")
    shutil.copyfile(served / NOTEBOOK, folders["app"] / NOTEBOOK)
    template = state / "jupyter" / "voila" / "templates" / TEMPLATE
    template.mkdir(parents=True)
    for name in ("index.html.j2", "conf.json"):
        shutil.copyfile(served / name, template / name)
    profile = folders["ipython"] / "profile_default"
    profile.mkdir()
    # The kernel must not forward what its process writes to fd 1/2 to the page.
    _write_json(
        profile / "ipython_kernel_config.json", {"IPKernelApp": {"capture_fd_output": False}}
    )
    header = args.user_header.strip()
    _write_json(folders["config"] / "voila.json", {
        "Voila": {
            "ip": args.ip, "port": args.port, "port_retries": 0, "open_browser": False,
            "base_url": _base_url(args.base_url),
        },
        "VoilaConfiguration": {
            "template": TEMPLATE, "strip_sources": True, "show_tracebacks": False,
            "file_allowlist": [], "http_header_envs": [header] if header else [],
        },
        # Kernels on Unix sockets in the server's 0700 folder, not on loopback TCP ports.
        "KernelManager": {"transport": "ipc", "ip": str(folders["runtime"] / "kernel")},
        "MappingKernelManager": {
            "cull_idle_timeout": max(1, args.cull_idle),
            "cull_interval": max(1, min(60, args.cull_idle // 2)),
            "cull_connected": False,  # a page still open is a person reading: never cut off
        },
    })  # fmt: skip
    environment = _base_environment()
    environment.update({
        STORE_ENV: store,
        TABLES_ENV: str(folders["tables"]),
        OPTIONS_ENV: json.dumps(
            {"sampling": args.sampling, "seed": args.seed,
             "votes_per_battle": args.votes_per_battle}
        ),
        USER_HEADER_ENV: header,
        "JUPYTER_PATH": str(state / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(folders["config"]),
        "JUPYTER_DATA_DIR": str(folders["data"]),
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
        "IPYTHONDIR": str(folders["ipython"]),
        "TMPDIR": str(folders["tmp"]),
    })  # fmt: skip
    if os.geteuid() == 0:
        environment.update(HOME=str(folders["home"]), USER=user.name, LOGNAME=user.name)
        environment["ARENA_KIT_CACHE"] = str(_served_cache(args.cache, user))
        for path in [state, *state.rglob("*")]:
            os.lchown(path, user.uid, user.gid)
    elif args.cache:
        environment["ARENA_KIT_CACHE"] = str(_served_cache(args.cache, user))
    return environment


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n")


def _read_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The battles and responses to serve (as ``02_label`` reads them), validated here once."""
    from . import datasets, report
    from .battles import make_battles

    data = report.read_inputs(
        battles_path=args.battles, responses_path=args.responses, prompts_path=args.prompts
    )
    if not data.given:
        return datasets.bundled_battles(), datasets.bundled_responses()[1]
    responses = data.require("responses", why="the session shows the answers of the battles")
    battles = data.battles if data.battles is not None else make_battles(responses, data.prompts)
    return battles, responses


def _base_environment() -> dict[str, str]:
    """The server's environment: yours when you are not root; as root only what the served
    processes need (root's own variables — tokens, keys — stay behind)."""
    if os.geteuid() != 0:
        return dict(os.environ)
    kept = ("PATH", "LANG", "LANGUAGE", "TZ")
    environment = {k: v for k, v in os.environ.items() if k in kept or k.startswith("LC_")}
    environment.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    for name, value in os.environ.items():
        if name.startswith("JUPYTERHUB_") or (
            name.startswith("ARENA_KIT_") and name not in ("ARENA_KIT_CACHE", "ARENA_KIT_STORE")
        ):
            environment[name] = value
    return environment


def _served_cache(chosen: str | None, user: ServedUser) -> Path:
    """The served user's sandbox cache: its own results and work folders, the runtime and the
    web cache linked from yours (read-only to it)."""
    from .sandbox.paths import cache_dir, runtime_dir
    from .web.assets import web_dir

    if chosen:
        cache = Path(chosen).expanduser().resolve()
    else:
        base = cache_dir() / "serve"
        base.mkdir(parents=True, exist_ok=True, mode=0o755)
        cache = base / user.name
    if cache.exists() and cache.stat().st_uid != user.uid:
        # Never take over a folder someone else made (root's own cache, say).
        raise ArenaKitError(
            f"{cache}: belongs to uid {cache.stat().st_uid}, not to {user.name}: give --cache "
            "a new folder, or one of that user's"
        )
    cache.mkdir(parents=True, exist_ok=True, mode=0o755)
    for name, target in (("runtime", runtime_dir()), ("web", web_dir())):
        link = cache / name
        if not link.exists() and not link.is_symlink() and target.exists():
            link.symlink_to(target.resolve())
    if os.geteuid() == 0:
        for path in (cache, cache / "runtime", cache / "web"):
            if path == cache or path.is_symlink():
                os.lchown(path, user.uid, user.gid)
    return cache


# ---------------------------------------------------------------------------------------------
# Running it.


def _preflight(
    launch: list[str], environment: dict[str, str], state: Path, user: ServedUser
) -> None:
    """Open the store, read the tables and run a program in the sandbox as the served user,
    before serving anything: a store that user cannot write, or a sandbox that cannot start
    there, is an error now, not in every annotator's page."""
    done = subprocess.run(
        [*launch, sys.executable, "-m", "arena_kit.serve", "--check"],
        env=environment, cwd=state / "app", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        why = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ArenaKitError(
            f"as user {user.name} (uid {user.uid}), the served session cannot start: "
            + (why[-1] if why else f"exit status {done.returncode}")
        )


def _check() -> int:
    """``python -m arena_kit.serve --check``: what :func:`_preflight` runs as the user."""
    try:
        from . import sandbox
        from .store import VoteStore

        VoteStore(os.environ[STORE_ENV]).close()
        _load_tables(os.environ[TABLES_ENV])
        result = sandbox.run("print('ok')", language="python")
        if result.status != "ok":
            raise ArenaKitError(f"the sandbox does not run here: {result.status}: {result.message}")
    except Exception as error:  # shown to the person starting the server, in one line
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def _run_until_stopped(command: list[str], environment: dict[str, str], cwd: Path) -> int:
    """Run the server until it exits, or until this process is told to stop (SIGINT, SIGTERM:
    passed on, so that Voilà shuts its kernels down)."""
    server = subprocess.Popen(command, env=environment, cwd=cwd)

    def stop(signum: int, _frame: Any) -> None:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                return server.wait()
            except KeyboardInterrupt:  # pragma: no cover - the handler above takes SIGINT
                stop(signal.SIGINT, None)
    finally:
        if server.poll() is None:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover - the preflight, as the served user
    if sys.argv[1:] == ["--check"]:
        sys.exit(_check())
    sys.exit(main())
