"""From a model's markdown answer to a result with a screenshot: ``execute_response``.

The answer's environment is detected (:func:`arena_kit.extract.extract`) unless given; then:

- web pages (HTML, React, Vue, Mermaid, Markdown, browser JavaScript) are built offline and
  rendered in the shared Chromium with no network;
- Streamlit and Gradio start in the sandbox, are screenshotted through the bridge, and stop;
- PyGame runs headless with scripted input, its frames captured;
- everything else (Python, Node, TypeScript, C, C++, Java, Go, Rust) runs in the sandbox, and
  a figure it saves becomes the screenshot.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ..extract import extract, guess_language
from ..sandbox import ExecutionResult, Limits, cache, run
from ..sandbox.classify import explain, missing_verdict
from ..sandbox.paths import artifacts_dir
from ..schema import ENVIRONMENTS, Status, content_id
from .apps import APP_KINDS, APP_LIMITS, AppStartError, start_app
from .browser import Browser, BrowserUnavailableError, Render, get_browser
from .build import BuildError, build_page
from .pygame_capture import run_pygame

__all__ = [
    "execute_response",
    "execute_code",
    "WEB_ENVIRONMENTS",
    "APP_ENVIRONMENTS",
    "is_browser_javascript",
]

WEB_ENVIRONMENTS = ("html", "react", "vue", "mermaid", "markdown")
APP_ENVIRONMENTS = ("streamlit", "gradio", "server")
_FORMAT = (
    4  # bumped when renders change (2: no Streamlit "Deploy" toolbar; 3: issue 13; 4: servers)
)
_BROWSER_JS = re.compile(
    r"\b(?:document|window|localStorage|requestAnimationFrame|alert|navigator)\b|getContext\("
)


def is_browser_javascript(code: str) -> bool:
    """True when JavaScript needs a page (the DOM, a canvas), not Node."""
    return bool(_BROWSER_JS.search(code)) and not re.search(
        r"\brequire\(\s*['\"](?:fs|child_process|http|net|os|path|readline)['\"]", code
    )


def _result(
    code: str,
    environment: str,
    language: str | None,
    limits: Limits,
    files: dict[str, str] | None = None,
) -> ExecutionResult:
    # Extra files change the page, so they are part of the content hash (when there are any).
    extra = (sorted(files.items()),) if files else ()
    return ExecutionResult(
        execution_id=content_id("web", _FORMAT, code, environment, limits.as_dict(), *extra),
        code=code,
        language=language,
        environment=environment,
        status=Status.SANDBOX_ERROR,
        backend="chromium",
    )


def _artifact(path: Path, mime: str) -> dict[str, object]:
    return {"name": path.name, "path": str(path), "size": path.stat().st_size, "mime": mime}


def _folder(execution_id: str) -> Path:
    folder = artifacts_dir() / execution_id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _apply_render(
    result: ExecutionResult,
    render: Render,
    what: str,
    limit_s: float | None = None,
    app_wait_s: float | None = None,
) -> None:
    """Status, message and outputs from what the page did in the browser.

    ``limit_s`` is the wall-clock limit the render ran under, named in a timeout's message;
    ``app_wait_s`` how long an app's page was waited for (apps only).
    """
    result.stdout = "".join(f"{text}\n" for level, text in render.console if level != "error")
    errors = [text for level, text in render.console if level == "error"] + render.page_errors
    if render.blocked:
        errors += [f"blocked (no network): {url}" for url in render.blocked]
    result.stderr = "".join(f"{text}\n" for text in errors)
    if render.png is not None:
        result.screenshot = str(render.png)
        result.artifacts.append(_artifact(render.png, "image/png"))
    if render.build_error:
        result.status = Status.BUILD_ERROR
        result.message = f"build error: {_one_line(render.build_error)}"
    elif render.timed_out:
        result.status = Status.TIMEOUT
        if app_wait_s is not None:  # an app's page: the wait is fixed, its lifetime is not it
            result.message = (
                f"timeout: the {what} did not finish rendering within {app_wait_s:g} s (how "
                "long a screenshot waits for an app's page)"
            )
        else:
            result.message = f"timeout: the {what} did not finish rendering" + (
                f" within the wall-clock limit ({limit_s:g} s); raise it with "
                f'limits={{"wall_s": {60.0 if limit_s < 60 else limit_s * 2:g}}}'
                if limit_s
                else ""
            )
    elif render.page_errors:
        result.status = Status.RUNTIME_ERROR
        result.message = f"runtime error: {_one_line(render.page_errors[0])}"
    elif render.blank:
        result.status = Status.BLANK_RENDER
        result.message = f"blank render: the {what} shows nothing (one flat colour)"
    else:
        result.status = Status.OK
        result.message = f"ok: {what} rendered in {render.wall_s:.2f} s"


_USER_LINE = re.compile(r'File "/work/main\.py", line (\d+)')


def _one_line(text: str) -> str:
    """An exception an app showed, as a program run words it: ``KeyError: 'count' (main.py,
    line 5)`` (Streamlit shows the exception, then a "Traceback:" heading and the frames)."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    places = _USER_LINE.findall(text)
    if places and not lines[0].startswith(("Traceback", "File ")):
        return f"{lines[0][:250]} (main.py, line {places[-1]})"
    lines = [line for line in lines if not line.startswith("Traceback")]
    return " ".join(lines[:2])[:300]


