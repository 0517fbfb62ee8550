"""Several reviewers in one round (issue 12): concurrent, all must approve, merged findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.protocol import Finding, Verdict
from pair_lsp.loop.reviewers import merge_verdicts
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.runner import SessionFactory
from pair_lsp.server.outcome import progress_text
from pair_lsp.server.sessions import Record
from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.conftest import pair_settings, role
from tests.scripts import APPROVE, BUGGY, WORKER_R1, WORKER_R2, finding, review

ORDERS = [("anthropic", "openai"), ("openai", "anthropic")]


async def run(fake: FakeModelServer, tmp: Path, orders: tuple[str, str],
              **extra: Any) -> tuple[ev.Finished, list[ev.Event], Session]:
    data = pair_settings(fake, "openai-chat", "openai", tmp, **extra)
    data["reviewers"] = [role(fake, orders[0], "r1"), role(fake, orders[1], "r2")]
    settings, errors = parse_settings(data)
    assert errors == []
    factory = SessionFactory(settings)
    session = factory.create(PairRequest(document=BUGGY, path="m.py", language_id="python"))
    events = [e async for e in session.run()]
    await factory.aclose()
    for event in events:
        json.dumps(event.to_json())
    assert isinstance(events[-1], ev.Finished)
    return events[-1], events, session


@pytest.mark.parametrize("orders", ORDERS, ids=lambda o: "-".join(o))
async def test_reviewers_run_concurrently_and_all_must_approve(
        fake: FakeModelServer, tmp_path: Path, orders: tuple[str, str]) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r1", [Reply(APPROVE, delay=1.0)])
    fake.script("r2", [Reply(review("revise", finding("F1", "best = values[0]",
                                                      "an empty list raises IndexError")),
                             delay=1.0), Reply(APPROVE, delay=1.0)])
    done, events, session = await run(fake, tmp_path, orders)
    # round 1: r1 approved, r2 asked for a revision -> not approved; round 2: both approve
    assert (done.status, done.rounds) == ("approved", 2)
    by_model = {m: [r for r in fake.requests if r.model == m] for m in ("r1", "r2")}
    assert len(by_model["r1"]) == 2 and len(by_model["r2"]) == 2
    for a, b in zip(by_model["r1"], by_model["r2"], strict=True):
        assert a.started < b.finished and b.started < a.finished  # the intervals overlap
    verdicts = [e for e in events if isinstance(e, ev.ReviewerVerdict)]
    assert [(v.round, v.model, v.verdict) for v in verdicts[:2]] == \
        [(1, f"{orders[0]}:r1", "approve"), (1, f"{orders[1]}:r2", "revise")]
    reviewed = [e for e in events if isinstance(e, ev.Reviewed)]
    assert reviewed[0].verdict == "revise" and reviewed[1].verdict == "approve"
    started = [e for e in events if isinstance(e, ev.RoundStarted) and e.role == "reviewer"]
    assert {e.model for e in started} == {f"{orders[0]}:r1", f"{orders[1]}:r2"}
    # progress names every reviewer of the round
    record = Record(session=session, uri="file:///m.py", version=1, document=BUGGY, start=0,
                    end=len(BUGGY), first_line=1)
    assert "reviewer (r1, r2)" in progress_text(record)
    # each reviewer has its own conversation: r2's second request holds its own first reply
    assert "an empty list raises IndexError" in json.dumps(by_model["r2"][1].body)
    assert "an empty list raises IndexError" not in json.dumps(by_model["r1"][1].body)


async def test_merged_findings_show_agreement_and_reach_the_worker_once(
        fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r1", [review("revise", finding("F1", "best = values[0]",
                                                "An empty list raises IndexError here")),
                       APPROVE])
    fake.script("r2", [review("revise",
                              finding("F1", "best = values[0]", "empty list raises IndexError",
                                      severity="error"),
                              finding("F2", "for v in values:", "iterates the first value "
                                      "twice")), APPROVE])
    done, events, _ = await run(fake, tmp_path, ORDERS[0])
    assert done.status == "approved"
    first = next(e for e in events if isinstance(e, ev.Reviewed))
    assert [(f.id, f.agreement, f.severity) for f in first.findings] == \
        [("F1", "2/2", "error"), ("F2", "1/2", "warning")]
    assert first.findings[0].to_json()["agreement"] == "2/2"
    worker_r2 = json.dumps([r for r in fake.requests if r.model == "w"][1].body)
    assert worker_r2.lower().count("raises indexerror") == 1


async def test_self_review_adds_the_workers_model(fake: FakeModelServer,
                                                  tmp_path: Path) -> None:
    settings, errors = parse_settings(pair_settings(fake, "openai", "anthropic", tmp_path,
                                                    selfReview=True))
    assert errors == []
    assert [r.model for r in settings.review_roles()] == ["r", "w"]
    fake.script("w", [WORKER_R1, review("revise", finding("F1", "best = values[0]",
                                                          "my own change breaks []"))])
    fake.script("r", [APPROVE])
    factory = SessionFactory(settings)
    done = await factory.create(PairRequest(document=BUGGY, path="m.py")).result()
    await factory.aclose()
    assert done.status != "approved"  # the worker's own review said revise
    worker_requests = [r for r in fake.requests if r.model == "w"]
    assert any("You are the reviewer" in json.dumps(r.body) for r in worker_requests)


def test_settings_reviewers_strings_and_tables() -> None:
    settings, errors = parse_settings({"reviewers": ["anthropic:claude-x",
                                                     {"provider": "openai"}, "bogus:x", 3]})
    assert [(r.provider, r.model) for r in settings.reviewers] == \
        [("anthropic", "claude-x"), ("openai", "gpt-5-codex")]
    assert len(errors) == 2 and "reviewers[2]" in errors[0] and "reviewers[3]" in errors[1]


def test_one_reviewer_is_unchanged_and_findings_from_one_reviewer_never_merge() -> None:
    one = Verdict("revise", "s", [Finding("F1", "m", quote="q")])
    assert merge_verdicts([one], ["a"]) is one
    twice = Verdict("revise", "s", [Finding("F1", "same thing", quote="q"),
                                    Finding("F2", "same thing", quote="q")])
    merged = merge_verdicts([twice, Verdict("approve", "ok", [])], ["a", "b"])
    assert merged.verdict == "revise"
    assert [(f.id, f.agreement) for f in merged.findings] == [("F1", "1/2"), ("F2", "1/2")]
