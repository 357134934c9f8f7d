"""Turn code into one self-contained web page: HTML, JavaScript, React, Vue, Mermaid, Markdown.

Every page works with no network: React and Vue are bundled by esbuild from the local npm
cache, libraries that a page loads from a CDN are inlined from the cache, Mermaid and
Tailwind are the cached browser builds. A build failure raises :class:`BuildError` with the
bundler's (or compiler's) own message; it never yields a blank page.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArenaKitError
from ..extract import js_dependencies, js_imports
from ..sandbox.classify import esbuild_error, is_local_import
from ..sandbox.limits import Limits
from ..sandbox.runtimes import SANDBOX_RUNTIME
from ..sandbox.workdir import WorkDir
from .assets import DEFAULT_FILES, cdn_file, node_modules, require_web_cache
from .inject import prepend_to_head
from .isolate import WEB_MOUNT, run_isolated
from .storage_shim import MEMORY_STORAGE_JS

__all__ = [
    "Page",
    "BuildError",
    "build_page",
    "html_page",
    "javascript_page",
    "markdown_page",
    "mermaid_page",
    "react_page",
    "vue_page",
    "inline_cdn",
    "PRELUDE",
]

_NODE_DIR = Path(__file__).resolve().parent / "node"
_TOOLS_MOUNT = "/opt/webtools"


class BuildError(ArenaKitError):
    """A page could not be built; ``status`` is ``build_error`` or ``missing_dependency``."""

    def __init__(self, message: str, log: str = "", status: str = "build_error") -> None:
        super().__init__(message)
        self.message = message
        self.log = log
        self.status = status


@dataclass
class Page:
    """A self-contained page and how to know it has finished rendering."""

    html: str
    environment: str
    build_log: str = ""
    ready: str = "true"
    """A JavaScript expression that is truthy once the page has rendered."""
    error: str = "window.__arenaBuildError || null"
    """A JavaScript expression that holds a build error found while rendering (Mermaid)."""


PRELUDE = (
    """<script>
