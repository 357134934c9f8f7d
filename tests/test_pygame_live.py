"""PyGame answers played live: real sandbox, real Xvfb, real XTest input, frames measured.

Each game draws something a frame shows (a red square's position, a green mark where it was
clicked); the tests inject input the way the notebook does and measure the frames that come
back. The containment tests start a loopback listener on the host that the game must not
reach, and look for the game's processes and work directory after ``stop()``.
"""

from __future__ import annotations

import io
import re
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from arena_kit.schema import Status
from arena_kit.web.pygame_live import (
    BROWSER_KEYS,
    LiveGame,
    live_unavailable_reason,
    running_games,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        live_unavailable_reason() is not None, reason=str(live_unavailable_reason())
    ),
]

# A red 40×40 square at (x, 200): moved while Right is held (get_pressed), or by 30 px per
# KEYDOWN event; every click leaves a green 20×20 mark centred where it landed.
HELD_GAME = textwrap.dedent(
    """
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((640, 480))
    clock = pygame.time.Clock()
    x = 100
    while True:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                raise SystemExit
        if pygame.key.get_pressed()[pygame.K_RIGHT]:
            x += 4
        screen.fill((0, 0, 0))
        pygame.draw.rect(screen, (255, 0, 0), (x, 200, 40, 40))
        pygame.display.flip()
        clock.tick(60)
    """
)
EVENT_GAME = textwrap.dedent(
    """
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((640, 480))
    clock = pygame.time.Clock()
    x, marks = 100, []
    while True:
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN and event.key == pygame.K_RIGHT:
                x += 30
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                marks.append(event.pos)
        screen.fill((0, 0, 0))
        pygame.draw.rect(screen, (255, 0, 0), (x, 200, 40, 40))
        for mx, my in marks:
            pygame.draw.rect(screen, (0, 255, 0), (mx - 10, my - 10, 20, 20))
        pygame.display.flip()
        clock.tick(30)
    """
)

# Draws blue frames for a while, then divides by zero on line 9.
CRASH_GAME = textwrap.dedent(
    """
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((320, 240))
    for step in range(20):
        screen.fill((0, 0, 200))
        pygame.display.flip()
        pygame.time.wait(20)
    speed = 10 / (step - 19)
    """
)


def _image(frame):
    from PIL import Image

    return Image.open(io.BytesIO(frame.jpeg)).convert("RGB")


def _square_x(frame) -> float | None:
    """The red square's centre on row 220 (None when no red is there)."""
    image = _image(frame)
    xs = [
        x
        for x in range(image.width)
        if (lambda p: p[0] > 150 and p[1] < 90 and p[2] < 90)(image.getpixel((x, 220)))
    ]
    return sum(xs) / len(xs) if xs else None


def _green_at(frame, x: int, y: int) -> bool:
    red, green, blue = _image(frame).getpixel((x, y))
    return green > 180 and red < 90 and blue < 90


def _frame_where(game: LiveGame, predicate, timeout: float = 10.0, after: int = 0):
    """The first frame (newer than ``after``) for which ``predicate`` holds, else fail."""
    deadline = time.monotonic() + timeout
    seq = after
    while time.monotonic() < deadline:
        frame = game.wait_frame(after=seq, timeout=max(0.05, deadline - time.monotonic()))
        if frame is None:
            break
        seq = frame.seq
        if predicate(frame):
            return frame
    raise AssertionError(
        f"no matching frame in {timeout:g} s (state {game.state}, {game.message!r}; "
        f"game output: {game.stderr[-800:]!r})"
    )


def _ended(game: LiveGame, timeout: float = 20.0) -> None:
    done = threading.Event()
    game.on_end(lambda _game: done.set())
    assert done.wait(timeout), f"the game did not end in {timeout:g} s: {game.stderr[-800:]!r}"


def _alive(pid: int) -> bool:
    """True for a live process (a zombie counts: nobody reaped it)."""
    return Path(f"/proc/{pid}").exists()


