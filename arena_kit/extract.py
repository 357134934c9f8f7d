"""What model answers need: dependency detection (imports → packages to install).

This module is shared: block and environment detection of fenced code is added here by the
visual-environments work; the sandbox consumes :func:`python_dependencies` and
:func:`js_dependencies`.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .blocks import SHELL_TAGS, CodeBlock, block_language, fenced_blocks
from .sampleio import same_output, sample_io

__all__ = [
    "IMPORT_TO_DISTRIBUTION",
    "NODE_BUILTINS",
    "python_imports",
    "python_dependencies",
    "js_imports",
    "js_dependencies",
    "distribution_for",
    "is_stdlib",
    "Extracted",
    "extract",
    "detect_environment",
    "code_environment",
    "guess_language",
    "block_kind",
    "install_commands",
    "merge_web_page",
    "sample_io",
    "same_output",
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


# ---------------------------------------------------------------------------------------------
# Blocks, main code and environment (the visual-environments work). Fences are parsed by
# arena_kit.blocks only; here each block's language is settled (by tag, else by content) and
# the answer's environment is read from what the main code imports and contains.

_MERMAID_HEAD = re.compile(
    r"^\s*(?:%%.*\n\s*)*(?:graph|flowchart|sequenceDiagram|classDiagram|stateDiagram(?:-v2)?|"
    r"erDiagram|gantt|pie|journey|gitGraph|mindmap|timeline|quadrantChart|requirementDiagram|"
    r"C4Context|xychart-beta|sankey-beta|block-beta|packet-beta|architecture-beta|kanban)\b"
    r"(?![ \t]*[=(.\[:,])"  # ``graph = {…}`` and ``pie(…)`` are code that names a variable so
)
_SFC = re.compile(r"^\s*<template[\s>]", re.M)
_SFC_SCRIPT = re.compile(r"^\s*<script(?:\s+setup|\s+lang=|\s*>)", re.M)
_VUE_DIRECTIVE = re.compile(
    r"\s(?:v-(?:if|else-if|show|for|model|bind|on|slot)\b|[@:][a-zA-Z][\w.:-]*=)"
)
"""A Vue template attribute (``v-if``, ``@click=``, ``:class=``): no HTML page writes one."""
_HTML_DOC = re.compile(r"<!DOCTYPE\s+html|<html[\s>]|<body[\s>]", re.I)
_HTML_TAG = re.compile(r"^\s*<([a-z][\w-]*|[A-Z][A-Z\d]*)(?=[\s/>])[^>]*>", re.M)
"""An HTML element: not XML's dotted names (``<androidx.…Layout>``) nor XAML's CamelCase ones
(``<Grid>``, ``<StackPanel>``)."""
_GO = re.compile(r"^\s*package\s+\w+\s*$", re.M)
_GO_BODY = re.compile(r"^\s*(?:func\s|import\s*[(\"])", re.M)
"""After ``package x`` (no semicolon: not Java), a ``func`` or an import of a quoted path."""
_JAVA = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)?class\s+\w+|\bSystem\.out\.print")
_JAVA_SHAPE = re.compile(
    # A typed catch (`catch (IOException e)`), a generic declaration (`Future<?> f = …;`) …
    r"\bcatch\s*\(\s*(?:final\s+)?[A-Z][\w.]*(?:\s*\|\s*[A-Z][\w.]*)*\s+\w+\s*\)"
    r"|^\s*(?:final\s+)?[A-Z]\w*<[\w?,\s<>\[\]]*>\s+\w+\s*[=;]"
    r"|\bnew\s+[A-Z]\w*<[\w?,\s<>]*>\s*\(|@Override\b|\bthrows\s+[A-Z]\w*Exception\b"
    r"|\bString\[\]\s+\w+",
    re.M,
)
"""Java's shape in a snippet with no class around it (a typed ``catch``, a generic declaration)."""
_JAVA_DECLARATION = re.compile(
    r"^\s*(?:final\s+)?[A-Z]\w*(?:<[^>\n]*>)?(?:\[\])?\s+[a-z]\w*\s*=[^=;\n][^;\n]*;\s*(?://.*)?$",
    re.M,
)
"""``String user = "x";``, ``NodeList result = …;``: a variable declared with a class type."""
_CPP_SCOPE = re.compile(r"\b[A-Za-z_]\w*::[A-Za-z_~]\w*(?:\s*[(<:]|\s+[A-Za-z_])")
"""C++'s scope operator before a call, template or name (``HighFive::CompoundType<Data>``,
``std::string s``); JavaScript, Python and Java never write it, CSS's ``li::before {`` is not it."""
_JS_ONLY_SYNTAX = re.compile(
    r"\bfunction\b|\bconsole\.|\brequire\(|\bdocument\.|===|=>|\b(?:const|let)\s"
)
"""What JavaScript code has and Java never has (both have ``var``, Java since version 10)."""
_RUST = re.compile(
    r"\bfn\s+\w+\s*(?:<[^>]*>)?\s*\(|\blet\s+mut\s|\bprintln!\(|^\s*use\s+std::", re.M
)
_INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"]([\w./]+)[>\"]", re.M)
_C_DIRECTIVE = re.compile(r"^#(?:define|ifndef|ifdef|pragma)\s+\w", re.M)
"""A C preprocessor line (``#define N 10``): no Python comment or shell line starts so."""
_C_TYPEDEF = re.compile(r"^\s*typedef\s+[\w\s:<>,*]+?\s*\**\s*\w+\s*(?:\[[^\]\n]*\]\s*)*;", re.M)
"""A C-family type alias (``typedef unsigned long u64;``, ``typedef ap_fixed<16, 8> data_t;``)."""
_NODE_MODULE = re.compile(r"\bmodule\.exports\b|\brequire\(\s*['\"]")
"""Node's module system: ``module.exports = {…}`` also parses as Python, but no Python has it."""
_CPP_HINTS = re.compile(r"\bstd::|\busing\s+namespace\b|\bcout\s*<<|\btemplate\s*<|\bclass\s+\w+")
_TS_HINTS = re.compile(
    r"^\s*(?:export\s+)?(?:interface|type)\s+\w+|:\s*(?:string|number|boolean|void|any|unknown)"
    r"(?:\[\])?\s*[,)=;{]|<\w+(?:\[\])?>\s*\(|\bas\s+const\b",
    re.M,
)
_TS_DECLARATION = re.compile(
    r"^\s*(?:export\s+)?(?:interface\s+\w+(?:<[^>\n]*>)?(?:\s+extends\s+[\w.<>, ]+)?\s*\{"
    r"|type\s+\w+(?:<[^>\n]*>)?\s*=)"
    r"|:\s*(?:string|number|boolean|void|any|unknown)(?:\[\])?\s*[,)=;{]",
    re.M,
)
"""TypeScript beyond doubt, for code with no JavaScript hint (``interface Gi0/0`` is not)."""
_JS_HINTS = re.compile(
    r"\b(?:const|let|var)\s+\w+\s*=|\bfunction\s*\w*\s*\(|=>|\bconsole\.\w+\(|\brequire\(|"
    r"\bmodule\.exports\b|"
    r"\bdocument\.|^\s*export\s"
    # JavaScript's import names a module in quotes or binds with braces, `*` or `from`; a bare
    # ``import x`` / ``import x.y as z`` is Python's, so a cut Python script is not JavaScript.
    r"|^\s*import\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?(?:[{*'\"]|[\w$]+\s+from\s)",
    re.M,
)
_JSX = re.compile(r"return\s*\(?\s*<[A-Za-z>]|=>\s*\(?\s*<[A-Za-z>]|\bclassName=|<[A-Z]\w*[\s/>]")
_PY_SHAPE = re.compile(
    r"^(?:import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*$"
    r"|from\s+\.*[\w.]*\s+import\s+[\w*(]"
    r"|(?:async\s+)?def\s+\w+\s*\("
    r"|class\s+\w+\s*(?:\([^)]*\))?\s*:"
    r"|@[\w.]+(?:\(.*\))?\s*$"
    r"|(?:el)?if\s.+:\s*(?:#.*)?$|else\s*:|try\s*:|except\b.*:|finally\s*:"
    r"|for\s+[\w, ()]+\s+in\s.+:\s*(?:#.*)?$|while\s.+:\s*(?:#.*)?$|with\s.+:\s*(?:#.*)?$"
    r"|print\(|self\.\w+\s*=)"
)
"""One line of Python's own shape (a line no JavaScript, C-family or Rust program has)."""
_BRACE_SHAPE = re.compile(
    r"[;{]\s*(?://.*)?$|^[})\]]+;?\s*$|\b(?:const|let|var|function)\s|=>|===|\bconsole\."
)
"""One line of a brace language's shape (statements ended by ``;``, blocks in braces)."""
_RUST_SHAPE = re.compile(
    r"^\s*use\s+\w+(?:::[\w{}*, ]+)+;|\bfn\s+\w+\s*(?:<[^>]*>)?\s*\(|\blet\s+mut\s"
    r"|^\s*impl\b|\bpub\s+(?:fn|struct|enum|mod|trait)\b|^\s*#\[derive\(|\b\w+!\("
    r"|&(?:mut\s+|')?(?:str|self)\b|->\s*(?:Self|Result<|Option<|Vec<|String|u\d+|i\d+|usize)"
    r"|=\s*(?:move\s*)?\|[\w\s,:&]*\|\s*[\w{(&]|\bmove\s*\|"  # a closure: `let f = |x| x + 1;`
    r"|\.(?:to_string|to_owned|unwrap|as_str|into_iter)\(\)|\b\w+!\[",  # Rust-only methods, vec![…]
    re.M,
)
_JS_ONLY = re.compile(
    r"\bfunction\b|\bvar\s|\bconsole\.|\brequire\(|\bdocument\.|===|"
    r"^\s*import\s.*\bfrom\s+['\"]|^\s*export\s|\b(?:const|let)\s+\w+\s*=\s*(?:\(|async\b)",
    re.M,
)
"""What JavaScript has and Rust never has (Rust's ``let x = (`` is rare enough to ignore)."""
_JSDOC = re.compile(r"^\s*/\*\*(?:.|\n)*?@(?:param|returns?|type|typedef|property|example)\b")
_C_FUNCTION = re.compile(
    r"^\s*(?:static\s+|inline\s+|extern\s+)*(?:const\s+|unsigned\s+|signed\s+)*"
    r"(?:void|int|char|float|double|long|short|bool|size_t|u?int\d+_t|struct\s+\w+|\w+_t)"
    r"\s*\*?\s*\w+\s*\([^)]*\)\s*\{",
    re.M,
)
_CPP_ONLY = re.compile(
    r"\w::\w|\.hpp\b|\bcout\b|\bnew\s+\w+\s*[(\[]|\btemplate\s*<|\bclass\s+\w+"
    # a template type in a declaration: `vector<int> v;`, `typedef ap_fixed<16, 8> data_t;`
    r"|\b[A-Za-z_]\w*<[\w\s,:*]+>\s*\**\s*[A-Za-z_]\w*\s*[;=(\[{,)]"
)
_FOREIGN = re.compile(
    r"<\?php\b|^\s*(?:namespace|use)\s+\w+\\"  # PHP: the tag, namespaces with backslashes
    r"|\$\w+->\w"  # PHP's (and Perl's) `$this->x`, `$app->get(`: no language here writes it
    r"|^\s*using\s+(?:static\s+)?[A-Z]\w*(?:\.\w+)*\s*;|\bConsole\.Write(?:Line)?\("  # C#
    r"|^\s*(?:(?:override|private|public|suspend)\s+)*fun\s+\w+\s*\(|^\s*val\s+\w+"  # Kotlin
    r"|^[a-z]\w*\s+::\s+\S"  # a Haskell type signature
    r"|^[\w.$]+\s*<-\s"  # R's assignment at the top level (Go's `ch <- x` is in a func)
    r"|^\s*(?:library|require)\(\w+\)\s*$|\binstall\.packages\("  # R's packages, unquoted
    r"|\sandroid:\w+="  # an Android resource (layout, manifest, menu): XML, not a page
    r"|^\s*end\s*$"  # a block closed by `end`: Ruby, Lua, Julia, MATLAB, Elixir
    r"|\{[#/:](?:each|if|else|await)\b"  # Svelte's template blocks
    r"|^\s*import\s+(?:SwiftUI|UIKit|Foundation|AppKit|Combine)\s*$|\bfunc\s+\w+[^\n{]*->"  # Swift
    r"|^\s*pragma\s+solidity\b|^\s*contract\s+\w+[^\n]*\{"  # Solidity
    r"|^\[[\w.\- \"]+\]\s*$",  # a TOML or INI section: `[package]` (parses as Python)
    re.M,
)
"""Marks of languages nothing here runs, which an untagged block of them would otherwise be
taken for JavaScript (``var``, ``function``), Python (``import a.b``) or HTML (PHP pages)."""
_PY_FIRST_LINE = re.compile(
    r"^\s*(?:import\s+\w|from\s+[\w.]+\s+import\s|def\s+\w+\(|class\s+\w+\s*[(:]"
    r"|[A-Za-z_]\w*\s*=\s*[rRbBuUfF]{0,2}(?:\"{3}|'{3}))"  # `name = f"""…`: only Python writes so
)
"""A first line only Python has, for code cut off after it."""
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I)
_JS_STATEMENT = re.compile(
    r"^[A-Za-z_][\w$]*(?:\.[\w$]+|\[[^\]\n]*\])*\s*[-+*/]?=\s*[^=\s].*;\s*(?://.*)?$", re.M
)
"""An assignment ended by ``;`` with no declaration before the name (``radius = 50;``)."""
_TYPED_DECLARATION = re.compile(
    r"^\s*(?:(?:const|static|unsigned|signed|final|private|public)\s+)*"
    r"[A-Za-z_][\w:<>\[\],]*\s*\**\s+\**[A-Za-z_]\w*\s*(?:\[[^\]\n]*\]\s*)*[=;]",
    re.M,
)
"""A declaration with a type before the name (``int x = 0;``, ``String s;``): C-family, Java."""


