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
  # the allocator of release builds (src/app/allocator.hpp)
  libmimalloc-dev
  # media: image decoding/re-encoding (libvips 8.14) and type detection (libmagic)
  libvips-dev libmagic-dev
  # PostgreSQL and Redis clients (the scale-out store and bus)
  libpq-dev libhiredis-dev
  # tests (the C++ test framework is needed to configure the build)
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [ "${1:-}" = test ]; then
  packages+=(
    python3 python3-requests sqlite3 curl procps
    python3-socketio python3-engineio python3-websocket
    # the browser tests drive Debian's Chromium (playwright-core from npm, no download)
    chromium
    # the tests start their own PostgreSQL 15 and Redis 7 on loopback ports
    # (scripts/test-services.sh); nginx (1.22) fronts the multi-node end-to-end tests
    postgresql-15 redis-server redis-tools nginx
    # media tests: exiftool writes and reads EXIF/GPS; clang 14 + libFuzzer build the fuzz target
    libimage-exiftool-perl clang-14 clang libclang-rt-14-dev
    # media end-to-end tests make and read images with Pillow
    python3-pil
    # Web Push: the tests' own push service and verifier decrypt and check signatures with it
    python3-cryptography
    # make bench (and its smoke run in the tests): instructions per message under callgrind
    valgrind
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

# Installing postgresql-15, redis-server and nginx makes their maintainer scripts start the
# system services: the "main" cluster on 5432, redis on 6379, nginx on 80. The tests never use
# them (they start their own instances on free loopback ports, scripts/test-services.sh), so
# they would only hold memory and well-known ports on a developer's machine, and nginx's
# install fails outright when something already listens on port 80. So while our apt-get runs,
# a temporary /usr/sbin/policy-rc.d answers 101 ("action forbidden"), which invoke-rc.d and
# deb-systemd-invoke obey: the packages are installed but nothing is started. It is removed
# when this script exits, however it exits. A policy-rc.d that is already there (Docker images
# ship one that forbids everything) is left alone. The packages still enable their units for
# the next boot as usual; an operator who wants them can start them (systemctl start ...).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap '$sudo rm -f "$policy"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  printf '#!/bin/sh\n# temporary: scripts/install-deps.sh (Parley) is installing packages\nexit 101\n' |
    $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
