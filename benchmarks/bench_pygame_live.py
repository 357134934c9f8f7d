"""PyGame played live: frames per second at 640×480, and the time from a key to its frame.

1. **Frames per second.** A 640×480 game that redraws a busy scene (a gradient, moving
   shapes, a noise strip: JPEG sizes like a real game's) 60 times a second; the frames that
   reach the host (:class:`arena_kit.web.pygame_live.LiveGame`) are counted over ``--seconds``
   after the first. The stream is capped at 30 a second.
2. **Key → frame, host.** A game that fills its screen with a colour per key (``r``, ``g``,
   ``b`` on ``KEYDOWN``): the time from ``LiveGame.key_down`` to the first frame received
   whose centre has the new colour. This path is the sandbox's: XTest injection, the game's
   loop, the JPEG, the pipes.
3. **Key → frame, in the browser** (unless ``--no-browser``): the same game in a
   :class:`~arena_kit.web.pygame_live.PlayWidget` in JupyterLab, in Chromium (sandboxed like the
   page renderer, the JupyterLab port bridged into its network namespace). A key pressed in
   the page (Playwright) is timed in the page itself, from the ``keydown`` event to the
   canvas drawn with the new colour: what a person sees, the kernel's messages included.

Medians over ``--trials`` key presses (0.25–0.45 s apart, so each lands at a different point
of the game's frame and of the 30-a-second stream).

Run: ``.venv/bin/python benchmarks/bench_pygame_live.py [--seconds 5] [--trials 30]
[--no-browser] [--json out.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUSY_GAME = textwrap.dedent(
    """
    import math, random
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((640, 480))
    clock = pygame.time.Clock()
    background = pygame.Surface((640, 480))
    for y in range(480):
        pygame.draw.line(background, (y * 255 // 480, 80, 255 - y * 255 // 480), (0, y), (640, y))
    noise = pygame.Surface((640, 60))
    for x in range(0, 640, 4):
        for y in range(0, 60, 4):
            noise.fill([random.randrange(256) for _ in range(3)], (x, y, 4, 4))
    t = 0
    while True:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                raise SystemExit
        screen.blit(background, (0, 0))
        screen.blit(noise, ((t * 3) % 640 - 640, 400))
        screen.blit(noise, ((t * 3) % 640, 400))
        for i in range(12):
            x = 320 + 250 * math.cos(t / 30 + i)
            y = 200 + 150 * math.sin(t / 20 + 2 * i)
            pygame.draw.circle(screen, (255, 255 - 20 * i, 20 * i), (int(x), int(y)), 18)
        pygame.display.flip()
        clock.tick(60)
        t += 1
    """
)
COLOUR_GAME = textwrap.dedent(
    """
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((640, 480))
    clock = pygame.time.Clock()
    colours = {pygame.K_r: (255, 0, 0), pygame.K_g: (0, 255, 0), pygame.K_b: (0, 0, 255)}
    colour = (0, 0, 0)
    while True:
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN and event.key in colours:
                colour = colours[event.key]
        screen.fill(colour)
        pygame.display.flip()
        clock.tick(60)
    """
)
KEYS = {"r": (255, 0, 0), "g": (0, 255, 0), "b": (0, 0, 255)}


def _centre(frame) -> tuple[int, int, int]:
    from PIL import Image

    image = Image.open(io.BytesIO(frame.jpeg)).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def _near(colour, target) -> bool:
    return all(abs(a - b) < 60 for a, b in zip(colour, target, strict=True))


def frames_per_second(seconds: float) -> dict:
    from arena_kit.web.pygame_live import LiveGame

    with LiveGame(BUSY_GAME) as game:
        game.start()
        first = game.wait_frame(timeout=30)
        if first is None:
            raise RuntimeError(f"no frame: {game.message} {game.stderr[-500:]}")
        time.sleep(1.0)  # past the start: the game's own set-up is not the stream's rate
        start = game.frame
        assert start is not None
        sizes = []
        seq = start.seq
        deadline = start.received + seconds
        last = start
        while time.monotonic() < deadline:
            frame = game.wait_frame(after=seq, timeout=1.0)
            if frame is None:
                continue
            sizes.append(len(frame.jpeg))
            seq, last = frame.seq, frame
        rate = (last.seq - start.seq) / (last.received - start.received)
    return {
        "frames_per_s": round(rate, 1),
        "frame_kib_median": round(statistics.median(sizes) / 1024, 1),
        "size": [first.width, first.height],
    }


def host_latency(trials: int) -> list[float]:
    from arena_kit.web.pygame_live import LiveGame

    latencies = []
    rng = random.Random(0)
    with LiveGame(COLOUR_GAME) as game:
        game.start()
        if game.wait_frame(timeout=30) is None:
            raise RuntimeError(f"no frame: {game.message} {game.stderr[-500:]}")
        time.sleep(0.5)
        current = None
        for _ in range(trials):
            key = rng.choice([k for k in KEYS if k != current])
            seq = game.frame.seq if game.frame else 0
            started = time.monotonic()
            game.key_down(key)
            while True:
                frame = game.wait_frame(after=seq, timeout=2.0)
                if frame is None:
                    raise RuntimeError("the colour never showed")
                seq = frame.seq
                if _near(_centre(frame), KEYS[key]):
                    latencies.append((frame.received - started) * 1000)
                    break
            game.key_up(key)
            current = key
            time.sleep(rng.uniform(0.25, 0.45))
    return latencies


# Registered before the page's own scripts (and so before the widget's listener, which stops
# the event): notes when each key went down; a mutation observer on the canvas's frame
# number sees each frame drawn and records the first one in the key's colour.
_PAGE_TIMER = """
window.__arenaLatencies = [];
window.addEventListener("keydown", (event) => {
  window.__arenaKey = { code: event.code, at: performance.now() };
}, true);
const wanted = { KeyR: [255, 0, 0], KeyG: [0, 255, 0], KeyB: [0, 0, 255] };
const watch = () => {
  const canvas = document.querySelector(".arena-play-canvas");
  if (!canvas) { setTimeout(watch, 200); return; }
  new MutationObserver(() => {
    const key = window.__arenaKey;
    if (!key || !wanted[key.code]) return;
    const [w, h] = [canvas.width, canvas.height];
    const p = canvas.getContext("2d").getImageData(w >> 1, h >> 1, 1, 1).data;
    if (wanted[key.code].every((v, i) => Math.abs(v - p[i]) < 60)) {
      window.__arenaLatencies.push(performance.now() - key.at);
      window.__arenaKey = null;
    }
  }).observe(canvas, { attributes: true, attributeFilter: ["data-frame"] });
};
document.addEventListener("DOMContentLoaded", watch);
"""


def browser_latency(trials: int) -> list[float]:
    import nbformat
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from jupyter_harness import free_port, launch_test_browser, running_jupyter

    with tempfile.TemporaryDirectory(prefix="bench-live-") as folder:
        tmp = Path(folder)
        work = tmp / "work"
        work.mkdir()
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"
        }  # fmt: skip
        notebook.cells = [
            nbformat.v4.new_code_cell(
                "from arena_kit.web.pygame_live import PlayWidget\n"
                f"play = PlayWidget({COLOUR_GAME!r})\nplay"
            )
        ]
        nbformat.write(notebook, work / "bench.ipynb")
        port, token = free_port(), secrets.token_hex(16)
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
            env[name] = str(tmp / name.lower())
        command = [
            str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip",
            "127.0.0.1", "--port", str(port), "--allow-root",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=None",
        ]  # fmt: skip
        with (
            running_jupyter(
                command, port=port, token=token, log_path=tmp / "jupyter.log", env=env, cwd=work
            ) as server,
            sync_playwright() as playwright,
        ):
            browser, cleanup = launch_test_browser(playwright, [port])
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                page.add_init_script(_PAGE_TIMER)
                page.goto(f"{server.url}lab/tree/bench.ipynb?token={token}")
                page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
                page.get_by_role("menuitem", name="Run").click()
                page.get_by_text("Run All Cells", exact=True).click()
                with contextlib.suppress(Exception):
                    page.get_by_role("button", name="No", exact=True).click(timeout=3_000)
                page.locator(".arena-play-button").click()
                page.wait_for_function(
                    "document.querySelector('.arena-play-canvas').dataset.frame > 5",
                    timeout=60_000,
                )
                page.locator(".arena-play-canvas").click(position={"x": 5, "y": 5})
                rng = random.Random(0)
                current = None
                for trial in range(trials):
                    key = rng.choice([k for k in KEYS if k != current])
                    page.keyboard.press(key)
                    page.wait_for_function(
                        f"window.__arenaLatencies.length > {trial}", timeout=5_000
                    )
                    current = key
                    time.sleep(rng.uniform(0.25, 0.45))
                latencies = page.evaluate("window.__arenaLatencies")
                page.locator(".arena-play-button").click()  # Stop
            finally:
                cleanup()
    return [float(x) for x in latencies]


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict = {"load_average_start": os.getloadavg()[0]}
    results["frames"] = frames_per_second(args.seconds)
    print(
        f"frames at {results['frames']['size'][0]}×{results['frames']['size'][1]}: "
        f"{results['frames']['frames_per_s']} /s (goal ≥ 10; capped at 30), "
        f"median frame {results['frames']['frame_kib_median']} KiB"
    )
    results["host_latency"] = _summary(host_latency(args.trials))
    host = results["host_latency"]
    print(
        f"key → frame, host: median {host['median_ms']} ms, p90 {host['p90_ms']} ms "
        f"(range {host['min_ms']}–{host['max_ms']}, n={host['n']}; goal ≤ 150 ms)"
    )
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        results["browser_latency"] = _summary(browser_latency(args.trials))
        page = results["browser_latency"]
        print(
            f"key → frame, in the browser (JupyterLab widget): median {page['median_ms']} ms, "
            f"p90 {page['p90_ms']} ms (range {page['min_ms']}–{page['max_ms']}, n={page['n']})"
        )
    results["load_average_end"] = os.getloadavg()[0]
    print(
        f"load average {results['load_average_start']:.1f} at the start, "
        f"{results['load_average_end']:.1f} at the end"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
