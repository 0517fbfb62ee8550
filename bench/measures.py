"""The measures: each returns a dict of numbers. All run over real LSP (stdio) and real HTTP
against the fake model server with a fixed latency and token rate."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fake_process import FakeProcess
from bench.harness import (
    Client,
    block,
    document,
    median,
    percentile,
    review,
    rng,
    worker_replies,
)

LATENCY = 0.5  # seconds to the first byte of every reply (a typical hosted model)
TOKEN_RATE = 100.0  # output tokens per second while streaming


def _script_two_rounds(fake: FakeProcess) -> None:
    fake.script("bench-worker", worker_replies())
    fake.script("bench-reviewer", [review("revise"), review("approve")])


async def _two_round_session(client: Client, fake: FakeProcess, uri: str,
                             lines: int) -> dict[str, Any]:
    """Open a document of ``lines`` lines and pair on its 30-line function (2 rounds)."""
    text, first = document(lines)
    _script_two_rounds(fake)
    client.open(uri, text)
    result: dict[str, Any] = await client.command("pair.selection",
                                                  {"uri": uri, "range": rng(first)})
    return result


async def overhead(sizes: tuple[int, ...], runs: int) -> dict[str, Any]:
    """Wall time of a 2-round session minus the model's own time, per document size."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, \
            FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE) as fake:
        client = Client(fake, Path(tmp))
        await client.start()
        try:
            # warm-up: the first session imports the SDKs (a one-time cost, see cold start)
            await _two_round_session(client, fake, "file:///bench/warm.py", 100)
            for size in sizes:
                text, first = document(size)
                samples, model, walls = [], [], []
                for run in range(runs):
                    uri = f"file:///bench/doc{size}_{run}.py"
                    client.open(uri, text)
                    await client.code_action(uri, 0)  # the document is open server-side
                    fake.reset()
                    _script_two_rounds(fake)
                    started = time.perf_counter()
                    result = await client.command("pair.selection", {"uri": uri,
                                                                     "range": rng(first)})
                    wall = time.perf_counter() - started
                    assert result["status"] == "approved", result
                    walls.append(wall)
                    model.append(fake.model_time())
                    samples.append(wall - fake.model_time())
                out[str(size)] = {"overhead_ms": round(median(samples) * 1000, 2),
                                  "overhead_min_ms": round(min(samples) * 1000, 2),
                                  "overhead_max_ms": round(max(samples) * 1000, 2),
                                  "model_s": round(median(model), 3),
                                  "wall_s": round(median(walls), 3),
                                  "share_of_model_time": round(median(samples) / median(model), 4),
                                  "runs": runs}
        finally:
            await client.stop()
    return out


async def sdk_floor(runs: int) -> dict[str, Any]:
    """The same four model calls as a 2-round session, made with the bare SDKs (no pair-lsp),
    the way pair-lsp makes them: what any tool built on these SDKs pays on top of model time."""
    import anthropic
    import openai

    prompt = "def f(x):\n    return x\n" * 150
    samples = []
    with FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE) as fake:
        worker = openai.AsyncOpenAI(base_url=fake.openai_url, api_key="x", max_retries=0)
        reviewer = anthropic.AsyncAnthropic(base_url=fake.anthropic_url, api_key="x",
                                            max_retries=0)

        async def work() -> None:
            async with worker.responses.with_streaming_response.create(
                    model="bench-worker", instructions="sys", stream=True, store=False,
                    input=[{"role": "user", "content": prompt}]) as raw:
                async for _ in raw.iter_lines():
                    pass

        async def review_call() -> None:
            async with reviewer.messages.stream(
                    model="bench-reviewer", max_tokens=2000, messages=[
                        {"role": "user", "content": prompt}], system=[
                        {"type": "text", "text": "sys",
                         "cache_control": {"type": "ephemeral"}}]) as stream:
                async for _ in stream:
                    pass
                await stream.get_final_message()

        for run in range(runs + 1):  # the first run warms connections and validators up
            fake.reset()
            _script_two_rounds(fake)
            started = time.perf_counter()
            for call in (work, review_call, work, review_call):
                await call()
            wall = time.perf_counter() - started
            if run:
                samples.append(wall - fake.model_time())
        await worker.close()
        await reviewer.close()
    return {"overhead_ms": round(median(samples) * 1000, 2), "runs": runs}


