"""How often the embedded 135M model fixes the demo's bug: the README's main job, per seed.

    python bench/local_model_fix_rate.py --seeds 20 --out bench/results/local_fix_after.json

Each seed runs the session `bash scripts/demo.sh` runs (examples/buggy.py, lines 4-10, "fix the
bug for lists of negative numbers", both roles on the local model with the settings the no-key
fallback gives them: SmolLM2-135M, 512 output tokens, 3 rounds), in this process, with the
model's seed set (``Llama.set_seed``) and its state reset before the session, so a seed gives
the same session again (on the same machine, llama.cpp build and thread count). Differences
from the demo, all printed in the result's ``settings``: --rounds (default 3, the demo's;
``--rounds 1`` measures round 1 alone, the worker's first proposal and the reviewer's first
verdict, where a "revise" ends the session instead of going on), --threads, and the
fallback's 60 s wall-clock cap per reply is raised to --timeout (default 1800 s), so that the
numbers measure the model, not how busy the machine is (on a loaded machine the 60 s cap cuts
replies before their first token). No response cache. CPU-heavy: run it once, under ``nice``.

The bug: ``largest`` starts from ``best = 0``, so a list of negative numbers gives 0. Measured:

- ``fixed``: the session ended approved and the file, with the approved edit applied (what
  ``--apply`` writes), passes the check below: what the demo's user gets.
- ``proposed_fix``: the session's last candidate passes the check, approved or not.
- ``worker_parsed``: the worker's first reply holds at least one complete SEARCH/REPLACE block
  and no broken one; ``worker_applied``: all of them match the target as written.
- ``reviewer_parsed``: the reviewer's first reply reads as a verdict without salvage or repair.
- ``cut``: some reply of the session was cut (token cap, time cap, looping).
- ``seconds``: wall time of the session (model load excluded: it is loaded once, ~0.3 s).

The check runs the new file in a child Python (model code may loop): ``largest`` must return
``max(xs)`` for [-3, -1, -2], [-7], [1, 5, 2], [0, -1], [2.5, 2.0] and [-2, -2].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "buggy.py"
LINES = (4, 10)
INSTRUCTION = "fix the bug for lists of negative numbers"  # scripts/demo.sh's
CASES = ([-3, -1, -2], [-7], [1, 5, 2], [0, -1], [2.5, 2.0], [-2, -2])
CHECK = f"""
import sys
ns = {{}}
exec(compile(sys.stdin.read(), "buggy.py", "exec"), ns)
for xs in {CASES!r}:
    assert ns["largest"](list(xs)) == max(xs), (xs, ns["largest"](list(xs)))
