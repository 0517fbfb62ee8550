"""The plan step (issue 12): round 0 writes a reviewed plan that opens every later prompt;
planApproval = ask waits for the user. Both provider orders, real SDKs, the fake model server."""

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
from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.scripts import APPROVE, BUGGY, WORKER_R1, finding, review

ORDERS = [("openai", "anthropic"), ("anthropic", "openai")]
PLAN1 = "## Plan\n1. Start from the first value.\n"
PLAN2 = "```markdown\n## Plan\n1. Start from the first value.\n2. Check with an empty list.\n```"
PLAN2_TEXT = "## Plan\n1. Start from the first value.\n2. Check with an empty list."
REVISE_PLAN = review("revise", finding("F1", "1. Start from the first value.",
                                       "the plan never checks the empty list", line=2))


def factory_for(fake: FakeModelServer, tmp: Path, order: tuple[str, str],
                **extra: Any) -> SessionFactory:
    settings, errors = parse_settings(pair_settings(fake, order[0], order[1], tmp, **extra))
    assert errors == []
    return SessionFactory(settings, workspace=tmp)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(o))
async def test_plan_revised_then_approved_then_code_approved(
        fake: FakeModelServer, tmp_path: Path, order: tuple[str, str]) -> None:
    fake.script("w", [PLAN1, PLAN2, WORKER_R1])
    fake.script("r", [REVISE_PLAN, APPROVE, APPROVE])
    factory = factory_for(fake, tmp_path, order, plan="auto", planSave=True)
    session = factory.create(PairRequest(document=BUGGY, path="m.py", language_id="python"))
    events = [e async for e in session.run()]
    await factory.aclose()
    done = events[-1]
    assert isinstance(done, ev.Finished) and done.status == "approved"
    for event in events:
        json.dumps(event.to_json())
    assert [e.plan for e in events if isinstance(e, ev.PlanProposed)] == [PLAN1.strip(),
                                                                        PLAN2_TEXT]
    assert [e.verdict for e in events if isinstance(e, ev.PlanReviewed)] == ["revise",
                                                                           "approve"]
    agreed = [e for e in events if isinstance(e, ev.PlanAgreed)]
    assert len(agreed) == 1 and agreed[0].approved and agreed[0].plan == PLAN2_TEXT
    assert (tmp_path / ".pair" / "PLAN.md").read_text() == PLAN2_TEXT + "\n"
    w, r = ([r for r in fake.requests if r.model == m] for m in ("w", "r"))
    assert "the plan never checks the empty list" in json.dumps(w[1].body)
    # the agreed plan opens the later prompts (the system prompt: the cacheable prefix)
    assert "2. Check with an empty list." in json.dumps(w[2].body)
    assert "AGREED PLAN" in json.dumps(r[2].body) and "against the AGREED PLAN" in \
        json.dumps(r[2].body)
    assert "AGREED PLAN" not in json.dumps(w[0].body) + json.dumps(r[0].body)


async def test_plan_off_for_selections_in_auto(fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    factory = factory_for(fake, tmp_path, ORDERS[0], plan="auto")
    start = BUGGY.index("    best = 0")
    done = await factory.create(PairRequest(document=BUGGY, start=start, end=len(BUGGY) - 1,
                                            path="m.py")).result()
    await factory.aclose()
    assert done.status == "approved" and len(fake.requests) == 2


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(o))
async def test_plan_approval_ask_waits_and_proceeds_with_the_users_plan(
        fake: FakeModelServer, tmp_path: Path, order: tuple[str, str]) -> None:
    fake.script("w", [PLAN1, WORKER_R1])
    fake.script("r", [APPROVE, APPROVE])
    factory = factory_for(fake, tmp_path, order, plan="on", planApproval="ask")
    session = factory.create(PairRequest(document=BUGGY, path="m.py"))
    task = asyncio.create_task(session.result())
    for _ in range(600):
        if session.waiting_for_plan:
            break
        await asyncio.sleep(0.05)
    assert session.waiting_for_plan
    await asyncio.sleep(0.2)
    assert len(fake.requests) == 2 and not task.done()  # it waits for the user
    assert session.proceed("## My plan\n- keep the name `largest`\n")
    done = await task
    await factory.aclose()
    assert done.status == "approved"
    w = [r for r in fake.requests if r.model == "w"]
    assert "keep the name `largest`" in json.dumps(w[1].body)


async def test_plan_approval_ask_can_be_cancelled(fake: FakeModelServer,
                                                  tmp_path: Path) -> None:
    fake.script("w", [PLAN1])
    fake.script("r", [APPROVE])
    factory = factory_for(fake, tmp_path, ORDERS[0], plan="on", planApproval="ask")
    session = factory.create(PairRequest(document=BUGGY, path="m.py"))
    task = asyncio.create_task(session.result())
    for _ in range(600):
        if session.waiting_for_plan:
            break
        await asyncio.sleep(0.05)
    session.cancel()
    done = await task
    await factory.aclose()
    assert done.status == "cancelled" and len(fake.requests) == 2


async def test_server_plan_approval_ask_shows_the_plan_and_proceeds(
        fake: FakeModelServer, tmp_path: Path) -> None:
    """pair/plan names a Markdown file holding the plan; pair.proceed without `plan` reads the
    plan document as the editor holds it (the user's edit)."""
    import os

    from lsprotocol import types

    from tests.test_server import execute
    from tests.test_trust import lsp_server

    path = tmp_path / "m.py"
    path.write_text(BUGGY)
    uri = path.as_uri()
    fake.script("w", [PLAN1, WORKER_R1])
    fake.script("r", [APPROVE, APPROVE])
    init = pair_settings(fake, "openai", "anthropic", tmp_path, plan="on", planApproval="ask")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    async with lsp_server(init, env, None) as client:
        plans: list[Any] = []
        statuses: list[Any] = client.statuses  # type: ignore[attr-defined]

        @client.feature("pair/plan")
        def on_plan(params: Any) -> None:
            plans.append(params)

        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=BUGGY)))
        running = asyncio.create_task(execute(client, "pair.document", {"uri": uri}))
        for _ in range(600):
            if plans:
                break
            await asyncio.sleep(0.05)
        assert plans, "no pair/plan notification"
        for _ in range(200):  # the wait shows at once, not at the next model call
            if statuses and getattr(statuses[-1], "role", None) == "plan":
                break
            await asyncio.sleep(0.05)
        assert getattr(statuses[-1], "role", None) == "plan", statuses[-1]
        assert "The plan waits for you" in statuses[-1].message
        note = plans[0]
        plan_uri = note["uri"] if isinstance(note, dict) else note.uri
        plan_path = note["planPath"] if isinstance(note, dict) else note.planPath
        assert await asyncio.to_thread(Path(plan_path).read_text) == PLAN1.strip() + "\n"
        edited = PLAN1 + "2. Keep the name `largest`.\n"
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=plan_uri, language_id="markdown", version=1,
                                   text=edited)))
        sid = note["sessionId"] if isinstance(note, dict) else note.sessionId
        assert await execute(client, "pair.proceed", {"sessionId": sid}) == {"ok": True}
        result = await running
        assert result["status"] == "approved"
    w = [r for r in fake.requests if r.model == "w"]
    assert "Keep the name `largest`" in json.dumps(w[1].body)
