"""Project rules files: which apply to a change, and none from outside the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from pair_lsp.changes.rules import find_rules, matches
from pair_lsp.config import RulesConfig


@pytest.mark.parametrize("glob,path,expected", [
    ("**/*.py", "src/a.py", True), ("**/*.py", "a.py", True), ("*.py", "deep/er/a.py", True),
    ("src/**/*.ts", "src/x/y.ts", True), ("src/**/*.ts", "lib/y.ts", False),
    ("web/*.{js,jsx}", "web/a.jsx", True), ("web/*.{js,jsx}", "web/a/b.js", False),
    ("docs/?.md", "docs/a.md", True), ("docs/?.md", "docs/ab.md", False),
])
def test_globs(glob: str, path: str, expected: bool) -> None:
    assert matches(glob, path) is expected


def test_nothing_from_outside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    (root / "AGENTS.md").symlink_to(secret)
    (root / "src" / "CLAUDE.md").write_text("keep functions small")
    rules = find_rules(root, ["src/a.py"], RulesConfig(files=("../secret.txt", "missing.md")))
    assert [(r.name, r.scope) for r in rules.files] == [("src/CLAUDE.md", "files under src/")]
    assert "TOP-SECRET" not in rules.render()
    assert rules.notes == [
        "rules file ../secret.txt (pair.rules.files) is outside the workspace; ignored",
        "rules file missing.md (pair.rules.files) not found",
        "rules file AGENTS.md links outside the workspace; ignored"]
    assert find_rules(root, ["src/a.py"], RulesConfig(enabled=False)).files == []