def _web(
    code: str,
    environment: str,
    language: str | None,
    files: dict[str, str],
    limits: Limits,
    screenshot: bool,
    browser: Browser | None,
) -> ExecutionResult:
    started = time.monotonic()
    result = _result(code, environment, language, limits, files)
    if environment == "mermaid" and screenshot:
        return _mermaid(result, code, browser, started)
    try:
        page = build_page(code, environment, language=language, files=files, limits=limits)
    except BuildError as error:
        result.status = Status(error.status)
        result.message = error.message
        result.build_log = error.log
        result.wall_s = round(time.monotonic() - started, 4)
        return result
    result.build_log = page.build_log
    folder = _folder(result.execution_id)
    page_file = folder / "page.html"
    page_file.write_text(page.html, "utf-8")
    if not screenshot:
        result.artifacts.append(_artifact(page_file, "text/html"))
        result.status = Status.OK
        result.message = f"ok: {environment} page built (not rendered)"
        result.wall_s = round(time.monotonic() - started, 4)
        return result
    timeout_s = max(5.0, limits.wall_s)
    render = (browser or get_browser()).render(
        page,
        folder / "screenshot.png",
        capture_svg=environment == "mermaid",
        timeout_s=timeout_s,
    )
    if render.svg:  # the notebook shows the drawn diagram, without the 3 MB library
        page_file.write_text(_svg_page(render.svg), "utf-8")
    result.artifacts.append(_artifact(page_file, "text/html"))
    _apply_render(
        result, render, "page" if environment != "mermaid" else "diagram", limit_s=timeout_s
    )
    result.wall_s = round(time.monotonic() - started, 4)
    return result


def _mermaid(
    result: ExecutionResult, code: str, browser: Browser | None, started: float
) -> ExecutionResult:
    folder = _folder(result.execution_id)
    render = (browser or get_browser()).render_mermaid(code, folder / "screenshot.png")
    if render.svg:
        page_file = folder / "page.html"
        page_file.write_text(_svg_page(render.svg), "utf-8")
        result.artifacts.append(_artifact(page_file, "text/html"))
    _apply_render(result, render, "diagram")
    result.wall_s = round(time.monotonic() - started, 4)
    return result


def _svg_page(svg: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="margin:0">{svg}</body></html>'
    )


APP_RENDER_WAIT_S = 60.0
"""How long a screenshot waits for a started app's page to finish rendering."""


