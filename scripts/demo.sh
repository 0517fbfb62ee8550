#!/usr/bin/env bash
# The main job: install pair-lsp with the embedded local model and pair on the example file.
# With OPENAI_API_KEY / ANTHROPIC_API_KEY set, the hosted models are used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF}"
.venv/bin/python -m pip install -q -e '.[local]'
set +e
.venv/bin/pair-lsp run examples/buggy.py --lines 4-10 -m "fix the bug for lists of negative numbers" \
  --config examples/demo.pair-lsp.toml "$@"
status=$?
set -e
case $status in
  0) echo "pair-lsp: approved (exit 0)";;
  2) echo "pair-lsp: finished without approval (exit 2); see the transcript above";;
  *) echo "pair-lsp: error (exit $status)"; exit $status;;
esac
exit 0
