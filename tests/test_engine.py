"""Engine scenarios over real SDKs and real HTTP against the scripted fake model server.

Each scenario runs with each SDK in each role (PROVIDER_PAIRS).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.session import PairRequest
from pair_lsp.runner import SessionFactory
from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.conftest import PROVIDER_PAIRS, pair_settings
from tests.scripts import (
    APPROVE,
    BUGGY,
    FIXED,
    REVISE_EMPTY,
    WORKER_R1,
    WORKER_R2,
    block,
    finding,
    review,
)

pytestmark = pytest.mark.parametrize("pair", PROVIDER_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")


async def run(fake: FakeModelServer, pair: tuple[str, str], tmp: Path,
              document: str = BUGGY, **extra: Any) -> tuple[ev.Finished, list[ev.Event],
                                                           SessionFactory]:
    settings, errors = parse_settings(pair_settings(fake, pair[0], pair[1], tmp, **extra))
    assert errors == []
    factory = SessionFactory(settings)
    session = factory.create(PairRequest(document=document, path="m.py", language_id="python"))
    events: list[ev.Event] = []
    async for event in session.run():
        events.append(event)
    await factory.aclose()
    finished = events[-1]
    assert isinstance(finished, ev.Finished)
    for event in events:
        json.dumps(event.to_json())  # every event is well-formed JSON
    return finished, events, factory


async def test_approve_in_round_one(fake: FakeModelServer, pair: tuple[str, str],
                                    tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    done, _, _ = await run(fake, pair, tmp_path)
    assert (done.status, done.reason, done.rounds) == ("approved", "approved", 1)
    assert done.new_document == BUGGY.replace("best = 0", "best = values[0]")
    assert "-    best = 0\n+    best = values[0]\n" in done.diff
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert len(fake.requests) == 2


async def test_revise_then_approve(fake: FakeModelServer, pair: tuple[str, str],
                                   tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    done, events, _ = await run(fake, pair, tmp_path)
    assert (done.status, done.rounds) == ("approved", 2)
    assert done.new_document == FIXED
    reviewer_round2 = [r for r in fake.requests if r.model == "r"][1]
    # the reviewer's second request carries the revised candidate
    assert "values[1:]" in json.dumps(reviewer_round2.body)
    # the worker's second request carries the finding
    worker_round2 = [r for r in fake.requests if r.model == "w"][1]
    assert "an empty list raises IndexError" in json.dumps(worker_round2.body)
    found = [e for e in events if isinstance(e, ev.FindingFound)]
    assert [f.finding.id for f in found if not f.partial] == ["F1"]
    assert {f.finding.id for f in found if f.partial} <= {"F1"}  # early, before the suggestion


async def test_worker_declines_with_reason(fake: FakeModelServer, pair: tuple[str, str],
                                           tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, "DECLINE F1: callers never pass an empty list"])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    done, events, _ = await run(fake, pair, tmp_path)
    assert done.status == "approved"
    declined = [e for e in events if isinstance(e, ev.Declined)]
    assert declined and declined[0].finding_id == "F1"
    reviewer_round2 = [r for r in fake.requests if r.model == "r"][1]
    assert "callers never pass an empty list" in json.dumps(reviewer_round2.body)


async def test_max_rounds_exhausted(fake: FakeModelServer, pair: tuple[str, str],
                                    tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, block("    return best", "    return best  # checked"),
                      block("    return best  # checked", "    return best  # really")])
    fake.script("r", [review("revise", finding("F1", "best", "issue one")),
                      review("revise", finding("F1", "best", "issue two")),
                      review("revise", finding("F1", "best", "issue three"))])
    done, _, _ = await run(fake, pair, tmp_path, maxRounds=3)
    assert (done.status, done.reason, done.rounds) == ("exhausted", "max_rounds", 3)
    assert done.new_document is not None and "# really" in done.new_document
    assert [f.message for f in done.findings] == ["issue three"]  # the last review's


async def test_same_findings_stop(fake: FakeModelServer, pair: tuple[str, str],
                                  tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, block("    return best", "    return best  # x")])
    fake.script("r", [REVISE_EMPTY])  # the same finding every round
    done, _, _ = await run(fake, pair, tmp_path, maxRounds=5)
    assert (done.status, done.reason, done.rounds) == ("exhausted", "same_findings", 2)


async def test_oscillation_stop(fake: FakeModelServer, pair: tuple[str, str],
                                tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, block("    best = values[0]", "    best = values[-1]"),
                      block("    best = values[-1]", "    best = values[0]")])
    fake.script("r", [review("revise", finding("F1", "best", "a")),
                      review("revise", finding("F1", "best", "b")),
                      review("revise", finding("F1", "best", "c"))])
    done, _, _ = await run(fake, pair, tmp_path, maxRounds=5)
    assert (done.status, done.reason) == ("exhausted", "oscillation")


async def test_search_not_found_gets_feedback_then_success(
        fake: FakeModelServer, pair: tuple[str, str], tmp_path: Path) -> None:
    fake.script("w", [block("    best = 1", "    best = values[0]"), WORKER_R1])
    fake.script("r", [APPROVE])
    done, events, _ = await run(fake, pair, tmp_path)
    assert done.status == "approved" and done.new_document == BUGGY.replace(
        "best = 0", "best = values[0]")
    retry = [r for r in fake.requests if r.model == "w"][1]
    body = json.dumps(retry.body)
    assert "did not match" in body and "best = 1" in body
    assert any(isinstance(e, ev.Notice) and "did not apply" in e.message for e in events)


async def test_malformed_review_repaired(fake: FakeModelServer, pair: tuple[str, str],
                                         tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", ['{"verdict": "looks good", "summary": "ok", "findings": []}', APPROVE])
    done, _, _ = await run(fake, pair, tmp_path)
    assert done.status == "approved"
    repair = [r for r in fake.requests if r.model == "r"][1]
    assert "could not be read" in json.dumps(repair.body)


async def test_malformed_review_twice_fails_clearly(fake: FakeModelServer, pair: tuple[str, str],
                                                    tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", ["I think it looks fine!"])
    done, _, _ = await run(fake, pair, tmp_path)
    assert done.status == "failed"
    assert "reviewer's reply could not be read" in done.reason
    assert "no JSON object" in done.reason


async def test_429_with_retry_after_is_retried(fake: FakeModelServer, pair: tuple[str, str],
                                               tmp_path: Path) -> None:
    fake.script("w", [Reply(fault="429", retry_after=0.2), WORKER_R1])
    fake.script("r", [APPROVE])
    done, _, _ = await run(fake, pair, tmp_path)
    assert done.status == "approved"
    assert [r.status for r in fake.requests if r.model == "w"] == [429, 200]


async def test_repeated_500_fails_clearly(fake: FakeModelServer, pair: tuple[str, str],
                                          tmp_path: Path) -> None:
    fake.script("w", [Reply(fault="500", retry_after=0.05)])
    done, _, _ = await run(fake, pair, tmp_path)
    assert done.status == "failed"
    assert "HTTP 500" in done.reason and "retries ran out" in done.reason
    assert len([r for r in fake.requests if r.model == "w"]) == 3  # 1 + maxRetries


async def test_disconnect_mid_stream_is_retried(fake: FakeModelServer, pair: tuple[str, str],
                                                tmp_path: Path) -> None:
    fake.script("w", [Reply(text=WORKER_R1, fault="disconnect", disconnect_after=10), WORKER_R1])
    fake.script("r", [APPROVE])
    done, events, _ = await run(fake, pair, tmp_path)
    assert done.status == "approved"
    assert any(isinstance(e, ev.Notice) and "retrying" in e.message for e in events)
    assert fake.wait_idle(5)


async def test_disconnect_twice_fails_clearly(fake: FakeModelServer, pair: tuple[str, str],
                                              tmp_path: Path) -> None:
    fake.script("w", [Reply(text=WORKER_R1, fault="disconnect", disconnect_after=10)])
    done, _, _ = await run(fake, pair, tmp_path)
    assert done.status == "failed" and "dropped mid-reply" in done.reason


async def test_cancel_mid_stream_closes_the_request(fake: FakeModelServer, pair: tuple[str, str],
                                                    tmp_path: Path) -> None:
    fake.script("w", [Reply(text=WORKER_R1, fault="stall", disconnect_after=8)])
    settings, _ = parse_settings(pair_settings(fake, pair[0], pair[1], tmp_path))
    factory = SessionFactory(settings)
    session = factory.create(PairRequest(document=BUGGY, path="m.py"))
    events: list[ev.Event] = []

    async def consume() -> None:
        async for event in session.run():
            events.append(event)
            if isinstance(event, ev.StreamProgress) or (
                    isinstance(event, ev.RoundStarted) and fake.open_requests):
                pass

    task = asyncio.create_task(consume())
    for _ in range(200):  # wait until the stream is open and has sent text
        await asyncio.sleep(0.02)
        if fake.open_requests and session.tokens > 0:
            break
    assert fake.open_requests == 1
    session.cancel()
    await asyncio.wait_for(task, 5)
    done = events[-1]
    assert isinstance(done, ev.Finished) and done.status == "cancelled"
    assert await asyncio.to_thread(fake.wait_idle, 5)
    await factory.aclose()


async def test_identical_second_run_makes_no_requests(fake: FakeModelServer,
                                                      pair: tuple[str, str],
                                                      tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    cache = {"enabled": True, "directory": str(tmp_path / "cache")}
    first, _, _ = await run(fake, pair, tmp_path, cache=cache)
    count = len(fake.requests)
    assert count == 4
    second, events, _ = await run(fake, pair, tmp_path, cache=cache)
    assert len(fake.requests) == count  # zero HTTP requests
    assert second.new_document == first.new_document == FIXED
    assert all(e.from_cache for e in events if isinstance(e, ev.CallUsage))


async def test_budget_stops_the_session(fake: FakeModelServer, pair: tuple[str, str],
                                        tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    done, _, factory = await run(fake, pair, tmp_path, maxTokens=50)
    assert (done.status, done.reason) == ("exhausted", "budget")
    assert done.round_tokens and done.round_tokens[0] > 50
    # the transcript says how many tokens each round used
    transcript = next(iter(factory.transcripts.values()))
    assert transcript.wait_written(5)
    md = transcript.markdown_path.read_text()
    assert "round 1:" in md and "Result: exhausted (budget)" in md


async def test_transcript_has_every_event_and_no_key(fake: FakeModelServer,
                                                     pair: tuple[str, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SECRET_KEY", "sk-test-SECRETVALUE123")
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    settings = pair_settings(fake, pair[0], pair[1], tmp_path)
    settings["worker"]["apiKeyEnv"] = "FAKE_SECRET_KEY"
    settings["reviewer"]["apiKeyEnv"] = "FAKE_SECRET_KEY"
    parsed, _ = parse_settings(settings)
    factory = SessionFactory(parsed)
    done = await factory.create(PairRequest(document=BUGGY, path="m.py")).result()
    await factory.aclose()
    assert done.status == "approved"
    transcript = next(iter(factory.transcripts.values()))
    assert transcript.wait_written(5)
    lines = [json.loads(x) for x in transcript.jsonl_path.read_text().splitlines()]
    kinds = [x["type"] for x in lines]
    for kind in ("session_started", "round_started", "proposal", "reviewed", "call_usage",
                 "model_reply", "finished"):
        assert kind in kinds
    usage = [x for x in lines if x["type"] == "call_usage"]
    assert all("latency_ms" in u and u["usage"]["input_tokens"] > 0 for u in usage)
    everything = transcript.jsonl_path.read_text() + transcript.markdown_path.read_text()
    assert "SECRETVALUE123" not in everything
    # the key reached the server (so it was used) but never the transcript
    assert any(r.headers.get("x-api-key") or r.headers.get("authorization")
               for r in fake.requests)


async def test_cancel_before_the_first_step_still_finishes(fake: FakeModelServer,
                                                           pair: tuple[str, str],
                                                           tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    settings, _ = parse_settings(pair_settings(fake, pair[0], pair[1], tmp_path))
    factory = SessionFactory(settings)
    # cancelled before it runs at all
    early = factory.create(PairRequest(document=BUGGY, path="m.py"))
    early.cancel()
    done = await asyncio.wait_for(early.result(), 10)
    assert (done.status, done.reason) == ("cancelled", "cancelled")
    # cancelled once its drive task exists, before that task's first step
    session = factory.create(PairRequest(document=BUGGY, path="m.py"))
    task = asyncio.create_task(session.result())
    await asyncio.sleep(0)  # result() starts and creates the drive task; the task has not run
    session.cancel()
    done = await asyncio.wait_for(task, 10)
    assert (done.status, done.reason) == ("cancelled", "cancelled")
    assert fake.requests == []
    await factory.aclose()
