"""The local asset cache: npm packages installed once by ``scripts/setup-web.sh``.

Pages never load anything from the network. A ``<script src>`` or ``<link href>`` that points
at a CDN (jsDelivr, unpkg, cdnjs, esm.sh, Tailwind's play CDN ...) is answered from this
cache when the package is there, and blocked otherwise.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ArenaKitError
from ..sandbox.paths import cache_dir

__all__ = [
    "WebCacheMissingError",
    "web_dir",
    "node_modules",
    "require_web_cache",
    "cdn_file",
    "DEFAULT_FILES",
]


class WebCacheMissingError(ArenaKitError, RuntimeError):
    """The npm packages of the visual environments are not installed (run the set-up)."""


def web_dir() -> Path:
    """``$ARENA_KIT_CACHE/web`` (default ``~/.cache/arena-kit/web``)."""
    return cache_dir() / "web"


def node_modules() -> Path:
    return web_dir() / "node_modules"


def require_web_cache() -> Path:
    """The cache's ``node_modules``, or :class:`WebCacheMissingError` saying how to fix it."""
    modules = node_modules()
    if not (modules / "react").is_dir() or not (web_dir() / "esbuild").exists():
        raise WebCacheMissingError(
            f"the web asset cache is not set up in {web_dir()}: run scripts/setup-web.sh "
            "(installs esbuild, React, Vue, Mermaid ... from the npm registry, once)"
        )
    return modules


DEFAULT_FILES: dict[str, str] = {
    "react": "react/umd/react.production.min.js",
    "react-dom": "react-dom/umd/react-dom.production.min.js",
    "vue": "vue/dist/vue.global.prod.js",
    "chart.js": "chart.js/dist/chart.umd.js",
    "d3": "d3/dist/d3.min.js",
    "three": "three-legacy/build/three.min.js",
    "p5": "p5/lib/p5.min.js",
    "mermaid": "mermaid/dist/mermaid.min.js",
    "marked": "marked/lib/marked.umd.js",
    "tailwindcss": "@tailwindcss/browser/dist/index.global.js",
    "@tailwindcss/browser": "@tailwindcss/browser/dist/index.global.js",
    "@babel/standalone": "@babel/standalone/babel.min.js",
    "babel-standalone": "@babel/standalone/babel.min.js",
    "jquery": "jquery/dist/jquery.min.js",
    "lodash": "lodash/lodash.min.js",
    "alpinejs": "alpinejs/dist/cdn.min.js",
    "gsap": "gsap/dist/gsap.min.js",
    "animejs": "animejs/lib/anime.min.js",
    "canvas-confetti": "canvas-confetti/dist/confetti.browser.js",
    "matter-js": "matter-js/build/matter.min.js",
    "katex": "katex/dist/katex.min.js",
    "plotly.js": "plotly.js-dist-min/plotly.min.js",
    "plotly.js-dist-min": "plotly.js-dist-min/plotly.min.js",
    "plotly.js-dist": "plotly.js-dist-min/plotly.min.js",
    "plotly": "plotly.js-dist-min/plotly.min.js",
}
"""Package → the browser build a ``<script src>`` of the bare package name means."""

_CDNJS_NAMES = {
    "three.js": "three", "Chart.js": "chart.js", "p5.js": "p5", "lodash.js": "lodash",
    "react-dom": "react-dom", "react": "react", "vue": "vue", "d3": "d3", "jquery": "jquery",
    "mermaid": "mermaid", "gsap": "gsap", "animejs": "animejs", "matter-js": "matter-js",
    "KaTeX": "katex", "katex": "katex", "plotly.js": "plotly.js", "babel-standalone":
    "babel-standalone", "canvas-confetti": "canvas-confetti", "marked": "marked",
    "alpinejs": "alpinejs", "tailwindcss": "tailwindcss",
}  # fmt: skip
_HOSTS_NPM = ("cdn.jsdelivr.net", "unpkg.com", "esm.sh", "cdn.skypack.dev", "esm.run")


def _split_package(path: str) -> tuple[str, str]:
    """``@scope/pkg@1.2/dist/x.js`` → (``@scope/pkg``, ``dist/x.js``), version dropped."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "", ""
    if parts[0].startswith("@") and len(parts) > 1:
        name = parts[0] + "/" + parts[1].split("@")[0]
        rest = parts[2:]
    else:
        name = parts[0].split("@")[0]
        rest = parts[1:]
    return name, "/".join(rest)


def _package_file(modules: Path, package: str, inner: str) -> Path | None:
    """A file of ``package`` in the cache: the asked-for one if present, else its default."""
    if package == "three" and inner:
        inner_path = modules / "three-legacy" / inner
        if inner_path.is_file():
            return inner_path
    if inner:
        candidate = (modules / package / inner).resolve()
        if candidate.is_file() and modules.resolve() in candidate.parents:
            return candidate
        if inner.endswith(".css"):
            return None
    default = DEFAULT_FILES.get(package)
    if default and (modules / default).is_file():
        return modules / default
    return None


@lru_cache(maxsize=512)
def _lookup(url: str, modules: str) -> str | None:
    root = Path(modules)
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = parts.path
    if host == "cdn.tailwindcss.com":
        return str(root / DEFAULT_FILES["tailwindcss"])
    if host in _HOSTS_NPM:
        path = re.sub(r"^/(?:npm|gh)/", "/", path)
        package, inner = _split_package(path)
        found = _package_file(root, package, inner)
        return str(found) if found else None
    if host == "cdnjs.cloudflare.com":
        match = re.match(r"^/ajax/libs/([^/]+)/[^/]+/(.+)$", path)
        if match and match.group(1) in _CDNJS_NAMES:
            package = _CDNJS_NAMES[match.group(1)]
            file = match.group(2)
            if file.endswith(".css"):
                found = _package_file(root, package, "dist/" + file)
                return str(found) if found else None
            found = _package_file(root, package, "")
            return str(found) if found else None
        return None
    if host == "code.jquery.com":
        return str(root / DEFAULT_FILES["jquery"])
    if host in ("d3js.org",):
        return str(root / DEFAULT_FILES["d3"])
    if host == "cdn.plot.ly":
        return str(root / DEFAULT_FILES["plotly.js"])
    return None


def cdn_file(url: str) -> Path | None:
    """The cached file that stands for a CDN ``url``, or None (the request is then blocked)."""
    if not url.startswith(("http://", "https://", "//")):
        return None
    if url.startswith("//"):
        url = "https:" + url
    found = _lookup(url, str(node_modules()))
    return Path(found) if found and Path(found).is_file() else None
