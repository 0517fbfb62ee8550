"""`python -m bench.changes_review`: a change review of 1, 10 and 50 changed files against the
fake model server with a fixed latency: time to the first finding, total time, and prompt tokens
per file. The first finding must not wait for more files; prompt tokens per file stay flat.

The review runs in the benchmark's process (ChangesReview, the engine the CLI and the server
use) against the fake model server in the same process: its replies depend on the request
(one finding per file it names), which a scripted reply over HTTP cannot do."""

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


async def run(runs: int, counts: tuple[int, ...] = (1, 10, 50)) -> dict[str, Any]:
    """Median and min–max of the time to the first finding and the total time, per change
    size; prompt tokens per file (the same every run)."""
    from bench.harness import median

    out: dict[str, Any] = {"latency_s": LATENCY, "token_rate": TOKEN_RATE, "runs": runs,
                           "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        n = 0
        for count in (1, *counts):  # the first review loads the SDK: not reported
            rows = []
            for _ in range(runs if n else 1):
                fake = FakeModelServer(latency=LATENCY, token_rate=TOKEN_RATE).start()
                fake.script("r", [reply])
                try:
                    root = Path(tmp) / f"r{n}"
                    n += 1
                    make_change(root, count)
                    rows.append(await measure(root, fake))
                finally:
                    fake.stop()
            if n == 1:
                continue

            def stat(key: str, got: list[dict[str, Any]] = rows) -> dict[str, float]:
                values = [r[key] for r in got]
                return {"median": round(median(values), 3), "min": round(min(values), 3),
                        "max": round(max(values), 3)}
            out["sizes"][str(count)] = {
                "files": rows[0]["files"], "first_finding_s": stat("first_finding_s"),
                "total_s": stat("total_s"), "calls": rows[0]["calls"],
                "findings": rows[0]["findings"],
                "prompt_tokens_per_file": rows[0]["prompt_tokens_per_file"]}
    return out


def main() -> int:
    json.dump(asyncio.run(run(3)), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