def test_held_key_reaches_get_pressed_and_moves_the_square():
    with LiveGame(HELD_GAME) as game:
        game.start()
        first = _frame_where(game, lambda f: _square_x(f) is not None, timeout=20)
        assert (first.width, first.height) == (640, 480)
        start_x = _square_x(first)
        assert start_x is not None and abs(start_x - 120) < 4
        game.key_down("Right")
        time.sleep(1.0)
        game.key_up("Right")
        _frame_where(game, lambda f: (_square_x(f) or 0) > start_x + 100, 5, after=first.seq)
        # Released: the square stays where it is (get_pressed saw the release too).
        time.sleep(0.3)
        released_x = _square_x(game.frame)
        time.sleep(0.3)
        assert released_x is not None and abs((_square_x(game.frame) or 0) - released_x) < 3
        counts = game.interactions
        assert counts["keys"] == 1 and counts["clicks"] == 0 and counts["opened"] is True
        assert 0.9 <= counts["seconds"] <= 1.5  # the time Right was held


def test_key_events_and_clicks_reach_the_game():
    with LiveGame(EVENT_GAME) as game:
        game.start()
        first = _frame_where(game, lambda f: _square_x(f) is not None, timeout=20)
        for _ in range(3):
            game.press("Right", hold_s=0.05)
            time.sleep(0.1)
        _frame_where(game, lambda f: abs((_square_x(f) or 0) - 210) < 4, after=first.seq)
        game.click(400, 100)
        game.click(200, 380)
        frame = _frame_where(game, lambda f: _green_at(f, 400, 100) and _green_at(f, 200, 380))
        assert not _green_at(frame, 300, 300)
        counts = game.interactions
        assert (counts["keys"], counts["clicks"]) == (3, 2)


def test_a_repeat_is_not_a_new_key_and_input_after_the_end_is_ignored():
    game = LiveGame(EVENT_GAME).start()
    try:
        _frame_where(game, lambda f: _square_x(f) is not None, timeout=20)
        game.key_down("space")
        game.key_down("space")  # the page's auto-repeat: still one press
        game.key_up("space")
        game.key_up("space")
        with pytest.raises(Exception, match="not an X keysym"):
            game.key_down("Right+Left")  # xdotool would read a chord: refused
    finally:
        game.stop()
    game.key_down("a")
    game.click(1, 1)
    assert game.interactions["keys"] == 1 and game.interactions["clicks"] == 0


def test_browser_key_codes_map_to_keysyms():
    assert BROWSER_KEYS["ArrowRight"] == "Right"
    assert BROWSER_KEYS["KeyW"] == "w" and BROWSER_KEYS["Space"] == "space"
    assert BROWSER_KEYS["Enter"] == "Return" and BROWSER_KEYS["Digit1"] == "1"


def test_the_game_cannot_reach_a_host_listener_nor_the_control_channel():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    code = textwrap.dedent(
        f"""
        import os, socket, sys
        import pygame
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
            print("PROBE network reached")
        except OSError as error:
            print("PROBE network isolated", type(error).__name__)
        print("PROBE stdin", os.readlink("/proc/self/fd/0"), repr(sys.stdin.read()))
        parent = os.getppid()
        try:
            print("PROBE parent fds", os.listdir(f"/proc/{{parent}}/fd"))
        except OSError as error:
            print("PROBE parent fds closed", type(error).__name__)
        try:
            os.open(f"/proc/{{parent}}/fd/3", os.O_RDONLY)
            print("PROBE parent fd opened")
        except OSError as error:
            print("PROBE parent fd refused", type(error).__name__)
        print("PROBE uid", os.getuid())
        """
    )
    game = LiveGame(code, limits={"wall_s": 60}).start()
    try:
        _ended(game)
        try:
            connection, _ = listener.accept()
            connection.close()
            reached = True
        except TimeoutError:
            reached = False
    finally:
        game.stop()
        listener.close()
    output = game.stderr
    assert not reached and "PROBE network reached" not in output, output
    assert "PROBE network isolated" in output, output
    assert "PROBE stdin /dev/null ''" in output, output
    assert "PROBE parent fds closed PermissionError" in output, output
    assert "PROBE parent fd refused PermissionError" in output, output
    assert "PROBE uid 0" not in output, output
    assert game.status == Status.OK.value and game.message.startswith("ok: the game closed")


