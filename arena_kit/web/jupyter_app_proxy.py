"""Live apps in a remote JupyterLab: a Jupyter server extension that proxies them, by token.

The browser may run on another machine than the kernel, so it cannot reach an app's host
loopback port (``App.url``). This module is both halves of the way through the Jupyter
server instead:

- **kernel side** (:func:`share`, :func:`unshare`, :func:`app_url`): an app shown in the
  notebook gets a capability token, 128 random bits, written with its loopback port to a
  per-user registry (a 0700 directory of 0600 files, see :func:`registry_dir`).
- **server side** (:func:`_load_jupyter_server_extension`): jupyter_server loads this module
  (``jupyter-config/jupyter_server_config.d/arena_kit.json``, installed into
  ``<prefix>/etc/jupyter``) and serves ``<base_url>arena-kit/app/<token>/<path>`` by relaying
  HTTP and WebSocket to ``127.0.0.1:<that app's port>/<path>``.

Why it is safe to serve untrusted app code on Jupyter's own origin (see docs/web.md):

- The token is the whole authorisation: it is unguessable, it names one loopback port
  that the user's own kernel registered, and it is gone when the app stops. The host is
  always 127.0.0.1 and the path cannot change it, so the handler is no open proxy.
- Every response carries ``Content-Security-Policy: sandbox allow-scripts allow-forms``:
  a page from the proxy runs in an opaque origin even when opened in a tab of its own, so
  it can never use Jupyter's origin (its cookies, its API, a service worker). The
  notebook's iframe adds the same sandbox (never ``allow-same-origin``).
- Cookies and ``Authorization`` never reach the app and the app cannot set cookies on
  Jupyter's origin (``Set-Cookie`` is dropped); ``Referer`` (which may hold Jupyter's
  token) is not forwarded.
- Responses say ``Access-Control-Allow-Origin: *`` *without* credentials: an opaque-origin
  page needs CORS for its module scripts, fonts and fetches; ``*`` gives any page only what
  the token already gives, and no cookie-bearing request is ever allowed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tornado import httpclient, web, websocket
from tornado.httputil import HTTPHeaders

from ..sandbox.paths import cache_dir
from .display import INTERACTION_SCRIPT
from .inject import prepend_to_head_bytes
from .storage_shim import MEMORY_STORAGE_JS

if TYPE_CHECKING:
    from .apps import App

__all__ = ["registry_dir", "share", "unshare", "app_url", "server_base_url", "PATH_PREFIX"]

PATH_PREFIX = "arena-kit/app/"
"""Where the extension serves apps, under the Jupyter server's base URL."""

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-downloads"
"""The CSP sandbox every proxied response carries: an opaque origin wherever it is opened."""


# -- the registry (both halves) ----------------------------------------------------------------
def registry_dir() -> Path:
    """The per-user registry: ``$XDG_RUNTIME_DIR/arena-kit`` (else ``<cache>/jupyter-apps``).

    ``$ARENA_KIT_APP_REGISTRY`` overrides it (the kernel and the server must agree).
    Created 0700; refused when another user owns it or others may write to it.
    """
    explicit = os.environ.get("ARENA_KIT_APP_REGISTRY")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if explicit:
        root = Path(explicit)
    elif runtime and Path(runtime).is_dir():
        root = Path(runtime) / "arena-kit"
    else:
        root = cache_dir() / "jupyter-apps"
    for folder in (root, root / "apps", root / "servers"):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_private(folder)
    return root


