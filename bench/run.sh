#!/usr/bin/env bash
# Run every benchmark: installs matplotlib into the project venv and aider into its own venv
# (~/.cache/pair-lsp-bench/aider-venv), then `python -m bench`. Pass --quick for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/demo.sh --help >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q matplotlib
AIDER_VENV=${PAIR_BENCH_CACHE:-$HOME/.cache/pair-lsp-bench}/aider-venv
if [[ " $* " != *" --quick "* ]] && [ ! -x "$AIDER_VENV/bin/aider" ]; then
  python3 -m venv "$AIDER_VENV"
  "$AIDER_VENV/bin/pip" install -q aider-chat
fi
PAIR_BENCH_AIDER="$AIDER_VENV/bin/aider" exec .venv/bin/python -m bench "$@"
