"""A host loopback port that relays to a port inside a sandbox's own network namespace.

The app in the sandbox listens on its private loopback, which nothing outside can reach. The
bridge listens on ``127.0.0.1:<free port>`` of the host and, for each connection, opens the
matching connection from a thread that has entered the sandbox's network namespace
(``setns(2)``, which moves only the calling thread); then it copies bytes both ways. The app
stays without any network of its own; only this one port is exposed, on loopback only.

The same relay runs the other way for the sandboxed page renderer: its listening socket is
made by a thread inside the browser's namespace (a socket stays in the namespace it was made
in), and each connection is relayed to one host loopback port.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import selectors
import socket
import threading
from pathlib import Path

__all__ = ["Bridge", "sandbox_netns", "sandbox_pid", "listening", "children"]

_CLONE_NEWNET = 0x40000000


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(x) for x in (task / "children").read_text().split()]
    return found


def sandbox_pid(root_pid: int) -> int | None:
    """The first descendant of ``root_pid`` whose network namespace is not ours (a process
    inside the sandbox), or None while there is none yet."""
    own = os.stat("/proc/self/ns/net").st_ino
    pending = [root_pid]
    seen: set[int] = set()
    while pending:
        pid = pending.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{pid}/ns/net").st_ino != own:
                return pid
        pending += children(pid)
    return None


def sandbox_netns(root_pid: int) -> int | None:
    """An open fd of the sandbox's network namespace (see :func:`sandbox_pid`), or None."""
    pid = sandbox_pid(root_pid)
    if pid is None:
        return None
    try:
        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # it ended meanwhile
        return None


def listening(pid: int) -> list[tuple[str, int]]:
    """The TCP ``(host, port)`` pairs listening in the network namespace of ``pid``, in the
    order the kernel lists them; an address on every interface is given as its loopback.

    Read from ``/proc/<pid>/net/tcp{,6}``, which show the sockets of that process's
    namespace: a server's port is found without asking the server anything.
    """
    found: list[tuple[str, int]] = []
    for name, loopback in (("tcp", "127.0.0.1"), ("tcp6", "::1")):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A: LISTEN
                continue
            address, port = fields[1].rsplit(":", 1)
            # Any address, or loopback (written in the kernel's byte order); the namespace
            # has no other interface.
            if address not in ("00000000", "0100007F", "0" * 32, "0" * 24 + "01000000"):
                continue
            pair = (loopback, int(port, 16))
            if pair not in found:
                found.append(pair)
    return found


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    return listener


def _listen_in(netns_fd: int, port: int) -> socket.socket:
    """A listening socket on ``127.0.0.1:port`` of the namespace ``netns_fd``, made by a
    short-lived thread that enters it (the caller's thread stays where it is)."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            if _libc().setns(netns_fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns: " + os.strerror(ctypes.get_errno()))
            made.append(_listen(port))
        except BaseException as error:  # handed to the caller
            failed.append(error)

    thread = threading.Thread(target=make, name="arena-kit-bridge-listen", daemon=True)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


class Bridge:
    """Relay ``127.0.0.1:port`` to ``127.0.0.1:inner_port`` in the namespace ``netns_fd``.

    The listening port is taken at construction (so it can be given to the app before it
    starts); :meth:`attach` names the namespace once the sandbox exists.

    Parameters
    ----------
    inner_port
        The port connected to, in the namespace given to :meth:`attach`.
    listen_netns
        Listen in this network namespace (an open fd, not taken over) instead of the
        host's: the page renderer's.
    listen_port
        The port to listen on (0: a free one).
    """

    def __init__(
        self, inner_port: int, *, listen_netns: int | None = None, listen_port: int = 0
    ) -> None:
        self.inner_port = inner_port
        self.inner_host = "127.0.0.1"
        """Where to connect in the attached namespace (a server may listen on ``::1`` only)."""
        if listen_netns is None:
            self._listener = _listen(listen_port)
        else:
            self._listener = _listen_in(listen_netns, listen_port)
        self.port: int = self._listener.getsockname()[1]
        self._netns: int | None = None
        self._attached = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None

    def attach(self, netns_fd: int | None) -> None:
        """Start relaying into the namespace of ``netns_fd`` (the bridge owns the fd), or
        into this process's own (None)."""
        self._netns = netns_fd
        self._attached = True
        self._thread = threading.Thread(target=self._accept, name="arena-kit-bridge", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._relay, args=(client,), name="arena-kit-relay", daemon=True
            ).start()

    def _relay(self, client: socket.socket) -> None:
        with self._lock:
            if self._closed or not self._attached:
                client.close()
                return
            self._open.add(client)
        upstream: socket.socket | None = None
        try:
            # This thread moves into the sandbox's namespace for good; it ends with the relay.
            if self._netns is not None and _libc().setns(self._netns, _CLONE_NEWNET) != 0:
                return
            upstream = socket.create_connection((self.inner_host, self.inner_port), timeout=5)
            upstream.settimeout(None)
            with self._lock:
                self._open.add(upstream)
            self._pump(client, upstream)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=60):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        finally:
            selector.close()

    def close(self) -> None:
        """Stop listening and cut every open relay."""
        with self._lock:
            self._closed = True
            sockets = list(self._open)
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the
        # port listening until that call returned.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._netns is not None:
            with contextlib.suppress(OSError):
                os.close(self._netns)
            self._netns = None
