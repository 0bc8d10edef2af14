#!/usr/bin/env bash
# The web client's crypto library (@matrix-org/matrix-sdk-crypto-wasm, WebAssembly) from the npm registry, at the
# version pinned in package.json / package-lock.json, into node_modules/ (never committed). Installs Debian's nodejs
# and npm first when npm is missing, as scripts/test.sh does for Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm
fi
npm ci --omit=dev --ignore-scripts --no-audit --no-fund
