"""`python -m bench [--quick] [--no-peers]`: run every benchmark, print a table against the
targets, write bench/results/latest.json, the overhead plot and docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import measures

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import os

    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "python": platform.python_version(), "platform": platform.platform()}


async def run_all(quick: bool, peers: bool) -> dict[str, Any]:
    runs = 3 if quick else 7
    results: dict[str, Any] = {"machine": machine(), "quick": quick,
                               "model": {"latency_s": measures.LATENCY,
                                         "token_rate": measures.TOKEN_RATE},
                               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    steps = [
        ("cold_start", lambda: measures.cold_start(runs)),
        ("overhead", lambda: measures.overhead((100, 2000, 20000), runs)),
        ("sdk_floor", lambda: measures.sdk_floor(runs)),
        ("first_feedback", lambda: measures.first_feedback(runs)),
        ("responsiveness", lambda: measures.responsiveness(60 if quick else 200)),
        ("replay", lambda: measures.replay(runs)),
        ("tokens", measures.tokens),
        ("memory", measures.memory),
    ]
    for name, step in steps:
        print(f"· {name} …", file=sys.stderr, flush=True)
        results[name] = await step()
    if peers:
        from bench import peers as peer_bench

        print("· side by side with peers …", file=sys.stderr, flush=True)
        results["peers"] = peer_bench.run()
    return results


TARGETS = [
    ("overhead at 2,000 lines (median)", lambda r: r["overhead"]["2000"]["overhead_ms"], "ms",
     lambda v: v <= 20, "≤ 20 ms"),
    ("overhead / model time at 2,000 lines", lambda r: r["overhead"]["2000"]
     ["share_of_model_time"] * 100, "%", lambda v: v < 1, "< 1 %"),
    ("first feedback / review time", lambda r: r["first_feedback"]["ratio"], "",
     lambda v: v <= 0.35, "≤ 0.35"),
    ("codeAction p99, 8 sessions", lambda r: r["responsiveness"]["code_action_p99_ms"], "ms",
     lambda v: v <= 20, "≤ 20 ms"),
    ("didChange(+codeAction) p99, 8 sessions", lambda r: r["responsiveness"]
     ["did_change_p99_ms"], "ms", lambda v: v <= 20, "≤ 20 ms"),
    ("cold start to initialize result", lambda r: r["cold_start"]["initialize_ms"], "ms",
     lambda v: v <= 400, "≤ 400 ms"),
    ("replay from cache", lambda r: r["replay"]["replay_ms"], "ms", lambda v: v <= 50,
     "≤ 50 ms"),
    ("replay HTTP requests", lambda r: r["replay"]["http_requests"], "", lambda v: v == 0,
     "0"),
    ("round-2 prompt / round-1 prompt", lambda r: r["tokens"]["round2_over_round1"], "",
     lambda v: True, "≤ 0.5, or:"),
    ("round-2 stable cacheable prefix", lambda r: r["tokens"]["round2_stable_prefix_share"]
     * 100, "%", lambda v: v >= 80, "≥ 80 %"),
    ("peak RSS, 100 docs + both SDKs", lambda r: r["memory"]["peak_rss_mb"], "MB",
     lambda v: v <= 150, "≤ 150 MB"),
]


def table(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, get, unit, ok, target in TARGETS:
        try:
            value = get(results)
        except (KeyError, TypeError):
            continue
        shown = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        verdict = "" if target.endswith("or:") else ("met" if ok(value) else "MISSED")
        rows.append((name, f"{shown} {unit}".strip(), target, verdict))
    return rows


def plot(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = [int(s) for s in results["overhead"]]
    values = [results["overhead"][str(s)]["overhead_ms"] for s in sizes]
    lows = [results["overhead"][str(s)]["overhead_min_ms"] for s in sizes]
    highs = [results["overhead"][str(s)]["overhead_max_ms"] for s in sizes]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    ax.plot(sizes, values, marker="o", label="median")
    ax.fill_between(sizes, lows, highs, alpha=0.2, label="min–max")
    ax.axhline(20, color="grey", linestyle="--", linewidth=1, label="target (2,000 lines)")
    ax.set_xscale("log")
    ax.set_xlabel("document size (lines)")
    ax.set_ylabel("overhead per session (ms)")
    ax.set_title("pair-lsp overhead on top of model time (2-round session)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="fewer runs, no peers (< 3 min)")
    p.add_argument("--no-peers", action="store_true", help="skip aider / AI language servers")
    p.add_argument("--docs", action="store_true", help="also write docs/performance.md")
    args = p.parse_args(argv)
    results = asyncio.run(run_all(args.quick, peers=not (args.quick or args.no_peers)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    rows = table(results)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'value':>12}  {'target':>12}")
    for name, value, target, verdict in rows:
        print(f"{name:<{width}}  {value:>12}  {target:>12}  {verdict}")
    if "peers" in results:
        from bench.peers import peer_rows

        print()
        for line in peer_rows(results["peers"]):
            print(line)
    plotted = plot(results, ROOT / "docs" / "images" / "overhead.png")
    if args.docs:
        from bench.report import write_docs

        write_docs(results, rows, plotted)
    print(f"\nresults: {RESULTS / 'latest.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _git_rev() -> str:  # pragma: no cover - used by report.py
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False, cwd=ROOT).stdout.strip()
    except OSError:
        return ""
