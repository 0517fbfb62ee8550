"""`pair.reviewChanges` end to end: pytest-lsp drives `pair-lsp serve` in a real git repository;
the server's real SDK talks to the fake model server. Diagnostics reach files that are open and
files that are not."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.workspace import PositionCodec, TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from pair_lsp.testing.fake_server import FakeModelServer
from tests.changes_repo import APP_PY_NEW, UTIL_JS_NEW, by_file, make_repo, review
from tests.conftest import pair_settings
from tests.test_changes_cli import APP_F, GO_F, JS_F
from tests.test_changes_pair import WORKER
from tests.test_server import (
    client_encoding,
    execute,
    make_client,
    pull_capabilities,
    until,
)


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                              client_factory=make_client),
    params=["visual-studio-code", "neovim", "pull"],  # pull: diagnostics pulled, ours pushed
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    fake: FakeModelServer = request.getfixturevalue("fake")
    tmp: Path = request.getfixturevalue("tmp_path")
    repo = make_repo(tmp / "repo")
    lsp_client.fake = fake  # type: ignore[attr-defined]
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.editor = "neovim" if request.param == "pull" else request.param  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=(pull_capabilities() if request.param == "pull"
                      else client_capabilities(request.param)),
        root_uri=repo.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="repo")],
        initialization_options=pair_settings(fake, "openai", "anthropic", tmp)))
    yield
    await lsp_client.shutdown_session()


def uri(client: LanguageClient, name: str) -> str:
    return (client.repo / name).as_uri()  # type: ignore[attr-defined]


def lines(client: LanguageClient, name: str) -> list[int]:
    return sorted(d.range.start.line for d in client.diagnostics.get(uri(client, name), []))


async def test_review_changes_publishes_for_every_file(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F],
                               "main.go": [GO_F]})])
    js_uri = uri(client, "web/util.js")  # one file open in the editor, the others not
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=js_uri, language_id="javascript", version=1, text=UTIL_JS_NEW)))
    result = await execute(client, "pair.reviewChanges", {"scope": "uncommitted"})
    assert result["status"] == "findings"
    assert {(f["file"], f["line"], f["uri"]) for f in result["findings"]} == {
        ("src/app.py", 5, uri(client, "src/app.py")), ("web/util.js", 2, js_uri),
        ("main.go", 5, uri(client, "main.go"))}
    assert {s["file"]: s["reason"] for s in result["skipped"]}["logo.png"] == "binary file"
    await until(lambda: lines(client, "src/app.py") == [4] and
                lines(client, "web/util.js") == [1] and lines(client, "main.go") == [4])
    (go,) = client.diagnostics[uri(client, "main.go")]
    assert "Rule: AGENTS.md: no panics in committed code" in go.message
    assert go.severity == types.DiagnosticSeverity.Warning and go.source == "pair"
    (app,) = client.diagnostics[uri(client, "src/app.py")]
    start, end = app.range.start.character, app.range.end.character
    assert (end - start) == len("return s / len(prices)")

    # a new review of the same scope: files it finds clean are cleared when it ends
    fake.script("r", [by_file({"main.go": [GO_F]})])
    again = await execute(client, "pair.reviewChanges", {"scope": "uncommitted"})
    assert [f["file"] for f in again["findings"]] == ["main.go"]
    await until(lambda: lines(client, "src/app.py") == [] and
                lines(client, "web/util.js") == [] and lines(client, "main.go") == [4])


async def test_review_changes_bad_params(client: LanguageClient) -> None:
    cases = [({"scope": "nope"}, "'scope' must be one of"),
             ({"scope": "base"}, "needs 'base'"),
             ({"scope": "base", "base": "no-such-branch"}, "unknown ref 'no-such-branch'"),
             ({"scope": "staged", "instruction": 3}, "'instruction' must be a string")]
    for arg, expected in cases:
        with pytest.raises(Exception) as info:
            await execute(client, "pair.reviewChanges", arg)
        assert expected in str(info.value), (arg, str(info.value))
    assert not client.fake.requests  # type: ignore[attr-defined]


async def test_pair_changes_returns_one_versioned_edit(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]}), review()])
    fake.script("w", [WORKER])
    js_uri = uri(client, "web/util.js")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=js_uri, language_id="javascript", version=7, text=UTIL_JS_NEW)))
    result = await execute(client, "pair.pairChanges", {"scope": "uncommitted",
                                                        "instruction": "fix the findings"})
    assert result["status"] == "approved", result
    assert sorted(result["files"]) == ["src/app.py", "web/util.js"]
    edit = default_converter().structure(result["edit"], types.WorkspaceEdit)
    texts = {uri(client, "src/app.py"): APP_PY_NEW, js_uri: UTIL_JS_NEW}
    versions = {}
    codec = PositionCodec(client_encoding(client))
    changes = ([(dc.text_document.uri, dc.text_document.version, dc.edits)
                for dc in edit.document_changes or [] if isinstance(dc, types.TextDocumentEdit)]
               or [(u, None, e) for u, e in (edit.changes or {}).items()])
    for doc_uri, version, edits in changes:
        versions[doc_uri] = version
        doc = TextDocument(doc_uri, texts[doc_uri], position_codec=codec)
        for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                        reverse=True):
            doc.apply_change(types.TextDocumentContentChangePartial(range=e.range,
                                                                    text=e.new_text))
        texts[doc_uri] = doc.source
    assert texts[uri(client, "src/app.py")].endswith("len(prices) if prices else 0\n")
    assert "'hi ' + name;" in texts[js_uri]
    if edit.document_changes:
        assert versions == {js_uri: 7, uri(client, "src/app.py"): None}


async def test_dismiss_a_change_finding(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [by_file({"main.go": [GO_F], "src/app.py": [APP_F]})])
    go_uri = uri(client, "main.go")
    result = await execute(client, "pair.reviewChanges", {"scope": "uncommitted"})
    go = next(f for f in result["findings"] if f["file"] == "main.go")
    await until(lambda: lines(client, "main.go") == [4])
    (diag,) = client.diagnostics[go_uri]
    assert diag.data["sessionId"] == result["sessionId"]
    answer = await execute(client, "pair.dismiss", {
        "uri": go_uri, "findingId": go["id"], "sessionId": result["sessionId"],
        "reason": "main may panic here"})
    assert answer == {"dismissed": True}
    await until(lambda: lines(client, "main.go") == [] and lines(client, "src/app.py") == [4])
    saved = (client.repo / ".pair" / "dismissed.jsonl").read_text()  # type: ignore[attr-defined]
    assert '"reason": "main may panic here"' in saved and '"file": "main.go"' in saved
    again = await execute(client, "pair.reviewChanges", {"scope": "uncommitted"})
    assert [f["file"] for f in again["findings"]] == ["src/app.py"] and again["dismissed"] == 1


@pytest.mark.parametrize("path", ["sessionId", "all", "cancelRequest"])
async def test_cancel_stops_a_change_review(client: LanguageClient, path: str) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [{"text": review(), "delay": 30.0}])
    task = asyncio.ensure_future(client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="pair.reviewChanges", arguments=[{"scope": "uncommitted"}]),
        msg_id="review-1"))
    statuses: list[Any] = client.statuses  # type: ignore[attr-defined]
    await until(lambda: any(getattr(s, "status", None) == "running" for s in statuses)
                and fake.open_requests > 0, wait=60)
    sid = next(s.sessionId for s in statuses if getattr(s, "status", None) == "running")
    if path == "cancelRequest":
        client.cancel_request(types.CancelParams(id="review-1"))
    else:
        answer = await execute(client, "pair.cancel", {"sessionId": sid} if path == "sessionId"
                               else {})
        assert sid in answer["cancelled"]
    try:
        result = await asyncio.wait_for(task, 20)
        assert result["status"] == "cancelled" and result["sessionId"] == sid
    except Exception as exc:  # $/cancelRequest answers the request with RequestCancelled
        assert path == "cancelRequest", exc
    # the review itself stopped: its end is announced, its model request dropped
    await until(lambda: getattr(statuses[-1], "status", None) == "cancelled", wait=60)
    await until(lambda: fake.open_requests == 0, wait=60)
    with pytest.raises(Exception, match="unknown session"):  # it ended: no longer listed
        await execute(client, "pair.cancel", {"sessionId": sid})


async def test_shutdown_while_a_change_review_runs(client: LanguageClient) -> None:
    """The fixture's teardown sends shutdown while the review still runs: answered without the
    error pygls gave (its table of running requests changed while it cancelled them)."""
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [{"text": review(), "delay": 30.0}])
    running = asyncio.ensure_future(execute(client, "pair.reviewChanges",
                                            {"scope": "uncommitted"}))
    await until(lambda: fake.open_requests > 0, wait=60)
    assert not running.done()
