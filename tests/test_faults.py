"""Streams that break after they started, replies cut short, what a failure leaves behind, and
the request fields that differ across the SDK versions the dependency ranges allow.

Real SDKs over real HTTP against the scripted fake model server, each provider in each role.
scripts/test-sdk-range.sh runs this module with the lowest SDKs too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop import session as session_module
from pair_lsp.loop.session import PairRequest
from pair_lsp.runner import SessionFactory
from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.conftest import PROVIDER_PAIRS, pair_settings
from tests.scripts import APPROVE, BUGGY, REVISE_EMPTY, WORKER_R1, finding, review

PAIRS = pytest.mark.parametrize("pair", PROVIDER_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
ROLES = pytest.mark.parametrize("role", ["worker", "reviewer"])


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "RETRY_DELAY", 0.01)


async def run(fake: FakeModelServer, pair: tuple[str, str], tmp: Path,
              **extra: Any) -> tuple[ev.Finished, list[ev.Event]]:
    settings, errors = parse_settings(pair_settings(fake, pair[0], pair[1], tmp, **extra))
    assert errors == []
    factory = SessionFactory(settings)
    session = factory.create(PairRequest(document=BUGGY, path="m.py", language_id="python"))
    events = [e async for e in session.run()]
    await factory.aclose()
    done = events[-1]
    assert isinstance(done, ev.Finished)
    assert fake.wait_idle(5)
    return done, events


def notices(events: list[ev.Event]) -> list[str]:
    return [e.message for e in events if isinstance(e, ev.Notice)]


# a disconnect after the first text, a malformed event mid-stream, a stream whose first event
# is not JSON: each once, then a good reply
ONCE = {
    "disconnect": Reply(fault="disconnect", disconnect_after=10),
    "disconnect_before_text": Reply(fault="disconnect", disconnect_after=0),
    "malformed_event": Reply(fault="malformed_event", disconnect_after=30),
    "malformed_first_event": Reply(fault="malformed"),
}


@PAIRS
@ROLES
@pytest.mark.parametrize("fault", list(ONCE))
async def test_a_stream_broken_once_is_retried(fake: FakeModelServer, pair: tuple[str, str],
                                               role: str, fault: str, tmp_path: Path) -> None:
    good = {"worker": WORKER_R1, "reviewer": APPROVE}
    broken = Reply(text=good[role], fault=ONCE[fault].fault,
                   disconnect_after=ONCE[fault].disconnect_after)
    fake.script("w", [broken, WORKER_R1] if role == "worker" else [WORKER_R1])
    fake.script("r", [broken, APPROVE] if role == "reviewer" else [APPROVE])
    done, events = await run(fake, pair, tmp_path)
    assert (done.status, done.reason) == ("approved", "approved"), done.reason
    model = role[0]
    assert len([r for r in fake.requests if r.model == model]) == 2
    assert any(f"the {role}'s reply broke off" in n and "retrying" in n for n in notices(events))


@PAIRS
@ROLES
async def test_a_persistent_break_fails_after_max_retries(
        fake: FakeModelServer, pair: tuple[str, str], role: str, tmp_path: Path) -> None:
    fake.script("w", [Reply(text=WORKER_R1, fault="malformed_event", disconnect_after=5)]
                if role == "worker" else [WORKER_R1])
    fake.script("r", [Reply(text=APPROVE, fault="malformed_event", disconnect_after=5)]
                if role == "reviewer" else [APPROVE])
    done, events = await run(fake, pair, tmp_path)
    assert done.status == "failed"
    assert done.reason.startswith(f"{role} failed: ") and "malformed stream event" in done.reason
    # 1 + maxRetries (2) calls, each with a growing pause
    assert len([r for r in fake.requests if r.model == role[0]]) == 3
    retries = [n for n in notices(events) if "retrying in" in n]
    assert len(retries) == 2 and "(1/2)" in retries[0] and "(2/2)" in retries[1]


@PAIRS
async def test_findings_streamed_before_a_break_are_not_repeated(
        fake: FakeModelServer, pair: tuple[str, str], tmp_path: Path) -> None:
    text = review("revise", finding("F1", "best = values[0]", "an empty list raises"),
                  finding("F2", "return best", "the name could be clearer", line=7))
    cut = text.index('"F2"') + 30  # F1 is whole, F2 is partial when the stream breaks
    fake.script("w", [WORKER_R1, "DECLINE F1: no\nDECLINE F2: no"])
    fake.script("r", [Reply(text=text, fault="disconnect", disconnect_after=cut), text,
                      APPROVE])
    done, events = await run(fake, pair, tmp_path)
    assert done.status == "approved"
    round1 = [(e.finding.id, e.partial) for e in events
              if isinstance(e, ev.FindingFound) and e.round == 1]
    assert sorted(round1) == sorted(set(round1))  # nothing reported twice
    assert [fid for fid, partial in round1 if not partial] == ["F1", "F2"]


@PAIRS
async def test_a_failed_reviewer_leaves_the_candidate_as_a_proposal(
        fake: FakeModelServer, pair: tuple[str, str], tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", [Reply(fault="500", retry_after=0.01)])
    done, events = await run(fake, pair, tmp_path)
    assert done.status == "failed" and done.reason.startswith("reviewer failed: ")
    assert done.edits and done.new_document == BUGGY.replace("best = 0", "best = values[0]")
    assert "+    best = values[0]" in done.diff
    assert "the worker's edit is kept as an unapproved proposal" in notices(events)


@PAIRS
async def test_a_failed_worker_leaves_no_proposal(fake: FakeModelServer, pair: tuple[str, str],
                                                  tmp_path: Path) -> None:
    fake.script("w", [Reply(fault="500", retry_after=0.01)])
    fake.script("r", [APPROVE])
    done, _ = await run(fake, pair, tmp_path)
    assert done.status == "failed" and not done.edits and done.new_document is None


@PAIRS
@ROLES
async def test_a_reply_cut_at_the_token_cap_is_never_cached(
        fake: FakeModelServer, pair: tuple[str, str], role: str, tmp_path: Path) -> None:
    capped = {"worker": Reply(text=WORKER_R1, fault="max_tokens"),
              "reviewer": Reply(text=REVISE_EMPTY, fault="max_tokens")}
    fake.script("w", [capped["worker"] if role == "worker" else WORKER_R1])
    fake.script("r", [capped["reviewer"]] if role == "reviewer" else [APPROVE])
    cache = {"enabled": True, "directory": str(tmp_path / "cache")}
    settings = pair_settings(fake, pair[0], pair[1], tmp_path, cache=cache, maxRounds=1)
    settings[role]["maxOutputTokens"] = 512
    for attempt in (1, 2):
        parsed, _ = parse_settings(settings)
        factory = SessionFactory(parsed)
        session = factory.create(PairRequest(document=BUGGY, path="m.py"))
        events = [e async for e in session.run()]
        await factory.aclose()
        assert f"the {role}'s reply was cut at its 512-token limit" in notices(events)
        calls = {m: len([r for r in fake.requests if r.model == m]) for m in "wr"}
        # the cut role asks the model again; the other role's whole reply came from the cache
        assert calls[role[0]] == attempt and calls["wr".replace(role[0], "")] == 1


async def test_no_change_in_round_one_is_not_reviewed(fake: FakeModelServer,
                                                      tmp_path: Path) -> None:
    fake.script("w", ["The code is fine as it is; nothing to change."])
    fake.script("r", [APPROVE])
    done, _ = await run(fake, ("openai", "anthropic"), tmp_path)
    assert (done.status, done.reason) == ("no_change", "the worker proposed no change")
    assert not done.edits and done.new_document is None
    assert [r.model for r in fake.requests] == ["w"]  # the reviewer was never asked


def test_cli_exit_code_for_no_change(fake: FakeModelServer, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    fake.script("w", ["Nothing to change."])
    fake.script("r", [APPROVE])
    target = tmp_path / "m.py"
    target.write_text(BUGGY)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = subprocess.run(
        [sys.executable, "-m", "pair_lsp", "run", str(target), "--worker", "openai:w",
         "--worker-url", fake.openai_url, "--reviewer", "anthropic:r", "--reviewer-url",
         fake.anthropic_url], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 2, out.stderr
    assert "no_change" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


@PAIRS
async def test_a_lone_surrogate_in_a_stream_is_replaced(
        fake: FakeModelServer, pair: tuple[str, str], tmp_path: Path) -> None:
    # json.dumps writes the lone surrogate as "\ud83d" in the SSE data, as the JSON spec allows
    fake.script("w", ["Done \ud83d.\n" + WORKER_R1, "DECLINE F1: it is fine"])
    fake.script("r", [review("revise", finding("F1", "best", "odd \udc00 char")), APPROVE])
    done, events = await run(fake, pair, tmp_path, maxRounds=2)
    assert done.status in ("approved", "exhausted")
    replies = [e.text for e in events if isinstance(e, ev.ModelReply)]
    assert "Done \ufffd." in replies[0]
    # the reviewer's JSON escapes a lone surrogate: it is replaced where the JSON is decoded
    reviewed = [e for e in events if isinstance(e, ev.Reviewed)]
    assert reviewed[0].findings[0].message == "odd \ufffd char"
    for event in events:  # every event encodes as UTF-8
        json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8")


@PAIRS
async def test_a_user_set_temperature_reaches_the_model(
        fake: FakeModelServer, pair: tuple[str, str], tmp_path: Path) -> None:
    # anthropic 2.x takes no `temperature` keyword (and 0.70 no `output_config`): fields the
    # installed SDK lacks still reach the API
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    settings = pair_settings(fake, pair[0], pair[1], tmp_path)
    settings["worker"]["temperature"] = 0.3
    settings["reviewer"]["temperature"] = 0.7
    parsed, errors = parse_settings(settings)
    assert errors == []
    factory = SessionFactory(parsed)
    done = await factory.create(PairRequest(document=BUGGY, path="m.py")).result()
    await factory.aclose()
    assert done.status == "approved", done.reason
    assert [(r.model, r.body.get("temperature")) for r in fake.requests] == [("w", 0.3),
                                                                             ("r", 0.7)]
    reviewer = fake.requests[1].body
    assert "output_config" in reviewer or "text" in reviewer or "response_format" in reviewer


def test_doctor_calls_anthropic(fake: FakeModelServer, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    fake.script("w", ["OK"])
    fake.script("r", ["OK"])
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PAIR_LSP_WORKER="anthropic:w", PAIR_LSP_REVIEWER="anthropic:r",
               PAIR_LSP_BASE_URL=fake.anthropic_url, ANTHROPIC_API_KEY="sk-test",
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-m", "pair_lsp", "doctor", "--json"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert all(report["roles"][r]["answers"] is True for r in ("worker", "reviewer"))
    assert all(r.body.get("temperature") == 0.0 for r in fake.requests)


@pytest.mark.local_model
@pytest.mark.timeout(600)
@pytest.mark.parametrize("cap, cut", [({"maxOutputTokens": 16}, "at its 16-token limit"),
                                      ({"timeout": 0.001}, "at the 0.001 s time limit")])
async def test_a_local_reply_cut_by_its_caps_says_so(cap: dict[str, Any], cut: str) -> None:
    pytest.importorskip("llama_cpp", reason="needs the [local] extra")
    from pair_lsp.config import RoleConfig
    from pair_lsp.providers.base import Message, ModelRequest, Usage
    from pair_lsp.providers.local import LocalProvider

    provider = LocalProvider(RoleConfig(**{"provider": "local", "model": "smollm2-135m",
                                           "maxOutputTokens": 400, **cap}))
    request = ModelRequest(role="worker", system="You write long stories.",
                           messages=(Message("user", "Tell a long story about a dragon."),),
                           max_output_tokens=400)
    items = [item async for item in provider.stream(request)]
    assert isinstance(items[-1], Usage) and items[-1].truncated == cut