def test_a_game_that_lies_about_its_frames_or_kills_its_supervisor_harms_only_itself():
    # It finds its frame pipe and announces a 2 GiB frame: the supervisor stops reading
    # (the hook then gets EPIPE and stops), nothing is allocated, and the game plays on.
    liar = textwrap.dedent(
        """
        import os, struct, time
        import pygame
        pygame.init()
        screen = pygame.display.set_mode((320, 240))
        out = os.readlink("/proc/self/fd/1")
        pipes = [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2
                 and os.path.exists(f"/proc/self/fd/{fd}")
                 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
                 and os.readlink(f"/proc/self/fd/{fd}") != out]
        for fd in pipes:
            os.write(fd, struct.pack("<HHI", 320, 240, 2**31))
        print("PROBE wrote to", pipes, flush=True)
        while True:
            screen.fill((0, 0, 200))
            pygame.display.flip()
            time.sleep(0.03)
        """
    )
    game = LiveGame(liar).start()
    try:
        deadline = time.monotonic() + 20
        while "PROBE wrote to [" not in game.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert re.search(r"PROBE wrote to \[\d+\]", game.stderr), game.stderr
        time.sleep(1.0)
        assert game.alive and game.frame is None, game.message  # no frame: none was valid
    finally:
        game.stop()
    assert game.state == "stopped" and not game.pids()

    killer = (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nimport time\ntime.sleep(60)\n"
    )
    game = LiveGame(killer).start()
    _ended(game)
    assert game.status == Status.RUNTIME_ERROR.value and "SIGKILL" in game.message, game.message
    assert not game.pids() and game._work is not None and not game._work.path.exists()


def test_stop_leaves_no_process_and_no_work_dir():
    game = LiveGame(HELD_GAME).start()
    _frame_where(game, lambda f: _square_x(f) is not None, timeout=20)
    pids = game.pids()
    assert len(pids) >= 3, pids  # at least the supervisor, the X server and the game
    work = game._work.path if game._work is not None else None
    assert work is not None and work.is_dir()
    assert game in running_games()
    game.stop()
    assert game.state == "stopped" and game.message.startswith("stopped after")
    assert not [pid for pid in pids if _alive(pid)], [pid for pid in pids if _alive(pid)]
    assert not work.exists()
    assert game not in running_games()
    assert game.wait_frame(after=game.frame.seq if game.frame else 0, timeout=0.5) is None


def test_a_crash_reports_its_error_line():
    game = LiveGame(CRASH_GAME).start()
    _ended(game)
    assert game.state == "ended"
    assert game.status == Status.RUNTIME_ERROR.value
    assert "ZeroDivisionError" in game.message and "main.py, line 9" in game.message, game.message
    assert game.frame is not None and (game.frame.width, game.frame.height) == (320, 240)
    assert not game.pids()


def test_a_syntax_error_starts_nothing():
    game = LiveGame("import pygame\nwhile True print(1)\n").start()
    assert game.state == "ended" and game.status == Status.BUILD_ERROR.value
    assert game.message.startswith("build error: SyntaxError"), game.message
    assert game._process is None and game._work is None


def test_the_wall_clock_limit_ends_the_game():
    game = LiveGame(HELD_GAME, limits={"wall_s": 3}).start()
    _ended(game, timeout=20)
    assert game.status == Status.TIMEOUT.value, game.message
    assert "wall-clock limit (3 s)" in game.message
    assert not game.pids()


def test_the_widget_shows_a_crash_and_calls_on_ended():
    from arena_kit.web.pygame_live import PlayWidget

    widget = PlayWidget("import pygame\npygame.init()\nraise RuntimeError('boom')\n")
    ended: list[tuple[str, str]] = []
    widget.on_ended(lambda status, message: ended.append((status, message)))
    assert widget.interactions == {"keys": 0, "clicks": 0, "seconds": 0.0, "opened": False}
    widget.start()
    deadline = time.monotonic() + 20
    while not ended and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ended and ended[0][0] == Status.RUNTIME_ERROR.value
    assert "RuntimeError: boom (main.py, line 3)" in ended[0][1]
    assert widget.state == "ended" and widget.message == ended[0][1]
    assert widget.interactions["opened"] is True
    widget.close()


CHROMIUM = "/usr/bin/chromium"

