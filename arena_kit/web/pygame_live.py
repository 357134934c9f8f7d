"""PyGame answers played live: the game runs in the sandbox on a virtual display, its frames
stream to the notebook, and a person's keys and clicks reach it as real input.

One bubblewrap sandbox (no network, unprivileged uid, seccomp, its own cgroup) holds three
processes: a *supervisor*, the X server ``Xvfb`` it starts on a display of the sandbox's own
(its socket lives in the sandbox's network namespace), and the game (SDL's ``x11`` driver).

- **Input.** The host writes commands (key down/up by X keysym name, mouse move, button
  down/up at x, y) as JSON lines on the sandbox's stdin. The supervisor reads them and
  injects them with libxdo (xdotool's library) through the XTest extension, so the X server
  treats them as a real keyboard and mouse: the game sees ``KEYDOWN`` events *and*
  ``pygame.key.get_pressed()`` (events a process posts to itself do not update that).
- **Frames.** The game runs under a hook around ``pygame.display.flip``/``update`` that
  JPEG-encodes the display surface (about ``frame_rate`` a second at most) onto a pipe to the
  supervisor; the supervisor forwards only the newest frame when the host is slow (frames
  in between are dropped, never queued), on the sandbox's stdout.
- **The control channel never reaches the answer.** The game is the supervisor's child with
  ``/dev/null`` as stdin and only its frame pipe besides stdout/stderr; the supervisor makes
  itself non-dumpable, so the game (same uid) cannot open its descriptors through ``/proc``.

:class:`LiveGame` is the host side: start, inject, read frames, stop (the whole cgroup is
killed, the work directory removed; every game is stopped at interpreter exit at the latest).
:class:`PlayWidget` is the notebook side: an anywidget canvas with Play/Stop that shows the
frames and forwards the page's keys and clicks. Interaction counts (keys, clicks, seconds)
are counted here, on the host, from the input actually forwarded to the game: a game cannot
forge them (unlike a page's, see :data:`arena_kit.web.display.INTERACTION_SCRIPT`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes.util
import dataclasses
import json
import os
import re
import select
import shutil
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import anywidget
import traitlets

from ..errors import ArenaKitError
from ..sandbox import cgroups
from ..sandbox.bwrap import bwrap_command
from ..sandbox.classify import classify_run
from ..sandbox.limits import Limits
from ..sandbox.process import RawRun, Started
from ..sandbox.runtimes import SANDBOX_RUNTIME
from ..sandbox.workdir import WorkDir
from ..schema import Status
from .apps import end_tree

__all__ = [
    "LiveGame",
    "PlayWidget",
    "Frame",
    "LIVE_LIMITS",
    "BROWSER_KEYS",
    "running_games",
    "stop_games",
    "live_unavailable_reason",
]

LIVE_LIMITS = Limits(wall_s=1800, cpu_s=1800, memory_mb=1024, pids=128, disk_mb=128)
"""Defaults for a game played live: a person plays for minutes; the X server and the game
each hold a copy of the screen."""

SCREEN = (1920, 1200)
"""The virtual display's size: larger than the windows games open (the game's window sits at
its top-left corner, so clicks anywhere in it reach it)."""

_PYTHON = f"{SANDBOX_RUNTIME}/venv/bin/python"
_KEYSYM = re.compile(r"[A-Za-z0-9_]{1,32}")
_MAX_FRAME_BYTES = 8 * 2**20
_MAX_STATUS_BYTES = 64 * 2**10
_FRAME_HEAD = struct.Struct("<HHI")  # the game's surface width, height; JPEG length
_IDLE_GAP_S = 1.0
"""Time between two inputs counts as interacting up to this much (more is a pause), unless a
key or button was held down meanwhile."""

BROWSER_KEYS: dict[str, str] = {
    **{f"Key{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{f"Digit{d}": d for d in "0123456789"},
    **{f"Numpad{d}": f"KP_{d}" for d in "0123456789"},
    **{f"F{n}": f"F{n}" for n in range(1, 13)},
    "ArrowUp": "Up", "ArrowDown": "Down", "ArrowLeft": "Left", "ArrowRight": "Right",
    "Space": "space", "Enter": "Return", "NumpadEnter": "KP_Enter", "Escape": "Escape",
    "Tab": "Tab", "Backspace": "BackSpace", "Delete": "Delete", "Insert": "Insert",
    "Home": "Home", "End": "End", "PageUp": "Prior", "PageDown": "Next",
    "ShiftLeft": "Shift_L", "ShiftRight": "Shift_R", "ControlLeft": "Control_L",
    "ControlRight": "Control_R", "AltLeft": "Alt_L", "AltRight": "Alt_R",
    "CapsLock": "Caps_Lock", "Minus": "minus", "Equal": "equal",
    "BracketLeft": "bracketleft", "BracketRight": "bracketright", "Semicolon": "semicolon",
    "Quote": "apostrophe", "Comma": "comma", "Period": "period", "Slash": "slash",
    "Backslash": "backslash", "Backquote": "grave", "NumpadAdd": "KP_Add",
    "NumpadSubtract": "KP_Subtract", "NumpadMultiply": "KP_Multiply",
    "NumpadDivide": "KP_Divide", "NumpadDecimal": "KP_Decimal",
}  # fmt: skip
"""A browser ``KeyboardEvent.code`` (the physical key) → the X keysym the game receives."""

# The supervisor: the sandbox's first program. Its stdin is the host's control pipe, which it
# keeps on a private descriptor (fd 0 becomes /dev/null); its stdout carries messages to the
# host: b"S" + length + JSON (status), b"F" + length + frame.
_SUPERVISOR = r"""
import ctypes, json, os, re, select, struct, subprocess, sys, threading, time

