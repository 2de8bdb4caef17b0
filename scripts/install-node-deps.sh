#!/usr/bin/env bash
# Installs the npm packages of the real-time end-to-end tests (tests/e2e/node: the official
# socket.io-client and ws, pinned by package-lock.json) with `npm ci`.
# Quick when everything is there: it runs npm only when node_modules is missing or older
# than package-lock.json (npm ci rewrites node_modules/.package-lock.json, so a successful
# install is newer than the lockfile it came from).
set -euo pipefail

directory="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/node"
lockfile="$directory/package-lock.json"
stamp="$directory/node_modules/.package-lock.json"

if [ ! -f "$lockfile" ]; then
  echo "install-node-deps: no $lockfile" >&2
  exit 1
fi
if [ -f "$stamp" ] && [ "$stamp" -nt "$lockfile" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-node-deps: npm not found (run scripts/install-deps.sh)" >&2; exit 1; }

echo "install-node-deps: npm ci in tests/e2e/node"
(cd "$directory" && npm ci --no-audit --no-fund --loglevel=error)
touch "$stamp"
echo "install-node-deps: done"