"""


def fixes_bug(document: str | None) -> bool:
    """The file ``document`` passes the check (see the module's docstring)."""
    if document is None:
        return False
    try:
        out = subprocess.run([sys.executable, "-I", "-c", CHECK], input=document, text=True,
                             capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0


async def one_seed(seed: int, transcripts: Path, reply_timeout: float,
                   rounds: int, threads: int) -> dict[str, Any]:
    from pair_lsp.config import parse_settings
    from pair_lsp.loop import events as ev
    from pair_lsp.loop.matching import apply_blocks
    from pair_lsp.loop.protocol import ReviewParseError, parse_review, parse_worker_reply
    from pair_lsp.loop.session import PairRequest
    from pair_lsp.providers import local
    from pair_lsp.runner import SessionFactory

    fallback = {"provider": "local", "model": "smollm2-135m", "maxOutputTokens": 512,
                "timeout": reply_timeout}  # registry.make_provider's fallback, but the timeout
    settings, errors = parse_settings({"worker": fallback, "reviewer": fallback,
                                       "maxRounds": rounds,
                                       "cache": {"enabled": False},
                                       "transcript": {"directory": str(transcripts)}})
    assert not errors, errors
    factory = SessionFactory(settings)
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = sum(len(ln) for ln in lines[:LINES[0] - 1])
    end = start + sum(len(ln) for ln in lines[LINES[0] - 1:LINES[1]])
    target = text[start:end]
    worker = factory.provider(settings.worker)
    role = worker.role  # type: ignore[attr-defined]
    key = (str(worker.model_path()), role.contextSize)  # type: ignore[attr-defined]
    if threads and key not in local._models:  # the provider finds it loaded: these threads
        from llama_cpp import Llama

        local._models[key] = Llama(model_path=key[0], n_ctx=key[1], n_threads=threads,
                                   verbose=False)
    llm = local._load(Path(key[0]), key[1])
    llm.reset()  # no prefix left from the previous seed's session
    llm.set_seed(seed)
    session = factory.create(PairRequest(document=text, start=start, end=end, path="buggy.py",
                                         language_id="python", instruction=INSTRUCTION))
    started = time.monotonic()
    events = [e async for e in session.run()]
    seconds = time.monotonic() - started
    await factory.aclose()
    done = events[-1]
    assert isinstance(done, ev.Finished)
    replies = [e for e in events if isinstance(e, ev.ModelReply)]
    first_worker = next((e.text for e in replies if e.role == "worker"), "")
    first_reviewer = next((e.text for e in replies if e.role == "reviewer"), None)
    reply = parse_worker_reply(first_worker)
    worker_parsed = bool(reply.blocks) and not reply.problems
    worker_applied = worker_parsed and not apply_blocks(target, reply.blocks).failures
    reviewer_parsed: bool | None = None
    if first_reviewer is not None:
        try:
            parse_review(first_reviewer)
            reviewer_parsed = True
        except ReviewParseError:
            reviewer_parsed = False
    proposed_fix = fixes_bug(done.new_document)
    return {
        "seed": seed, "status": done.status, "reason": done.reason, "rounds": done.rounds,
        "fixed": done.status == "approved" and proposed_fix, "proposed_fix": proposed_fix,
        "worker_parsed": worker_parsed, "worker_applied": worker_applied,
        "reviewer_parsed": reviewer_parsed,
        "cut": [e.message for e in events if isinstance(e, ev.Notice) and "cut" in e.message],
        "seconds": round(seconds, 1), "output_tokens": done.usage.output_tokens,
        "first_worker_reply": first_worker, "diff": done.diff,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    reviewed = [r for r in rows if r["reviewer_parsed"] is not None]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "runs": n,
        "fixed": sum(r["fixed"] for r in rows),
        "proposed_fix": sum(r["proposed_fix"] for r in rows),
        "worker_parsed": sum(r["worker_parsed"] for r in rows),
        "worker_applied": sum(r["worker_applied"] for r in rows),
        "reviewer_parsed": f"{sum(bool(r['reviewer_parsed']) for r in reviewed)}/{len(reviewed)}",
        "cut_runs": sum(bool(r["cut"]) for r in rows),
        "statuses": statuses,
        "seconds_median": round(statistics.median(r["seconds"] for r in rows), 1),
        "seconds_max": max(r["seconds"] for r in rows),
        "output_tokens_median": statistics.median(r["output_tokens"] for r in rows),
        "load_average": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--label", default="", help="a name for the code measured")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="wall-clock cap per reply, s (the demo's fallback: 60)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="maxRounds (the demo's: 3; 1 measures round 1 alone)")
    parser.add_argument("--threads", type=int, default=0,
                        help="llama.cpp threads (default: the provider's, one per core; 1 is "
                             "faster on a machine whose cores are busy with other work)")
    parser.add_argument("--out", type=Path, help="write the rows and the summary as JSON")
    args = parser.parse_args()
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PAIR_LSP_WORKER", "PAIR_LSP_REVIEWER"):
        os.environ.pop(key, None)  # the demo's case: no key, the local fallback
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = asyncio.run(one_seed(seed, Path(tmp), args.timeout, args.rounds,
                                       args.threads))
            rows.append(row)
            print(f"seed {seed:2}: {row['status']:9} fixed={row['fixed']!s:5} "
                  f"proposed_fix={row['proposed_fix']!s:5} "
                  f"worker_parsed={row['worker_parsed']!s:5} "
                  f"reviewer_parsed={row['reviewer_parsed']!s:5} cut={len(row['cut'])} "
                  f"{row['seconds']:5.1f} s", flush=True)
            if args.out:  # after every seed: a run stopped early still leaves its rows
                settings = vars(args) | {"out": str(args.out)}
                write(args.out, {"label": args.label, "settings": settings,
                                 "summary": summary(rows), "rows": rows})
    print(json.dumps(summary(rows), indent=1))
    return 0


def write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