control = os.fdopen(os.dup(0), "rb")  # not inheritable: the game never gets it
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
host = os.dup(1)
os.dup2(2, 1)  # anything printed here (and by the game) goes to stderr, not to the host
libc = ctypes.CDLL(None)
libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/<this>/fd is closed to the game
job = json.loads(control.readline())
lock = threading.Lock()


def send(kind, payload):
    data = memoryview(kind + struct.pack("<I", len(payload)) + payload)
    with lock:
        while data:
            data = data[os.write(host, data):]


def status(**fields):
    send(b"S", json.dumps(fields).encode())


width, height = job["screen"]
ready_r, ready_w = os.pipe()
log = open("/tmp/xvfb.log", "wb")
xvfb = subprocess.Popen(
    ["Xvfb", "-displayfd", str(ready_w), "-screen", "0", f"{width}x{height}x24",
     "-nolisten", "tcp", "-nocursor"],
    pass_fds=(ready_w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
)
os.close(ready_w)
number = b""
deadline = time.monotonic() + 20
while not number.endswith(b"\n") and time.monotonic() < deadline:
    if select.select([ready_r], [], [], 0.2)[0]:
        chunk = os.read(ready_r, 16)
        if not chunk:
            break
        number += chunk
if not number.strip().isdigit():
    log.close()
    tail = open("/tmp/xvfb.log", "rb").read()[-600:].decode("utf-8", "replace")
    status(type="failed", error="the virtual display (Xvfb) did not start: " + tail.strip())
    sys.exit(70)
display = ":" + number.decode().strip()

xdo = ctypes.CDLL("libxdo.so.3")
xdo.xdo_new.restype = ctypes.c_void_p
xdo.xdo_new.argtypes = [ctypes.c_char_p]
for name in ("xdo_send_keysequence_window_down", "xdo_send_keysequence_window_up"):
    getattr(xdo, name).argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_uint]
xdo.xdo_move_mouse.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
xdo.xdo_mouse_down.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
xdo.xdo_mouse_up.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
injector = xdo.xdo_new(display.encode())
if not injector:
    status(type="failed", error="could not open the virtual display for input (libxdo)")
    sys.exit(70)

frames_r, frames_w = os.pipe()
env = dict(os.environ, DISPLAY=display, SDL_VIDEODRIVER="x11", SDL_VIDEO_WINDOW_POS="0,0",
           ARENA_FRAME_FD=str(frames_w), ARENA_FRAME_RATE=str(job["frame_rate"]))
game = subprocess.Popen([sys.executable, "arena_live_game.py"], stdin=subprocess.DEVNULL,
                        pass_fds=(frames_w,), env=env)
os.close(frames_w)
status(type="started", display=display)

newest = [None]
changed = threading.Condition()


def read_frames():
    # The game is untrusted: a frame that is too large ends the stream (the game then gets
    # EPIPE and its hook stops sending), it never makes this process allocate without bound.
    source = os.fdopen(frames_r, "rb")
    while True:
        head = source.read(8)
        if len(head) < 8:
            break
        if struct.unpack("<HHI", head)[2] > job["max_frame"]:
            break
        body = source.read(struct.unpack("<HHI", head)[2])
        with changed:
            newest[0] = head + body
            changed.notify()
    source.close()


def forward_frames():
    while True:
        with changed:
            while newest[0] is None:
                changed.wait()
            frame, newest[0] = newest[0], None
        send(b"F", frame)  # blocks while the host is slow: newer frames replace this slot


def watch_game():
    code = game.wait()
    xvfb.kill()
    status(type="ended", exit=code if code >= 0 else None, signal=-code if code < 0 else None)
    os._exit(0)


threading.Thread(target=read_frames, daemon=True).start()
threading.Thread(target=forward_frames, daemon=True).start()
threading.Thread(target=watch_game, daemon=True).start()

KEYSYM = re.compile(r"[A-Za-z0-9_]{1,32}")
for line in control:
    try:
        command = json.loads(line)
        kind = command["t"]
        if kind in ("kd", "ku") and KEYSYM.fullmatch(command["key"]):
            press = xdo.xdo_send_keysequence_window_down
            release = xdo.xdo_send_keysequence_window_up
            (press if kind == "kd" else release)(injector, 0, command["key"].encode(), 0)
        elif kind in ("mm", "bd", "bu"):
            x = min(max(int(command["x"]), 0), width - 1)
            y = min(max(int(command["y"]), 0), height - 1)
            xdo.xdo_move_mouse(injector, x, y, 0)
            if kind != "mm":
                button = min(max(int(command.get("button", 1)), 1), 5)
                (xdo.xdo_mouse_down if kind == "bd" else xdo.xdo_mouse_up)(injector, 0, button)
    except (ValueError, KeyError, TypeError):
        continue