(function () {
  // Storage for pages in an opaque origin (a sandboxed iframe): games keep high scores.
"""
    + MEMORY_STORAGE_JS
    + """  window.__arenaConsole = [];
  ["log", "info", "warn", "error", "debug"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      var text = Array.prototype.map.call(arguments, function (a) {
        if (typeof a === "string") return a;
        try { return JSON.stringify(a); } catch (e) { return String(a); }
      }).join(" ");
      window.__arenaConsole.push([level, text]);
      var pane = document.getElementById("arena-console");
      if (pane) pane.textContent += text + "\\n";
      return original.apply(console, arguments);
    };
  });
  window.addEventListener("error", function (event) {
    window.__arenaConsole.push(["error", String(event.message || event)]);
  });
})();
</script>"""
)
"""Injected first in every page: console capture and in-memory storage where none exists."""


def _script(code: str, attributes: str = "") -> str:
    """An inline ``<script>``; ``</script`` inside the code cannot end it early."""
    safe = re.sub(r"</(script)", r"<\\/\1", code, flags=re.I)
    return f"<script{attributes}>\n{safe}\n</script>"


def _style(css: str) -> str:
    return "<style>\n" + re.sub(r"</(style)", r"<\\/\1", css, flags=re.I) + "\n</style>"


_SCRIPT_SRC = re.compile(
    r"<script\b(?P<attrs>[^>]*?)\bsrc\s*=\s*[\"'](?P<url>[^\"']+)[\"'](?P<rest>[^>]*)>\s*</script>",
    re.I,
)
_LINK_CSS = re.compile(
    r"<link\b[^>]*?\bhref\s*=\s*[\"'](?P<url>(?:https?:)?//[^\"']+)[\"'][^>]*>", re.I
)


def inline_cdn(page: str) -> tuple[str, list[str]]:
    """Inline the CDN scripts and stylesheets of ``page`` from the local cache.

    Returns the page and the CDN URLs that are not in the cache (they stay, and are blocked
    when the page is shown).
    """
    missing: list[str] = []

    def script(match: re.Match[str]) -> str:
        url = match.group("url")
        attrs = (match.group("attrs") + match.group("rest")).strip()
        if "module" in attrs.lower() or not url.startswith(("http", "//")):
            if url.startswith(("http", "//")):
                missing.append(url)
            return match.group(0)
        found = cdn_file(url)
        if found is None:
            missing.append(url)
            return match.group(0)
        keep = re.sub(r"\b(?:integrity|crossorigin|defer|async)\b(?:\s*=\s*[\"'][^\"']*[\"'])?",
                      "", attrs).strip()  # fmt: skip
        return _script(found.read_text("utf-8", "replace"), (" " + keep) if keep else "")

    def link(match: re.Match[str]) -> str:
        tag = match.group(0)
        if "stylesheet" not in tag.lower():
            return tag
        found = cdn_file(match.group("url"))
        if found is None or found.suffix != ".css":
            missing.append(match.group("url"))
            return tag
        return _style(found.read_text("utf-8", "replace"))

    page = _SCRIPT_SRC.sub(script, page)
    page = _LINK_CSS.sub(link, page)
    return page, missing


def _with_prelude(page: str) -> str:
    return prepend_to_head(page, PRELUDE)


def _document(body: str, head: str = "", title: str = "arena") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_lib.escape(title)}</title>\n{head}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def html_page(code: str) -> Page:
    """An HTML answer as is (wrapped in a document if it is a fragment), CDNs inlined."""
    page = code if re.search(r"<html[\s>]|<!DOCTYPE", code, re.I) else _document(code)
    page, missing = inline_cdn(page)
    log = "".join(f"not in the local cache (blocked): {url}\n" for url in missing)
    return Page(_with_prelude(page), "html", build_log=log)


def javascript_page(code: str) -> Page:
    """Browser JavaScript in a page whose console is shown on the page and captured."""
    body = (
        '<canvas id="canvas" width="600" height="400" style="display:none"></canvas>\n'
        '<div id="app"></div><div id="root"></div>\n'
        '<pre id="arena-console" style="font:13px monospace;white-space:pre-wrap"></pre>\n'
        + _script(code)
    )
    return Page(_with_prelude(_document(body)), "javascript")


def markdown_page(code: str) -> Page:
    """Markdown rendered to HTML (tables, strikethrough, task lists)."""
    import mistune

    render = mistune.create_markdown(
        escape=False, plugins=["table", "strikethrough", "task_lists", "url"]
    )
    body = str(render(code))
    style = _style(
        "body{font:16px/1.5 system-ui,sans-serif;max-width:860px;margin:24px auto;padding:0 16px;"
        "color:#1f2328}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;"
        "padding:4px 10px}pre{background:#f6f8fa;padding:12px;overflow:auto}"
        "code{background:#f6f8fa;padding:1px 4px}"
    )
    return Page(_with_prelude(_document(body, style)), "markdown")


def mermaid_page(code: str) -> Page:
    """A Mermaid diagram rendered by the cached mermaid.js; parse errors become build errors."""
    modules = require_web_cache()
    library = (modules / DEFAULT_FILES["mermaid"]).read_text("utf-8")
    text = re.sub(r"</", r"<\\/", json.dumps(code))
    runner = f"""
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
(async function () {{
  var text = {text};
  try {{
    await mermaid.parse(text);
    var out = await mermaid.render("arena-diagram", text);
    document.getElementById("diagram").innerHTML = out.svg;
  }} catch (e) {{
    window.__arenaBuildError = String((e && (e.message || e.str)) || e);
  }}
  window.__arenaDone = true;
}})();
"""
    body = '<div id="diagram"></div>\n' + _script(library) + _script(runner)
    return Page(_with_prelude(_document(body)), "mermaid", ready="window.__arenaDone === true")


def _default_export(code: str) -> str:
    """Add ``export default <Component>`` when a component answer forgot it."""
    if re.search(r"^\s*export\s+default\b", code, re.M):
        return code
    if re.search(r"\bcreateRoot\s*\(|\bReactDOM\.render\s*\(", code):
        return code  # it mounts itself
    names = re.findall(
        r"^(?:export\s+)?(?:function\s+([A-Z]\w*)\s*\(|(?:const|let|var|class)\s+([A-Z]\w*)\b)",
        code,
        re.M,
    )
    flat = [a or b for a, b in names]
    if "App" in flat:
        return code + "\nexport default App;\n"
    return code + (f"\nexport default {flat[-1]};\n" if flat else "")


def _esbuild(work: WorkDir, entry: str, limits: Limits, extra: list[str] | None = None) -> str:
    """Bundle ``entry`` into ``out.js`` (and ``out.css``); returns esbuild's log."""
    argv = [
        f"{WEB_MOUNT}/esbuild", entry, "--bundle", "--format=iife", "--outfile=out.js",
        "--jsx=automatic", "--loader:.js=jsx", "--minify", "--log-level=warning", "--color=false",
        "--define:process.env.NODE_ENV=\"production\"", "--alias:vue=vue/dist/vue.esm-bundler.js",
        "--define:__VUE_OPTIONS_API__=true", "--define:__VUE_PROD_DEVTOOLS__=false",
        "--define:__VUE_PROD_HYDRATION_MISMATCH_DETAILS__=false",
        "--loader:.svg=dataurl", "--loader:.png=dataurl", *(extra or []),
    ]  # fmt: skip
    raw = run_isolated(work.path, argv, limits=limits)
    log = (raw.stdout + raw.stderr).decode("utf-8", "replace")
    if raw.timed_out:
        higher = 60.0 if limits.build_wall_s < 60 else limits.build_wall_s * 2
        raise BuildError(
            f"timeout: the build (esbuild) reached its wall-clock limit "
            f'({limits.build_wall_s:g} s); raise it with limits={{"build_wall_s": {higher:g}}}',
            log,
            status="timeout",
        )
    if raw.exit_code != 0 or not (work.path / "out.js").is_file():
        _unresolved(log)
        first = esbuild_error(log) or _clean(log.strip()[:300]) or "esbuild failed"
        raise BuildError(f"build error: {first}", log)
    return log