_SETTING = re.compile(r"[A-Za-z_][\w.-]*=(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s()\[\]{}'\"]*)|[#;].*")
"""One line of a settings file: ``key=value`` with no space around ``=`` (or a comment)."""
_SHELL_BODY = re.compile(r"^\s*(?:local\s+\w+=|(?:fi|done|esac)\s*$)", re.M)
"""Shell script lines no program in another language has (a shell function starts like a
JavaScript one: ``function name() {``)."""
_SHELL_HEAD = re.compile(
    r"^\s*(?:\$\s+|sudo\s+|pip3?\s|python3?\s+-m\s|npm\s|npx\s|yarn\s|pnpm\s|apt(?:-get)?\s|"
    r"brew\s|conda\s|cargo\s|go\s+(?:run|get|install|mod|build)\b|cd\s|export\s+\w+(?:=|\s*$)|mkdir\s|git\s|"
    r"curl\s|wget\s|streamlit\s+run|gradio\s|node\s|deno\s|bun\s|javac?\s|gcc\s|g\+\+\s|"
    r"rustc\s|chmod\s|source\s|docker\s|kubectl\s|make\b|cmake\s|ls\b|cat\s|echo\s|rm\s|"
    r"cp\s|mv\s|ssh\s|scp\s|systemctl\s|touch\s|tar\s|unzip\s|pwsh\s|choco\s|winget\s)"
)
_INSTALL = re.compile(
    r"^\s*(?:\$\s+)?(?:sudo\s+)?(?:pip3?\s+install|python3?\s+-m\s+pip\s+install|"
    r"npm\s+(?:install|i|add)|yarn\s+add|pnpm\s+(?:add|install)|cargo\s+add|go\s+get|"
    r"apt(?:-get)?\s+install|conda\s+install)\b.*$",
    re.M,
)
_PY_APPS = ("streamlit", "gradio", "pygame")
# Web servers (the `server` environment): a framework import proves it; the standard library's
# http.server, aiohttp (also a client) and tornado need the call that serves.
_PY_SERVER_FRAMEWORKS = frozenset(
    {"flask", "fastapi", "dash", "bottle", "starlette", "uvicorn", "quart", "sanic", "falcon",
     "cherrypy", "werkzeug", "flask_socketio"}
)  # fmt: skip
_PY_SERVES = re.compile(
    r"\b(?:(?:Threading)?HTTPServer|web\.Application|web\.run_app|tornado\.web\.Application)\s*\(|"
    r"\bserve_forever\s*\(|\b(?:BaseHTTPRequestHandler|SimpleHTTPRequestHandler)\b"
)
_JS_SERVER_PACKAGES = frozenset({"express", "koa", "fastify", "@hapi/hapi", "restify"})
_JS_SERVES = re.compile(
    r"\b(?:http|https)\.createServer\s*\(|\bcreateServer\s*\([^)]*\)[\s\S]*\.listen\s*\("
)
_CODE_LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "html", "c", "cpp", "java", "go", "rust",
     "mermaid", "markdown"}
)  # fmt: skip


