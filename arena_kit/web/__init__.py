"""Visual environments: pages, apps, games and diagrams, rendered offline and screenshotted.

``execute_response(markdown)`` detects an answer's environment, runs it (web pages built and
rendered in a network-less Chromium; Streamlit/Gradio in the sandbox behind a loopback
bridge; PyGame headless with scripted input) and returns an
:class:`~arena_kit.sandbox.ExecutionResult` whose ``screenshot`` is a PNG path. ``show`` and
``side_by_side`` display results in a notebook; ``PlayWidget`` lets a person play a PyGame
answer live (``LiveGame``: the game in the sandbox on a virtual display). See
``docs/web.md``.

Heavy parts (Playwright, PIL, pandas) are imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .apps import App, AppStartError, keep_warm, running_apps, start_app, stop_all
    from .assets import WebCacheMissingError, cdn_file, require_web_cache, web_dir
    from .browser import Browser, close_browser, get_browser, is_blank
    from .build import BuildError, Page, build_page
    from .display import CSP, HTMLView, iframe, show, side_by_side
    from .execute import APP_ENVIRONMENTS, WEB_ENVIRONMENTS, execute_code, execute_response
    from .pygame_capture import run_pygame
    from .pygame_live import LiveGame, PlayWidget, running_games, stop_games
    from .samples import WebSample, run_samples, samples_summary, web_samples

__all__ = [
    "execute_response",
    "execute_code",
    "show",
    "side_by_side",
    "run_samples",
    "samples_summary",
    "web_samples",
    "WebSample",
    "start_app",
    "running_apps",
    "stop_all",
    "keep_warm",
    "App",
    "AppStartError",
    "Browser",
    "get_browser",
    "close_browser",
    "is_blank",
    "build_page",
    "Page",
    "BuildError",
    "run_pygame",
    "LiveGame",
    "PlayWidget",
    "running_games",
    "stop_games",
    "HTMLView",
    "iframe",
    "CSP",
    "cdn_file",
    "web_dir",
    "require_web_cache",
    "WebCacheMissingError",
    "WEB_ENVIRONMENTS",
    "APP_ENVIRONMENTS",
]

_WHERE = {
    "execute_response": "execute", "execute_code": "execute", "WEB_ENVIRONMENTS": "execute",
    "APP_ENVIRONMENTS": "execute", "show": "display", "side_by_side": "display",
    "HTMLView": "display", "iframe": "display", "CSP": "display",
    "run_samples": "samples", "samples_summary": "samples", "web_samples": "samples",
    "WebSample": "samples",
    "start_app": "apps", "running_apps": "apps", "stop_all": "apps", "keep_warm": "apps",
    "App": "apps",
    "AppStartError": "apps", "Browser": "browser", "get_browser": "browser",
    "close_browser": "browser", "is_blank": "browser", "build_page": "build", "Page": "build",
    "BuildError": "build", "run_pygame": "pygame_capture", "cdn_file": "assets",
    "web_dir": "assets", "require_web_cache": "assets", "WebCacheMissingError": "assets",
    "LiveGame": "pygame_live", "PlayWidget": "pygame_live", "running_games": "pygame_live",
    "stop_games": "pygame_live",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
