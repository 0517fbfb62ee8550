"""Write docs/performance.md from a results dict (bench/results/latest.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

NOTES = """\
## What moved the numbers

Found by tracing where a session's time goes between model calls (timestamps on both sides of
every HTTP request) and by profiling the server:

- **The model server in its own process.** Earlier runs hosted the fake model in the
  benchmark's process, where its threads shared one GIL with the benchmark's LSP client; the
  client's work was billed to pair-lsp or to the model depending on timing. A hosted model is
  another machine; the fake now runs as `pair-lsp fake-server` in a child process.
- **stdin read on the event loop.** pygls' stdio reader hands every header line and body to a
  worker thread; each request paid three or four thread round trips (~1 ms) before a handler
  ran. `pair_lsp/server/transport.py` reads stdin as an asyncio pipe (falling back to pygls'
  reader where stdin is a file).
- **Notifications after the next request.** Progress, `pair/status` and diagnostics are
  coalesced and sent on the loop's next turn, so the session's next model request goes out
  first; events that arrive together make one message.
- **Raw Responses events.** The OpenAI Responses stream repeats the whole response in its last
  events; validating every event into the SDK's models cost ~1.5 ms per call and 34 MB of
  validators built on first use. pair-lsp still sends the request through the SDK (auth,
  retries with Retry-After, status errors) but reads the events with `json.loads`.
- **No garbage collection while the big libraries load.** lsprotocol at start-up and each
  SDK at its first call allocate objects that live as long as the process; collection is
  paused while they load and what they made is frozen out of later collections
  (`pair_lsp/imports.py`): ~25 ms off the cold start, and no full collection walks the SDKs'
  million objects in the middle of a session.
- **Findings before their suggestion.** A finding is published as soon as its message has
  streamed (id, quote and line come first in the schema), then completed with its suggestion.

## What is left

- **Overhead.** `sdk_floor` is the same four calls made with the bare SDKs and nothing else:
  most of what remains is the SDKs' own per-call cost (request building, httpx, SSE decoding).
- **Memory.** The server alone (pygls + lsprotocol + pair-lsp) is ~45 MB; `import anthropic`
  adds ~41 MB (it imports ~3,000 modules, most of them `anthropic.types.beta`), `import openai`
  ~24 MB. 100 open 2,000-line documents add ~7 MB. The SDKs are imported on the first model
  call, so a server that has not paired yet stays near 50 MB.
- **First feedback.** The ratio is measured from the moment the command is sent, so the
  model's time to first byte (0.5 s here) counts against it; over the streamed part alone it is
  `streamed_ratio`. One-line findings are the harder case (a short review, so the fixed
  latency weighs more), and there the ratio sits at the target: the first finding cannot be
  shown before the model has written it, and the first diagnostic is published within ~10 ms
  of that (0.5 s latency + ~44 tokens at 100 tok/s = 0.94 s, measured 0.945 s). Findings as
  long as hosted reviewers write them are `detailed_ratio`.
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
           "~4 min, plus aider's install into its own venv the first time) or "
           "`bash bench/run.sh --quick`.", "",
           "## Against the targets", "", "| measure | value | target | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out += ["", "## Overhead by document size (2-round session, wall time minus model time)",
            "", "| lines | overhead (median) | min–max | model time | share of model time |",
            "|---|---|---|---|---|"]
    for size, o in results["overhead"].items():
        out.append(f"| {int(size):,} | {o['overhead_ms']} ms | {o['overhead_min_ms']}–"
                   f"{o['overhead_max_ms']} ms | {o['model_s']} s | "
                   f"{o['share_of_model_time'] * 100:.2f} % |")
    if "sdk_floor" in results:
        out += ["", f"The same four model calls made with the bare SDKs, no pair-lsp: "
                f"{results['sdk_floor']['overhead_ms']} ms over model time (`sdk_floor`)."]
    if plotted:
        out += ["", "![overhead against document size](images/overhead.png)"]
    ff = results["first_feedback"]
    out += ["", "## Time to first feedback", "",
            f"A streamed review with {ff.get('findings', '?')} findings: first diagnostic after "
            f"{ff['first_diagnostic_s']} s of a {ff['review_s']} s review: ratio {ff['ratio']} "
            f"(over the streamed part only: {ff.get('streamed_ratio')}). With findings as long "
            f"as hosted reviewers write them (~45 words each): first diagnostic after "
            f"{ff.get('detailed_first_diagnostic_s')} s of a {ff.get('detailed_review_s')} s "
            f"review: ratio {ff.get('detailed_ratio')}."]
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