def _python_statements(code: str) -> bool:
    """True when ``code`` parses as Python and holds a real statement.

    Not a real statement: a bare literal, or an annotation by a literal with no value
    (program output such as ``Sum: 15`` parses as one).
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Call) and "(" in code:
                return True
            continue
        if (
            isinstance(node, ast.AnnAssign)
            and node.value is None
            and isinstance(node.annotation, ast.Constant)
        ):
            continue
        return True
    return False


def _semicolon_lines(text: str) -> bool:
    """Every line of code ends with ``;``: a C-family or JavaScript statement list, which can
    also parse as Python (``console.log(x);``, ``MODULE_LICENSE("GPL");``) but is never written
    so in Python."""
    lines = [line.strip() for line in text.splitlines()]
    code = [line for line in lines if line and not line.startswith(("#", "//", "/*", "*"))]
    return bool(code) and all(line.endswith(";") for line in code)


def _python_shaped(text: str) -> bool:
    """Python's shape in code that need not parse (models stop mid-statement).

    At least two lines of Python's own shape (``import x``, ``from x import y``, ``def``,
    ``class X:``, decorators, ``if ...:`` blocks) and more of them than lines of a brace
    language's shape. JavaScript's ``import``/``export`` hint alone must not decide such code:
    ``import os`` is Python's shape, ``import x from 'y'`` is not.
    """
    python = braces = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//", "/*", "* ")):
            continue
        if _PY_SHAPE.match(stripped):
            python += 1
        elif _BRACE_SHAPE.search(stripped):
            braces += 1
    return python >= 2 and python > braces


def _rust_shaped(text: str) -> bool:
    """Rust, even cut off before ``fn main``: two Rust marks and nothing only JavaScript has."""
    marks = sum(1 for _ in zip(range(2), _RUST_SHAPE.finditer(text), strict=False))
    return marks >= 2 and not _JS_ONLY.search(text)


def _c_family(text: str) -> str:
    """``cpp`` when the code uses anything C lacks (``std::``, classes, ``.hpp``), else ``c``."""
    return "cpp" if _CPP_HINTS.search(text) or _CPP_ONLY.search(text) else "c"


def _looks_like_markdown(text: str) -> bool:
    """A heading and a list, table or inline markup, and no line that looks like code."""
    lines = [line for line in text.splitlines() if line.strip()]
    heading = any(re.match(r"^\s{0,3}#{1,6}\s+\S", line) for line in lines)
    structure = any(re.match(r"^\s*(?:[-*+]|\d+\.)\s+\S|^\|.*\|\s*$", line) for line in lines)
    inline = any(re.search(r"\*\*?\w[^*\n]*\*\*?|\[[^\]\n]+\]\([^)\n]+\)", line)
                 for line in lines if not line.lstrip().startswith("#"))  # fmt: skip
    code_like = [
        line for line in lines if re.search(r"[=;{}$]|^#!", line) or re.match(r"^[A-Z]{2,}\s", line)
    ]
    return heading and (structure or inline) and len(code_like) <= len(lines) // 10


def guess_language(code: str) -> str | None:
    """The language of an untagged block, read from its content.

    Returns a :data:`~arena_kit.schema.LANGUAGES` name, ``"shell"`` for commands, or None
    (program output, configuration, prose).

    Code that does not parse is read by its shape: truncated Python (``import x``, ``def``,
    indented blocks) stays Python though JavaScript's ``import`` hint matches, truncated Rust
    (``use std::…;``, ``let mut``, ``impl``) stays Rust, a C function without ``#include`` is C,
    and a JSDoc comment alone is JavaScript. Python holding a page in a string (a Flask
    template, ``PAGE = '<html>…'``) is Python, not HTML. A block whose closing fence is missing
    runs on into the answer's prose: when the whole block reads as nothing, the code before its
    first line of prose is read instead.
    """
    found = _guess_language(code)
    if found is None:
        head = _before_prose(code)
        if head is not None:
            found = _guess_language(head)
    return found


def _is_prose(line: str) -> bool:
    """A sentence at the start of a line: a capitalised word, then mostly plain words."""
    if not re.match(r"[A-Z][a-z]", line):
        return False
    words = line.split()
    plain = sum(1 for word in words if re.fullmatch(r"[A-Za-z][a-z'-]*[,.;:!?]?", word))
    return len(words) >= 6 and plain >= 0.7 * len(words)


def _settings(text: str) -> bool:
    """Every line is a ``key=value`` setting (ini, .env, properties): Python puts spaces
    around ``=`` and never writes ``key=swoole.so`` alone."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return all(_SETTING.fullmatch(line) for line in lines) and any("=" in line for line in lines)


