"""Edits under change, over the real server: the user keeps editing while a session streams,
while it is reviewed, and after approval; the proposal is then applied through the code action
and through `pair.apply`. Applied, it must be the user's text with the target replaced by the
candidate (or the candidate's hunks on the user's other changes to the target); otherwise it is
withdrawn. Never an edit outside the target (tests/test_rebase.py holds the model and the many
examples; here fewer examples go through pygls, the client's encodings and the editor's
round trip).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument
from pytest_lsp import LanguageClient

from pair_lsp.loop.anchors import Change
from pair_lsp.loop.textops import region_edits
from pair_lsp.server.anchoring import offset_changes
from pair_lsp.server.positions import LineIndex
from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests import test_server
from tests.scripts import APPROVE, block
from tests.test_rebase import (
    REPRO,
    Model,
    accepted,
    candidates,
    documents,
    fresh,
    restart_fresh,
    user_op,
)
from tests.test_server import code_actions, execute, open_doc, until

client = test_server.client  # the same server fixture (both editors' capabilities)

_uris = itertools.count()


# ------------------------------------------------------------------ helpers


def _position(text: str, offset: int, editor: str) -> types.Position:
    start = text.rfind("\n", 0, offset) + 1
    prefix = text[start:offset]
    units = len(prefix.encode("utf-8")) if editor == "neovim" else \
        len(prefix.encode("utf-16-le")) // 2
    return types.Position(text.count("\n", 0, offset), units)


def send(client: LanguageClient, doc: TextDocument, changes: list[Change] | None,
         new_text: str) -> None:
    """One didChange: the ranged changes (in order), or the whole new text."""
    editor = client.editor  # type: ignore[attr-defined]
    content: list[Any] = []
    if changes is None:
        content.append(types.TextDocumentContentChangeWholeDocument(text=new_text))
        doc.apply_change(content[0])
    else:
        for c in changes:
            text = doc.source
            part = types.TextDocumentContentChangePartial(
                range=types.Range(_position(text, c.start, editor),
                                  _position(text, c.end, editor)), text=c.text)
            doc.apply_change(part)
            content.append(part)
    assert doc.source == new_text
    doc.version = (doc.version or 0) + 1
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
        content_changes=content))


def apply_to(doc: TextDocument, edit: types.WorkspaceEdit, editor: str) -> str:
    """The text the editor would have after applying ``edit`` (refused if stale)."""
    edits: list[types.TextEdit] = []
    if edit.document_changes:
        for dc in edit.document_changes:
            assert isinstance(dc, types.TextDocumentEdit)
            assert dc.text_document.version == doc.version, "an edit for another version"
            edits += [e for e in dc.edits if isinstance(e, types.TextEdit)]
    else:
        edits = list((edit.changes or {})[doc.uri])
    copy = TextDocument(doc.uri, doc.source, version=doc.version,
                        position_codec=doc.position_codec)
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        copy.apply_change(types.TextDocumentContentChangePartial(range=e.range,
                                                                 text=e.new_text))
    return copy.source


async def apply_now(client: LanguageClient, doc: TextDocument, session_id: str,
                    channel: str) -> str | None:
    """Apply the proposal through the code action or through pair.apply; the resulting text,
    or None when the server withdrew it."""
    editor = client.editor  # type: ignore[attr-defined]
    if channel == "action":
        end = _position(doc.source, len(doc.source), editor)
        everything = {"start": {"line": 0, "character": 0},
                      "end": {"line": end.line, "character": end.character}}
        actions = [a for a in await code_actions(client, doc, everything)
                   if a.title.startswith("Pair: Apply") and
                   getattr(a, "disabled", None) is None]
        if not actions:
            return None
        action = actions[0]
        resolved = action if action.edit else await client.code_action_resolve_async(action)
        if resolved.edit is None:
            return None
        return apply_to(doc, resolved.edit, editor)
    seen = len(client.applied_edits)  # type: ignore[attr-defined]
    result = await execute(client, "pair.apply", {"sessionId": session_id})
    if not result["applied"]:
        assert len(client.applied_edits) == seen  # type: ignore[attr-defined]
        return None
    return apply_to(doc, client.applied_edits[-1], editor)  # type: ignore[attr-defined]


def requests_for(fake: FakeModelServer, model: str) -> int:
    return sum(1 for r in fake.requests if r.model == model)


def worker_reply(region: str, candidate: str) -> tuple[str, str]:
    """A SEARCH/REPLACE block turning the whole target into ``candidate``, and the candidate
    the engine will make of it."""
    search = region[:-1] if region.endswith("\n") else region
    replace = candidate[:-1] if candidate.endswith("\n") else candidate
    return "Here.\n" + block(search, replace), replace + region[len(search):]


def whole_lines_range(text: str, start: int, end: int, editor: str) -> dict[str, Any]:
    a, b = _position(text, start, editor), _position(text, end, editor)
    return {"start": {"line": a.line, "character": a.character},
            "end": {"line": b.line, "character": b.character}}


# ------------------------------------------------------------------ the reproduction

REPRO_FIXED = REPRO.replace("    y = 1\n", "    y = 2  # fixed\n")
MOVED = REPRO.replace("    y = 1\n", "").replace("def g():\n", "def g():\n    y = 1\n")


@pytest.mark.parametrize("sync", ["incremental", "full"])
@pytest.mark.parametrize("channel", ["action", "apply"])
async def test_reproduction_edit_does_not_follow_a_moved_line(client: LanguageClient,
                                                              sync: str, channel: str) -> None:
    """Issue 15: pair on f; approved `y = 2  # fixed`; the user moves `    y = 1` into g(): the
    edit was re-based onto g's copy. It must be withdrawn."""
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", ["Fix y.\n" + block("    y = 1", "    y = 2  # fixed")])
    fake.script("r", [APPROVE])
    uri = f"file:///tmp/pair-edits/repro-{next(_uris)}.py"
    doc = open_doc(client, REPRO, uri)
    result = await execute(client, "pair.selection", {
        "uri": uri, "range": {"start": {"line": 0, "character": 0},
                              "end": {"line": 4, "character": 0}}})
    assert result["status"] == "approved"
    cut = REPRO.index("    y = 1\n")
    paste = MOVED.index("    y = 1\n")
    send(client, doc, [Change(cut, cut + 10, ""), Change(paste, paste, "    y = 1\n")]
         if sync == "incremental" else None, MOVED)
    assert await apply_now(client, doc, result["sessionId"], channel) is None