game.kill()  # the host closed the control pipe: it is gone, or stopping
"""

# The game's own process: a hook around flip/update sends frames, then the answer runs as
# __main__ (main.py, so that tracebacks name the answer's file as a normal run does).
_GAME = r"""
import io, os, runpy, struct, sys, time

_fd = int(os.environ.pop("ARENA_FRAME_FD"))
_interval = 1.0 / float(os.environ.pop("ARENA_FRAME_RATE"))
import pygame
from PIL import Image

_state = {"last": 0.0, "on": True}


def _send_frame():
    now = time.monotonic()
    # A little slack: a game flipping at 60 a second sends every second frame (30 a second),
    # not every third when its flips come a millisecond early.
    if not _state["on"] or now - _state["last"] < _interval * 0.85:
        return
    surface = pygame.display.get_surface()
    if surface is None:
        return
    _state["last"] = now
    try:
        width, height = surface.get_size()
        if surface.get_bitsize() == 32 and surface.get_masks()[:3] == (0xFF0000, 0xFF00, 0xFF):
            image = Image.frombuffer("RGB", (width, height), surface.get_buffer(), "raw", "BGRX",
                                     surface.get_pitch(), 1)
        else:
            image = Image.frombytes("RGB", (width, height), pygame.image.tobytes(surface, "RGB"))
        if max(width, height) > 1280:
            image = image.copy()
            image.thumbnail((1280, 1280))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=70)
        del image  # releases the surface's buffer (a locked surface cannot be drawn on)
        data = memoryview(struct.pack("<HHI", width, height, out.tell()) + out.getvalue())
        while data:
            data = data[os.write(_fd, data):]
    except Exception:  # the viewer went away, or this surface cannot be read: play on
        _state["on"] = False


_flip, _update = pygame.display.flip, pygame.display.update


def flip(*args, **kwargs):
    result = _flip(*args, **kwargs)
    _send_frame()
    return result


def update(*args, **kwargs):
    result = _update(*args, **kwargs)
    _send_frame()
    return result


pygame.display.flip, pygame.display.update = flip, update
sys.argv = ["main.py"]
runpy.run_path("/work/main.py", run_name="__main__")
"""


def live_unavailable_reason() -> str | None:
    """None when games can be played live here, else what is missing and how to install it."""
    missing = [
        package
        for package, present in (
            ("xvfb", shutil.which("Xvfb") is not None),
            ("xdotool", ctypes.util.find_library("xdo") is not None),
            ("bubblewrap", shutil.which("bwrap") is not None),
        )
        if not present
    ]
    if not missing:
        return None
    return (
        f"playing PyGame answers live needs {', '.join(missing)}; run scripts/setup-system.sh "
        f"(apt-get install {' '.join(missing)})"
    )


@dataclass(frozen=True)
class Frame:
    """One frame of a live game."""

    seq: int
    """1, 2, … in the order received (frames the host was too slow for are skipped)."""
    width: int
    """The game's surface width: input coordinates are in this space."""
    height: int
    jpeg: bytes
    """The frame, JPEG-encoded (at most 1280 px on its longer side)."""
    received: float
    """``time.monotonic()`` when it arrived."""


_running: set[LiveGame] = set()
_running_lock = threading.Lock()