def _markup_led(text: str) -> bool:
    """An HTML fragment: it opens with an element, closes one, and any JavaScript it holds is
    inside ``<script>`` (a Bootstrap modal with its script), not JSX."""
    if not (_HTML_TAG.match(text) and "</" in text):
        return False
    outside = _SCRIPT_OR_STYLE.sub("", text)
    return not _JS_HINTS.search(outside) and not _JSX.search(outside)


def _js_statements(text: str) -> bool:
    """JavaScript statements that declare nothing: two assignments ended by ``;`` and a ``//``
    comment, with no typed declaration (C, Java) and no ``$`` variable (PHP)."""
    if "//" not in text or re.search(r"\$\w+\s*=", text) or _TYPED_DECLARATION.search(text):
        return False
    return sum(1 for _ in zip(range(2), _JS_STATEMENT.finditer(text), strict=False)) >= 2


def _before_prose(code: str) -> str | None:
    """The code before the first line of prose that follows some code, or None if none does."""
    lines = code.strip().splitlines()
    for index, line in enumerate(lines[1:], start=1):
        if _is_prose(line):
            return "\n".join(lines[:index])
    return None


def _guess_language(code: str) -> str | None:
    text = code.strip()
    if not text:
        return None
    if _MERMAID_HEAD.match(text):
        return "mermaid"
    if _is_sfc(text):
        return "html"  # a Vue single-file component; code_environment tells it apart
    if _FOREIGN.search(text):
        return None
    if _SHELL_BODY.search(text):
        return "shell"
    if _settings(text):
        return None  # `extension=swoole.so`: an ini, .env or properties file, not a program
    parses = (
        _python_statements(text) and not _NODE_MODULE.search(text) and not _semicolon_lines(text)
    )
    if _HTML_DOC.search(text) and not (parses or _python_shaped(text)):
        return "html"
    if _GO.search(text) and _GO_BODY.search(text):
        return "go"
    if _JAVA.search(text) and not text.lstrip().startswith("<"):
        return "java"
    if re.search(r"^\s*fn\s+main\s*\(", text, re.M) or (
        _RUST.search(text) and not _JS_HINTS.search(text)
    ):
        return "rust"
    if _rust_shaped(text) and not parses:
        return "rust"
    includes = _INCLUDE.findall(text)
    if includes:
        return "cpp" if any("." not in name for name in includes) else _c_family(text)
    if _C_DIRECTIVE.search(text) or _C_TYPEDEF.search(text):
        return _c_family(text)
    if parses:
        return "python"
    first = text.splitlines()[0]
    if _SHELL_HEAD.match(first):
        return "shell"
    if _python_shaped(text):
        return "python"  # Python that does not parse (models stop mid-answer)
    if _C_FUNCTION.search(text) and not _JS_ONLY.search(text):
        return _c_family(text)
    if _markup_led(text):
        return "html"  # markup first; JavaScript only inside its <script> elements
    if _CPP_SCOPE.search(text) and re.search(r";\s*$", text, re.M) and not _JS_ONLY.search(text):
        return "cpp"  # `Name::member` in statements ended by `;` (Rust was told apart above)
    if (
        _JAVA_SHAPE.search(text)
        or sum(1 for _ in zip(range(2), _JAVA_DECLARATION.finditer(text), strict=False)) >= 2
    ) and not _JS_ONLY_SYNTAX.search(text):
        return "java"  # a Java snippet with no class around it
    script = _JS_HINTS.search(text) or _TS_DECLARATION.search(text) or _JSDOC.match(text)
    if script or (_JSX.search(text) and re.search(r"\breturn\b|=>", text)):
        return "typescript" if _TS_HINTS.search(text) else "javascript"
    if (_HTML_TAG.match(text) and "</" in text) or re.match(r"<svg[\s>]", text):
        return "html"  # an element with its closing tag; an SVG image, even cut off
    if _PY_FIRST_LINE.match(text):
        return "python"  # one line of Python's shape, cut off
    if _js_statements(text):
        return "javascript"  # statements with no declaration (an After Effects expression)
    if _looks_like_markdown(text):
        return "markdown"
    return None


