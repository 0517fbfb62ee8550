"""`pair-lsp run` from a terminal with an OpenAI worker (Responses API) and an Anthropic
reviewer: wall time minus model time, the process's CPU time, and where the time goes
(`python -X importtime`, summed by top-level package).

Everything a user waits for counts: Python's start, the imports, reading the file, both model
calls through the real SDKs (over real HTTP to the fake model server in its own process), the
diff on stdout and the transcript written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.fake_process import FakeProcess
from bench.harness import FIX_1, FIX_2, FUNC_LINES, document, median, review


def _cmd(fake: FakeProcess, path: Path, first: int, *python_flags: str) -> list[str]:
    return [sys.executable, *python_flags, "-m", "pair_lsp", "run", str(path), "-m", "fix the bug",
            "--worker", "openai:bench-worker", "--worker-url", fake.openai_url,
            "--reviewer", "anthropic:bench-reviewer", "--reviewer-url", fake.anthropic_url,
            "--no-cache", "--quiet", "--lines", f"{first + 1}-{first + FUNC_LINES}"]


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode is cached
    env.update(HOME=home, XDG_STATE_HOME=home, XDG_CACHE_HOME=home)
    return env


def _once(fake: FakeProcess, path: Path, text: str, first: int, env: dict[str, str],
          *flags: str) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    path.write_text(text)
    fake.reset()
    fake.script("bench-worker", ["Start from no value.\n" + FIX_1 + FIX_2])
    fake.script("bench-reviewer", [review("approve")])
    before = os.times()
    started = time.perf_counter()
    out = subprocess.run(_cmd(fake, path, first, *flags), env=env, capture_output=True,
                         text=True, cwd=path.parent, timeout=300, check=False)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return out, wall, fake.model_time(), cpu


def measure(runs: int, latency: float, token_rate: float | None) -> dict[str, Any]:
    walls, overheads, cpus, models = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, \
            FakeProcess(latency=latency, token_rate=token_rate) as fake:
        text, first = document(300)
        path = Path(tmp) / "f.py"
        env = _env(tmp)
        _once(fake, path, text, first, env)  # warm the OS file cache, write bytecode
        for _ in range(runs):
            out, wall, model, cpu = _once(fake, path, text, first, env)
            if out.returncode != 0 or "+    best = None" not in out.stdout:
                raise RuntimeError(f"pair-lsp run failed: {out.stderr[-600:]}")
            walls.append(wall)
            models.append(model)
            overheads.append(wall - model)
            cpus.append(cpu)
        # -X importtime mixes up the imports of two threads: the SDKs on the main thread here
        out, *_ = _once(fake, path, text, first, {**env, "PAIR_LSP_PREFETCH": "0"},
                        "-X", "importtime")
    profile = import_profile(out.stderr)

    def stat(values: list[float]) -> dict[str, float]:
        return {"median": round(median(values), 3), "min": round(min(values), 3),
                "max": round(max(values), 3)}
    return {"overhead_s": stat(overheads), "wall_s": stat(walls), "model_s": stat(models),
            "cpu_s": stat(cpus), "runs": runs, "latency_s": latency, "token_rate": token_rate,
            "imports": profile}


def import_profile(stderr: str) -> dict[str, Any]:
    """`-X importtime` output summed by top-level package (self times), plus the largest
    single imports by cumulative time."""
    by_package: dict[str, int] = defaultdict(int)
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        self_us, cumulative, name = int(parts[0]), int(parts[1]), parts[2]
        module = name.strip()
        depth = (len(name) - len(name.lstrip())) // 2
        by_package[_package(module)] += self_us
        rows.append((cumulative, depth, module))
    modules = len(rows)
    total = sum(by_package.values())
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:8]
    largest = [{"module": m, "cumulative_ms": round(c / 1000, 1), "depth": d}
               for c, d, m in sorted(rows, reverse=True) if d <= 1][:10]
    return {"modules": modules, "total_ms": round(total / 1000, 1),
            "by_package_ms": {k: round(v / 1000, 1) for k, v in top},
            "largest": largest}


def _package(module: str) -> str:
    root = module.split(".")[0]
    if root in ("openai", "anthropic", "pair_lsp", "pydantic", "pydantic_core", "httpx",
                "httpx2", "httpcore", "httpcore2", "anyio", "opentelemetry", "jiter",
                "typing_extensions", "distro", "sniffio", "certifi", "idna", "h11",
                "lsprotocol", "pygls", "attr", "attrs", "cattrs"):
        return {"pydantic_core": "pydantic", "httpx2": "httpx", "httpcore2": "httpx",
                "httpcore": "httpx", "h11": "httpx", "attr": "attrs",
                "cattrs": "attrs"}.get(root, root)
    if root in sys.stdlib_module_names or root.startswith("_"):
        return "stdlib"
    return "other"


def run(runs: int) -> dict[str, Any]:
    """At the benchmarks' model latency, and with an instant model (all overhead shows)."""
    from bench.measures import LATENCY, TOKEN_RATE

    return {"hosted": measure(runs, LATENCY, TOKEN_RATE), "instant": measure(runs, 0.0, None)}
