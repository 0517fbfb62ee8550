"""The human in the loop (issue 12): steering notes, dismissing mid-session, continuing a
session from its transcript (CLI `run --resume`, and the server's pair.continue after a
restart), over real SDKs and real HTTP against the fake model server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.resume import load_state
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.runner import SessionFactory
from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.scripts import (
    APPROVE,
    BUGGY,
    REVISE_EMPTY,
    WORKER_R1,
    WORKER_R2,
    finding,
    review,
)
from tests.test_server import execute
from tests.test_trust import lsp_server

NOTE = "keep the public API: do not rename largest"


def bodies(fake: FakeModelServer, model: str) -> list[str]:
    return [json.dumps(r.body) for r in fake.requests if r.model == model]


async def run_with(fake: FakeModelServer, tmp: Path, on_event: Any) -> ev.Finished:
    settings, errors = parse_settings(pair_settings(fake, "openai", "anthropic", tmp))
    assert errors == []
    factory = SessionFactory(settings)
    session = factory.create(PairRequest(document=BUGGY, path="m.py", language_id="python"))
    session.sinks.append(lambda e: on_event(session, e))
    done = await session.result()
    await factory.aclose()
    return done


async def test_a_steering_note_reaches_the_next_worker_turn_and_the_reviewer(
        fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])

    def steer(session: Session, event: ev.Event) -> None:
        if isinstance(event, ev.Proposal) and event.round == 1:
            session.steer(NOTE)  # while round 1 is being reviewed

    done = await run_with(fake, tmp_path, steer)
    assert done.status == "approved"
    worker, reviewer = bodies(fake, "w"), bodies(fake, "r")
    assert NOTE not in worker[0] and NOTE in worker[1]
    assert NOTE not in reviewer[0] and NOTE in reviewer[1]


async def test_a_finding_dismissed_mid_session_counts_as_declined_by_the_user(
        fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1, "Kept as is.\nDECLINE F1: the user declined it"])
    fake.script("r", [REVISE_EMPTY, APPROVE])

    def dismiss(session: Session, event: ev.Event) -> None:
        if isinstance(event, ev.Reviewed) and event.round == 1:
            session.dismiss(event.findings[0], "callers never pass an empty list")

    done = await run_with(fake, tmp_path, dismiss)
    assert done.status == "approved"
    worker, reviewer = bodies(fake, "w"), bodies(fake, "r")
    assert "I decline finding F1" in worker[1] and "callers never pass an empty list" in worker[1]
    assert "The reviewer asked for changes" in worker[1]
    assert "- F1 [warning]" not in worker[1]  # not handed to the worker as work to do
    assert "I decline finding F1" in reviewer[1]


def cli_env(tmp: Path, fake: FakeModelServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    env.update(PAIR_LSP_WORKER="openai:w", PAIR_LSP_REVIEWER="anthropic:r",
               PAIR_LSP_BASE_URL=fake.url, OPENAI_API_KEY="k", ANTHROPIC_API_KEY="k",
               XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "cache"),
               XDG_CONFIG_HOME=str(tmp / "config"))
    return env


def test_cli_resume_continues_from_the_transcript_with_the_same_id(
        fake: FakeModelServer, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text(BUGGY)
    env = cli_env(tmp_path, fake)
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pair_lsp", "run", *args], cwd=work,
                              env=env, capture_output=True, text=True, timeout=120, check=False)

    first = cli("m.py", "--max-rounds", "1", "--no-cache")
    assert first.returncode == 2, first.stderr  # not approved after 1 round
    transcripts = tmp_path / "state" / "pair-lsp" / "transcripts"
    (sid,) = {p.stem.rsplit("-", 1)[1] for p in transcripts.glob("*.jsonl")}
    state = load_state(transcripts, sid)
    assert state.rounds == 1 and state.candidate and "values[0]" in state.candidate
    assert [f.message for f in state.findings] == ["an empty list raises IndexError"]

    again = cli("--resume", sid, "-m", NOTE, "--no-cache")
    assert again.returncode == 0, again.stderr
    assert "raise ValueError" in again.stdout  # the approved diff
    worker = bodies(fake, "w")[-1]
    assert NOTE in worker and "an empty list raises IndexError" in worker
    files = sorted(transcripts.glob(f"*-{sid}.jsonl"))
    assert len(files) == 2  # the same session id, continued
    started = json.loads(files[1].read_text().splitlines()[0])
    assert started["session_id"] == sid
    missing = cli("--resume", "nosuchsession")
    assert missing.returncode != 0 and "no transcript of session nosuchsession" in missing.stderr


async def test_server_steer_and_continue_after_a_restart(fake: FakeModelServer,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(BUGGY)
    uri = path.as_uri()
    init = pair_settings(fake, "openai", "anthropic", tmp_path, maxRounds=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    fake.script("w", [WORKER_R1, WORKER_R2])
    fake.script("r", [REVISE_EMPTY, APPROVE])
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=BUGGY)
    async with lsp_server(init, env, None) as client:
        client.text_document_did_open(types.DidOpenTextDocumentParams(item))
        result = await execute(client, "pair.document", {"uri": uri})
        sid = result["sessionId"]
        assert result["status"] == "exhausted"
        assert await execute(client, "pair.steer", {"sessionId": sid, "message": NOTE}) == \
            {"ok": True}
    async with lsp_server(init, env, None) as client:  # a new server: it knows no sessions
        client.text_document_did_open(types.DidOpenTextDocumentParams(item))
        result = await execute(client, "pair.continue", {"sessionId": sid, "rounds": 1,
                                                         "instruction": "also guard []"})
        assert result["sessionId"] == sid and result["status"] == "approved"
        worker = bodies(fake, "w")[-1]
        assert "an empty list raises IndexError" in worker and "also guard []" in worker
        # an unknown session with no transcript is an error that says why
        with pytest.raises(JsonRpcInvalidParams, match="no transcript of session nosuch"):
            await execute(client, "pair.continue", {"sessionId": "nosuchsession"})


def test_the_transcript_renders_reviewers_proof_and_notes() -> None:
    from pair_lsp.transcript import render_markdown

    text = render_markdown([
        {"type": "steered", "round": 1, "note": NOTE},
        {"type": "proof_ran", "round": 1, "command": ["pytest", "-q"], "exit_code": 1,
         "seconds": 2.1, "output": "1 failed", "timed_out": False, "error": "",
         "passed": False, "message": "proof: failed, exit 1 (2.1 s)"},
        {"type": "reviewer_verdict", "round": 1, "model": "anthropic:r", "verdict": "revise",
         "summary": "s", "findings": 1},
        {"type": "reviewed", "round": 1, "verdict": "revise", "summary": "",
         "findings": [{"id": "F1", "severity": "error", "message": "m", "quote": "q",
                       "line": 2, "suggestion": None, "agreement": "2/2"}]}])
    assert NOTE in text and "proof: failed, exit 1 (2.1 s)" in text and "1 failed" in text
    assert "`anthropic:r`: **revise**" in text and "(2/2 reviewers)" in text


async def test_server_steer_and_dismiss_reach_a_running_session(fake: FakeModelServer,
                                                                tmp_path: Path) -> None:
    from pair_lsp.testing.fake_server import Reply
    from tests.test_server import until

    path = tmp_path / "m.py"
    path.write_text(BUGGY)
    uri = path.as_uri()
    init = pair_settings(fake, "openai", "anthropic", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    fake.script("w", [Reply(WORKER_R1, delay=2.0), Reply(WORKER_R2, delay=2.0),
                      "Kept.\nDECLINE F1: the user declined it"])
    fake.script("r", [REVISE_EMPTY, review("revise", finding("F1", "raise ValueError",
                                                             "say which argument was empty")),
                      APPROVE])
    async with lsp_server(init, env, None) as client:
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=BUGGY)))
        running = asyncio.create_task(execute(client, "pair.document", {"uri": uri}))
        await until(lambda: fake.open_requests == 1, wait=60)  # round 1's worker call
        status = await execute(client, "pair.status")
        sid = status["sessions"][0]["sessionId"]
        assert await execute(client, "pair.steer", {"sessionId": sid, "message": NOTE}) == \
            {"ok": True}
        await until(lambda: len([r for r in fake.requests if r.model == "w"]) == 2
                    and fake.open_requests == 1, wait=60)  # round 2's worker call
        shown = client.diagnostics.get(uri) or []
        assert [d.code for d in shown] == ["F1"]
        assert await execute(client, "pair.dismiss", {
            "uri": uri, "findingId": "F1", "sessionId": sid,
            "reason": "callers never pass an empty list"}) == {"dismissed": True}
        result = await running
        assert result["status"] == "approved"
    w = bodies(fake, "w")
    assert NOTE not in w[0] and NOTE in w[1]
    assert "I decline finding F1" in w[2] and "callers never pass an empty list" in w[2]