def block_kind(block: CodeBlock) -> str | None:
    """The language of one block: its tag's, else guessed from its content.

    Returns a :data:`~arena_kit.schema.LANGUAGES` name, ``"shell"``, or None (a language
    nothing here runs, such as PHP or SQL, or no code).
    """
    if block.tag:
        if block.tag == "jsx" and _TS_HINTS.search(block.code):
            return "typescript"  # TypeScript in a jsx block: bundled as TSX
        return "shell" if block.tag in SHELL_TAGS else block_language(block)
    return guess_language(block.code)


def install_commands(markdown: str) -> list[str]:
    """Package-install commands (``pip install``, ``npm install`` ...) found in shell blocks."""
    found: dict[str, None] = {}
    for block in fenced_blocks(markdown):
        if block.tag in SHELL_TAGS:
            for match in _INSTALL.finditer(block.code):
                found.setdefault(re.sub(r"^\s*\$\s+", "", match.group(0)).strip(), None)
    return list(found)


def _is_sfc(code: str) -> bool:
    """A Vue single-file component: a ``<template>`` with its script or its ``{{ }}``, or one
    that opens the code and binds Vue directives (an SFC cut off before its ``<script>``)."""
    if not _SFC.search(code):
        return False
    if _SFC_SCRIPT.search(code) or "{{" in code:
        return True
    return bool(re.match(r"\s*<template[\s>]", code)) and bool(_VUE_DIRECTIVE.search(code))


