#!/usr/bin/env bash
# Installs the npm packages of one folder, pinned by its package-lock.json, with `npm ci`:
#   scripts/install-node-deps.sh web             the web client (Vite, TypeScript, …)
#   scripts/install-node-deps.sh tests/e2e/node  the end-to-end test tools (socket.io-client,
#                                                ws, playwright-core)
# Quick when everything is there: it runs npm only when node_modules is missing or older
# than package-lock.json (npm ci rewrites node_modules/.package-lock.json, so a successful
# install is newer than the lockfile it came from).
set -euo pipefail

folder="${1:?usage: install-node-deps.sh FOLDER}"
directory="$(cd "$(dirname "$0")/.." && pwd)/$folder"
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

echo "install-node-deps: npm ci in $folder"
(cd "$directory" && npm ci --no-audit --no-fund --loglevel=error)
touch "$stamp"
echo "install-node-deps: done"