def _unresolved(log: str) -> None:
    """Raise the :class:`BuildError` for imports esbuild could not resolve, if there are any.

    npm is named only for real package names missing from the cache; local files the answer
    did not include (``./store.js``, ``@/hooks``, ``/stores/notes``) are said to be that.
    """
    unresolved = list(dict.fromkeys(re.findall(r'Could not resolve "([^"]+)"', log)))
    local = [spec for spec in unresolved if is_local_import(spec)]
    packages = sorted({_package_name(spec) for spec in unresolved if not is_local_import(spec)})
    cached = [name for name in packages if (node_modules() / name).is_dir()]
    absent = [name for name in packages if name not in cached]
    notes = [_local_note(local)] if local else []
    notes += [f"{spec} is not part of the cached {_package_name(spec)}" for spec in unresolved
              if not is_local_import(spec) and _package_name(spec) in cached]  # fmt: skip
    if absent:
        raise BuildError(
            f"missing dependency: {', '.join(absent)} (not in the local npm cache: "
            f"npm install {' '.join(absent)})" + "".join(f"; {note}" for note in notes),
            log,
            status="missing_dependency",
        )
    if notes:
        raise BuildError("build error: " + "; ".join(notes), log)


def _local_note(specs: list[str]) -> str:
    names = ", ".join(specs)
    what = "a local file" if len(specs) == 1 else "local files"
    return f"the answer imports {names}, {what} it did not include"


def _package_name(spec: str) -> str:
    parts = spec.split("/")
    return "/".join(parts[:2]) if spec.startswith("@") else parts[0]


def _clean(line: str) -> str:
    return re.sub(r"\s+", " ", line.replace("✘", "").replace("[ERROR]", "")).strip()


def _local_imports(code: str, files: dict[str, str]) -> str:
    """Point relative imports of files the answer provides at the flat work directory
    (``'../components/Layout'`` → ``'./Layout'``)."""
    stems = {Path(name).stem for name in files}
    for spec in js_imports(code):
        stem = spec.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if spec.startswith(".") and stem in stems and spec != f"./{stem}":
            code = re.sub(rf"(['\"]){re.escape(spec)}\1", f'"./{stem}"', code)
    return code


_SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".json", ".css")


def _deep_imports(code: str) -> str:
    """Point extensionless deep imports of cached packages at their files.

    ``three/examples/jsm/controls/OrbitControls`` → ``….js``: a package whose ``exports`` map
    lists such paths verbatim (three does) would otherwise not resolve, and the answer would
    be told that ``three`` is missing.
    """
    modules = node_modules()
    for spec in js_imports(code):
        if is_local_import(spec) or spec.count("/") < (2 if spec.startswith("@") else 1):
            continue
        if spec.endswith(_SCRIPT_SUFFIXES) or (modules / spec).is_file():
            continue
        endings = (".js", ".mjs", "/index.js")
        found = next((spec + end for end in endings if (modules / (spec + end)).is_file()), None)
        if found:
            code = re.sub(rf"(['\"]){re.escape(spec)}\1", f'"{found}"', code)
    return code