def _is_react(code: str) -> bool:
    imports = js_imports(code)
    if any(spec in ("react", "react-dom", "react-dom/client") for spec in imports):
        return True
    return bool(re.search(r"\b(?:React|ReactDOM)\.", code)) and bool(_JSX.search(code))


def _is_vue_js(code: str) -> bool:
    return "vue" in js_imports(code) and bool(
        re.search(r"\b(?:createApp|defineComponent|ref|reactive)\s*\(", code)
    )


def _is_node(code: str) -> bool:
    return bool(re.search(r"\brequire\(\s*['\"]|\bmodule\.exports\b|\bprocess\.argv\b", code))


def _is_python_server(code: str, imported: list[str]) -> bool:
    if any(name in _PY_SERVER_FRAMEWORKS for name in imported):
        return True
    serving = {"http", "socketserver", "aiohttp", "tornado"}
    return bool(serving.intersection(imported)) and bool(_PY_SERVES.search(code))


def _is_node_server(code: str) -> bool:
    if any(spec in _JS_SERVER_PACKAGES for spec in js_imports(code)):
        return True
    return bool(_JS_SERVES.search(code))


def code_environment(code: str, language: str | None) -> str | None:
    """The environment one piece of code runs in, given its language.

    Python is ``streamlit``, ``gradio`` or ``pygame`` when it imports that library (under any
    alias: the imports are parsed, names such as ``st`` or ``gr`` prove nothing), ``server``
    when it is a web server (Flask, FastAPI, Dash, Bottle …, or ``http.server`` serving);
    JavaScript is ``server`` for Node ``http`` servers and Express; JavaScript and TypeScript
    are ``react`` when they import React (or use ``React.`` with JSX) and ``vue`` when they
    import Vue; HTML holding a ``<template>`` component is ``vue``.
    """
    if language is None or language == "shell":
        return None
    if language == "python":
        imported = python_imports(code)
        for name in _PY_APPS:
            if name in imported:
                return name
        return "server" if _is_python_server(code, imported) else "python"
    if language in ("javascript", "typescript"):
        if _is_sfc(code):
            return "vue"
        if _is_react(code):
            return "react"
        if _is_vue_js(code):
            return "vue"
        if language == "javascript" and _is_node_server(code):
            return "server"
        return language
    if language == "html":
        return "vue" if _is_sfc(code) and not _HTML_DOC.search(code) else "html"
    if language == "css":
        return "html"
    return language if language in _CODE_LANGUAGES else None


