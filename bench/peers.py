"""Side by side on one task and one fake OpenAI-compatible endpoint: aider's architect mode
(a plan model + an editor model) and pair-lsp (a worker + a reviewer).

aider runs from its own venv (it pins many packages): ~/.cache/pair-lsp-bench/aider-venv,
created by `bash bench/run.sh`. AI language servers from PyPI (`ai-lsp`, `ai-diagnos-lsp`):
not installable here (the registry serves no files for them); see docs/performance.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import FUNC, block, median, review
from pair_lsp.testing.fake_server import FakeModelServer

AIDER = Path(os.environ.get("PAIR_BENCH_AIDER",
                            Path.home() / ".cache" / "pair-lsp-bench" / "aider-venv" / "bin"
                            / "aider"))
FIX = block("    best = 0", "    best = values[0]")
PLAN = ("The function `largest_0` starts `best` at 0, so a list of negative numbers returns 0. "
        "Start from the first element instead: replace `best = 0` with `best = values[0]`.")


def task_file(lines: int = 300) -> str:
    filler = [f"x_{i} = {i}  # filler line {i}" for i in range(lines - 8)]
    half = len(filler) // 2
    return "\n".join(filler[:half]) + "\n\n" + FUNC.format(i=0) + "\n" + \
        "\n".join(filler[half:]) + "\n"


def _prompt_tokens(fake: FakeModelServer) -> int:
    total = 0
    for r in fake.requests:
        chars = sum(len(str(m.get("content", ""))) for m in r.body.get("messages", []))
        total += -(-chars // 4)
    return total


def _measure(fake: FakeModelServer, cmd: list[str], cwd: Path, env: dict[str, str],
             check: Any) -> dict[str, Any]:
    fake.requests.clear()  # the scripts stay
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    wall = time.perf_counter() - started
    ok = check(out)
    return {"ok": ok, "wall_s": round(wall, 3), "model_s": round(fake.model_time(), 3),
            "overhead_s": round(wall - fake.model_time(), 3), "model_calls": len(fake.requests),
            "prompt_tokens": _prompt_tokens(fake),
            **({} if ok else {"stderr": out.stderr[-800:], "stdout": out.stdout[-800:]})}


def run(runs: int = 3) -> dict[str, Any]:
    results: dict[str, Any] = {"task": "fix `best = 0` in a 30-line function of a 300-line file",
                               "endpoint": "fake OpenAI-compatible chat completions, 0.5 s "
                                           "latency, 100 tok/s"}
    with FakeModelServer(latency=0.5, token_rate=100) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(HOME=str(work / "home"), XDG_STATE_HOME=str(work / "state"),
                   XDG_CACHE_HOME=str(work / "cache"))

        def pair_cmd(lines: str | None) -> list[str]:
            cmd = [sys.executable, "-m", "pair_lsp", "run", "f.py", "-m", "fix the bug",
                   "--worker", "openai-chat:fake-worker", "--worker-url", fake.openai_url,
                   "--reviewer", "openai-chat:fake-reviewer", "--reviewer-url",
                   fake.openai_url, "--no-cache", "--quiet"]
            return cmd + (["--lines", lines] if lines else [])

        def scripts() -> None:
            fake.script("fake-worker", ["Start from the first value.\n" + FIX])
            fake.script("fake-reviewer", [review("approve")])
            fake.script("fake-architect", [PLAN])
            fake.script("fake-editor", ["f.py\n```python\n" + FIX + "```\n"])

        text = task_file()
        first = text.split("\n").index("def largest_0(values):") + 1
        for name, cmd_of in (("pair-lsp (whole file)", lambda: pair_cmd(None)),
                             ("pair-lsp (the function)",
                              lambda: pair_cmd(f"{first}-{first + 6}"))):
            samples = []
            for _ in range(runs):
                (work / "f.py").write_text(text)
                fake.reset()
                scripts()
                samples.append(_measure(fake, cmd_of(), work, env,
                                        lambda out: out.returncode == 0 and
                                        "+    best = values[0]" in out.stdout))
            results[name] = _summarise(samples)
        if AIDER.exists():
            repo = work / "repo"
            samples = []
            for _ in range(runs):
                shutil.rmtree(repo, ignore_errors=True)
                repo.mkdir()
                (repo / "f.py").write_text(text)
                subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
                subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "add", "."],
                               cwd=repo, check=True)
                subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit",
                                "-qm", "init"], cwd=repo, check=True)
                scripts()
                aider_env = {**env, "OPENAI_API_BASE": fake.openai_url, "OPENAI_API_KEY": "sk-x",
                             "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
                cmd = [str(AIDER), "--architect", "--model", "openai/fake-architect",
                       "--editor-model", "openai/fake-editor", "--editor-edit-format",
                       "editor-diff", "--yes-always", "--no-auto-commits", "--no-check-update",
                       "--no-analytics", "--no-show-model-warnings", "--no-pretty",
                       "--no-stream", "--map-tokens", "0", "--message", "fix the bug in f.py",
                       "f.py"]
                samples.append(_measure(fake, cmd, repo, aider_env, lambda out, r=repo:
                                        "best = values[0]" in (r / "f.py").read_text()))
            results["aider architect"] = _summarise(samples)
        else:
            results["aider architect"] = {"ok": False, "why": f"aider not installed at {AIDER} "
                                          "(bash bench/run.sh installs it)"}
    results["ai-lsp / ai-diagnos-lsp"] = {
        "ok": False, "why": "not installable: PyPI serves no files for either package to this "
                            "machine (pip: 'from versions: none')"}
    return results


def _summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    good = [s for s in samples if s["ok"]]
    if not good:
        return {"ok": False, "why": "the run did not complete the task", "sample": samples[0]}
    return {"ok": True, "runs": len(good),
            "overhead_s": round(median([s["overhead_s"] for s in good]), 3),
            "wall_s": round(median([s["wall_s"] for s in good]), 3),
            "model_s": round(median([s["model_s"] for s in good]), 3),
            "model_calls": good[0]["model_calls"], "prompt_tokens": good[0]["prompt_tokens"]}


def peer_rows(results: dict[str, Any]) -> list[str]:
    lines = [f"side by side: {results.get('task')}",
             f"{'tool':<26} {'wall - model (s)':>16} {'model calls':>12} {'prompt tokens':>14}"]
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        if r.get("ok"):
            lines.append(f"{name:<26} {r['overhead_s']:>16.3f} {r['model_calls']:>12} "
                         f"{r['prompt_tokens']:>14}")
        else:
            lines.append(f"{name:<26} not run: {r.get('why')}")
    return lines
