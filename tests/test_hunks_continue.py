"""After hunk decisions, pair.continue's new proposal is placed on the text as it is now (the
accepted hunks shifted it): the continued run keeps the session id, and must not re-base its
edits with the previous run's anchor. Found by the VS Code inline diff e2e (issue 14)."""

from __future__ import annotations

from typing import Any

from pytest_lsp import LanguageClient

from pair_lsp.testing.fake_server import FakeModelServer
from tests.scripts import APPROVE, block
from tests.test_hunks import DOC, H1, H3, client, propose, take  # noqa: F401 (fixture)
from tests.test_server import execute


async def test_continue_after_hunks_proposes_on_the_current_text(client: LanguageClient) -> None:  # noqa: F811
    doc, sid = await propose(client)
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    await execute(client, "pair.rejectHunk", {"sessionId": sid, "hunk": 2, "reason": "no"})
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 3})
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", ["Fine.\n" + block("    count = 0", "    count = 0  # n")])
    fake.script("r", [APPROVE])
    await execute(client, "pair.continue", {"sessionId": sid, "rounds": 1})
    proposal: dict[str, Any] = await execute(client, "pair.proposal", {"sessionId": sid})
    [hunk] = proposal["hunks"]
    assert hunk["range"] == {"start": {"line": 5, "character": 0},
                             "end": {"line": 6, "character": 0}}, hunk
    assert hunk["newText"] == "    count = 0  # n\n"
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    assert doc.source == DOC.replace(*H1).replace(*H3).replace("    count = 0\n",
                                                               "    count = 0  # n\n")
