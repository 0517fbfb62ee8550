"""Real git repositories for the change-review tests (real `git`, no mocks).

:func:`make_repo` commits a small project, then leaves uncommitted work in it: changes in three
files of different languages (Python, JavaScript, Go), a rename with an edit, a pure rename, a
binary file changed, a file deleted, an untracked file and an ignored one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

APP_PY = "def total(prices):\n    s = 0\n    for p in prices:\n        s += p\n    return s\n"
APP_PY_NEW = ("def total(prices):\n    s = 0\n    for p in prices:\n        s += p\n"
              "    return s / len(prices)\n")
UTIL_JS = "export function greet(name) {\n  return 'hi ' + name;\n}\n"
UTIL_JS_NEW = "export function greet(name) {\n  return 'hi ' + nam;\n}\n"
MAIN_GO = 'package main\n\nfunc main() {\n\tprintln("ok")\n}\n'
MAIN_GO_NEW = 'package main\n\nfunc main() {\n\tprintln("ok")\n\tpanic("todo")\n}\n'
NOTES = "".join(f"note line {i}\n" for i in range(1, 21))


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env,
                         check=True)
    return out.stdout


def init(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    return root


def commit_all(root: Path, message: str = "commit") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def make_repo(root: Path) -> Path:
    init(root)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP_PY)
    (root / "web").mkdir()
    (root / "web" / "util.js").write_text(UTIL_JS)
    (root / "main.go").write_text(MAIN_GO)
    (root / "notes.txt").write_text(NOTES)
    (root / "same.txt").write_text("unchanged content\n" * 3)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(64)))
    (root / "old.c").write_text("int old(void) { return 0; }\n")
    (root / ".gitignore").write_text("*.log\n")
    commit_all(root, "initial")
    (root / "src" / "app.py").write_text(APP_PY_NEW)
    (root / "web" / "util.js").write_text(UTIL_JS_NEW)
    (root / "main.go").write_text(MAIN_GO_NEW)
    git(root, "mv", "notes.txt", "docs.txt")
    (root / "docs.txt").write_text(NOTES.replace("note line 7\n", "note line seven\n"))
    git(root, "mv", "same.txt", "moved.txt")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01" + bytes(range(64)))
    git(root, "rm", "-q", "old.c")
    (root / "debug.log").write_text("ignored\n")
    return root


def finding(file: str, quote: str, message: str, line: int, severity: str = "warning",
            rule: str | None = None, fid: str = "F1",
            confidence: float | None = None) -> dict[str, Any]:
    return {"id": fid, "file": file, "quote": quote, "line": line, "severity": severity,
            "confidence": confidence, "message": message, "rule": rule, "suggestion": None}


def review(*findings: dict[str, Any], summary: str = "") -> str:
    return json.dumps({"verdict": "revise" if findings else "approve",
                       "findings": list(findings), "summary": summary or "reviewed"})


def by_file(scripted: dict[str, list[dict[str, Any]]]) -> Any:
    """A fake-server reply that raises, for each file shown in the request, its findings."""
    def reply(parsed: dict[str, Any]) -> str:
        text = request_text(parsed)
        out = [dict(f, id=f"F{i}") for i, f in enumerate(
            (f for name, fs in scripted.items() if f"FILE: {name} (" in text for f in fs), 1)]
        return review(*out)
    return reply


def request_text(parsed: dict[str, Any]) -> str:
    """All the text of a parsed fake-server request (system and messages)."""
    return "\n".join([parsed["system"], *(m["content"] for m in parsed["messages"])])
