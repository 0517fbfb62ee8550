"""The server's copy of a document against the editor's (issue 15, §4).

1. A command resolves its range against the text of the version it was sent with: a didChange
   just before `pair.selection` is applied first, one just after is not (the command runs as a
   task that starts after the messages read with it; it reads the snapshot taken on arrival).
2. Lines end only at \\n, \\r\\n and \\r: a form feed, U+2028, U+2029, \\x1c-\\x1e, \\x85 or \\v is
   text. Random incremental edits keep the server's text equal to a reference model of the
   client's, in UTF-16, UTF-8 and UTF-32 positions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from pair_lsp.server.documents import LspWorkspace
from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.rawlsp import Wire, start_server, stop
from tests.test_server import client, client_encoding, execute  # noqa: F401 (the fixture)

pytestmark = pytest.mark.timeout(120)

DOC = ("def f(values):\n    total = 0\n    for v in values:\n        total += v\n"
       "    return total\n\n\ndef g():\n    return 2\n")
F = DOC[:DOC.index("\n\n\n") + 1]
G = DOC[DOC.index("def g"):]
URI = "file:///tmp/pair-sync/m.py"
NO_CHANGE = "Nothing to change."  # the worker proposes nothing: the session ends soon
# what LSP counts as text but str.splitlines() breaks lines at
ODD_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


# ---------------------------------------------------------------- the reference model


def lsp_lines(text: str) -> list[str]:
    """The text's lines with their breaks, as LSP counts them (a last empty line included)."""
    ended = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)", text)
    return [*ended, text[sum(map(len, ended)):]]


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def offset(text: str, line: int, character: int, encoding: str) -> int:
    """The client's idea of a position: clamped to the line's end (its break excluded)."""
    lines = lsp_lines(text)
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    content = re.sub(r"(\r\n|\r|\n)\Z", "", lines[line])
    col = 0
    while col < len(content) and units(content[:col + 1], encoding) <= character:
        col += 1
    return start + col


def position(text: str, at: int, encoding: str) -> types.Position:
    lines = lsp_lines(text)
    line, start = 0, 0
    while line + 1 < len(lines) and start + len(lines[line]) <= at:
        start += len(lines[line])
        line += 1
    return types.Position(line, units(text[start:at], encoding))


def client_edit(text: str, rng: types.Range, new: str, encoding: str) -> str:
    a = offset(text, rng.start.line, rng.start.character, encoding)
    b = offset(text, rng.end.line, rng.end.character, encoding)
    return text[:a] + new + text[max(a, b):]


# ------------------------------------------------------------------ 2: line breaks


PIECE = st.sampled_from(["a", "bc", " ", "\n", "\r\n", "\r", "😀", "é", "中", *ODD_BREAKS])
TEXT = st.lists(PIECE, max_size=30).map("".join)


@st.composite
def edits(draw: Any, text: str) -> tuple[int, int, str]:
    a = draw(st.integers(0, len(text)))
    b = draw(st.integers(a, len(text)))
    return a, b, draw(TEXT)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), encoding=st.sampled_from(["utf-16", "utf-8", "utf-32"]))
def test_incremental_edits_keep_the_editors_text(data: Any, encoding: str) -> None:
    text = data.draw(TEXT)
    workspace = LspWorkspace(None, types.TextDocumentSyncKind.Incremental, None, encoding)
    workspace.put_text_document(types.TextDocumentItem(URI, "python", 1, text))
    for version in range(2, 2 + data.draw(st.integers(1, 6))):
        a, b, new = data.draw(edits(text))
        # positions from code points; a surrogate pair / multibyte char is never split
        rng = types.Range(position(text, a, encoding), position(text, b, encoding))
        if data.draw(st.booleans()):  # and now and then one past the end of its line
            rng.end.character += data.draw(st.integers(0, 3))
        text = client_edit(text, rng, new, encoding)
        workspace.update_text_document(
            types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            types.TextDocumentContentChangePartial(range=rng, text=new))
        doc = workspace.get_text_document(URI)
        assert doc.source == text
        assert "".join(doc.lines) == text
        assert len(doc.lines) == len(lsp_lines(text)) - (lsp_lines(text)[-1] == "")


def test_the_form_feed_case_from_the_issue() -> None:
    text = "a = 1\x0c\nb = 2\u2028c\nd = 3\n"
    workspace = LspWorkspace(None, types.TextDocumentSyncKind.Incremental, None, "utf-16")
    workspace.put_text_document(types.TextDocumentItem(URI, "python", 1, text))
    rng = types.Range(types.Position(2, 0), types.Position(2, 5))  # "d = 3"
    workspace.update_text_document(types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                                   types.TextDocumentContentChangePartial(range=rng, text="D"))
    assert workspace.get_text_document(URI).source == "a = 1\x0c\nb = 2\u2028c\nD\n"