class LiveGame:
    """A PyGame answer running in the sandbox for a person to play (see the module's notes).

    ``state`` goes ``new`` → ``starting`` → ``playing`` (the first frame arrived) → ``ended``
    (by itself, or at a limit) or ``stopped`` (:meth:`stop`); then ``status`` and ``message``
    say how (a sandbox status; ``runtime_error`` with the exception's line for a crash).

    Parameters
    ----------
    code
        The answer's Python code.
    limits
        Sandbox limits (default :data:`LIVE_LIMITS`); ``wall_s`` ends the game.
    frame_rate
        Most frames a second sent (the game itself may draw more often).
    """

    def __init__(
        self, code: str, *, limits: Limits | dict[str, Any] | None = None, frame_rate: int = 30
    ) -> None:
        if not isinstance(code, str) or not code.strip():
            raise ArenaKitError("LiveGame(code): code is empty. Fix: pass the answer's PyGame code")
        if not 1 <= frame_rate <= 60:
            raise ArenaKitError(
                f"LiveGame: frame_rate must be 1-60 frames a second, not {frame_rate}"
            )
        self.code = code
        if isinstance(limits, dict):  # fields changed from the live defaults, checked
            Limits.coerce(limits)
            limits = dataclasses.replace(LIVE_LIMITS, **limits)
        self.limits = limits or LIVE_LIMITS
        self.frame_rate = frame_rate
        self.state = "new"
        self.status: str | None = None
        """A sandbox status once it ended (``ok`` when it closed itself or was stopped)."""
        self.message = ""
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._frame: Frame | None = None
        self._frames = threading.Condition()
        self._input_lock = threading.Lock()
        self._held: set[str] = set()
        self._last_input: float | None = None
        self._counts = {"keys": 0, "clicks": 0, "seconds": 0.0}
        self._end_handlers: list[Callable[[LiveGame], None]] = []
        self._end_lock = threading.Lock()
        self._game_exit: dict[str, Any] | None = None
        self._failed: str | None = None
        self._stderr = bytearray()
        self._group: cgroups.Cgroup | None = None
        self._work: WorkDir | None = None
        self._process: Started | None = None
        self._timer: threading.Timer | None = None
        self._control: int | None = None
        self._control_lock = threading.Lock()

    # -- starting -----------------------------------------------------------------------------
    def start(self) -> LiveGame:
        """Start the game in the sandbox (returns at once; frames follow within a second).

        A syntax error ends it at once (``build_error``), nothing started. Raises
        :class:`~arena_kit.errors.ArenaKitError` when Xvfb or xdotool is not installed.
        """
        if self.state != "new":
            raise ArenaKitError("LiveGame.start(): a game starts once; make a new LiveGame")
        from .execute import syntax_error

        broken = syntax_error(self.code)
        if broken is not None:  # nothing is started: a display for a program that never runs
            self.state, self.started_at = "starting", time.monotonic()
            self._stderr += broken[1].encode()
            self._finish(Status.BUILD_ERROR, broken[0])
            self._notify_end()
            return self
        reason = live_unavailable_reason()
        if reason is not None:
            raise ArenaKitError(reason)
        self.state, self.started_at = "starting", time.monotonic()
        limits = self.limits
        self._work = WorkDir(limits.disk_mb)
        self._work.write("main.py", self.code)
        self._work.write("arena_live_game.py", _GAME)
        self._work.write("arena_live.py", _SUPERVISOR)
        self._group = cgroups.create(limits.memory_mb * 2**20, limits.pids)
        rlimits = {"t": int(limits.cpu_s), "f": limits.file_mb * 2048, "c": 0}
        if self._group is None:
            rlimits["v"] = limits.memory_mb * 1024
        argv = bwrap_command(self._work.path, [_PYTHON, "arena_live.py"], tmp_mb=limits.disk_mb)
        with _running_lock:
            _running.add(self)
        try:
            self._process = Started(argv, cgroup=self._group, rlimits=rlimits, hold=True)
            stdin = self._process.process.stdin
            assert stdin is not None
            self._control = stdin.fileno()
            os.set_blocking(self._control, False)
            job = {
                "screen": list(SCREEN),
                "frame_rate": self.frame_rate,
                "max_frame": _MAX_FRAME_BYTES,
            }
            self._command(job)
        except BaseException:
            self._kill()
            self._finish(Status.SANDBOX_ERROR, "sandbox error: the live game could not start")
            self._notify_end()
            raise
        process = self._process.process
        threading.Thread(
            target=self._read_messages, args=(process.stdout,), daemon=True,
            name="arena-kit-live-frames",
        ).start()  # fmt: skip
        threading.Thread(
            target=self._read_stderr, args=(process.stderr,), daemon=True,
            name="arena-kit-live-stderr",
        ).start()  # fmt: skip
        self._timer = threading.Timer(limits.wall_s, self._end, kwargs={"timed_out": True})
        self._timer.daemon = True
        self._timer.start()
        return self

    # -- input ----------------------------------------------------------------------------------
    def key_down(self, key: str) -> None:
        """Press ``key`` (an X keysym name: ``Right``, ``space``, ``a``, ``Return``; see
        :data:`BROWSER_KEYS`) and hold it until :meth:`key_up`."""
        self._input(key, True)

    def key_up(self, key: str) -> None:
        """Release ``key``."""
        self._input(key, False)

    def press(self, key: str, hold_s: float = 0.05) -> None:
        """Press and release ``key`` (held ``hold_s`` seconds)."""
        self.key_down(key)
        time.sleep(hold_s)
        self.key_up(key)

    def mouse_move(self, x: int, y: int) -> None:
        """Move the pointer to ``(x, y)`` in the game's surface coordinates."""
        self._pointer("mm", x, y, 1)

    def mouse_down(self, x: int, y: int, button: int = 1) -> None:
        """Press mouse ``button`` (1 left, 2 middle, 3 right, 4/5 wheel) at ``(x, y)``."""
        self._pointer("bd", x, y, button)

    def mouse_up(self, x: int, y: int, button: int = 1) -> None:
        """Release mouse ``button`` at ``(x, y)``."""
        self._pointer("bu", x, y, button)

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Press and release ``button`` at ``(x, y)``."""
        self.mouse_down(x, y, button)
        self.mouse_up(x, y, button)

    def _input(self, key: str, down: bool) -> None:
        if not isinstance(key, str) or not _KEYSYM.fullmatch(key):
            raise ArenaKitError(
                f"LiveGame: {key!r} is not an X keysym name. Fix: use names such as 'Right', "
                "'space', 'a', 'Return' (BROWSER_KEYS maps a browser's key codes to them)"
            )
        if not self.alive:
            return
        with self._input_lock:
            if down == (key in self._held):
                return  # a repeat, or a release of a key not held: the game sees no change
            self._account(counts="keys" if down else None)
            (self._held.add if down else self._held.discard)(key)
        self._command({"t": "kd" if down else "ku", "key": key})

    def _pointer(self, kind: str, x: int, y: int, button: int) -> None:
        if not self.alive:
            return
        if kind != "mm":
            held = f"button{int(button)}"
            with self._input_lock:
                if (kind == "bd") == (held in self._held):
                    return
                self._account(counts="clicks" if kind == "bd" else None)
                (self._held.add if kind == "bd" else self._held.discard)(held)
        self._command({"t": kind, "x": int(x), "y": int(y), "button": int(button)})

    def _account(self, counts: str | None) -> None:
        """Count one input (under the input lock): its time since the last one is time spent
        interacting (a pause beyond :data:`_IDLE_GAP_S` with nothing held counts that much)."""
        now = time.monotonic()
        if self._last_input is not None and self.state in ("starting", "playing"):
            gap = now - self._last_input
            self._counts["seconds"] += gap if self._held else min(gap, _IDLE_GAP_S)
        self._last_input = now
        if counts:
            self._counts[counts] += 1

    def _command(self, command: dict[str, Any]) -> None:
        """Send one line to the supervisor without ever blocking: a line under ``PIPE_BUF``
        is written whole or not at all, and a supervisor that stopped reading (the game may
        signal it) loses input instead of freezing the caller (the notebook's kernel)."""
        line = (json.dumps(command) + "\n").encode()
        if len(line) > select.PIPE_BUF:
            raise ArenaKitError(f"LiveGame: a command of {len(line)} bytes is too long")
        with self._control_lock, contextlib.suppress(OSError):  # full, or it ended meanwhile
            if self._control is not None:  # None once closed: its number may be reused
                os.write(self._control, line)

    @property
    def interactions(self) -> dict[str, Any]:
        """``keys`` pressed, ``clicks`` (mouse buttons pressed), ``seconds`` spent interacting,
        ``opened`` (whether the game was started): counted here on the host from the input
        forwarded to the game, which the game cannot change."""
        with self._input_lock:
            seconds = self._counts["seconds"]
            if self._held and self._last_input is not None and self.ended_at is None:
                seconds += time.monotonic() - self._last_input  # a key still held
        return {
            "keys": int(self._counts["keys"]),
            "clicks": int(self._counts["clicks"]),
            "seconds": round(float(seconds), 2),
            "opened": self.state != "new",
        }

    # -- frames ---------------------------------------------------------------------------------
    @property
    def frame(self) -> Frame | None:
        """The newest frame (None before the first)."""
        return self._frame

    def wait_frame(self, after: int = 0, timeout: float = 5.0) -> Frame | None:
        """The newest frame whose ``seq`` is above ``after``, waiting up to ``timeout`` s for it;
        None if none came (or the game ended first)."""
        deadline = time.monotonic() + timeout
        with self._frames:
            while self._frame is None or self._frame.seq <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.state in ("ended", "stopped"):
                    return None
                self._frames.wait(min(remaining, 0.25))
            return self._frame

    def _read_messages(self, stream: IO[bytes]) -> None:
        """Read the supervisor's messages: status lines and frames (sizes checked: what comes
        out of a sandbox is data, never trusted structure)."""
        seq = 0
        try:
            while True:
                head = _read_exactly(stream, 5)
                if head is None:
                    break
                kind, length = head[:1], struct.unpack("<I", head[1:])[0]
                limit = _MAX_FRAME_BYTES + 8 if kind == b"F" else _MAX_STATUS_BYTES
                if kind not in (b"F", b"S") or length > limit:
                    self._failed = "sandbox error: the live game's stream was malformed"
                    break
                body = _read_exactly(stream, length)
                if body is None:
                    break
                if kind == b"S":
                    self._on_status(json.loads(body))
                    continue
                width, height, size = _FRAME_HEAD.unpack_from(body)
                jpeg = body[_FRAME_HEAD.size :]
                if size != len(jpeg) or not width or not height or jpeg[:2] != b"\xff\xd8":
                    continue  # not a frame this viewer can show: skip it
                seq += 1
                frame = Frame(seq, width, height, jpeg, time.monotonic())
                with self._frames:
                    self._frame = frame
                    if self.state == "starting":
                        self.state = "playing"
                    self._frames.notify_all()
        except (OSError, ValueError, struct.error):
            self._failed = self._failed or "sandbox error: the live game's stream broke off"
        self._end()

    def _on_status(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if message.get("type") == "ended":
            self._game_exit = message
        elif message.get("type") == "failed":
            self._failed = f"sandbox error: {str(message.get('error', ''))[:300]}"

    def _read_stderr(self, stream: IO[bytes]) -> None:
        cap = self.limits.output_bytes
        with contextlib.suppress(OSError, ValueError):
            while chunk := stream.read1(65536):  # type: ignore[attr-defined]
                room = cap - len(self._stderr)
                if room > 0:
                    self._stderr += chunk[:room]

    @property
    def stderr(self) -> str:
        """What the game wrote (stdout and stderr together, capped)."""
        return self._stderr.decode("utf-8", "replace")

    # -- ending ---------------------------------------------------------------------------------
    def on_end(self, handler: Callable[[LiveGame], None]) -> None:
        """Call ``handler(game)`` once it ended or was stopped (at once if it already has;
        else from a background thread)."""
        with self._end_lock:
            if self.state not in ("ended", "stopped"):
                self._end_handlers.append(handler)
                return
        handler(self)

    @property
    def alive(self) -> bool:
        return self.state in ("starting", "playing")

    def pids(self) -> list[int]:
        """The game's processes still alive (its cgroup's members: supervisor, X server,
        game)."""
        return self._group.pids() if self._group is not None else []

    def stop(self) -> None:
        """Stop the game: kill its whole process tree, remove its cgroup and work directory."""
        self._end(stopped=True)

    def _end(self, *, stopped: bool = False, timed_out: bool = False) -> None:
        with self._end_lock:
            if self.state not in ("starting", "playing"):
                return
            if self._timer is not None:
                self._timer.cancel()
            played = time.monotonic() - (self.started_at or time.monotonic())
            exit_info = self._game_exit
            stats = self._group.stats() if self._group is not None else None
            self._kill()
            if stopped and exit_info is None and self._failed is None:
                self._finish(Status.OK, f"stopped after {played:.1f} s", state="stopped")
            else:
                self._finish(*self._verdict(exit_info, stats, played, timed_out))
        self._notify_end()  # outside the lock: a handler may look at the game, or stop it

    def _notify_end(self) -> None:
        with self._end_lock:
            handlers, self._end_handlers = self._end_handlers, []
        for handler in handlers:
            handler(self)

    def _verdict(
        self,
        exit_info: dict[str, Any] | None,
        stats: cgroups.CgroupStats | None,
        played: float,
        timed_out: bool,
    ) -> tuple[Status, str]:
        if self._failed and not timed_out:
            return Status.SANDBOX_ERROR, self._failed
        exit_code = exit_info.get("exit") if exit_info else None
        signal_number = exit_info.get("signal") if exit_info else None
        if exit_info is None and not timed_out:
            signal_number = 9  # the sandbox ended without word from its supervisor: killed
        raw = RawRun(
            exit_code=exit_code if isinstance(exit_code, int) else None,
            signal=signal_number if isinstance(signal_number, int) else None,
            stdout=b"",
            stderr=bytes(self._stderr),
            truncated=False,
            output_exceeded=False,
            timed_out=timed_out,
            wall_s=played,
            cpu_s=stats.cpu_s if stats else None,
            peak_mb=None,
            stats=stats or cgroups.CgroupStats(),
        )
        status, message = classify_run(raw, self.limits, "python")
        if status is Status.OK:
            message = f"ok: the game closed itself after {played:.1f} s"
        return status, message

    def _kill(self) -> None:
        with self._control_lock:
            self._control = None  # closed below
        if self._process is not None:
            end_tree(self._process, self._group)
        if self._group is not None:
            self._group.remove()
        if self._work is not None:
            self._work.cleanup()

    def _finish(self, status: Status, message: str, state: str = "ended") -> None:
        self.status = status.value
        self.message = message
        self.ended_at = time.monotonic()
        with self._frames:
            self.state = state
            self._frames.notify_all()
        with _running_lock:
            _running.discard(self)

    def __enter__(self) -> LiveGame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"LiveGame({self.state}, {self.message!r})"
            if self.message
            else f"LiveGame({self.state})"
        )


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


_ESM = """
// Frames arrive as binary buffers (JPEG); keys and pointer events go back to the kernel.
const PLAYING = new Set(["starting", "playing"]);
const X_BUTTON = { 0: 1, 1: 2, 2: 3 };  // a page's button numbers -> X's
const CONFIRM_MS = 100;

function render({ model, el }) {
  el.classList.add("arena-play");
  const bar = document.createElement("div");
  bar.className = "arena-play-bar";
  const button = document.createElement("button");
  button.className = "arena-play-button";
  button.type = "button";
  const status = document.createElement("span");
  status.className = "arena-play-status";
  bar.append(button, status);
  const canvas = document.createElement("canvas");
  canvas.className = "arena-play-canvas";
  canvas.tabIndex = 0;
  // Marks an element whose keys belong to it (a labeling session's shortcuts leave them be).
  canvas.setAttribute("data-arena-captures-keys", "");
  canvas.setAttribute("aria-label", "the game: click it, then play with keys and mouse");
  el.append(bar, canvas);
  const context = canvas.getContext("2d");
  let shown = 0;
  let confirmed = 0;
  let confirming = null;
  const held = new Set();
  const pressed = new Set();

  const blank = () => {
    canvas.width = model.get("width");
    canvas.height = model.get("height");
    context.fillStyle = "#1b1b1f";
    context.fillRect(0, 0, canvas.width, canvas.height);
  };
  const label = () => {
    const state = model.get("state");
    button.textContent = PLAYING.has(state) ? "\u25a0 Stop" : "\u25b6 Play";
    status.textContent = model.get("message");
    el.dataset.state = state;
    el.dataset.status = model.get("status");
  };
  blank();
  label();
  model.on("change:state", label);
  model.on("change:message", label);
  model.on("change:status", label);
  button.addEventListener("click", () => {
    const playing = PLAYING.has(model.get("state"));
    model.send({ type: playing ? "stop" : "play" });
    if (!playing) canvas.focus({ preventScroll: true });
  });

  model.on("msg:custom", (message, buffers) => {
    if (!message || message.type !== "frame" || !buffers || !buffers.length) return;
    const seq = message.seq;
    const drawn = () => {
      confirmed = Math.max(confirmed, seq);
      // Confirmed in batches: every message to the kernel costs it (and the page) two
      // status messages; a few confirmations a second keep the stream's window moving.
      if (!confirming) {
        confirming = setTimeout(() => {
          confirming = null;
          model.send({ type: "drawn", seq: confirmed });
        }, CONFIRM_MS);
      }
    };
    createImageBitmap(new Blob([buffers[0]], { type: "image/jpeg" }))
      .then((bitmap) => {
        if (seq > shown) {  // decodes may finish out of order: never draw an older frame
          if (canvas.width !== message.width || canvas.height !== message.height) {
            canvas.width = message.width;
            canvas.height = message.height;
          }
          context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
          shown = seq;
          canvas.dataset.frame = String(seq);
        }
        bitmap.close();
        drawn();
      })
      .catch(drawn);
  });

  // Coordinates in the game's surface, whatever size the canvas is shown at.
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * canvas.width) / Math.max(1, box.width);
    const y = ((event.clientY - box.top) * canvas.height) / Math.max(1, box.height);
    return { x: Math.round(x), y: Math.round(y) };
  };
  const focused = () => document.activeElement === canvas;
  // On window, in the capture phase: before JupyterLab's shortcuts (Lumino listens on
  // document), so arrows, space and letters reach the game, not the notebook.
  const onKey = (event) => {
    if (!focused()) return;
    event.preventDefault();
    event.stopPropagation();
    event.stopImmediatePropagation();
    const down = event.type === "keydown";
    if (down === held.has(event.code)) return;  // a repeat, or a key pressed elsewhere
    if (down) held.add(event.code);
    else held.delete(event.code);
    model.send({ type: "key", down, code: event.code });
  };
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("keyup", onKey, true);
  // Leaving the game releases what is held: a key must not stay down in it.
  canvas.addEventListener("blur", () => {
    for (const code of held) model.send({ type: "key", down: false, code });
    held.clear();
  });

  let moved = null;
  const sendMove = () => {
    if (moved) model.send({ type: "mouse", action: "move", ...moved });
    moved = null;
  };
  canvas.addEventListener("pointermove", (event) => {
    if (!PLAYING.has(model.get("state"))) return;
    if (!moved) requestAnimationFrame(sendMove);  // at most one move per displayed frame
    moved = point(event);
  });
  canvas.addEventListener("pointerdown", (event) => {
    canvas.focus({ preventScroll: true });
    event.preventDefault();
    const button = X_BUTTON[event.button];
    if (!button || pressed.has(button)) return;
    pressed.add(button);
    canvas.setPointerCapture(event.pointerId);  // its release is ours even outside the canvas
    sendMove();
    model.send({ type: "mouse", action: "down", button, ...point(event) });
  });
  canvas.addEventListener("pointerup", (event) => {
    const button = X_BUTTON[event.button];
    if (!button || !pressed.has(button)) return;
    pressed.delete(button);
    model.send({ type: "mouse", action: "up", button, ...point(event) });
  });
  canvas.addEventListener("wheel", (event) => {
    if (!focused() || !event.deltaY) return;
    event.preventDefault();
    const button = event.deltaY < 0 ? 4 : 5;
    model.send({ type: "mouse", action: "wheel", button, ...point(event) });
  }, { passive: false });
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  return () => {
    clearTimeout(confirming);
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("keyup", onKey, true);
  };
}

export default { render };
"""

_CSS = """
.arena-play { display: inline-flex; flex-direction: column; gap: 6px; max-width: 100%;
  padding: 4px; box-sizing: border-box; }
.arena-play-bar { display: flex; align-items: center; gap: 10px; font: 13px sans-serif; }
.arena-play-button { padding: 3px 12px; cursor: pointer; }
.arena-play-status { color: #444; }
.arena-play[data-state="ended"]:not([data-status="ok"]) .arena-play-status { color: #b00020; }
.arena-play-canvas { align-self: flex-start; max-width: 100%; height: auto; background: #1b1b1f;
  outline: 3px solid transparent; outline-offset: 1px; cursor: crosshair; }
.arena-play-canvas:focus { outline-color: #2f80ed; }
"""

_FRAMES_IN_FLIGHT = 8
"""Frames sent to the page and not yet confirmed drawn, at most: ~250 ms at 30 a second,
enough for the page's confirmations (sent every 100 ms) to come back; a page that draws
slower than frames come gets fewer of them instead of a backlog."""
_IDLE_MESSAGE = "Press Play to run the game live in the sandbox"
_STATE_MESSAGES = {
    "starting": "Starting the game in the sandbox…",
    "playing": "Playing: click the game, then use the keyboard and mouse",
}


class PlayWidget(anywidget.AnyWidget):
    """A PyGame answer, played live in the notebook: Play/Stop, the game's frames on a canvas,
    the page's keys and clicks forwarded to it (see :class:`LiveGame`).

    Keys reach the game while its canvas has the focus (a click on it, or Play): they are
    taken before JupyterLab's shortcuts. The status line says ``starting``, ``playing``, or
    how the game ended (a crash shows its exception and line).

    Parameters
    ----------
    code
        The answer's PyGame code.
    limits
        Sandbox limits (default :data:`LIVE_LIMITS`; a dict changes some of them).
    """

    _esm = _ESM
    _css = _CSS
    state = traitlets.Unicode("idle").tag(sync=True)
    """``idle``, ``starting``, ``playing``, ``ended`` or ``stopped``."""
    status = traitlets.Unicode("").tag(sync=True)
    """Once ended: a sandbox status (``ok``, ``runtime_error`` …)."""
    message = traitlets.Unicode(_IDLE_MESSAGE).tag(sync=True)
    width = traitlets.Int(640).tag(sync=True)
    """The game's surface size (the canvas's)."""
    height = traitlets.Int(480).tag(sync=True)

    def __init__(
        self, code: str, *, limits: Limits | dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.code = code
        self.limits = limits
        self.game: LiveGame | None = None
        """The game being played (or the last one)."""
        self._games: list[LiveGame] = []
        self._handlers: list[Callable[[str, str], None]] = []
        self._sent = 0
        self._drawn = 0
        self._acks = threading.Condition()
        self.on_msg(self._message)

    def start(self) -> None:
        """Start the game (a running one is stopped first; a new game starts from scratch).

        Raises :class:`~arena_kit.errors.ArenaKitError` (also shown in the widget) when this
        machine cannot play games live.
        """
        self.stop()
        game = LiveGame(self.code, limits=self.limits)
        self.game = game
        self.state, self.status, self.message = "starting", "", _STATE_MESSAGES["starting"]
        try:
            game.start()
        except ArenaKitError as error:
            self.state, self.status, self.message = "ended", Status.UNSUPPORTED.value, str(error)
            raise
        self._games.append(game)
        game.on_end(self._ended)
        if game.alive:
            threading.Thread(
                target=self._push, args=(game,), daemon=True, name="arena-kit-play-frames"
            ).start()

    def stop(self) -> None:
        """Stop the game (its whole process tree; nothing of it is left)."""
        if self.game is not None:
            self.game.stop()

    def close(self) -> None:
        self.stop()
        super().close()

    def on_ended(self, handler: Callable[[str, str], None]) -> None:
        """Call ``handler(status, message)`` whenever a game ends: by itself (``ok``), by a
        crash or a limit (its status), or stopped (``ok``, "stopped after … s"). It may be
        called from a background thread."""
        self._handlers.append(handler)

    @property
    def interactions(self) -> dict[str, Any]:
        """``keys``, ``clicks``, ``seconds`` (spent interacting, see :class:`LiveGame`) over
        every game played in this widget, and ``opened``: whether Play was used. Counted on
        the host from what was forwarded to the game."""
        totals: dict[str, Any] = {"keys": 0, "clicks": 0, "seconds": 0.0}
        for game in self._games:
            counts = game.interactions
            for name in totals:
                totals[name] += counts[name]
        totals["seconds"] = round(totals["seconds"], 2)
        totals["opened"] = bool(self._games)
        return totals

    def _ended(self, game: LiveGame) -> None:
        if game is not self.game:
            return
        self.state, self.status, self.message = game.state, game.status or "", game.message
        with self._acks:
            self._acks.notify_all()
        for handler in list(self._handlers):
            handler(self.status, self.message)

    def _push(self, game: LiveGame) -> None:
        """Send the game's newest frame to the page whenever fewer than
        :data:`_FRAMES_IN_FLIGHT` are unconfirmed: a slow page (or a busy kernel) gets fewer
        frames, never a queue of old ones. The frame is taken once there is room, so what is
        sent is the newest there is."""
        seq = 0
        while game.alive:
            with self._acks:
                self._acks.wait_for(
                    lambda: self._drawn > self._sent - _FRAMES_IN_FLIGHT or not game.alive, 1.0
                )
            frame = game.wait_frame(after=seq, timeout=0.5)
            if frame is None:
                continue
            seq = frame.seq
            if self.state == "starting":
                self.state, self.message = "playing", _STATE_MESSAGES["playing"]
            if (frame.width, frame.height) != (self.width, self.height):
                self.width, self.height = frame.width, frame.height
            self._sent += 1
            meta = {"type": "frame", "seq": self._sent, "width": frame.width,
                    "height": frame.height}  # fmt: skip
            self.send(meta, [frame.jpeg])

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        game = self.game
        if kind == "drawn":
            with self._acks:
                self._drawn = max(self._drawn, _int(content.get("seq")))
                self._acks.notify_all()
        elif kind == "play":
            with contextlib.suppress(ArenaKitError):  # shown in the widget
                self.start()
        elif kind == "stop":
            self.stop()
        elif game is None or not game.alive:
            return
        elif kind == "key":
            keysym = BROWSER_KEYS.get(str(content.get("code")))
            if keysym is not None:
                (game.key_down if content.get("down") else game.key_up)(keysym)
        elif kind == "mouse":
            x, y, button = (
                _int(content.get("x")),
                _int(content.get("y")),
                _int(content.get("button")),
            )
            action = content.get("action")
            if action == "move":
                game.mouse_move(x, y)
            elif action in ("down", "up") and 1 <= button <= 3:
                (game.mouse_down if action == "down" else game.mouse_up)(x, y, button)
            elif action == "wheel" and button in (4, 5):
                game.click(x, y, button)


def _int(value: Any) -> int:
    """A number from the page as an int (anything else: 0)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def running_games() -> list[LiveGame]:
    """The live games started by this process and not ended yet."""
    with _running_lock:
        return list(_running)


def stop_games() -> None:
    """Stop every live game this process started (also run at exit)."""
    for game in running_games():
        game.stop()


atexit.register(stop_games)