async def first_feedback(runs: int) -> dict[str, Any]:
    """Time to the first published diagnostic / time to the end of a streamed review.

    Two workloads: one-line findings (the headline number, the harder case: the review is
    short, so the model's fixed latency weighs more) and findings as long as hosted reviewers
    write them."""
    out: dict[str, Any] = {}
    for name, detailed in (("", False), ("detailed_", True)):
        ratios, firsts, totals = [], [], []
        with tempfile.TemporaryDirectory() as tmp, \
                FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE) as fake:
            client = Client(fake, Path(tmp))
            await client.start()
            try:
                text, first = document(2000)
                for run in range(runs):
                    uri = f"file:///bench/review{run}.py"
                    client.open(uri, text)
                    await client.code_action(uri, 0)  # the document is open server-side
                    fake.reset()
                    fake.script("bench-reviewer", [review("revise", n=4, detailed=detailed)])
                    client.diagnostic_times.clear()
                    started = time.perf_counter()
                    await client.command("pair.review", {"uri": uri, "range": rng(first)})
                    total = time.perf_counter() - started
                    first_diag = min(t for t, u, n in client.diagnostic_times if u == uri and n)
                    firsts.append(first_diag - started)
                    totals.append(total)
                    ratios.append((first_diag - started) / total)
            finally:
                await client.stop()
        # the same ratio over the streamed part only (after the model's first byte)
        streamed = [(f - LATENCY) / (t - LATENCY) for f, t in zip(firsts, totals, strict=True)]
        out.update({f"{name}ratio": round(median(ratios), 3),
                    f"{name}streamed_ratio": round(median(streamed), 3),
                    f"{name}first_diagnostic_s": round(median(firsts), 3),
                    f"{name}review_s": round(median(totals), 3)})
    return {**out, "findings": 4, "runs": runs}


async def responsiveness(samples: int) -> dict[str, Any]:
    """codeAction and didChange(+codeAction) latency while 8 sessions stream."""
    with tempfile.TemporaryDirectory() as tmp, \
            FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE / 4) as fake:
        client = Client(fake, Path(tmp))
        await client.start()
        try:
            text, first = document(2000)
            long_reply = "Thinking it through. " * 400 + worker_replies()[0]
            fake.script("bench-worker", [long_reply])
            fake.script("bench-reviewer", [review("approve")])
            tasks = []
            for k in range(8):
                uri = f"file:///bench/busy{k}.py"
                client.open(uri, text)
                tasks.append(asyncio.ensure_future(client.command(
                    "pair.selection", {"uri": uri, "range": rng(first)})))
            probe = "file:///bench/probe.py"
            client.open(probe, text)
            for _ in range(1000):  # until all 8 streams are open
                if fake.open_requests >= 8:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            actions, changes = [], []
            for k in range(samples):
                t0 = time.perf_counter()
                await client.code_action(probe, first + 2)
                actions.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                client.change(probe, k % 50, "# typed\n")
                await client.code_action(probe, first + 2)
                changes.append(time.perf_counter() - t0)
            running = fake.open_requests
            await client.command("pair.cancel", {})
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await client.stop()
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    return {"code_action_p50_ms": ms(percentile(actions, 50)),
            "code_action_p99_ms": ms(percentile(actions, 99)),
            "did_change_p50_ms": ms(percentile(changes, 50)),
            "did_change_p99_ms": ms(percentile(changes, 99)),
            "sessions_streaming_during_probe": running, "samples": samples}


async def cold_start(runs: int) -> dict[str, Any]:
    inits, firsts = [], []
    with tempfile.TemporaryDirectory() as tmp, FakeProcess() as fake:
        for _ in range(runs):
            client = Client(fake, Path(tmp))
            started = time.perf_counter()
            init = await client.start()
            await client.command("pair.status")
            firsts.append(time.perf_counter() - started)
            inits.append(init)
            await client.stop()
    return {"initialize_ms": round(median(inits) * 1000, 1),
            "initialize_min_ms": round(min(inits) * 1000, 1),
            "initialize_max_ms": round(max(inits) * 1000, 1),
            "first_command_ms": round(median(firsts) * 1000, 1), "runs": runs,
            "imports": _server_import_profile()}


