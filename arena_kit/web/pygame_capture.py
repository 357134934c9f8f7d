"""PyGame answers, run headless: frames captured over a few seconds with scripted input.

The game runs in the sandbox with SDL's dummy video and audio drivers, under a harness that
wraps ``pygame.display.flip``/``update``: at each flip it keeps a frame (a few per second),
posts the next scripted events (mouse moves and clicks, arrow keys, space, enter) and, once
the capture time is over, ends the game. The frames become ``capture.png`` (the last frame)
and ``capture.gif`` (all of them). A crash is ``runtime_error``; frames that are all one flat
colour (a black screen) are ``blank_render``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..sandbox import ExecutionResult, Limits, run
from ..schema import Status

__all__ = ["run_pygame", "HARNESS", "DEFAULT_INPUT"]

DEFAULT_INPUT: tuple[tuple[float, str, str], ...] = (
    (0.2, "move", "center"),
    (0.35, "click", "center"),
    (0.5, "key", "space"),
    (0.65, "key", "right"),
    (0.8, "key", "right"),
    (1.0, "key", "up"),
    (1.2, "key", "left"),
    (1.4, "key", "down"),
    (1.55, "click", "quarter"),
    (1.7, "key", "return"),
    (1.8, "key", "w"),
    (1.9, "key", "a"),
)
"""(seconds, kind, what): the scripted input every game gets."""

HARNESS = r'''
import os, signal, sys, time, runpy
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
import pygame

DURATION = {duration!r}
PER_SECOND = {per_second!r}
SCRIPT = {script!r}
MAX_FRAMES = 60
frames = []
start = time.monotonic()
state = {{"last": -1.0, "next": 0}}


class _Stop(BaseException):
    """Ends the game when the capture is over (not an Exception: games catch those)."""


def _post(kind, what, surface):
    w, h = surface.get_size() if surface is not None else (640, 480)
    pos = {{"center": (w // 2, h // 2), "quarter": (w // 4, h // 4)}}.get(what, (w // 2, h // 2))
    if kind == "move":
        motion = pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0))
        pygame.event.post(motion)
    elif kind == "click":
        for event in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            pygame.event.post(pygame.event.Event(event, pos=pos, button=1))
    else:
        key = pygame.key.key_code(what)
        for event in (pygame.KEYDOWN, pygame.KEYUP):
            pygame.event.post(pygame.event.Event(event, key=key, mod=0, scancode=0,
                                                 unicode=what if len(what) == 1 else ""))


def _capture():
    now = time.monotonic() - start
    surface = pygame.display.get_surface()
    if surface is not None and now - state["last"] >= 1.0 / PER_SECOND and len(frames) < MAX_FRAMES:
        state["last"] = now
        frames.append((surface.get_size(), pygame.image.tobytes(surface, "RGB")))
    while state["next"] < len(SCRIPT) and SCRIPT[state["next"]][0] <= now:
        _, kind, what = SCRIPT[state["next"]]
        state["next"] += 1
        try:
            _post(kind, what, surface)
        except pygame.error:
            pass
    if now >= DURATION:
        raise _Stop()


_flip, _update = pygame.display.flip, pygame.display.update


def flip(*args, **kwargs):
    result = _flip(*args, **kwargs)
    _capture()
    return result


def update(*args, **kwargs):
    result = _update(*args, **kwargs)
    _capture()
    return result


pygame.display.flip, pygame.display.update = flip, update


def _alarm(signum, frame):
    raise _Stop()


signal.signal(signal.SIGALRM, _alarm)
signal.setitimer(signal.ITIMER_REAL, DURATION + 2.0)


def _save():
    signal.setitimer(signal.ITIMER_REAL, 0)
    if not frames:
        print("arena-capture: no frame was drawn", file=sys.stderr)
        return
    from PIL import Image
    images = [Image.frombytes("RGB", size, data) for size, data in frames]
    images[-1].save("capture.png")
    small = []
    for image in images:
        image = image.copy()
        image.thumbnail((480, 480))
        # Fast octree quantisation: about 3x quicker than the default for the same look.
        small.append(image.quantize(colors=128, method=Image.Quantize.FASTOCTREE))
    small[0].save("capture.gif", save_all=True, append_images=small[1:],
                  duration=int(1000 / PER_SECOND), loop=0)
    print(f"arena-capture: {{len(frames)}} frames", file=sys.stderr)


sys.argv = ["game.py"]
try:
    runpy.run_path("game.py", run_name="__main__")
except _Stop:
    pass
except SystemExit as stop:
    if stop.code not in (None, 0):
        _save()
        raise
_save()
'''
"""The harness (a template: duration, frames per second and the input script are filled)."""


def run_pygame(
    code: str,
    *,
    limits: Limits | None = None,
    duration_s: float = 2.0,
    per_second: float = 10.0,
    script: tuple[tuple[float, str, str], ...] = DEFAULT_INPUT,
    refresh: bool = False,
) -> ExecutionResult:
    """Run a PyGame program headless for ``duration_s`` seconds and capture its frames.

    Returns the sandbox's :class:`~arena_kit.sandbox.ExecutionResult` with ``screenshot`` set
    to ``capture.png`` and the animation among the artifacts (``capture.gif``). Results are
    cached by content like every sandbox run; ``refresh=True`` runs again.
    """
    limits = limits or Limits(wall_s=duration_s + 15, cpu_s=duration_s + 15)
    harness = HARNESS.format(duration=duration_s, per_second=per_second, script=list(script))
    result = run(
        harness,
        language="python",
        environment="pygame",
        limits=limits,
        files={"game.py": code},
        refresh=refresh,
    )
    result = dataclasses.replace(result, code=code)
    png = next((a["path"] for a in result.artifacts if a.get("name") == "capture.png"), None)
    gif = next((a["path"] for a in result.artifacts if a.get("name") == "capture.gif"), None)
    if png and Path(png).is_file():
        result.screenshot = str(png)
    if result.status is Status.OK:
        if png is None:
            result.status = Status.BLANK_RENDER
            result.message = "blank render: the game drew no frame"
        elif _all_blank(Path(gif) if gif else Path(png)):
            result.status = Status.BLANK_RENDER
            result.message = "blank render: every captured frame is the same flat colour"
    return result


def _all_blank(image_path: Path, tolerance: int = 6) -> bool:
    """True when every frame is one flat colour, the same colour throughout (a black screen).

    A game that only fills the screen, but with colours that change, shows something.
    """
    from PIL import Image, ImageSequence, ImageStat

    colours: set[tuple[int, ...]] = set()
    with Image.open(image_path) as image:
        for frame in ImageSequence.Iterator(image):
            stat = ImageStat.Stat(frame.convert("RGB"))
            if any(high - low > tolerance for low, high in stat.extrema):
                return False
            colours.add(tuple(int(round(m / (tolerance + 1))) for m in stat.mean))
    return len(colours) <= 1
