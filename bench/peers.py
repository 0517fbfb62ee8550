"""Side by side on one task and one fake OpenAI-compatible endpoint: aider's architect mode
(a plan model + an editor model) and pair-lsp (a worker + a reviewer).

The task: fix `best = 0` in harness.FUNC, a real 30-line function, in a 300-line file. Both
tools make the same byte-identical fix in 2 model calls (the fake's scripted replies: two
SEARCH/REPLACE blocks). Prompt size is counted the same way for both: every request body's
bytes as the endpoint received them (its content-length), 4 bytes a token.

aider runs from its own venv (it pins many packages): ~/.cache/pair-lsp-bench/aider-venv,
created by `bash bench/run.sh`. It is kept off the internet: HTTP(S)_PROXY / ALL_PROXY point at
a local port that refuses connections (NO_PROXY lets 127.0.0.1 through to the fake), and its
own flags turn off the update check, release notes and analytics. Its model price map is
seeded into its cache (~/.aider/caches, from litellm's bundled copy) as after any earlier run
on a connected machine, so it does not try to fetch it (it would, once a day).
AI language servers from PyPI (`ai-lsp`, `ai-diagnos-lsp`): not installable here (the registry
serves no files for them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import FIX_1, FIX_2, FUNC, FUNC_LINES, median, review
from pair_lsp.testing.fake_server import FakeModelServer

AIDER = Path(os.environ.get("PAIR_BENCH_AIDER",
                            Path.home() / ".cache" / "pair-lsp-bench" / "aider-venv" / "bin"
                            / "aider"))
LATENCY, TOKEN_RATE = 0.5, 100.0
PLAN = ("`summarize_scores` starts `best` at 0, so when every score is negative it reports 0 as "
        "the largest and no top names. Start `best` at None and compare with `best is None or "
        "value > best`.")
FIXED = FUNC.replace("    best = 0\n", "    best = None\n").replace(
    "        if value > best:\n", "        if best is None or value > best:\n")
AIDER_FLAGS = ["--yes-always", "--no-auto-commits", "--no-check-update",
               "--no-show-release-notes", "--analytics-disable", "--no-analytics",
               "--no-show-model-warnings", "--no-pretty", "--no-stream", "--map-tokens", "0",
               "--no-gitignore", "--no-detect-urls"]
WORK = {
    "pair-lsp (whole file)": "reads f.py (300 lines); the worker (openai-chat) gets the whole "
    "file as its target and replies with 2 SEARCH/REPLACE blocks; pair-lsp applies them in "
    "memory; the reviewer (openai-chat) gets the diff and the whole edited file (numbered) and "
    "approves; pair-lsp prints the unified diff (f.py is not written: no --apply) and writes "
    "its transcript",
    "pair-lsp (the function)": f"the same with --lines on the function's {FUNC_LINES} lines: "
    "both models get the function as the target and 20 lines above and below it as read-only "
    "context (contextLines), not the whole file",
    "aider architect": "a git repo with f.py committed; the architect model gets the whole "
    "file (repo map off: --map-tokens 0) and replies with a plan; the editor model gets the "
    "plan and the whole file and replies with 2 SEARCH/REPLACE blocks; aider applies them and "
    "writes f.py; no commit (--no-auto-commits)",
}


def task_file(lines: int = 300) -> str:
    filler = [f"x_{i} = {i}  # filler line {i}" for i in range(lines - FUNC_LINES - 2)]
    half = len(filler) // 2
    return "\n".join(filler[:half]) + "\n\n" + FUNC + "\n" + "\n".join(filler[half:]) + "\n"


def _prompt_tokens(fake: FakeModelServer) -> int:
    """Tokens of every request body as the endpoint received it (4 bytes a token)."""
    return sum(-(-int(r.headers.get("content-length") or 0) // 4) for r in fake.requests)


def _seed_aider_cache(home: Path) -> str:
    """aider's model price map, as its daily fetch leaves it (from litellm's bundled copy)."""
    cache = home / ".aider" / "caches" / "model_prices_and_context_window.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    bundled = sorted(AIDER.parent.parent.glob(
        "lib/python*/site-packages/litellm/model_prices_and_context_window_backup.json"))
    if bundled:
        shutil.copyfile(bundled[0], cache)
        return "seeded from litellm's bundled copy"
    cache.write_text("{}")
    return "seeded empty (litellm's bundled copy not found)"


def _refusing_port() -> tuple[socket.socket, int]:
    """A local port where nothing listens (bound, never listening: connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def _measure(fake: FakeModelServer, cmd: list[str], cwd: Path, env: dict[str, str],
             check: Any) -> dict[str, Any]:
    fake.requests.clear()  # the scripts stay
    before = os.times()
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    ok = check(out)
    return {"ok": ok, "wall_s": wall, "model_s": fake.model_time(),
            "overhead_s": wall - fake.model_time(), "cpu_s": cpu,
            "model_calls": len(fake.requests), "prompt_tokens": _prompt_tokens(fake),
            "outside": _outside_attempts(out.stderr + out.stdout),
            **({} if ok else {"stderr": out.stderr[-800:], "stdout": out.stdout[-800:]})}


def _outside_attempts(output: str) -> int:
    """Lines in a tool's output that tell of a refused attempt to reach the internet."""
    words = ("Connection refused", "ProxyError", "Failed to connect", "Max retries exceeded")
    return sum(1 for line in output.splitlines() if any(w in line for w in words))


def run(runs: int = 7) -> dict[str, Any]:
    results: dict[str, Any] = {
        "task": f"fix `best = 0` in a {FUNC_LINES}-line function of a 300-line file",
        "endpoint": f"fake OpenAI-compatible chat completions, {LATENCY} s latency, "
                    f"{TOKEN_RATE:g} tok/s", "runs": runs, "work": WORK,
        "prompt_accounting": "request body bytes as received (content-length) / 4"}
    blocker, port = _refusing_port()
    with FakeModelServer(latency=LATENCY, token_rate=TOKEN_RATE) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(HOME=str(work / "home"), XDG_STATE_HOME=str(work / "state"),
                   XDG_CACHE_HOME=str(work / "cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode is cached
        proxy = f"http://127.0.0.1:{port}"
        offline = {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
                   "http_proxy": proxy, "https_proxy": proxy, "all_proxy": proxy,
                   "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        env.update(offline)
        results["offline"] = (f"HTTP_PROXY/HTTPS_PROXY/ALL_PROXY={proxy} (refuses "
                              "connections), NO_PROXY=127.0.0.1,localhost")

        def pair_cmd(lines: str | None) -> list[str]:
            cmd = [sys.executable, "-m", "pair_lsp", "run", "f.py", "-m", "fix the bug",
                   "--worker", "openai-chat:fake-worker", "--worker-url", fake.openai_url,
                   "--reviewer", "openai-chat:fake-reviewer", "--reviewer-url",
                   fake.openai_url, "--no-cache", "--quiet"]
            return cmd + (["--lines", lines] if lines else [])

        def scripts() -> None:
            fake.script("fake-worker", ["Start from no value.\n" + FIX_1 + FIX_2])
            fake.script("fake-reviewer", [review("approve")])
            fake.script("fake-architect", [PLAN])
            fake.script("fake-editor", ["f.py\n```python\n" + FIX_1 + "```\n\nf.py\n```python\n"
                                        + FIX_2 + "```\n"])

        text = task_file()
        first = text.split("\n").index(FUNC.split("\n")[0]) + 1
        expected = text.replace(FUNC, FIXED)
        variants = (("pair-lsp (whole file)", pair_cmd(None)),
                    ("pair-lsp (the function)", pair_cmd(f"{first}-{first + FUNC_LINES - 1}")))
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
        if AIDER.exists():
            samples["aider architect"] = []
            results["aider_price_map"] = _seed_aider_cache(work / "home")
        for _ in range(runs):  # interleaved: a load spike hits every tool alike
            for name, cmd in variants:
                (work / "f.py").write_text(text)
                fake.reset()
                scripts()
                samples[name].append(_measure(
                    fake, cmd, work, env, lambda out: out.returncode == 0 and
                    _applies(out.stdout, text, expected)))
            if AIDER.exists():
                repo = _fresh_repo(work / "repo", text)
                fake.reset()
                scripts()
                aider_env = {**env, "OPENAI_API_BASE": fake.openai_url, "OPENAI_API_KEY": "sk-x",
                             "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
                cmd = [str(AIDER), "--architect", "--model", "openai/fake-architect",
                       "--editor-model", "openai/fake-editor", "--editor-edit-format",
                       "editor-diff", *AIDER_FLAGS, "--message", "fix the bug in f.py", "f.py"]
                samples["aider architect"].append(_measure(
                    fake, cmd, repo, aider_env,
                    lambda out, r=repo: (r / "f.py").read_text() == expected))
        for name, got in samples.items():
            results[name] = _summarise(got)
        if not AIDER.exists():
            results["aider architect"] = {"ok": False, "why": f"aider not installed at {AIDER} "
                                          "(bash bench/run.sh installs it)"}
        else:
            results["aider_version"] = subprocess.run(
                [str(AIDER), "--version"], capture_output=True, text=True, env={**env, **offline},
                check=False, timeout=120).stdout.strip()
    blocker.close()
    results["ai-lsp / ai-diagnos-lsp"] = {
        "ok": False, "why": "not installable: PyPI serves no files for either package to this "
                            "machine (pip: 'from versions: none')"}
    return results


def _applies(diff: str, before: str, expected: str) -> bool:
    """The unified diff pair-lsp printed turns ``before`` into ``expected`` (its +/- lines)."""
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and
               not ln.startswith("---")]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and
             not ln.startswith("+++")]
    want_removed = [a for a, b in zip(before.split("\n"), expected.split("\n"), strict=True)
                    if a != b]
    want_added = [b for a, b in zip(before.split("\n"), expected.split("\n"), strict=True)
                  if a != b]
    return removed == want_removed and added == want_added


def _fresh_repo(repo: Path, text: str) -> Path:
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    (repo / "f.py").write_text(text)
    git = ["git", "-c", "user.email=b@b", "-c", "user.name=b"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def _summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    good = [s for s in samples if s["ok"]]
    if not good:
        return {"ok": False, "why": "the run did not complete the task",
                "sample": samples[0] if samples else None}
    def stat(key: str) -> dict[str, float]:
        values = [s[key] for s in good]
        return {"median": round(median(values), 3), "min": round(min(values), 3),
                "max": round(max(values), 3)}
    return {"ok": True, "runs": len(good), "failed_runs": len(samples) - len(good),
            "overhead_s": stat("overhead_s"), "wall_s": stat("wall_s"),
            "model_s": stat("model_s"), "cpu_s": stat("cpu_s"),
            "model_calls": good[0]["model_calls"], "prompt_tokens": good[0]["prompt_tokens"],
            "refused_outside_attempts": max(s["outside"] for s in good)}


def peer_rows(results: dict[str, Any]) -> list[str]:
    lines = [f"side by side: {results.get('task')} ({results.get('runs')} interleaved runs; "
             "median, min–max)",
             f"{'tool':<24} {'wall - model (s)':>22} {'CPU (s)':>8} {'model calls':>12} "
             f"{'prompt tokens':>14}"]
    for name, r in results.items():
        if not isinstance(r, dict) or name in ("work",):
            continue
        if r.get("ok"):
            o = r["overhead_s"]
            lines.append(f"{name:<24} {o['median']:>8.3f} ({o['min']:.3f}–{o['max']:.3f}) "
                         f"{r['cpu_s']['median']:>8.2f} {r['model_calls']:>12} "
                         f"{r['prompt_tokens']:>14,}")
        else:
            lines.append(f"{name:<24} not run: {r.get('why')}")
    return lines