# -------------------------------------------------------------- over LSP, both


def target_of(fake: FakeModelServer) -> str:
    """The TARGET the worker was sent in its first request."""
    body = next(r for r in fake.requests if r.model == "w").body
    texts = [s for s in _strings(body) if "TARGET:\n" in s]
    assert texts, body
    return re.findall(r"TARGET:\n(`{3,})\w*\n(.*?)\n\1", texts[-1], re.S)[-1][1]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def lines(a: int, b: int) -> dict[str, Any]:
    return {"start": {"line": a, "character": 0}, "end": {"line": b, "character": 0}}


def did_change(lsp: LanguageClient, version: int, rng: types.Range, text: str) -> None:
    lsp.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)]))


def open_doc(lsp: LanguageClient, text: str) -> None:
    lsp.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="python", version=1, text=text)))


def frames(*messages: dict[str, Any]) -> bytes:
    out = b""
    for m in messages:
        body = json.dumps(m).encode()
        out += b"Content-Length: %d\r\n\r\n" % len(body) + body
    return out


def change_message(version: int, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": URI, "version": version},
        "contentChanges": [{"range": lines(0, 0), "text": text}]}}


def selection_message(msg_id: int, rng: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
            "params": {"command": "pair.selection", "arguments": [{"uri": URI, "range": rng}]}}


@pytest.fixture
def wire(fake: FakeModelServer, tmp_path: Path) -> Iterator[Wire]:
    proc = start_server(stderr=tmp_path / "stderr.txt")
    try:
        wire = Wire.over_process(proc)
        assert "result" in wire.initialize(pair_settings(fake, "openai", "anthropic", tmp_path))
        wire.open(URI, DOC)
        assert wire.request(0, "workspace/executeCommand", {"command": "pair.status"})
        fake.script("w", [NO_CHANGE])
        yield wire
    finally:
        stop(proc)


def test_a_command_right_after_an_edit_targets_the_new_text(wire: Wire,
                                                            fake: FakeModelServer) -> None:
    # one write: the server reads both at once. g is lines 9-10 once the change is applied
    wire.send_raw_frames(frames(change_message(2, "import os\nimport sys\n"),
                                selection_message(1, lines(9, 11))))
    assert wire.answer(1) is not None
    assert target_of(fake) == G


def test_an_edit_right_after_a_command_does_not_move_its_target(wire: Wire,
                                                                fake: FakeModelServer) -> None:
    # f is lines 0-4 when the command is sent; the change right after pushes it down two lines
    wire.send_raw_frames(frames(selection_message(1, lines(0, 5)),
                                change_message(2, "import os\nimport sys\n")))
    assert wire.answer(1) is not None
    assert target_of(fake) == F


async def test_odd_line_breaks_survive_incremental_edits(client: LanguageClient) -> None:  # noqa: F811
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [NO_CHANGE])
    encoding = str(client_encoding(client).value)
    text = "x = '\x0c'  # 😀\u2028y\ndef h():\x85\n    return '\u2029'\x0b\x1c\n" + DOC
    open_doc(client, text)
    version = 1
    for a_text, b_text, new in [("😀", "y", "é\u2028"), ("h()", "h()", "\x1d"),
                                ("return", "'\u2029'", "pass  # \x0c"), ("g()", "g()", "中")]:
        a = text.index(a_text)
        b = text.index(b_text, a) + len(b_text)
        rng = types.Range(position(text, a, encoding), position(text, b, encoding))
        version += 1
        text = client_edit(text, rng, new, encoding)
        did_change(client, version, rng, new)
    await execute(client, "pair.document", {"uri": URI})
    assert target_of(fake) == text


def test_a_uri_with_escapes_is_found(wire: Wire, fake: FakeModelServer) -> None:
    # pygls keys documents by the unquoted URI: "a%20b.py" was "unknown document" before
    uri = "file:///tmp/pair%20sync/a%20b.py"
    wire.open(uri, DOC)
    answer = wire.request(1, "workspace/executeCommand",
                          {"command": "pair.selection", "arguments": [{"uri": uri,
                                                                       "range": lines(7, 9)}]})
    assert answer is not None and "result" in answer, answer
    assert target_of(fake) == G