async def test_reproduction_still_applies_when_the_user_types_elsewhere(
        client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", ["Fix y.\n" + block("    y = 1", "    y = 2  # fixed")])
    fake.script("r", [APPROVE])
    uri = f"file:///tmp/pair-edits/repro-{next(_uris)}.py"
    doc = open_doc(client, REPRO, uri)
    result = await execute(client, "pair.selection", {
        "uri": uri, "range": {"start": {"line": 0, "character": 0},
                              "end": {"line": 4, "character": 0}}})
    at = REPRO.index("return 2")
    send(client, doc, [Change(0, 0, "import os\n"), Change(at + 17, at + 18, "3")],
         "import os\n" + REPRO.replace("return 2", "return 3"))
    assert await apply_now(client, doc, result["sessionId"], "action") == \
        "import os\n" + REPRO_FIXED.replace("return 2", "return 3")


# ------------------------------------------------------------------ the property

PHASES = ("worker", "review", "after")


@pytest.mark.timeout(600)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_edits_under_change_applied_or_withdrawn(client: LanguageClient,
                                                       data: st.DataObject) -> None:
    restart_fresh()
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    editor: str = client.editor  # type: ignore[attr-defined]
    text, start, end = data.draw(documents(crlf=False))
    region = text[start:end]
    assume(region.strip())
    candidate = data.draw(candidates(region))
    if not candidate.strip():
        candidate = "    I" + fresh() + "\n"
    reply, engine_candidate = worker_reply(region, candidate)
    assume(engine_candidate != region)
    edits = region_edits(text, start, end, engine_candidate)
    plan = sorted(data.draw(st.lists(st.tuples(st.sampled_from(PHASES), st.booleans()),
                                     max_size=4)), key=lambda p: PHASES.index(p[0]))
    channel = data.draw(st.sampled_from(["action", "apply"]))

    fake.script("w", [Reply(text=reply, delay=0.3)])
    fake.script("r", [Reply(text=APPROVE, delay=0.3)])
    uri = f"file:///tmp/pair-edits/p{next(_uris)}.py"
    doc = open_doc(client, text, uri)
    model = Model(text, start, end)
    workers, reviewers = requests_for(fake, "w"), requests_for(fake, "r")
    task = asyncio.ensure_future(execute(client, "pair.selection", {
        "uri": uri, "range": whole_lines_range(text, start, end, editor)}))
    result: dict[str, Any] | None = None
    for phase, ranged in plan:
        if phase == "worker":
            await until(lambda: requests_for(fake, "w") > workers)
        elif phase == "review":
            await until(lambda: requests_for(fake, "r") > reviewers)
        elif result is None:
            result = await task
        changes = user_op(data.draw, model, ranged)
        for c in changes:
            model.change(c.start, c.end, c.text)
        send(client, doc, changes if ranged else None, model.text)
    if result is None:
        result = await task
    assert result["status"] == "approved", result
    outcome = await apply_now(client, doc, result["sessionId"], channel)
    assert accepted(model, edits, outcome), (model.text, outcome)
    if all(ranged for _, ranged in plan) and not model.touched:
        assert outcome is not None, "withdrawn although the user never touched the target"


# ------------------------------------------------------------------ didChange offsets


@settings(max_examples=300, deadline=None)
@given(st.text("ab\n😀中", max_size=40), st.data(), st.sampled_from(["neovim", "vscode"]))
def test_didchange_offsets_one_change_and_many(base: str, data: st.DataObject,
                                               editor: str) -> None:
    """A ranged change in the client's encoding, as code points: found in the new text (the
    fast path, for typing) or replayed on the old one, the same change."""
    a = data.draw(st.integers(0, len(base)))
    b = data.draw(st.integers(a, len(base)))
    inserted = data.draw(st.text("x\n😀", max_size=5))
    new = base[:a] + inserted + base[b:]
    change = types.TextDocumentContentChangePartial(
        range=types.Range(_position(base, a, editor), _position(base, b, editor)),
        text=inserted)
    encoding = "utf-8" if editor == "neovim" else "utf-16"
    index = LineIndex(new, encoding)
    for just_before in (True, False):
        assert offset_changes(base, [change], new, lambda: index, just_before=just_before) == \
            [Change(a, b, inserted)]
    # a stale base (not the text just before): never taken for the new one
    if base:
        assert offset_changes(base[1:], [change], new, lambda: index) != [Change(a, b, inserted)]