def _write_sources(work: WorkDir, main_name: str, code: str, files: dict[str, str]) -> None:
    work.write(main_name, _deep_imports(_local_imports(code, files)))
    for name, text in files.items():
        safe = Path(name).name
        if safe and safe != main_name:
            work.write(safe, _deep_imports(_local_imports(text, files)))
    # Relative imports the answer did not include: stylesheets become empty files (the page
    # still renders); missing modules are left for esbuild to report.
    for spec in js_imports(code):
        if spec.startswith("./") and spec.endswith(".css"):
            target = work.path / Path(spec).name
            if not target.exists():
                work.write(target.name, "")


def _bundle_page(work: WorkDir, environment: str, mount: str, log: str) -> Page:
    script = (work.path / "out.js").read_text("utf-8")
    css_file = work.path / "out.css"
    head = _style(css_file.read_text("utf-8")) if css_file.is_file() else ""
    tailwind = node_modules() / DEFAULT_FILES["tailwindcss"]
    # Tailwind's browser build turns the utility classes into CSS as the page renders.
    head += "\n" + _script(tailwind.read_text("utf-8"))
    body = f'<div id="{mount}"></div>\n' + _script(script)
    return Page(_with_prelude(_document(body, head)), environment, build_log=log)


def react_page(
    code: str, *, typescript: bool = False, files: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> Page:  # fmt: skip
    """A React 18 component (JSX/TSX, default export) bundled with React DOM and Tailwind."""
    require_web_cache()
    limits = limits or Limits()
    suffix = "tsx" if typescript else "jsx"
    with WorkDir(limits.disk_mb) as work:
        _write_sources(work, f"App.{suffix}", _default_export(code), files or {})
        mounts_itself = bool(re.search(r"\bcreateRoot\s*\(|\bReactDOM\.render\s*\(", code))
        entry = (
            f'import "./App.{suffix}";\n'
            if mounts_itself
            else (
                'import React from "react";\nimport { createRoot } from "react-dom/client";\n'
                f'import App from "./App.{suffix}";\n'
                'createRoot(document.getElementById("root")).render(React.createElement(App));\n'
            )
        )
        work.write("entry.jsx", entry)
        log = _esbuild(work, "entry.jsx", limits)
        return _bundle_page(work, "react", "root", log)


def vue_page(
    code: str, *, files: dict[str, str] | None = None, limits: Limits | None = None
) -> Page:
    """A Vue 3 single-file component (or a script that calls ``createApp``), bundled."""
    require_web_cache()
    limits = limits or Limits()
    with WorkDir(limits.disk_mb) as work:
        log = ""
        if re.search(r"^\s*<template[\s>]|^\s*<script", code, re.M):
            work.write("App.vue", code)
            for name, text in (files or {}).items():
                if Path(name).name != "App.vue":
                    work.write(Path(name).name, text)
            raw = run_isolated(
                work.path,
                [f"{SANDBOX_RUNTIME}/bin/node", f"{_TOOLS_MOUNT}/vue_compile.cjs"],
                limits=limits,
                binds=[(str(_NODE_DIR), _TOOLS_MOUNT, False)],
            )
            log = (raw.stdout + raw.stderr).decode("utf-8", "replace")
            if raw.exit_code != 0:
                first = log.strip().splitlines()[0] if log.strip() else f"exit {raw.exit_code}"
                raise BuildError(f"build error: {first}", log)
            source = "App.ts" if (work.path / "App.ts").is_file() else "App.js"
            work.write(
                "entry.js",
                f'import {{ createApp }} from "vue";\nimport App from "./{source}";\n'
                'import "./App.css";\ncreateApp(App).mount("#app");\n',
            )
        else:
            _write_sources(work, "entry.js", code, files or {})
        log += _esbuild(work, "entry.js", limits)
        return _bundle_page(work, "vue", "app", log)


def build_page(
    code: str,
    environment: str,
    *,
    language: str | None = None,
    files: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> Page:
    """The page for ``code`` in a web ``environment`` (html, javascript, react, vue, mermaid,
    markdown)."""
    if environment == "html":
        return html_page(code)
    if environment == "javascript":
        return javascript_page(code)
    if environment == "markdown":
        return markdown_page(code)
    if environment == "mermaid":
        return mermaid_page(code)
    if environment == "react":
        return react_page(code, typescript=language == "typescript", files=files, limits=limits)
    if environment == "vue":
        return vue_page(code, files=files, limits=limits)
    raise ValueError(f"{environment!r} is not a web environment")


def npm_missing(code: str) -> list[str]:
    """npm packages ``code`` imports that the local cache lacks (path aliases such as
    ``@/hooks`` name the answer's own files, not packages)."""
    modules = node_modules()
    return [
        name
        for name in js_dependencies(code)
        if not is_local_import(name) and not (modules / name).is_dir()
    ]
