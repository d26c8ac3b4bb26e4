#!/usr/bin/env bash
# Installs the peer servers' npm packages into bench/peers/node_modules (git-ignored).
# No install scripts run: none of the three needs one (uwebsockets ships prebuilt .node files).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -f node_modules/.ringcast-installed && node_modules/.ringcast-installed -nt package-lock.json ]]; then
  exit 0
fi
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts
else
  npm install --no-audit --no-fund --ignore-scripts
fi
node -e 'require("ws"); require("socket.io"); require("uwebsockets")' 
touch node_modules/.ringcast-installed