def _check_private(folder: Path) -> None:
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(
            f"{folder} is not a directory of this user; remove it or set "
            "ARENA_KIT_APP_REGISTRY to a private directory"
        )
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)  # ours: make it private again rather than trust it


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write ``path`` as 0600 atomically (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def _read_private(path: Path) -> dict[str, Any] | None:
    """The JSON in ``path`` if it is a regular file of this user (no symlink), else None."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(descriptor, encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        try:
            data = json.load(handle)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _start_time(pid: int) -> str | None:
    """The process's start time (``/proc/<pid>/stat`` field 22): tells a reused pid apart."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def _alive(entry: dict[str, Any]) -> bool:
    pid = entry.get("pid")
    return isinstance(pid, int) and _start_time(pid) == entry.get("pid_start")


# -- kernel side -------------------------------------------------------------------------------
def share(app: App) -> str:
    """The app's token, registering it on first use (removed by :func:`unshare`/``App.stop``)."""
    if not app.alive:
        raise RuntimeError(f"{app!r} is not running; start it again to show it")
    if app.proxy_token is None:
        token = secrets.token_hex(16)
        entry = {"port": app.port, "kind": app.kind, "pid": os.getpid()}
        entry["pid_start"] = _start_time(os.getpid())
        _write_private(registry_dir() / "apps" / f"{token}.json", entry)
        app.proxy_token = token
    return app.proxy_token


def unshare(token: str) -> None:
    """Forget ``token``: the server answers 404 for it from now on."""
    if _TOKEN.match(token):
        with contextlib.suppress(OSError):
            (registry_dir() / "apps" / f"{token}.json").unlink()


def server_base_url() -> str | None:
    """The base URL of the Jupyter server that runs this kernel, if it loads this extension.

    The extension announces each server it runs in (pid and base URL); a kernel is a
    descendant of its server, so the nearest announced ancestor is the one.
    """
    servers = registry_dir() / "servers"
    pid = os.getppid()
    for _ in range(8):
        entry = _read_private(servers / f"{pid}.json")
        if entry and _alive(entry) and isinstance(entry.get("base_url"), str):
            return str(entry["base_url"])
        parent = _parent(pid)
        if parent is None or parent <= 1:
            return None
        pid = parent
    return None


def _parent(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text.rsplit(")", 1)[1].split()[1])


def app_url(app: App, base_url: str | None = None) -> str:
    """The app's address through the Jupyter server: ``<base_url>arena-kit/app/<token>/``.

    ``base_url`` defaults to the base URL that the kernel's Jupyter server announced.

    Raises
    ------
    RuntimeError
        No base URL was given and no Jupyter server running this kernel loads the extension.
    """
    base = base_url or server_base_url()
    if base is None:
        raise RuntimeError(
            "the Jupyter server running this kernel does not load arena-kit's extension: "
            "run `make setup` (or copy jupyter-config/jupyter_server_config.d/arena_kit.json "
            "into <environment>/etc/jupyter/jupyter_server_config.d/) and restart JupyterLab "
            "(or pass base_url= if it does load it)"
        )
    if not base.endswith("/"):
        base += "/"
    return f"{base}{PATH_PREFIX}{share(app)}/"


# -- server side -------------------------------------------------------------------------------
def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "arena_kit.web.jupyter_app_proxy"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base_url = serverapp.web_app.settings.get("base_url", "/")
    pattern = re.escape(base_url.rstrip("/") + "/" + PATH_PREFIX) + r"([0-9a-f]{32})(/.*)?$"
    client = httpclient.AsyncHTTPClient(force_instance=True, max_clients=128)
    serverapp.web_app.add_handlers(".*$", [(pattern, AppProxyHandler, {"client": client})])
    _announce(base_url)
    serverapp.log.info("arena-kit: live apps served at %s%s<token>/", base_url, PATH_PREFIX)


def _announce(base_url: str) -> None:
    """Tell kernels of this server where it serves apps (removed at exit)."""
    path = registry_dir() / "servers" / f"{os.getpid()}.json"
    entry = {"pid": os.getpid(), "pid_start": _start_time(os.getpid()), "base_url": base_url}
    _write_private(path, entry)
    atexit.register(lambda: path.unlink(missing_ok=True))


def lookup_port(token: str) -> int | None:
    """The loopback port registered for ``token`` by a live kernel of this user, else None."""
    if not _TOKEN.match(token):
        return None
    path = registry_dir() / "apps" / f"{token}.json"
    entry = _read_private(path)
    if entry is None:
        return None
    if not _alive(entry):
        path.unlink(missing_ok=True)  # the kernel died without stopping its app
        return None
    port = entry.get("port")
    return port if isinstance(port, int) and 0 < port < 65536 else None


# Hop-by-hop headers, and what must not cross between Jupyter's origin and the app.
_DROP_REQUEST = {
    "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
    "proxy-authorization", "proxy-connection", "host", "cookie", "authorization", "referer",
    "origin", "accept-encoding", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-for",
    "x-forwarded-prefix", "x-gradio-server",
}  # fmt: skip
_DROP_RESPONSE = {
    "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
    "content-length", "set-cookie", "x-frame-options", "access-control-allow-origin",
    "access-control-allow-credentials", "access-control-allow-methods",
    "access-control-allow-headers", "access-control-expose-headers", "server",
}  # fmt: skip

SHIM = (
    """<script>(function () {
  // Injected by arena-kit's Jupyter proxy: the app runs in an opaque origin (a sandbox),
  // where web storage and document.cookie throw; apps get in-memory stand-ins.
"""
    + MEMORY_STORAGE_JS
    + """  try { document.cookie; } catch (e) {
    var jar = "";
    Object.defineProperty(document, "cookie", {configurable: true,
      get: function () { return jar; }, set: function (v) { jar = String(v).split(";")[0]; }});
  }
})();</script>"""
)


class AppProxyHandler(websocket.WebSocketHandler):
    """Relays ``<base>arena-kit/app/<token>/<path>`` to the token's app, HTTP and WebSocket.

    A plain tornado handler, not a JupyterHandler: Jupyter's login and XSRF checks do not
    apply (an opaque-origin frame has neither Jupyter's cookie nor its XSRF token); the
    capability token is the authorisation, checked in :meth:`prepare`.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def initialize(self, client: httpclient.AsyncHTTPClient) -> None:
        self.client = client
        self.port = 0
        self.upstream: websocket.WebSocketClientConnection | None = None

    # Capability auth replaces Jupyter's cookie checks (see the class docstring).
    def check_xsrf_cookie(self) -> None:
        pass

    def check_trusted_origin(self, origin: str) -> bool:
        return True

    def check_origin(self, origin: str) -> bool:
        return True

    def prepare(self) -> None:
        token, rest = self.path_args[0], self.path_args[1]
        port = lookup_port(token)
        if port is None:
            raise web.HTTPError(404, "no running app has this address (it may have stopped)")
        self.port = port
        if rest is None:
            # Relative URLs in the app's page need the trailing slash.
            self.redirect(self.request.path + "/" + _query(self.request.uri), permanent=False)

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Content-Security-Policy", SANDBOX_POLICY)
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")

    # -- HTTP ----------------------------------------------------------------------------------
    def _upstream_target(self) -> str:
        """The path and query after the token (always starting with ``/``: the host is fixed)."""
        path = self.request.path
        marker = PATH_PREFIX + self.path_args[0]
        rest = path[path.index(marker) + len(marker) :] or "/"
        return rest + _query(self.request.uri)

    def _public_root(self) -> str:
        """The app's public URL, which Gradio puts in its config (``X-Gradio-Server``)."""
        path = self.request.path
        marker = PATH_PREFIX + self.path_args[0]
        prefix = path[: path.index(marker) + len(marker)]
        forwarded = self.request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
        host = self.request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        return f"{forwarded or self.request.protocol}://{host or self.request.host}{prefix}"

    async def options(self, *args: str) -> None:
        # Preflights are answered here: the app never needs to see them.
        self.set_header("Access-Control-Allow-Methods", ", ".join(self.SUPPORTED_METHODS))
        wanted = self.request.headers.get("Access-Control-Request-Headers")
        if wanted:
            self.set_header("Access-Control-Allow-Headers", wanted)
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    async def get(self, *args: str) -> None:
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            await self._open_upstream_socket()
            await super().get(*args)
        else:
            await self._relay_http()

    async def head(self, *args: str) -> None:
        await self._relay_http()

    async def post(self, *args: str) -> None:
        await self._relay_http()

    async def put(self, *args: str) -> None:
        await self._relay_http()

    async def patch(self, *args: str) -> None:
        await self._relay_http()

    async def delete(self, *args: str) -> None:
        await self._relay_http()

    def _request_headers(self) -> dict[str, str]:
        headers = {
            name: value
            for name, value in self.request.headers.get_all()
            if name.lower() not in _DROP_REQUEST
        }
        own = f"http://127.0.0.1:{self.port}"
        headers.update({"Host": f"127.0.0.1:{self.port}", "Accept-Encoding": "identity"})
        if "Origin" in self.request.headers:
            headers["Origin"] = own  # the app's own origin: its CSRF checks accept it
        headers["X-Gradio-Server"] = self._public_root()
        return headers

    async def _relay_http(self) -> None:
        relay = _Relay(self)
        request = httpclient.HTTPRequest(
            f"http://127.0.0.1:{self.port}{self._upstream_target()}",
            method=self.request.method or "GET",
            headers=self._request_headers(),
            body=self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            decompress_response=False,
            connect_timeout=10,
            request_timeout=24 * 3600,  # event streams (Gradio's queue) stay open
            header_callback=relay.on_header,
            streaming_callback=relay.on_chunk,
        )
        try:
            await self.client.fetch(request, raise_error=False)
        except (OSError, httpclient.HTTPClientError) as error:
            if not relay.started:
                raise web.HTTPError(502, f"the app did not answer: {error}") from error
            return
        relay.finish()

    # -- WebSocket -----------------------------------------------------------------------------
    async def _open_upstream_socket(self) -> None:
        """Connect to the app first, so the client gets the subprotocol the app chose."""
        wanted = self.request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = [p.strip() for p in wanted.split(",") if p.strip()] or None
        request = httpclient.HTTPRequest(
            f"ws://127.0.0.1:{self.port}{self._upstream_target()}",
            headers={"Origin": f"http://127.0.0.1:{self.port}"},
            connect_timeout=10,
        )
        try:
            self.upstream = await websocket.websocket_connect(
                request, subprotocols=protocols, on_message_callback=self._from_app
            )
        except (OSError, httpclient.HTTPClientError, websocket.WebSocketError) as error:
            raise web.HTTPError(502, f"the app refused the WebSocket: {error}") from error

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return self.upstream.selected_subprotocol if self.upstream is not None else None

    def _from_app(self, message: str | bytes | None) -> None:
        if message is None:
            self.close()
            return
        with contextlib.suppress(websocket.WebSocketClosedError):
            self.write_message(message, binary=isinstance(message, bytes))

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            with contextlib.suppress(websocket.WebSocketClosedError):
                await self.upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()


def _query(uri: str | None) -> str:
    return "?" + uri.split("?", 1)[1] if uri and "?" in uri else ""


class _Relay:
    """Streams one upstream HTTP response into the handler (HTML is buffered for the shim)."""

    def __init__(self, handler: AppProxyHandler) -> None:
        self.handler = handler
        self.headers = HTTPHeaders()
        self.status = 0
        self.started = False
        self.html: bytearray | None = None

    def on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.status = int(line.split()[1])
            self.headers = HTTPHeaders()  # a fresh set after "100 Continue"
        elif line.strip():
            self.headers.parse_line(line)
        elif self.status != 100:
            self._start()

    def _start(self) -> None:
        handler = self.handler
        self.started = True
        handler.set_status(self.status)
        for name, value in self.headers.get_all():
            if name.lower() in _DROP_RESPONSE:
                continue
            if name.lower() == "location":
                value = self._relocate(value)
            handler.add_header(name, value)
        if self.headers.get("Content-Type", "").startswith("text/html"):
            self.html = bytearray()

    def _relocate(self, location: str) -> str:
        """Redirects the app sends for its own root stay under the proxy's prefix."""
        own = f"http://127.0.0.1:{self.handler.port}"
        if location.startswith(own):
            location = location[len(own) :] or "/"
        if location.startswith("/") and not location.startswith("//"):
            path = self.handler.request.path
            marker = PATH_PREFIX + self.handler.path_args[0]
            return path[: path.index(marker) + len(marker)] + location
        return location

    def on_chunk(self, chunk: bytes) -> None:
        if self.html is not None:
            self.html += chunk
            return
        self.handler.write(chunk)
        self.handler.flush()

    def finish(self) -> None:
        if self.html is not None:
            self.handler.write(_inject(bytes(self.html)))
        if not self.handler._finished:
            self.handler.finish()


def _inject(page: bytes) -> bytes:
    """``page`` with :data:`SHIM` first in its ``<head>`` (before the app's own scripts)."""
    return prepend_to_head_bytes(page, SHIM + INTERACTION_SCRIPT)
