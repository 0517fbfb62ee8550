#!/usr/bin/env bash
# Run every benchmark: `python -m bench` with the project's Python, plus aider in its own venv
# and matplotlib (for the plot) in another, both under ~/.cache/pair-lsp-bench. Pass --quick
# for a short run (3 runs, no peers), --docs to regenerate docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PAIR_BENCH_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || bash scripts/demo.sh --help >/dev/null 2>&1 || true
CACHE=${PAIR_BENCH_CACHE:-$HOME/.cache/pair-lsp-bench}
AIDER_VENV=$CACHE/aider-venv
PLOT_VENV=$CACHE/plot-venv
if [[ " $* " != *" --quick "* ]] && [ ! -x "$AIDER_VENV/bin/aider" ]; then
  python3 -m venv "$AIDER_VENV"
  "$AIDER_VENV/bin/pip" install -q aider-chat
fi
if ! "$PY" -c 'import matplotlib' 2>/dev/null && [ ! -x "$PLOT_VENV/bin/python" ]; then
  python3 -m venv "$PLOT_VENV" && "$PLOT_VENV/bin/pip" install -q matplotlib || true
fi
[ -x "$PLOT_VENV/bin/python" ] && export PAIR_BENCH_PLOT_PYTHON="$PLOT_VENV/bin/python"
# as installed: bytecode compiled, and cached by the processes the benchmarks start
unset PYTHONDONTWRITEBYTECODE
"$PY" -m compileall -q pair_lsp bench >/dev/null
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PAIR_BENCH_AIDER="$AIDER_VENV/bin/aider" exec "$PY" -m bench "$@"
