"""A proposal is a list of hunks the user takes or leaves one by one (DESIGN.md, "What the editor
shows"): pair.proposal lists them with ranges in the client's encoding, re-based as the user
edits; pair.acceptHunk applies one (versioned, through workspace/applyEdit) and keeps the rest
applicable; pair.rejectHunk records a reason the worker sees on pair.continue. Over real LSP.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from pair_lsp.testing.fake_server import FakeModelServer
from tests.scripts import APPROVE, block
from tests.test_lifecycle import command_of
from tests.test_server import (
    apply_workspace_edit,
    change,
    code_actions,
    execute,
    open_doc,
    until,
)
from tests.test_server import client as server_client

client = server_client  # the fixture: the VS Code and Neovim clients of test_server.py

URI = "file:///tmp/pair-test/stats.py"
DOC = ("import math\n\n\ndef stats(values):\n    total = 0\n    count = 0\n"
       "    for v in values:\n        total += v\n        count += 1\n    mean = total / count\n"
       "    return mean\n\n\nprint(stats([1, 2]))\n")
WORKER = ("Three small changes.\n"
          + block("    total = 0", "    total = 0.0")
          + block("        total += v", "        total += float(v)")
          + block("    return mean", "    return round(mean, 2)"))
H1 = ("    total = 0\n", "    total = 0.0\n")
H2 = ("        total += v\n", "        total += float(v)\n")
H3 = ("    return mean\n", "    return round(mean, 2)\n")
TARGET = {"start": {"line": 3, "character": 0}, "end": {"line": 11, "character": 0}}


async def propose(client: LanguageClient, text: str = DOC) -> tuple[Any, str]:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [WORKER])
    fake.script("r", [APPROVE])
    doc = open_doc(client, text, uri=URI)
    result = await execute(client, "pair.selection", {"uri": URI, "range": TARGET})
    assert result["status"] == "approved"
    return doc, result["sessionId"]


async def take(client: LanguageClient, doc: Any, command: str, arg: dict[str, Any]) -> Any:
    before = len(client.applied_edits)  # type: ignore[attr-defined]
    out = await execute(client, command, arg)
    if command == "pair.acceptHunk":
        assert out == {"applied": True}, out
        edits = client.applied_edits  # type: ignore[attr-defined]
        assert len(edits) == before + 1
        apply_workspace_edit(client, doc, edits[-1])
    return out


async def test_accept_one_and_three_reject_two_then_continue(client: LanguageClient) -> None:
    doc, sid = await propose(client)
    proposal = await execute(client, "pair.proposal", {"sessionId": sid})
    hunks = proposal["hunks"]
    assert [h["index"] for h in hunks] == [1, 2, 3]
    assert [h["status"] for h in hunks] == ["open"] * 3
    assert [h["range"]["start"]["line"] for h in hunks] == [4, 7, 10]
    assert hunks[1]["newText"] == H2[1]
    # the actions on hunk 2's line
    line7 = {"start": {"line": 7, "character": 4}, "end": {"line": 7, "character": 4}}
    titles = [a.title for a in await code_actions(client, doc, line7)]
    assert titles[0].startswith("Pair: Apply approved edit")
    assert "Pair: Accept hunk 2/3" in titles and "Pair: Reject hunk 2/3" in titles
    assert "Pair: Accept hunk 1/3" not in titles
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    reject = next(a for a in await code_actions(client, doc, line7)
                  if a.title == "Pair: Reject hunk 2/3")
    name, args = command_of(reject)
    await execute(client, name, {**args[0], "reason": "keep ints: values are counts"})
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 3})
    assert doc.source == DOC.replace(*H1).replace(*H3)
    # nothing open: the proposal is used up, undo is the editor's (one edit per hunk)
    assert not [a for a in await code_actions(client, doc, TARGET)
                if a.title.startswith("Pair:")]
    # the worker's next turn hears about the rejection and its reason
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", ["Fine.\n" + block("    count = 0", "    count = 0  # n")])
    fake.script("r", [APPROVE])
    more = await execute(client, "pair.continue", {"sessionId": sid, "rounds": 1})
    assert more["sessionId"] == sid
    last = [r for r in fake.requests if r.model == "w"][-1]
    body = str(last.body)
    assert "REJECTED" in body and "keep ints: values are counts" in body
    assert "total += float(v)" in body


async def test_continue_after_hunks_proposes_on_the_right_lines(client: LanguageClient) -> None:
    """pair.continue keeps the session id: its new proposal is placed on the document as it
    is after the hunks taken (hunk 1 made line 4 longer), not on the older text."""
    doc, sid = await propose(client)
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    await execute(client, "pair.rejectHunk", {"sessionId": sid, "hunk": 2, "reason": "ints"})
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 3})
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", ["Fine.\n" + block("    count = 0", "    count = 0  # n")])
    fake.script("r", [APPROVE])
    await execute(client, "pair.continue", {"sessionId": sid, "rounds": 1})
    proposal = await execute(client, "pair.proposal", {"sessionId": sid})
    assert proposal["original"] == doc.source
    [hunk] = proposal["hunks"]
    assert hunk["range"] == {"start": {"line": 5, "character": 0},
                             "end": {"line": 6, "character": 0}}, hunk
    assert hunk["newText"] == "    count = 0  # n\n"
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    assert doc.source == DOC.replace(*H1).replace(*H3).replace("    count = 0\n",
                                                              "    count = 0  # n\n")


async def test_hunks_after_the_user_edits_above(client: LanguageClient) -> None:
    doc, sid = await propose(client)
    change(client, doc, types.Range(types.Position(1, 0), types.Position(1, 0)),
           "# added by the user\n# and another line\n")
    proposal = await execute(client, "pair.proposal", {"sessionId": sid})
    assert [h["range"]["start"]["line"] for h in proposal["hunks"]] == [6, 9, 12]
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 2})
    await execute(client, "pair.rejectHunk", {"sessionId": sid, "hunk": 3})
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": 1})
    user = DOC.replace("import math\n", "import math\n# added by the user\n# and another line\n")
    assert doc.source == user.replace(*H2).replace(*H1)
    with pytest.raises(Exception, match="already accepted"):
        await execute(client, "pair.acceptHunk", {"sessionId": sid, "hunk": 2})


async def test_accepting_every_hunk_equals_the_approved_edit(client: LanguageClient) -> None:
    doc, sid = await propose(client)
    approved = (await execute(client, "pair.proposal", {"sessionId": sid}))["proposed"]
    for hunk in (2, 3, 1):
        await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": hunk})
    assert doc.source == approved


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(["above", "below", "between"]),
                                st.text("ab #\n", min_size=1, max_size=6)),
                      min_size=1, max_size=3),
       hunk=st.integers(1, 3))
async def test_hunks_rebased_over_user_edits_never_land_elsewhere(
        client: LanguageClient, edits: list[tuple[str, str]], hunk: int) -> None:
    doc, sid = await propose(client)
    for where, text in edits:
        src = doc.source
        at = {"above": src.index("import math") + len("import math"),
              "below": src.index("print(stats"),
              "between": src.index("    count = 0")}[where]
        if where == "between":  # inside the target, on a line no hunk touches: a new line
            text = "    # " + text.replace("\n", " ") + "\n"
        line = src.count("\n", 0, at)
        col = at - (src.rfind("\n", 0, at) + 1)
        pos = types.Position(line, col)
        change(client, doc, types.Range(pos, pos), text)
    before = doc.source
    proposal = await execute(client, "pair.proposal", {"sessionId": sid})
    h = proposal["hunks"][hunk - 1]
    old, new = (H1, H2, H3)[hunk - 1]
    await take(client, doc, "pair.acceptHunk", {"sessionId": sid, "hunk": hunk})
    # exactly that hunk's line changed, where it was
    assert before.count(old) == 1 and doc.source == before.replace(old, new)
    assert h["status"] == "open"
    await execute(client, "pair.discard", {"sessionId": sid})
    await until(lambda: True)
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(URI)))