def _server_import_profile() -> dict[str, Any]:
    """`python -X importtime` of what `pair-lsp serve` imports before it answers."""
    import os
    import subprocess
    import sys

    from bench.cli_run import import_profile

    code = ("from pair_lsp.imports import no_gc_while_loading\n"
            "with no_gc_while_loading(collect=False):\n"
            "    from pair_lsp.server.app import create_server\n"
            "create_server()\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                         capture_output=True, text=True, check=False, timeout=120)
    return import_profile(out.stderr)


async def replay(runs: int) -> dict[str, Any]:
    walls, requests = [], []
    with tempfile.TemporaryDirectory() as tmp, \
            FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE) as fake:
        client = Client(fake, Path(tmp), cache=True)
        await client.start()
        try:
            text, first = document(2000)
            _script_two_rounds(fake)
            client.open("file:///bench/replay.py", text)
            arg = {"uri": "file:///bench/replay.py", "range": rng(first)}
            await client.command("pair.selection", arg)  # fills the cache
            for _ in range(runs):
                before = len(fake.requests)
                started = time.perf_counter()
                result = await client.command("pair.selection", arg)
                walls.append(time.perf_counter() - started)
                requests.append(len(fake.requests) - before)
                assert result["status"] == "approved"
        finally:
            await client.stop()
    return {"replay_ms": round(median(walls) * 1000, 1),
            "replay_min_ms": round(min(walls) * 1000, 1),
            "replay_max_ms": round(max(walls) * 1000, 1), "http_requests": max(requests),
            "runs": runs}


