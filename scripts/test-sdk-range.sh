#!/usr/bin/env bash
# Run the provider and engine tests against the SDK versions the dependency ranges allow.
#   scripts/test-sdk-range.sh            the LOWEST allowed anthropic and openai (pyproject)
#   scripts/test-sdk-range.sh newest     the newest releases
# Each run builds a throwaway venv (removed afterwards; set SDK_RANGE_KEEP=1 to keep it) and
# installs the project there with --no-deps, so the SDK pins are exactly the ones asked for.
# Extra arguments after the mode go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-lowest}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python3}
case "$MODE" in
  lowest) SDKS=('anthropic==0.70.*' 'openai==1.100.*') ;;
  newest) SDKS=('anthropic' 'openai') ;;
  *) echo "usage: $0 [lowest|newest] [pytest args...]" >&2; exit 2 ;;
esac
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pair-lsp-sdk-$MODE.XXXXXX")
[ "${SDK_RANGE_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
"$PY" -m venv "$WORK/venv"
PIP=("$WORK/venv/bin/python" -m pip -q --disable-pip-version-check)
"${PIP[@]}" install --upgrade pip
# the project's other runtime dependencies, then the SDK pins, then the project itself
"${PIP[@]}" install 'pygls>=2.1,<3' 'lsprotocol>=2025.0.0' 'diskcache>=5.6' 'platformdirs>=4' \
  'pytest>=8' 'pytest-asyncio>=1.0' 'pytest-timeout>=2.3' 'hypothesis>=6.100' "${SDKS[@]}"
"${PIP[@]}" install --no-deps -e .
"$WORK/venv/bin/python" - <<'PY'
import importlib.metadata as md
print("SDKs under test: anthropic", md.version("anthropic"), "· openai", md.version("openai"))
PY
# PYTHONPATH: this checkout, never another one on the caller's path
PYTHONPATH=$PWD "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/test_fake_server.py tests/test_engine.py tests/test_faults.py \
  tests/test_hostile_output.py tests/test_finding_stream.py tests/test_imports.py "$@"
