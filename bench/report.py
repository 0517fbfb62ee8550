"""Write docs/performance.md from a results dict (bench/results/latest.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

NOTES = """\
## What the misses are made of

- **Memory.** Peak RSS is dominated by the SDKs, not by pair-lsp: the server alone (pygls +
  lsprotocol + pair-lsp) is ~44 MB; `import anthropic` adds ~52 MB because the SDK eagerly
  imports ~3,000 modules (1,834 of them `anthropic.types.beta`), `import openai` ~13 MB more.
  100 open 2,000-line documents add ~10 MB. Both SDKs are imported lazily, on the first model
  call, so a server that has not paired yet stays near 50 MB. Ways down, not taken: calling the
  Messages API over httpx without the SDK (the project's rule is to use the real SDKs), or
  running the SDK calls in a helper process.
- **First feedback.** The ratio is measured from the moment the command is sent, so the model's
  time to first byte (0.5 s here) counts against it; over the streamed part alone (after the
  first byte) it is given as `streamed_ratio`. The reviewer schema lists `findings` before
  `summary`, and each finding is published the moment its JSON object closes.
- **Round-2 prompt size.** Round 2 re-sends the conversation so far, so its prompt is larger
  than round 1's by design; what matters for cost is that the repeated part is a stable prefix
  the providers cache (Anthropic `cache_control` on the system prompt and the task message;
  OpenAI caches prefixes automatically), and that share is the second tokens line.
"""


def write_docs(results: dict[str, Any], rows: list[tuple[str, str, str, str]],
               plotted: bool) -> Path:
    m = results["machine"]
    out = ["# Performance", "",
           "Numbers from one run of `bash bench/run.sh` (`python -m bench`), "
           f"{results['started']}, on this machine: {m['cores']} cores, {m['memory']}, "
           f"{m['cpu'] or 'unknown CPU'}, Python {m['python']}.", "",
           "Everything runs over real LSP (stdio) and real HTTP against the fake model server "
           f"with a fixed {results['model']['latency_s']} s to first byte and "
           f"{results['model']['token_rate']:g} output tokens/s, so model time is known and "
           "subtracted. Medians; min–max where useful. Reproduce: `bash bench/run.sh` (full, "
           "~10 min, installs aider into its own venv) or `bash bench/run.sh --quick`.", "",
           "## Against the targets", "", "| measure | value | target | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out += ["", "## Overhead by document size (2-round session, wall time minus model time)",
            "", "| lines | overhead (median) | min–max | model time | share of model time |",
            "|---|---|---|---|---|"]
    for size, o in results["overhead"].items():
        out.append(f"| {int(size):,} | {o['overhead_ms']} ms | {o['overhead_min_ms']}–"
                   f"{o['overhead_max_ms']} ms | {o['model_s']} s | "
                   f"{o['share_of_model_time'] * 100:.2f} % |")
    if plotted:
        out += ["", "![overhead against document size](images/overhead.png)"]
    ff = results["first_feedback"]
    out += ["", "## Time to first feedback", "",
            f"A streamed review with {ff.get('findings', '?')} findings: first diagnostic after "
            f"{ff['first_diagnostic_s']} s of a {ff['review_s']} s review: ratio {ff['ratio']} "
            f"(over the streamed part only: {ff.get('streamed_ratio')})."]
    r = results["responsiveness"]
    out += ["", "## Responsiveness with 8 sessions streaming", "",
            f"codeAction p50 {r['code_action_p50_ms']} ms, p99 {r['code_action_p99_ms']} ms; "
            f"didChange followed by codeAction (the server handles messages in order, so this "
            f"bounds didChange handling) p50 {r['did_change_p50_ms']} ms, p99 "
            f"{r['did_change_p99_ms']} ms; {r['samples']} samples each, "
            f"{r['sessions_streaming_during_probe']} model streams open during the probe."]
    c = results["cold_start"]
    out += ["", "## Cold start", "", f"Process start to the initialize result: "
            f"{c['initialize_ms']} ms; to the first command answered: {c['first_command_ms']} ms. "
            "The SDKs are not imported until the first model call."]
    rp = results["replay"]
    out += ["", "## Replay", "", f"An identical session served from the response cache: "
            f"{rp['replay_ms']} ms, {rp['http_requests']} HTTP requests."]
    t = results["tokens"]
    out += ["", "## Tokens (30-line selection in a 2,000-line file)", "",
            "| role | round | prompt tokens | completion tokens | stable prefix share |",
            "|---|---|---|---|---|"]
    out += [f"| {x['role']} | {x['round']} | {x['prompt_tokens']} | {x['completion_tokens']} | "
            f"{x['stable_prefix_share'] * 100:.0f} % |" for x in t["calls"]]
    out += ["", f"Round 2 / round 1 prompt tokens: {t['round2_over_round1']}; the smallest "
            f"stable-prefix share of a round-2 prompt: {t['round2_stable_prefix_share'] * 100:.1f}"
            " %. (Tokens here are the fake server's count, 4 characters a token.)"]
    mem = results["memory"]
    out += ["", "## Memory", "", f"Peak RSS with {mem['documents']} open 2,000-line documents "
            f"after a session that used both SDKs: {mem['peak_rss_mb']} MB."]
    if "peers" in results:
        from bench.peers import peer_rows

        out += ["", "## Side by side", "", "Same task, same fake OpenAI-compatible endpoint "
                "(0.5 s latency, 100 tok/s), each tool's default flow; wall time minus model "
                "time, model calls and prompt tokens sent:", "", "```"]
        out += peer_rows(results["peers"])
        out += ["```", "",
                "aider runs in architect mode (`--architect`, editor format `editor-diff`), as in "
                "shared/notes/peers-side-by-side.md. Its time includes its own start-up (~1.3 s "
                "for `aider --version`) and a failed attempt to fetch litellm's model price map "
                "(no internet here). pair-lsp's includes the CLI's start-up (Python, both SDK "
                "imports). `pair-lsp (the function)` is how pair-lsp is meant to be used: on a "
                "selection, so the models see the function and its surroundings, not the file."]
    out += ["", NOTES]
    path = ROOT / "docs" / "performance.md"
    path.write_text("\n".join(out) + "\n")
    return path