async def tokens() -> dict[str, Any]:
    """Prompt/completion tokens per call, rounds 1-2, 30-line selection in a 2,000-line file."""
    with tempfile.TemporaryDirectory() as tmp, FakeProcess() as fake:
        client = Client(fake, Path(tmp))
        await client.start()
        try:
            await _two_round_session(client, fake, "file:///bench/tokens.py", 2000)
        finally:
            await client.stop()
        requests = fake.requests  # while the fake model server still runs
    calls = []
    for r in requests:
        body = r.body
        prompt_chars = len(str(body.get("system", "")) + str(body.get("instructions", "")) +
                           str(body.get("messages", "")) + str(body.get("input", "")))
        calls.append({"role": "worker" if r.model == "bench-worker" else "reviewer",
                      "api": r.api, "prompt_tokens": -(-prompt_chars // 4),
                      "completion_tokens": -(-len(r.output_text) // 4),
                      "body": body})
    out: dict[str, Any] = {"calls": []}
    for role in ("worker", "reviewer"):
        mine = [c for c in calls if c["role"] == role]
        for k, c in enumerate(mine, 1):
            prefix = 0.0
            if k > 1:
                prefix = _common_prefix_share(mine[0]["body"], c["body"])
            out["calls"].append({"role": role, "round": k, "prompt_tokens": c["prompt_tokens"],
                                 "completion_tokens": c["completion_tokens"],
                                 "stable_prefix_share": round(prefix, 3)})
    r1 = sum(c["prompt_tokens"] for c in out["calls"] if c["round"] == 1)
    r2 = sum(c["prompt_tokens"] for c in out["calls"] if c["round"] == 2)
    r2_prefix = [c["stable_prefix_share"] for c in out["calls"] if c["round"] == 2]
    out["round1_prompt_tokens"] = r1
    out["round2_prompt_tokens"] = r2
    out["round2_over_round1"] = round(r2 / r1, 3) if r1 else None
    out["round2_stable_prefix_share"] = round(min(r2_prefix), 3) if r2_prefix else None
    return out


def _common_prefix_share(first: dict[str, Any], later: dict[str, Any]) -> float:
    """Share of the later request that repeats the first request's messages exactly."""
    def flat(body: dict[str, Any]) -> list[str]:
        parts = [str(body.get("system", "")) + str(body.get("instructions", ""))]
        for m in body.get("messages", body.get("input", [])):
            parts.append(str(m.get("content")))
        return parts

    a, b = flat(first), flat(later)
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += len(x)
    total = sum(len(x) for x in b)
    return shared / total if total else 0.0


async def memory() -> dict[str, Any]:
    """Peak RSS of the server with 100 open 2,000-line documents and both SDKs loaded."""
    with tempfile.TemporaryDirectory() as tmp, FakeProcess() as fake:
        client = Client(fake, Path(tmp))
        await client.start()
        try:
            pid = client.server_pid()
            stages = {"started": _status_kb(pid, "VmRSS") if pid else None}
            text, first = document(2000)
            for k in range(100):
                client.open(f"file:///bench/mem{k}.py", text)
            await client.command("pair.status")
            stages["100 documents open"] = _status_kb(pid, "VmRSS") if pid else None
            _script_two_rounds(fake)  # one session: imports and uses both SDKs
            await client.command("pair.selection", {"uri": "file:///bench/mem0.py",
                                                    "range": rng(first)})
            await client.command("pair.status")
            peak = _status_kb(pid, "VmHWM") if pid else None
            rss = _status_kb(pid, "VmRSS") if pid else None
            stages["after a session with both SDKs"] = rss
        finally:
            await client.stop()
    return {"peak_rss_mb": round(peak / 1024, 1) if peak else None,
            "rss_mb": round(rss / 1024, 1) if rss else None, "documents": 100,
            "stages_mb": {k: round(v / 1024, 1) for k, v in stages.items() if v}}


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _stat(values: list[float], scale: float = 1000.0, digits: int = 2) -> dict[str, float]:
    return {"median": round(median(values) * scale, digits),
            "min": round(min(values) * scale, digits), "max": round(max(values) * scale, digits)}


async def parallel_reviewers(runs: int, latency: float = 1.0) -> dict[str, Any]:
    """A review round with two reviewers from different providers (Anthropic and OpenAI), each
    answering after ``latency`` seconds: the round's time at the client, and how much the two
    requests overlapped at the fake model server."""
    walls, overlaps = [], []
    with tempfile.TemporaryDirectory() as tmp, FakeProcess(latency=latency) as fake:
        client = Client(fake, Path(tmp), settings={"reviewers": [
            {"provider": "anthropic", "model": "bench-rev-a", "baseUrl": fake.anthropic_url},
            {"provider": "openai", "model": "bench-rev-o", "baseUrl": fake.openai_url}]})
        await client.start()
        try:
            text, first = document(2000)
            for run in range(runs + 1):  # the first round loads both SDKs: not reported
                uri = f"file:///bench/reviewers{run}.py"
                client.open(uri, text)
                await client.code_action(uri, 0)
                fake.reset()
                fake.script("bench-rev-a", [review("approve")])
                fake.script("bench-rev-o", [review("approve")])
                started = time.perf_counter()
                result = await client.command("pair.review", {"uri": uri, "range": rng(first)})
                wall = time.perf_counter() - started
                requests = fake.requests
                assert len(requests) == 2 and result["status"] == "approved", result
                if run:
                    walls.append(wall)
                    overlaps.append(min(r.finished for r in requests) -
                                    max(r.started for r in requests))
        finally:
            await client.stop()
    return {"round_s": _stat(walls, 1, 3), "overlap_s": _stat(overlaps, 1, 3),
            "latency_s": latency, "reviewers": 2, "runs": runs}


async def proposal(runs: int, hunks: int = 10, lines: int = 2000) -> dict[str, Any]:
    """A finished session with a ``hunks``-hunk proposal on a ``lines``-line document: the
    round trips of `pair.proposal` (what a client asks to show the proposal inline) and of
    `pair.acceptHunk` (which includes the server's workspace/applyEdit to the client)."""
    shows, accepts = [], []
    with tempfile.TemporaryDirectory() as tmp, FakeProcess() as fake:
        client = Client(fake, Path(tmp))
        await client.start()
        try:
            text, _ = document(lines)
            rows = text.split("\n")
            at = [lines // 20 + k * (lines // hunks) for k in range(hunks)]
            at = [i if not (lines // 2 - 2 <= i <= lines // 2 + 32) else i + 40 for i in at]
            blocks = "".join(block(rows[i], rows[i].replace("# filler", "# changed"))
                             for i in at)
            for run in range(runs + 1):  # the first one warms up: not reported
                uri = f"file:///bench/proposal{run}.py"
                client.open(uri, text)
                await client.code_action(uri, 0)
                fake.reset()
                fake.script("bench-worker", [f"{hunks} edits.\n" + blocks])
                fake.script("bench-reviewer", [review("approve")])
                result = await client.command("pair.document", {"uri": uri})
                assert result["status"] == "approved", result
                sid = result["sessionId"]
                for _ in range(3):
                    started = time.perf_counter()
                    shown = await client.command("pair.proposal", {"sessionId": sid})
                    if run:
                        shows.append(time.perf_counter() - started)
                assert len(shown["hunks"]) == hunks, shown["hunks"]
                started = time.perf_counter()
                accepted = await client.command("pair.acceptHunk",
                                                {"sessionId": sid, "hunk": hunks // 2})
                if run:
                    accepts.append(time.perf_counter() - started)
                assert accepted["applied"], accepted
        finally:
            await client.stop()
    return {"proposal_ms": _stat(shows), "accept_hunk_ms": _stat(accepts), "hunks": hunks,
            "lines": lines, "samples": len(shows), "runs": runs}


async def _profiled_sessions(sessions: int, lines: int) -> dict[Any, tuple[int, float, float]]:
    """Per function (calls, own s, cumulative s) of a server that ran one warm-up session (the
    SDK imports, connections) and then ``sessions`` 2-round sessions, under cProfile."""
    import pstats

    with tempfile.TemporaryDirectory() as tmp, \
            FakeProcess(latency=LATENCY, token_rate=TOKEN_RATE) as fake:
        out = Path(tmp) / "server.prof"
        client = Client(fake, Path(tmp), profile_to=out)
        await client.start()
        try:
            for run in range(sessions + 1):
                await _two_round_session(client, fake, f"file:///bench/prof{run}.py", lines)
        finally:
            await client.stop()
        for _ in range(100):  # the server writes its stats as it exits
            if out.exists() and out.stat().st_size:
                break
            await asyncio.sleep(0.1)
        if not out.exists():
            return {}
        await asyncio.sleep(0.5)
        raw = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    return {key: (calls, own, cumulative) for key, (_, calls, own, cumulative, _) in raw.items()}


async def server_profile(runs: int, lines: int = 2000, top: int = 12) -> dict[str, Any]:
    """Where the server's own time goes per 2-round session at ``lines`` lines: two servers
    under cProfile, one with a warm-up session only and one with ``runs`` more; the difference
    per session, the functions with the most time of their own (waiting excluded)."""
    base = await _profiled_sessions(0, lines)
    more = await _profiled_sessions(runs, lines)
    if not base or not more:
        return {"error": "the server wrote no profile"}
    waiting = ("select", "poll", "epoll", "acquire", "wait", "sleep", "recv", "readline",
               "read_bytes", "_run_once")
    rows = []
    for (file, line, name), (calls, own, cumulative) in more.items():
        c0, o0, cu0 = base.get((file, line, name), (0, 0.0, 0.0))
        if any(w in name for w in waiting) or calls <= c0:  # only what the sessions ran
            continue
        own_ms = (own - o0) * 1000 / runs
        where = file.split("site-packages/")[-1].split("/pair_lsp/", 1)[-1] \
            if "/pair_lsp/" in file else file.split("site-packages/")[-1]
        rows.append({"function": f"{where}:{line}({name})", "calls": round((calls - c0) / runs),
                     "own_ms": round(own_ms, 3),
                     "cumulative_ms": round((cumulative - cu0) * 1000 / runs, 2)})
    rows.sort(key=lambda r: -r["own_ms"])
    total = sum(r["own_ms"] for r in rows if r["own_ms"] > 0)
    return {"sessions": runs, "lines": lines, "own_ms_per_session": round(total, 2),
            "top": rows[:top]}