def syntax_error(code: str) -> tuple[str, str] | None:
    """``(message, stderr)`` when ``code`` is not valid Python, else None.

    Apps and games start a server or a display before the answer's code runs, so a syntax
    error would surface only as a page that never comes (a timeout after a minute). Compiling
    runs nothing of the answer (the text is only parsed, as the detector already does), and
    the message is the one the sandbox's launcher would give.
    """
    try:
        compile(code, "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        stderr = "".join(traceback.format_exception_only(type(error), error))
        return f"build error: {explain(stderr, 'python')}", stderr
    except (RecursionError, MemoryError):
        return None  # too deep to check here: the sandbox will say
    return None


_STATIC_DIR = re.compile(r"""\bstatic\s*\(\s*(?:path\.join\([^)]*?)?['"]/?([\w-]+)/?['"]""")


def server_files(code: str, files: dict[str, str]) -> dict[str, str]:
    """``files`` plus the copies a server looks for: Flask renders ``templates/<name>``, an
    Express app serves the folder it names in ``express.static(...)``; answers give bare names.
    """
    placed = dict(files)
    folders = ["templates"] if "render_template(" in code else []
    folders += [name for name in _STATIC_DIR.findall(code) if name not in folders]
    for name, text in files.items():
        if "/" not in name and name.endswith((".html", ".css", ".js")):
            for folder in folders:
                placed.setdefault(f"{folder}/{name}", text)
    return placed


def _app(
    code: str,
    environment: str,
    language: str,
    files: dict[str, str],
    limits: Limits | None,
    screenshot: bool,
    browser: Browser | None,
) -> ExecutionResult:
    started = time.monotonic()
    chosen = limits or APP_LIMITS
    result = _result(code, environment, language, chosen, files)
    result.backend = "bwrap"
    broken = syntax_error(code) if language == "python" else None
    if broken is not None:
        result.status = Status.BUILD_ERROR
        result.message, result.stderr = broken
        result.wall_s = round(time.monotonic() - started, 4)
        return result
    try:
        placed = server_files(code, files) if environment == "server" else {}
        app = start_app(code, environment, limits=chosen, language=language, files=placed)
    except AppStartError as error:
        result.status = Status(error.status)
        result.message = error.message
        missing = missing_verdict(error.stderr, language, None)
        if missing and error.status == "runtime_error":
            result.status, result.message = missing
        result.stdout, result.stderr = error.stdout, error.stderr
        result.wall_s = round(time.monotonic() - started, 4)
        return result
    try:
        if screenshot:
            spec = APP_KINDS[environment]
            folder = _folder(result.execution_id)
            render = (browser or get_browser()).render_url(
                app.url,
                folder / "screenshot.png",
                port=app.port,
                ready_selector=spec.ready_selector,
                error_selector=spec.error_selector,
                busy_selector=spec.busy_selector,
                timeout_s=APP_RENDER_WAIT_S,
            )
            _apply_render(result, render, app.label, app_wait_s=APP_RENDER_WAIT_S)
            if render.load_error:  # the app answered something no browser can show
                result.status = Status.RUNTIME_ERROR
                result.message = (
                    f"runtime error: the {app.label}'s page cannot be shown ("
                    + (
                        f"it asks for a login: HTTP {app.root_status}"
                        if app.root_status == 401
                        else f"{render.load_error}"
                    )
                    + ")"
                )
            elif render.build_error:  # an exception the app showed: the program failed
                result.status = Status.RUNTIME_ERROR
                result.message = f"runtime error: {_one_line(render.build_error)}"
                missing = missing_verdict(render.build_error, language, None)
                if missing:
                    result.status, result.message = missing
            if not app.alive and result.status is Status.OK:
                result.status = Status.RUNTIME_ERROR
                result.message = f"runtime error: the {app.label} stopped while it was shown"
        else:
            result.status = Status.OK
            result.message = f"ok: the {app.label} served in {app.ready_s or 0:.1f} s"
        if result.status is Status.OK and (app.root_status or 200) >= 500:
            # The server is up but its own page fails: the answer's fault, shown as such.
            result.status = Status.RUNTIME_ERROR
            result.message = (
                f"runtime error: the server answered HTTP {app.root_status} on its root page"
                + (f": {explain(app.stderr, language)}" if app.stderr.strip() else "")
            )
    finally:
        app.stop()
        result.stdout = (result.stdout + app.stdout) if result.stdout else app.stdout
        result.stderr = app.stderr + result.stderr
    result.wall_s = round(time.monotonic() - started, 4)
    return result


def _program(
    code: str, environment: str, language: str | None, limits: Limits | None, refresh: bool
) -> ExecutionResult:
    if environment == "pygame":
        broken = syntax_error(code)
        if broken is not None:
            result = _result(code, environment, "python", limits or Limits())
            result.status = Status.BUILD_ERROR
            result.message, result.stderr = broken
            return result
        return run_pygame(code, limits=limits, refresh=refresh)
    result = run(
        code,
        language=language or environment,
        environment=environment,
        limits=limits,
        refresh=refresh,
    )
    image = next((a for a in result.artifacts if str(a.get("mime", "")).startswith("image/")), None)
    if image is not None and result.screenshot is None:
        result = dataclasses.replace(result, screenshot=str(image["path"]))
    return result


def _cached(execution_id: str, use: bool, render: Callable[[], ExecutionResult]) -> ExecutionResult:
    """A rendered result from the sandbox's result cache, or render it and keep it.

    Pages and apps are content-addressed like programs (code, environment, limits, files), so
    a second look at the same answer costs nothing; ``refresh=True`` renders again.
    """
    if use:
        stored = cache.load(execution_id)
        if stored is not None and (stored.screenshot is None or Path(stored.screenshot).is_file()):
            return stored
    result = render()
    if use and result.execution_id == execution_id:
        cache.store(result)
    return result


def _app_language(code: str, environment: str, language: str | None) -> str:
    """Apps are Python; a server is Python or Node (JavaScript; TypeScript runs as it)."""
    if environment != "server":
        return "python"
    chosen = language or guess_language(code)
    return "javascript" if chosen in ("javascript", "typescript") else "python"


def execute_code(
    code: str,
    environment: str,
    *,
    language: str | None = None,
    files: dict[str, str] | None = None,
    limits: Limits | None = None,
    screenshot: bool = True,
    browser: Browser | None = None,
    refresh: bool = False,
) -> ExecutionResult:
    """Run ``code`` in ``environment`` (any of :data:`arena_kit.schema.ENVIRONMENTS`).

    Every result goes through the sandbox's result cache (pages and apps when they are
    screenshotted); ``refresh=True`` runs and renders again.
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}; use one of {ENVIRONMENTS}")
    try:
        if environment in WEB_ENVIRONMENTS or (
            environment == "javascript" and is_browser_javascript(code)
        ):
            page_limits = Limits.coerce(limits)
            return _cached(
                _result(code, environment, language, page_limits, files).execution_id,
                screenshot and not refresh,
                lambda: _web(
                    code, environment, language, files or {}, page_limits, screenshot, browser
                ),
            )
        if environment in APP_ENVIRONMENTS:
            app_language = _app_language(code, environment, language)
            app_files = (files or {}) if environment == "server" else {}
            return _cached(
                _result(
                    code, environment, app_language, limits or APP_LIMITS, app_files
                ).execution_id,
                screenshot and not refresh,
                lambda: _app(
                    code, environment, app_language, app_files, limits, screenshot, browser
                ),
            )
    except BrowserUnavailableError as error:
        result = _result(code, environment, language, Limits.coerce(limits))
        result.message = f"sandbox error: {error}"
        return result
    return _program(code, environment, language, limits, refresh)


def execute_response(
    markdown: str,
    *,
    environment: str | None = None,
    limits: Limits | None = None,
    screenshot: bool = True,
    browser: Browser | None = None,
    refresh: bool = False,
) -> ExecutionResult:
    """Extract, run and (for visual environments) screenshot a model's markdown answer.

    Parameters
    ----------
    markdown
        The answer, with fenced code blocks.
    environment
        Force an environment instead of detecting it.
    limits
        Sandbox limits (apps default to :data:`~arena_kit.web.apps.APP_LIMITS`).
    screenshot
        Render and screenshot visual results (``result.screenshot`` is then a PNG path).
    refresh
        Run programs again even when the sandbox's result cache has them.

    Returns
    -------
    ExecutionResult
        One :class:`~arena_kit.schema.Status`; never raises for the answer's faults.
    """
    found = extract(markdown)
    chosen = environment or found.environment
    if chosen is None or not found.code.strip():
        result = _result(found.code, chosen or "python", found.language, Limits.coerce(limits))
        result.status = Status.UNSUPPORTED
        result.message = f"unsupported: {found.reason or 'no code to run'}"
        result.backend = ""
        return result
    language = found.language
    if environment is not None and environment != found.environment:
        language = None
    if chosen in WEB_ENVIRONMENTS and language not in (None, "javascript", "typescript", "html",
                                                      "css", "markdown", "mermaid"):  # fmt: skip
        language = None
    return execute_code(
        found.code,
        chosen,
        language=language,
        files=found.files,
        limits=limits,
        screenshot=screenshot,
        browser=browser,
        refresh=refresh,
    )