# The red square's centre on row 220 of the canvas (null when no red is there).
_CANVAS_X = """() => {
  const canvas = document.querySelector(".arena-play-canvas");
  if (!canvas || !canvas.dataset.frame) return null;
  const row = canvas.getContext("2d").getImageData(0, 220, canvas.width, 1).data;
  const xs = [];
  for (let x = 0; x < canvas.width; x++) {
    const [r, g, b] = [row[4 * x], row[4 * x + 1], row[4 * x + 2]];
    if (r > 150 && g < 90 && b < 90) xs.push(x);
  }
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium")
def test_play_in_jupyterlab_with_real_keys(tmp_path):
    """The widget in JupyterLab, in the (sandboxed) test Chromium: Play, a click to focus,
    ArrowRight held in the page (a get_pressed game: only real X input moves it), frames
    change; JupyterLab's own shortcut ``b`` (insert a cell) does not fire while the game has
    the keys; the counts reach the kernel; Stop ends it."""
    import json

    import nbformat
    from jupyter_harness import launch_test_browser, open_and_run_all, running_lab
    from playwright.sync_api import sync_playwright

    work = tmp_path / "work"
    work.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"from arena_kit.web.pygame_live import PlayWidget\n"
            f"play = PlayWidget({HELD_GAME!r})\nplay"
        ),
        nbformat.v4.new_code_cell('import json\nprint("COUNTS", json.dumps(play.interactions))'),
        nbformat.v4.new_code_cell(f"crash = PlayWidget({CRASH_GAME!r})\ncrash.start()\ncrash"),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"
    }  # fmt: skip
    nbformat.write(notebook, work / "play.ipynb")
    shot = Path("/tmp/pygame_live_widget.png")
    crash_shot = Path("/tmp/pygame_live_crash.png")
    with running_lab(work, tmp_path) as lab, sync_playwright() as playwright:
        browser, cleanup = launch_test_browser(playwright, [lab.port])
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        try:
            open_and_run_all(page, lab, "play.ipynb")
            play = page.locator(".arena-play-button").first
            play.wait_for(timeout=90_000)
            page.locator(".jp-OutputArea-output", has_text="COUNTS").wait_for(timeout=60_000)
            cells = page.locator(".jp-Notebook .jp-Cell").count()
            play.click()
            page.wait_for_function(f"({_CANVAS_X})() !== null", timeout=60_000)
            start_x = page.evaluate(_CANVAS_X)
            assert abs(start_x - 120) < 4, start_x
            canvas = page.locator(".arena-play-canvas").first
            canvas.click(position={"x": 600, "y": 40})  # focus: one click, away from the square
            page.keyboard.down("ArrowRight")
            time.sleep(1.0)
            page.keyboard.up("ArrowRight")
            page.keyboard.press("b")  # JupyterLab: "insert a cell below", unless the game has it
            page.wait_for_function(f"({_CANVAS_X})() > {start_x + 100}", timeout=10_000)
            moved_x = page.evaluate(_CANVAS_X)
            page.locator(".arena-play").first.screenshot(path=str(shot))
            page.screenshot(path="/tmp/pygame_live_notebook.png")
            assert page.locator(".jp-Notebook .jp-Cell").count() == cells
            assert "Playing" in page.locator(".arena-play-status").first.inner_text()

            # The crashing game (third cell) shows its error line, in the error colour.
            crashed = page.locator(".arena-play").nth(1)
            crashed.locator(".arena-play-status", has_text="ZeroDivisionError").wait_for()
            text = crashed.locator(".arena-play-status").inner_text()
            assert text.startswith("runtime error:") and "(main.py, line 9)" in text, text
            colour = crashed.locator(".arena-play-status").evaluate(
                "e => getComputedStyle(e).color"
            )
            assert colour == "rgb(176, 0, 32)", colour
            crashed.screenshot(path=str(crash_shot))

            # The counts, read in the kernel: run the second cell again.
            page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            output = page.locator(".jp-OutputArea-output", has_text='"opened": true')
            output.wait_for(timeout=30_000)
            counts = json.loads(output.inner_text().split("COUNTS", 1)[1])
            assert counts["keys"] == 2 and counts["clicks"] == 1, counts
            assert 0.9 <= counts["seconds"] <= 3.0, counts

            play.click()  # now "Stop"
            status = page.locator(".arena-play-status").first
            page.wait_for_function(
                "document.querySelector('.arena-play-status').textContent.startsWith('stopped')",
                timeout=30_000,
            )
            assert "Play" in play.inner_text()
            assert status.inner_text().startswith("stopped after")
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            cleanup()
    assert moved_x > start_x + 100