_TAG_ENVIRONMENTS = {
    "vue": "vue", "react": "react", "streamlit": "streamlit", "gradio": "gradio",
    "pygame": "pygame", "jsx": None, "tsx": None,
}  # fmt: skip


@dataclass
class Extracted:
    """What a markdown answer holds and where it runs (see :func:`extract`)."""

    environment: str | None
    """A :data:`~arena_kit.schema.ENVIRONMENTS` name, or None when nothing here runs it."""
    language: str | None
    """The language of the main code (a :data:`~arena_kit.schema.LANGUAGES` name)."""
    code: str
    """The code to run: the main block, or a page merged from an answer's HTML/CSS/JS."""
    main: CodeBlock | None
    blocks: list[CodeBlock] = field(default_factory=list)
    kinds: list[str | None] = field(default_factory=list)
    """Each block's language (:func:`block_kind`), in order."""
    install: list[str] = field(default_factory=list)
    """Install commands found in shell blocks."""
    files: dict[str, str] = field(default_factory=dict)
    """Other files of a multi-file answer, by the name the answer gives them."""
    reason: str = ""
    """Why this environment (for people debugging a detection)."""


def _block_environment(block: CodeBlock, kind: str | None) -> str | None:
    tagged = _TAG_ENVIRONMENTS.get(block.tag)
    if tagged:
        return tagged
    if block.tag in ("jsx", "tsx") or kind in ("javascript", "typescript"):
        env = code_environment(block.code, kind or "javascript")
        if block.tag in ("jsx", "tsx") and env in ("javascript", "typescript"):
            return "react" if _JSX.search(block.code) else env
        return env
    return code_environment(block.code, kind)


def _file_name(block: CodeBlock) -> str | None:
    """The file name an answer gives a block in its first line (``// script.js``)."""
    first = block.code.strip().splitlines()[0] if block.code.strip() else ""
    match = re.match(r"^\s*(?://|#|/\*|<!--)\s*([\w./-]+\.\w{1,5})\b", first)
    return match.group(1).split("/")[-1] if match else None


def merge_web_page(html_parts: list[str], css: list[str], scripts: list[str]) -> str:
    """One self-contained page from an answer's HTML, CSS and JavaScript blocks.

    A full document is the base (fragments are wrapped in one); each stylesheet or script
    replaces the page's ``<link>``/``<script src>`` to a local file when there is one, else
    goes into ``<head>`` / the end of ``<body>``.
    """
    documents = [part for part in html_parts if _HTML_DOC.search(part)]
    if documents:
        page = max(documents, key=len)
    else:
        body = "\n".join(html_parts)
        page = (
            '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n</head>\n<body>\n'
            f"{body}\n</body>\n</html>\n"
        )
    local_link = re.compile(r"<link\b[^>]*\bhref=[\"'](?!https?:|//)[^\"']+\.css[\"'][^>]*>", re.I)
    local_script = re.compile(
        r"<script\b[^>]*\bsrc=[\"'](?!https?:|//)[^\"']+\.m?js[\"'][^>]*>\s*</script>", re.I
    )

    def literal(text: str) -> Callable[[re.Match[str]], str]:
        return lambda _match: text  # a function: the inserted code's backslashes stay as they are

    for sheet in css:
        tag = f"<style>\n{sheet}\n</style>"
        if local_link.search(page):
            page = local_link.sub(literal(tag), page, count=1)
        elif re.search(r"</head>", page, re.I):
            page = re.sub(r"</head>", literal(tag + "\n</head>"), page, count=1, flags=re.I)
        else:
            page = tag + "\n" + page
    for script in scripts:
        tag = f"<script>\n{script}\n</script>"
        if local_script.search(page):
            page = local_script.sub(literal(tag), page, count=1)
        elif re.search(r"</body>", page, re.I):
            page = re.sub(r"</body>", literal(tag + "\n</body>"), page, count=1, flags=re.I)
        else:
            page += "\n" + tag
    return page


