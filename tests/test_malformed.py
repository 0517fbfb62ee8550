"""Malformed messages over real stdio: every request with an id is answered with the right error
code and a short message (no traceback), and a normal session works afterwards (issue 15, §5).
Before the fix, 14 of these got no answer at all (the client waited forever)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.rawlsp import Wire, start_server, stop
from tests.scripts import APPROVE, BUGGY, WORKER_R1

pytestmark = pytest.mark.timeout(180)

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
NOT_INITIALIZED = -32002
URI = "file:///tmp/pair-malformed/m.py"


def rng(a: Any, b: Any, c: Any, d: Any) -> dict[str, Any]:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


def code_action(range_: Any = None, diagnostics: Any = ()) -> dict[str, Any]:
    return {"textDocument": {"uri": URI}, "range": range_ or rng(0, 0, 1, 0),
            "context": {"diagnostics": list(diagnostics)}}


BIG = 2**31
# (name, method, params, expected error code); params None: the message has no params
REQUESTS: list[tuple[str, str, Any, int]] = [
    ("line >= 2^31", "textDocument/codeAction", code_action(rng(BIG, 0, BIG, 0)), INVALID_PARAMS),
    ("character >= 2^31", "textDocument/codeAction", code_action(rng(0, BIG, 0, BIG)),
     INVALID_PARAMS),
    ("negative range", "textDocument/codeAction", code_action(rng(-1, 0, 1, 0)), INVALID_PARAMS),
    ("no params", "textDocument/codeAction", None, INVALID_PARAMS),
    ("diagnostic range is a string", "textDocument/codeAction",
     code_action(diagnostics=[{"range": "0:0", "message": "m"}]), INVALID_PARAMS),
    ("diagnostic range is a number", "textDocument/codeAction",
     code_action(diagnostics=[{"range": 5, "message": "m"}]), INVALID_PARAMS),
    ("diagnostic range is a list", "textDocument/codeAction",
     code_action(diagnostics=[{"range": [], "message": "m"}]), INVALID_PARAMS),
    ("diagnostic position >= 2^31", "textDocument/codeAction",
     code_action(diagnostics=[{"range": rng(BIG, 0, BIG, 1), "message": "m"}]), INVALID_PARAMS),
    ("codeAction/resolve without a title", "codeAction/resolve", {"kind": "quickfix"},
     INVALID_PARAMS),
    ("executeCommand params are a string", "workspace/executeCommand", "pair.status",
     INVALID_PARAMS),
    ("executeCommand params are a list", "workspace/executeCommand", ["pair.status"],
     INVALID_PARAMS),
    ("pull diagnostics without a document", "textDocument/diagnostic", {}, INVALID_PARAMS),
    ("unknown method", "pair/nothing", {}, METHOD_NOT_FOUND),
    ("a notification sent with an id", "textDocument/didSave",
     {"textDocument": {"uri": URI}}, INVALID_REQUEST),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Wire, Path]]:
    stderr = tmp_path / "stderr.txt"
    proc = start_server(stderr=stderr)
    try:
        yield Wire.over_process(proc), stderr
    finally:
        stop(proc)


def error_of(answer: Any) -> dict[str, Any]:
    assert answer is not None, "no answer: the client would wait forever"
    assert "error" in answer, f"expected an error, got {answer}"
    return answer["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Wire, Path]]:
    """One initialized server for the one-request cases (a server start is seconds here)."""
    stderr = tmp_path_factory.mktemp("malformed") / "stderr.txt"
    proc = start_server(stderr=stderr)
    try:
        wire = Wire.over_process(proc)
        assert "result" in wire.initialize()
        wire.open(URI, BUGGY)
        yield wire, stderr
    finally:
        stop(proc)


@pytest.mark.parametrize("name,method,params,code", REQUESTS, ids=[r[0] for r in REQUESTS])
def test_each_malformed_request_is_answered(shared: tuple[Wire, Path], name: str, method: str,
                                           params: Any, code: int) -> None:
    wire, stderr = shared
    error = error_of(wire.request(1, method, params))
    assert error["code"] == code, error
    assert "data" not in error and "Traceback" not in error["message"]
    assert len(error["message"]) < 500
    assert "result" in wire.request(2, "workspace/executeCommand", {"command": "pair.status"})
    assert "Traceback" not in stderr.read_text()


def test_messages_that_are_not_requests(server: tuple[Wire, Path]) -> None:
    wire, stderr = server
    assert error_of(wire.request(0, "textDocument/codeAction", code_action()))["code"] == \
        NOT_INITIALIZED
    assert "result" in wire.initialize()
    assert error_of(wire.initialize(msg_id="again"))["code"] == INVALID_REQUEST
    wire.send_raw(b"{not json")
    answer = wire.answer(None)
    assert error_of(answer)["code"] == PARSE_ERROR and answer is not None and answer["id"] is None
    wire.send({"jsonrpc": "2.0", "id": "no-method", "params": {}})
    assert error_of(wire.answer("no-method"))["code"] == INVALID_REQUEST
    wire.send({"jsonrpc": "2.0", "id": "method-is-a-number", "method": 5})
    assert error_of(wire.answer("method-is-a-number"))["code"] == INVALID_REQUEST
    wire.send({"jsonrpc": "1.0", "id": "old", "method": "shutdown"})
    assert error_of(wire.answer("old"))["code"] == INVALID_REQUEST
    wire.send([{"jsonrpc": "2.0", "id": "batch", "method": "shutdown"}])
    assert error_of(wire.answer(None))["code"] == INVALID_REQUEST
    # malformed notifications and responses are dropped (nothing to answer); the server goes on
    wire.send({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "?"}})
    wire.notify("textDocument/didOpen", {"textDocument": "m.py"})
    wire.notify("$/cancelRequest", {"id": "never-sent"})
    wire.notify("textDocument/didChange", {
        "textDocument": {"uri": "file:///never/opened.py", "version": 2},
        "contentChanges": [{"range": rng(0, 0, 0, 0), "text": "x"}]})
    assert "result" in wire.request(1, "workspace/executeCommand", {"command": "pair.status"})
    assert wire.unmatched == []
    log = stderr.read_text()
    assert "Traceback" not in log and "Cancel notification" not in log
    assert not [n for n in wire.notifications if n["method"] == "window/showMessage"]


def test_requests_after_shutdown_are_refused(server: tuple[Wire, Path]) -> None:
    wire, _ = server
    assert "result" in wire.initialize()
    assert wire.request("down", "shutdown") == {"jsonrpc": "2.0", "id": "down", "result": None}
    for n, method in enumerate(["textDocument/codeAction", "shutdown", "initialize"]):
        assert error_of(wire.request(n, method, code_action()))["code"] == INVALID_REQUEST


def test_a_normal_session_after_malformed_requests(server: tuple[Wire, Path],
                                                   fake: FakeModelServer,
                                                   tmp_path: Path) -> None:
    wire, stderr = server
    assert "result" in wire.initialize(pair_settings(fake, "openai", "anthropic", tmp_path))
    wire.open(URI, BUGGY)
    for n, (_, method, params, _) in enumerate(REQUESTS):
        assert wire.request(f"bad-{n}", method, params) is not None
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    answer = wire.request("pair", "workspace/executeCommand",
                          {"command": "pair.document", "arguments": [{"uri": URI}]})
    assert answer is not None and answer["result"]["status"] == "approved", answer
    assert "Traceback" not in stderr.read_text()


def test_an_answer_the_server_gave_up_on_is_ignored(server: tuple[Wire, Path]) -> None:
    wire, stderr = server
    # after `initialized` the server asks for its settings; the answer is held back
    wire.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "processId": None, "rootUri": None,
        "capabilities": {"workspace": {"configuration": True}}}})
    asked = None
    while asked is None:
        message = wire.receive()
        if message is not None and message.get("id") == "init":
            wire.notify("initialized", {})
            continue
        assert message is not None, "the server never asked for its settings"
        if message.get("method") == "workspace/configuration":
            asked = message
    wire.send({"jsonrpc": "2.0", "id": "down", "method": "shutdown"})  # gives up on it
    wire.send({"jsonrpc": "2.0", "id": asked["id"], "result": [None]})  # the answer, late
    assert wire.answer("down") is not None
    assert error_of(wire.request("after", "shutdown"))["code"] == INVALID_REQUEST
    log = stderr.read_text()
    assert "Traceback" not in log and "InvalidStateError" not in log
