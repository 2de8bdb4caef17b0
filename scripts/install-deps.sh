#!/usr/bin/env bash
# Installs every Debian package Parley needs to build and run it (no argument), or to build,
# run and test it (`install-deps.sh test`: adds the test tools and Chromium).
# Idempotent and quick when everything is already there: it asks dpkg first and
# calls apt-get only for what is missing. Needs root (or sudo) for installs.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config ccache git ca-certificates
  # libraries
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libssl-dev libsodium-dev libspdlog-dev libfmt-dev zlib1g-dev libicu-dev
  libcli11-dev libtomlplusplus-dev
  # tests (the C++ test framework is needed to configure the build)
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [ "${1:-}" = test ]; then
  packages+=(
    python3 python3-requests sqlite3 curl procps
    python3-socketio python3-engineio python3-websocket
    # the browser tests drive Debian's Chromium (playwright-core from npm, no download)
    chromium
  )
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done

# node/npm (the web client is built with them): only when there is no node at all (a machine
# may bring its own, newer one).
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