def extract(markdown: str) -> Extracted:
    """Blocks, main code, install commands, language and environment of a markdown answer.

    The main code is the longest block in a language that runs here (shell blocks never
    count), as in the original; untagged blocks count by the language their content shows.
    Multi-file answers: an answer whose runnable blocks are HTML plus CSS/JavaScript is one
    web page (merged by :func:`merge_web_page`); a React component wins over the page that
    hosts it; other blocks in the main block's language are kept in ``files`` when the
    answer names them.
    """
    blocks = fenced_blocks(markdown)
    kinds = [block_kind(block) for block in blocks]
    install = install_commands(markdown)
    runnable = [
        (block, kind)
        for block, kind in zip(blocks, kinds, strict=True)
        if kind not in (None, "shell", "css")
    ]
    if not runnable:
        text = markdown.strip()
        if not blocks and _HTML_DOC.search(text[:200]):
            return Extracted("html", "html", text, None, reason="a bare HTML document")
        sheets = [b for b, k in zip(blocks, kinds, strict=True) if k == "css"]
        if sheets:
            page = merge_web_page([], [b.code for b in sheets], [])
            return Extracted("html", "css", page, sheets[0], blocks, kinds, install,
                             reason="CSS only, shown on an empty page")  # fmt: skip
        return Extracted(None, None, "", None, blocks, kinds, install, reason="no runnable code")
    environments = [_block_environment(block, kind) for block, kind in runnable]
    for wanted in ("react", "vue"):
        chosen = [pair for pair, env in zip(runnable, environments, strict=True) if env == wanted]
        if chosen:
            entry, modules = _component_entry(chosen)
            block, kind = entry
            language = (
                "typescript"
                if block.tag in ("tsx", "ts") or kind == "typescript"
                else ("javascript")
            )
            files = {**_named_files(runnable, block), **modules}
            return Extracted(
                wanted, language, block.code, block, blocks, kinds, install,
                files=files, reason=f"a {wanted} component",
            )  # fmt: skip
    servers = [i for i, env in enumerate(environments) if env == "server"]
    if servers:  # a server answer: its pages and scripts are files it serves, not the main code
        index = max(servers, key=lambda i: len(runnable[i][0].code))
        block, kind = runnable[index]
        return Extracted(
            "server", kind, block.code, block, blocks, kinds, install,
            files=_named_files(runnable, block), reason=f"a {kind} web server",
        )  # fmt: skip
    html_blocks = [b for b, k in runnable if k == "html"]
    others = [k for _, k in runnable if k not in ("html", "javascript")]
    if html_blocks and not others:
        css = [b.code for b, k in zip(blocks, kinds, strict=True) if k == "css"]
        scripts = [b.code for b, k in runnable if k == "javascript" and not _is_node(b.code)]
        page = merge_web_page([b.code for b in html_blocks], css, scripts)
        main = max(html_blocks, key=lambda b: len(b.code))
        reason = "an HTML page" + (" merged from several blocks" if len(runnable) > 1 or css
                                   else "")  # fmt: skip
        return Extracted("html", "html", page, main, blocks, kinds, install, reason=reason)
    index = max(range(len(runnable)), key=lambda i: len(runnable[i][0].code))
    block, kind = runnable[index]
    environment = environments[index]
    if kind == "c" and not block.tag and any(k == "cpp" for _, k in runnable):
        # Untagged code that reads as C in an answer whose other code is C++ (a template in
        # its typedefs, a class): one program, compiled as C++.
        kind = environment = "cpp"
    language = kind
    if environment in _PY_APPS:
        language = "python"
    return Extracted(
        environment, language, block.code, block, blocks, kinds, install,
        files=_named_files(runnable, block),
        reason=f"the longest {kind} block" + (f" ({environment})" if environment != kind else ""),
    )  # fmt: skip


def _provides(block: CodeBlock) -> set[str]:
    """Module names a component block can be imported by: its file name, its default export."""
    names = set()
    named = _file_name(block)
    if named:
        names.add(named.rsplit(".", 1)[0])
    match = re.search(r"^\s*export\s+default\s+(?:function\s+|class\s+)?([A-Za-z_]\w*)", block.code,
                      re.M)  # fmt: skip
    if match and match.group(1) not in ("function", "class"):
        names.add(match.group(1))
    return names


def _component_entry(
    chosen: Sequence[tuple[CodeBlock, str | None]],
) -> tuple[tuple[CodeBlock, str | None], dict[str, str]]:
    """The entry of a multi-file component answer and the modules it imports.

    The entry is the block that imports the others (``import Layout from
    '../components/Layout'`` where another block is ``Layout``); the imported blocks become
    files named after the import (``Layout.jsx``). Without such links, the longest block.
    """
    provided = {name: block for block, _ in chosen for name in _provides(block)}
    best: tuple[int, int] = (0, 0)
    entry = max(chosen, key=lambda pair: len(pair[0].code))
    modules: dict[str, str] = {}
    for pair in chosen:
        block = pair[0]
        linked: dict[str, str] = {}
        for spec in js_imports(block.code):
            base = spec.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            target = provided.get(base)
            if spec.startswith(".") and target is not None and target is not block:
                suffix = "tsx" if target.tag in ("tsx", "ts") else "jsx"
                linked[f"{base}.{suffix}"] = target.code
        score = (len(linked), len(block.code))
        if linked and score > best:
            best, entry, modules = score, pair, linked
    return entry, modules


def _named_files(
    runnable: Sequence[tuple[CodeBlock, str | None]], main: CodeBlock
) -> dict[str, str]:
    files: dict[str, str] = {}
    for block, _kind in runnable:
        if block is main:
            continue
        name = _file_name(block)
        if name:
            files.setdefault(name, block.code)
    return files


def detect_environment(markdown: str) -> tuple[str | None, str | None]:
    """(environment, language) of a markdown answer; (None, None) when nothing here runs it."""
    found = extract(markdown)
    return found.environment, found.language
