"""`python -m bench [--quick] [--no-peers]`: run every benchmark, print a table against the
targets, write bench/results/latest.json, the overhead plot and docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews every number)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=False,
                                  cwd=ROOT).stdout.strip()
        except OSError:
            return ""
    changed = [ln[3:] for ln in git("status", "--porcelain").splitlines()
               if not ln[3:].startswith(("bench/results/", "docs/performance.md",
                                         "docs/images/overhead.png"))]
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "subject": git("log", "-1", "--format=%s"), "uncommitted": changed}


async def run_all(quick: bool, peers: bool) -> dict[str, Any]:
    from bench import changes_review, cli_run

    runs = 3 if quick else 7
    results: dict[str, Any] = {"machine": machine(), "commit": commit(), "quick": quick,
                               "runs": runs, "load_start": load(),
                               "model": {"latency_s": measures.LATENCY,
                                         "token_rate": measures.TOKEN_RATE},
                               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    steps = [
        ("cold_start", lambda: measures.cold_start(runs)),
        ("overhead", lambda: measures.overhead((100, 2000, 20000), runs)),
        ("sdk_floor", lambda: measures.sdk_floor(runs)),
        ("server_profile", lambda: measures.server_profile(runs)),
        ("first_feedback", lambda: measures.first_feedback(runs)),
        ("responsiveness", lambda: measures.responsiveness(60 if quick else 200)),
        ("replay", lambda: measures.replay(runs)),
        ("tokens", measures.tokens),
        ("memory", measures.memory),
        ("cli_run", lambda: asyncio.to_thread(cli_run.run, runs)),
        ("parallel_reviewers", lambda: measures.parallel_reviewers(runs)),
        ("proposal", lambda: measures.proposal(runs)),
        ("changes_review", lambda: changes_review.run(runs)),
    ]
    results["load_during"] = {}
    c, m = results["commit"], results["machine"]
    print(f"commit {c['commit']}" + (" + uncommitted changes" if c["uncommitted"] else "")
          + f"; {m['cpu']}, {m['cores']} cores, {m['memory']}; load average (1/5/15 min) "
          f"{results['load_start']}; {runs} runs per measure", file=sys.stderr, flush=True)
    for name, step in steps:
        print(f"· {name} … (load {load()})", file=sys.stderr, flush=True)
        results["load_during"][name] = load()
        results[name] = await step()
    if peers:
        from bench import peers as peer_bench

        print(f"· side by side with peers … (load {load()})", file=sys.stderr, flush=True)
        results["load_during"]["peers"] = load()
        results["peers"] = await asyncio.to_thread(peer_bench.run, runs)
    results["load_end"] = load()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return results


def _growth(sizes: dict[str, Any], key: str) -> float:
    """``key`` at the largest change over ``key`` at the smallest (medians)."""
    values = [v[key]["median"] if isinstance(v[key], dict) else v[key] for v in sizes.values()]
    return values[-1] / values[0]


TARGETS = [
    ("overhead at 2,000 lines (median)", lambda r: r["overhead"]["2000"]["overhead_ms"], "ms",
     lambda v: v <= 20, "≤ 20 ms"),
    ("overhead minus the bare-SDK floor, 2,000 lines", lambda r: round(
        r["overhead"]["2000"]["overhead_ms"] - r["sdk_floor"]["overhead_ms"], 2), "ms",
     lambda v: v <= 3, "≤ 3 ms"),
    ("overhead / model time at 2,000 lines", lambda r: r["overhead"]["2000"]
     ["share_of_model_time"] * 100, "%", lambda v: v < 1, "< 1 %"),
    ("first feedback / review time", lambda r: r["first_feedback"]["ratio"], "",
     lambda v: v <= 0.35, "≤ 0.35"),
    ("codeAction p99, 8 sessions", lambda r: r["responsiveness"]["code_action_p99_ms"], "ms",
     lambda v: v <= 20, "≤ 20 ms"),
    ("didChange(+codeAction) p99, 8 sessions", lambda r: r["responsiveness"]
     ["did_change_p99_ms"], "ms", lambda v: v <= 20, "≤ 20 ms"),
    ("cold start to initialize result", lambda r: r["cold_start"]["initialize_ms"], "ms",
     lambda v: v <= 250, "≤ 250 ms"),
    ("replay from cache", lambda r: r["replay"]["replay_ms"], "ms", lambda v: v <= 10,
     "≤ 10 ms"),
    ("replay HTTP requests", lambda r: r["replay"]["http_requests"], "", lambda v: v == 0,
     "0"),
    ("round-2 prompt / round-1 prompt", lambda r: r["tokens"]["round2_over_round1"], "",
     lambda v: True, "≤ 0.5, or:"),
    ("round-2 stable cacheable prefix", lambda r: r["tokens"]["round2_stable_prefix_share"]
     * 100, "%", lambda v: v >= 80, "≥ 80 %"),
    ("peak RSS, 100 docs + both SDKs", lambda r: r["memory"]["peak_rss_mb"], "MB",
     lambda v: v <= 100, "≤ 100 MB"),
    ("`pair-lsp run` wall − model (OpenAI + Anthropic)", lambda r: r["cli_run"]["hosted"]
     ["overhead_s"]["median"], "s", lambda v: v <= 0.3, "≤ 0.3 s"),
    ("review round, 2 reviewers × 1 s latency", lambda r: r["parallel_reviewers"]["round_s"]
     ["median"], "s", lambda v: v < 1.6, "< 1.6 s"),
    ("pair.proposal, 10 hunks at 2,000 lines", lambda r: r["proposal"]["proposal_ms"]
     ["median"], "ms", lambda v: v < 20, "< 20 ms"),
    ("pair.acceptHunk, 10 hunks at 2,000 lines", lambda r: r["proposal"]["accept_hunk_ms"]
     ["median"], "ms", lambda v: v < 20, "< 20 ms"),
    ("change review: first finding, 50 files / 1 file", lambda r: round(_growth(
        r["changes_review"]["sizes"], "first_finding_s"), 2), "×", lambda v: v <= 1.25,
     "flat (≤ 1.25×)"),
    ("change review: prompt tokens per file, 50 files / 1", lambda r: round(_growth(
        r["changes_review"]["sizes"], "prompt_tokens_per_file"), 2), "×", lambda v: v <= 1.1,
     "no growth (≤ 1.1×)"),
]


def table(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, get, unit, ok, target in TARGETS:
        try:
            value = get(results)
        except (KeyError, TypeError, ZeroDivisionError):
            continue
        shown = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        verdict = "" if target.endswith("or:") else ("met" if ok(value) else "MISSED")
        rows.append((name, f"{shown} {unit}".strip(), target, verdict))
    return rows


def plot(source: Path, path: Path) -> bool:
    """docs/images/overhead.png from the results file, with matplotlib from the project's
    Python or from PAIR_BENCH_PLOT_PYTHON (bench/run.sh keeps it in its own venv)."""
    python = os.environ.get("PAIR_BENCH_PLOT_PYTHON") or sys.executable
    out = subprocess.run([python, "-m", "bench.plot", str(source), str(path)],
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"no plot: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    return out.returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="3 runs instead of 7, no peers")
    p.add_argument("--no-peers", action="store_true", help="skip aider / AI language servers")
    p.add_argument("--docs", action="store_true",
                   help="also write docs/performance.md and README's performance paragraph")
    p.add_argument("--from-results", type=Path, metavar="JSON",
                   help="run nothing: report (and with --docs, write) from a saved results file")
    args = p.parse_args(argv)
    if args.from_results:
        results = json.loads(args.from_results.read_text())
    else:
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
    plotted = plot(args.from_results or RESULTS / "latest.json",
                   ROOT / "docs" / "images" / "overhead.png")
    if args.docs:
        from bench.report import update_readme, write_docs

        write_docs(results, rows, plotted)
        update_readme(results)
    c, m = results["commit"], results["machine"]
    print(f"\ncommit {c['commit']}" + (" + uncommitted changes" if c["uncommitted"] else "")
          + f"; {m['cpu']}, {m['cores']} cores; load average (1/5/15 min) at start "
          f"{results['load_start']}, at end {results['load_end']}")
    print(f"results: {RESULTS / 'latest.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

