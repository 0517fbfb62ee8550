"""`python -m bench.changes_review`: a change review of 1, 10 and 50 changed files against the
fake model server with a fixed latency: time to the first finding, total time, and prompt tokens
per file. The first finding must not wait for more files; prompt tokens per file stay flat."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pair_lsp.changes.git import collect
from pair_lsp.changes.review import ChangesReview
from pair_lsp.config import parse_settings
from pair_lsp.runner import SessionFactory
from pair_lsp.testing.fake_server import FakeModelServer, Reply

LATENCY = 0.5  # seconds before each reply's first byte
TOKEN_RATE = 400.0  # reply tokens per second


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
                   cwd=root, check=True, capture_output=True)


def make_change(root: Path, files: int) -> None:
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))
    for n in range(files):
        (root / f"m{n:03}.py").write_text(body)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    for n in range(files):
        (root / f"m{n:03}.py").write_text(body.replace("return x + 7\n", "return x - 7\n"))


def reply(parsed: dict[str, Any]) -> Reply:
    text = "\n".join([parsed["system"], *(m["content"] for m in parsed["messages"])])
    names = re.findall(r"^FILE: (\S+) \(", text, re.MULTILINE)
    findings = [{"id": f"F{i}", "file": name, "quote": "return x - 7", "line": 23,
                 "severity": "warning", "confidence": 0.5, "message": "sign flipped",
                 "rule": None, "suggestion": None} for i, name in enumerate(names, 1)]
    return Reply(json.dumps({"verdict": "revise", "findings": findings, "summary": "s"}))


async def measure(root: Path, fake: FakeModelServer) -> dict[str, Any]:
    settings, _ = parse_settings({
        "reviewer": {"provider": "anthropic", "model": "r", "baseUrl": fake.anthropic_url},
        "cache": {"enabled": False}, "transcript": {"enabled": False}})
    factory = SessionFactory(settings, workspace=root)
    changes = collect(root, "uncommitted")
    first: list[float] = []
    started = time.monotonic()
    review = ChangesReview(changes, settings, factory.provider(settings.reviewer), factory.cache,
                           on_finding=lambda _: first.append(time.monotonic() - started))
    result = await review.run()
    total = time.monotonic() - started
    await factory.aclose()
    files = len(changes.reviewable)
    return {"files": files, "first_finding_s": round(first[0], 3), "total_s": round(total, 3),
            "findings": len(result.findings), "calls": len(fake.requests),
            "prompt_tokens_per_file": round(result.usage.input_tokens / files)}


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 1, 10, 50):  # the first run loads the SDK: not reported
            fake = FakeModelServer(latency=LATENCY, token_rate=TOKEN_RATE).start()
            fake.script("r", [reply])
            try:
                root = Path(tmp) / f"r{len(rows)}"
                make_change(root, count)
                rows.append(asyncio.run(measure(root, fake)))
            finally:
                fake.stop()
    json.dump(rows[1:], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
