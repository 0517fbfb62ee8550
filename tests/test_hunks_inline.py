"""What the editors' inline diff needs of the server beyond tests/test_hunks.py (issue 14):
a running session's candidate as read-only hunks (pair.inlineDiff.live), and pair.continue's
new proposal placed on the text as it is now, after accepted hunks shifted it (the continued
run keeps the session id and must not re-base with the previous run's anchor; found by the VS
Code e2e)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_lsp import LanguageClient

from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.scripts import APPROVE
from tests.test_hunks import DOC, TARGET, URI, WORKER, client  # noqa: F401
from tests.test_server import execute, open_doc


async def test_a_running_sessions_candidate_is_shown_read_only(client: LanguageClient) -> None:  # noqa: F811
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [WORKER])
    fake.script("r", [Reply(text=APPROVE, delay=3.0)])
    open_doc(client, DOC, uri=URI)
    run = asyncio.ensure_future(execute(client, "pair.selection", {"uri": URI, "range": TARGET}))
    live: dict[str, Any] = {}
    for _ in range(100):  # the worker's candidate, while the reviewer reads it
        await asyncio.sleep(0.05)
        sid = (await execute(client, "pair.status", {}))["sessions"]
        if sid:
            try:
                live = await execute(client, "pair.proposal", {"sessionId": sid[0]["sessionId"]})
                break
            except Exception:
                continue
    assert live and live["status"] == "running", live
    assert [h["status"] for h in live["hunks"]] == ["pending"] * 3
    assert [h["range"]["start"]["line"] for h in live["hunks"]] == [4, 7, 10]
    with pytest.raises(Exception, match="hunk"):
        await execute(client, "pair.acceptHunk", {"sessionId": live["sessionId"], "hunk": 1})
    result = await run
    assert result["status"] == "approved"
    done = await execute(client, "pair.proposal", {"sessionId": live["sessionId"]})
    assert [h["status"] for h in done["hunks"]] == ["open"] * 3
