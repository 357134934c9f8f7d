"""A real PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` in a temporary folder.

The server listens on a free loopback port (and a unix socket in its own folder), requires a
password (SCRAM), keeps ``fsync`` and ``synchronous_commit`` on unless asked otherwise, and
is stopped by ``pg_ctl stop`` (its postmaster killed by pid if that fails) with its folder
removed: nothing is left behind.

``initdb``/``pg_ctl`` refuse to run as root, so a root test session runs them as a system user
of their own, ``arena-pg`` (created when missing; never the sandbox's uid). Fixtures, shared
by every test module through one line of ``conftest.py``:

* ``postgres_server`` (session): the running :class:`PostgresServer`.
* ``postgres_url``: a fresh, empty database for one test (``CREATE DATABASE`` from a
  template, dropped afterwards), as a ``postgresql://user:password@127.0.0.1:port/db`` URL.
* ``store_location``: parametrised ``sqlite`` (a path in ``tmp_path``) | ``postgres`` (a
  ``postgres_url``): a test that takes it runs on both engines of the vote store.

Outside CI a machine without PostgreSQL skips the ``postgres`` tests with the reason; in CI
(``CI=true``) that is a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "PostgresServer",
    "postgres_unavailable",
    "running_postgres",
    "postgres_server",
    "postgres_url",
    "store_location",
    "is_postgres",
    "connect_raw",
]

SYSTEM_USER = "arena-pg"
"""The system user that runs the server when the tests run as root."""

ROLE = "arena"
"""The database superuser the tests connect as (with a password, over TCP)."""

TEMPLATE = "arena_template"
"""The empty database each test's database is made from."""


def postgres_bindir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: on ``PATH``, else Debian's newest
    ``/usr/lib/postgresql/<version>/bin``."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def postgres_unavailable() -> str | None:
    """Why no test server can run here, or ``None``."""
    if postgres_bindir() is None:
        return "PostgreSQL is not installed (initdb, pg_ctl; Debian: apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'arena-kit[postgres]')"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (util-linux): initdb/pg_ctl cannot run as root"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _system_user() -> pwd.struct_passwd | None:
    """The user that runs the server: ``arena-pg`` (created if missing) when root, else none
    (the server runs as the caller)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SYSTEM_USER)
    command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
               "/nonexistent", "--shell", "/usr/sbin/nologin", SYSTEM_USER]  # fmt: skip
    made = subprocess.run(command, capture_output=True, text=True)
    try:  # another test session may have made it at the same moment
        user = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(f"cannot create the user {SYSTEM_USER}: {made.stderr.strip()}") from None
    from arena_kit.sandbox.confine import configured_uid

    assert user.pw_uid not in (0, configured_uid()), "the server must not share the sandbox uid"
    return user


class PostgresServer:
    """One PostgreSQL server in a temporary folder, run as an unprivileged user.

    Parameters
    ----------
    fsync
        ``fsync`` and ``synchronous_commit`` (on: a commit is on disk when acknowledged).
    """

    def __init__(self, *, fsync: bool = True) -> None:
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError(postgres_unavailable() or "PostgreSQL is not installed")
        self.fsync = fsync
        self.user = _system_user()
        self.password = secrets.token_hex(12)
        self.folder = Path(tempfile.mkdtemp(prefix="arena-kit-pg-"))
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.log = self.folder / "server.log"
        self.port = 0
        self._databases = 0

    # ----------------------------------------------------------------------------------
    # Running the server's own tools as its user.

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        return subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=timeout
        )

    def _options(self) -> str:
        durable = "on" if self.fsync else "off"
        return (
            f"-k {self.sockets} -h 127.0.0.1 -p {self.port} -c fsync={durable} "
            f"-c synchronous_commit={durable} -c max_connections=200"
        )

    def start(self) -> PostgresServer:
        """``initdb`` then ``pg_ctl start`` (a taken port is retried with another)."""
        self.sockets.mkdir()
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if self.user is not None:
            for path in (self.folder, self.sockets, password_file):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        made = self._run(
            "initdb", "-D", str(self.data), "-U", ROLE, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stdout}\n{made.stderr}")
        for _ in range(5):
            self.port = _free_port()
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", self._options(), "start",
            )  # fmt: skip
            if started.returncode == 0:
                break
        else:
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{self._log_tail()}")
        atexit.register(self.stop)  # a session that dies without its finaliser
        self.admin(f"CREATE DATABASE {TEMPLATE} TEMPLATE template0")
        return self

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""

    def pid(self) -> int | None:
        """The postmaster's pid (the first line of ``postmaster.pid``), or ``None``."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut, as in a server restart."""
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", "fast",
            "-o", self._options(), "restart",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stderr}\n{self._log_tail()}")

    @contextlib.contextmanager
    def halted(self) -> Iterator[None]:
        """The server stopped (``pg_ctl stop -m fast``) for the body, started again after."""
        done = self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr}\n{self._log_tail()}")
        try:
            yield
        finally:
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", self._options(), "start",
            )  # fmt: skip
            if started.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop``; its pid killed if that fails) and remove its
        folder. Safe to call twice."""
        atexit.unregister(self.stop)
        if not self.folder.exists():
            return
        pid = self.pid()
        if pid is not None:
            stopped = self._run(
                "pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-m", "fast", "stop", timeout=60
            )
            if stopped.returncode != 0 and self.pid() == pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.5)
        shutil.rmtree(self.folder, ignore_errors=True)

    # ----------------------------------------------------------------------------------
    # Databases.

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """``postgresql://arena:<password>@127.0.0.1:<port>/<database>``."""
        secret = self.password if password is None else password
        return f"postgresql://{ROLE}:{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str, database: str = "postgres") -> None:
        """Run statements as the superuser, each in its own autocommit transaction."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A fresh, empty database (from the template); returns its name."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, cutting connections a test left open."""
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def running_postgres(*, fsync: bool = True) -> Iterator[PostgresServer]:
    """A started :class:`PostgresServer`, stopped and removed afterwards."""
    server = PostgresServer(fsync=fsync)
    try:
        yield server.start()
    finally:
        server.stop()


def _unavailable_here() -> None:
    reason = postgres_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session (fsync on)."""
    _unavailable_here()
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database of its own for one test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def is_postgres(location: object) -> bool:
    """Whether a ``store_location`` is a PostgreSQL URL (else a SQLite path)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def connect_raw(location: Path | str) -> Any:
    """A plain DB-API connection (autocommit) to a store's own file or database, to look at
    or tamper with it behind the store's back."""
    if is_postgres(location):
        import psycopg

        return psycopg.connect(str(location), autocommit=True)
    import sqlite3

    return sqlite3.connect(location, isolation_level=None)


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a new vote store lives: a SQLite path in ``tmp_path``, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "votes.sqlite"
    return str(request.getfixturevalue("postgres_url"))
