#!/usr/bin/env bash
# Installs the system tools that arena-kit's sandbox, renderers and tests need.
#
# Idempotent and quick on a set-up machine: it only looks (dpkg -s) unless something is
# missing. As root it installs the missing Debian packages with apt-get; as another user it
# prints the exact command to run and which parts of the workbench stay unavailable.
#
#   scripts/setup-system.sh          install what is missing (root) or say what to install
#   scripts/setup-system.sh --check  only report; exit 1 if something is missing
set -euo pipefail

# package → the part of the workbench that needs it (one line each, "package|purpose").
PACKAGES=(
  "bubblewrap|the bwrap sandbox backend (running model code)"
  "chromium|screenshots of pages and the browser tests"
  "gcc|the C runtime"
  "g++|the C++ runtime"
  "make|the build"
  "default-jdk-headless|the Java runtime"
  "rustc-web|the Rust runtime (Debian's plain rustc is too old for modern code)"
  "libc6-dev|compiling C/C++"
  "fonts-dejavu-core|readable text in screenshots"
  "fonts-noto-color-emoji|emoji in screenshots (not empty boxes)"
  "fonts-noto-cjk|Chinese, Japanese and Korean text in screenshots (not empty boxes)"
  "curl|health checks of app servers"
  "iproute2|the loopback device of the network namespaces sandbox launchers prepare"
  # A PyGame answer played live (arena_kit.web.pygame_live) draws on a virtual X display in
  # its sandbox; keys and clicks are injected through XTest so that pygame.key.get_pressed()
  # sees them too (events posted by the game's own process do not update it).
  "postgresql|the PostgreSQL vote store's tests (each starts its own server on loopback)"
  "xvfb|playing PyGame answers live (the game's virtual display)"
  "xdotool|playing PyGame answers live (keys and clicks injected into the game's display)"
)

# In CI (CI=true) the Docker backend is tested for real: a Docker engine (started by the tests,
# stopped after) and debootstrap (the runtime image's base is built locally: no registry).
if [[ "${CI:-}" == "true" ]]; then
  PACKAGES+=(
    "docker.io|the docker sandbox backend (its tests start dockerd themselves)"
    "debootstrap|building the docker runtime image's Debian base locally"
  )
fi

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

missing=()
purposes=()
for entry in "${PACKAGES[@]}"; do
  package="${entry%%|*}"
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
    purposes+=("${entry#*|}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $check_only -eq 1 || $(id -u) -ne 0 ]]; then
  echo "arena-kit: these system packages are missing: ${missing[*]}" >&2
  echo "  install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "  until then these parts are unavailable:" >&2
  for purpose in "${purposes[@]}"; do echo "    - $purpose" >&2; done
  [[ $check_only -eq 1 ]] && exit 1
  exit 0
fi

echo "arena-kit: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "arena-kit: system packages installed"
