"""What model answers need: dependency detection (imports → packages to install).

This module is shared: block and environment detection of fenced code is added here by the
visual-environments work; the sandbox consumes :func:`python_dependencies` and
:func:`js_dependencies`.
"""

from __future__ import annotations

import ast
import re
import sys

__all__ = [
    "IMPORT_TO_DISTRIBUTION",
    "NODE_BUILTINS",
    "python_imports",
    "python_dependencies",
    "js_imports",
    "js_dependencies",
    "distribution_for",
    "is_stdlib",
]

IMPORT_TO_DISTRIBUTION: dict[str, str] = {
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "bs4": "beautifulsoup4",
    "yaml": "pyyaml",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "serial": "pyserial",
    "usb": "pyusb",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyopenssl",
    "attr": "attrs",
    "google.protobuf": "protobuf",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "fitz": "pymupdf",
    "magic": "python-magic",
    "telegram": "python-telegram-bot",
    "discord": "discord.py",
    "gi": "pygobject",
    "wx": "wxpython",
    "win32api": "pywin32",
    "sentencepiece": "sentencepiece",
    "Levenshtein": "python-levenshtein",
    "mpl_toolkits": "matplotlib",
    "pkg_resources": "setuptools",
    "tensorflow_datasets": "tensorflow-datasets",
    "st_aggrid": "streamlit-aggrid",
    "streamlit_folium": "streamlit-folium",
    "faiss": "faiss-cpu",
    "umap": "umap-learn",
    "zmq": "pyzmq",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "lxml": "lxml",
    "tkinter": "tk",
}
"""Import name → PyPI distribution, where the two differ (the rest install by their name)."""

NODE_BUILTINS: frozenset[str] = frozenset(
    [
        "assert",
        "async_hooks",
        "buffer",
        "child_process",
        "cluster",
        "console",
        "constants",
        "crypto",
        "dgram",
        "diagnostics_channel",
        "dns",
        "domain",
        "events",
        "fs",
        "fs/promises",
        "http",
        "http2",
        "https",
        "inspector",
        "module",
        "net",
        "os",
        "path",
        "path/posix",
        "path/win32",
        "perf_hooks",
        "process",
        "punycode",
        "querystring",
        "readline",
        "readline/promises",
        "repl",
        "stream",
        "stream/promises",
        "stream/web",
        "string_decoder",
        "sys",
        "timers",
        "timers/promises",
        "tls",
        "trace_events",
        "tty",
        "url",
        "util",
        "util/types",
        "v8",
        "vm",
        "wasi",
        "worker_threads",
        "zlib",
        "test",
    ]
)
"""Node.js core modules (also importable with the ``node:`` prefix)."""


def is_stdlib(module: str) -> bool:
    """True when ``module`` (top-level name) is part of Python's standard library."""
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in ("__future__",)


def python_imports(code: str) -> list[str]:
    """Top-level names of the modules ``code`` imports, in order of first appearance.

    Parsed with :mod:`ast`; code that does not parse is scanned line by line instead.
    Relative imports (``from . import x``) are skipped.
    """
    names: list[str] = []
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        pattern = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))", re.M)
        for match in pattern.finditer(code):
            if match.group(1):
                names.append(match.group(1))
            else:
                names += [part.strip().split(" ")[0] for part in match.group(2).split(",")]
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    seen: dict[str, None] = {}
    for name in names:
        top = name.split(".")[0]
        if top:
            seen.setdefault(top, None)
    return list(seen)


def distribution_for(module: str) -> str:
    """The PyPI distribution that provides the import ``module``."""
    if module in IMPORT_TO_DISTRIBUTION:
        return IMPORT_TO_DISTRIBUTION[module]
    top = module.split(".")[0]
    return IMPORT_TO_DISTRIBUTION.get(top, top.replace("_", "-").lower())


def python_dependencies(code: str) -> list[str]:
    """Distributions ``code`` needs beyond the standard library (``cv2`` → ``opencv-python``)."""
    result: dict[str, None] = {}
    for module in python_imports(code):
        if not is_stdlib(module):
            result.setdefault(distribution_for(module), None)
    return list(result)


_JS_IMPORT = re.compile(
    r"""(?:\bimport\s+(?:[\w*{}\s,$]+\s+from\s+)?|\bexport\s+[\w*{}\s,$]+\s+from\s+|"""
    r"""\brequire\s*\(\s*|\bimport\s*\(\s*)(['"])([^'"\n]+)\1"""
)


def js_imports(code: str) -> list[str]:
    """Module specifiers ``code`` imports or requires, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _JS_IMPORT.finditer(code):
        seen.setdefault(match.group(2), None)
    return list(seen)


def js_dependencies(code: str) -> list[str]:
    """npm packages ``code`` needs: no relative paths, no URLs, no Node core modules.

    Deep imports name their package (``lodash/fp`` → ``lodash``, ``@scope/pkg/x`` →
    ``@scope/pkg``).
    """
    result: dict[str, None] = {}
    for spec in js_imports(code):
        if spec.startswith((".", "/", "node:", "http:", "https:", "data:")):
            continue
        parts = spec.split("/")
        package = "/".join(parts[:2]) if spec.startswith("@") else parts[0]
        if package in NODE_BUILTINS or spec in NODE_BUILTINS:
            continue
        result.setdefault(package, None)
    return list(result)
