"""The language server end to end: pytest-lsp drives `pair-lsp serve` over stdio, with the VS Code
and Neovim 0.11 capability snapshots; the server's real SDKs talk to the fake model server.
"""

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
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests.conftest import pair_settings
from tests.scripts import APPROVE, block, finding, review

# emoji, CJK and CRLF around the function under edit: positions must survive every encoding
HEADER = "# 😀 données 日本語 ✓\r\nNAME = '中文😀'\r\n\r\n"
FUNC = ('def largest(values):\r\n    """Return the largest number in values."""\r\n'
        "    best = 0  # 😀\r\n    for v in values:\r\n        if v > best:\r\n"
        "            best = v\r\n    return best\r\n")
DOC = HEADER + FUNC + "\r\nprint(largest([3, 1, 2]))  # 中\r\n"
W1 = "Start from the first value.\n" + block("    best = 0  # 😀", "    best = values[0]  # 😀")
W2 = "Guard the empty list.\n" + block(
    "    best = values[0]  # 😀", "    if not values:\n        raise ValueError(\"empty\")\n"
    "    best = values[0]  # 😀")
R1 = review("revise", finding("F1", "best = values[0]", "an empty list raises IndexError",
                              line=3))
EXPECTED = DOC.replace("    best = 0  # 😀\r\n", "    if not values:\r\n"
                       "        raise ValueError(\"empty\")\r\n    best = values[0]  # 😀\r\n")
URI = "file:///tmp/pair-test/m.py"


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    register_lsp_features(client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items()
                                   if m != types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS})
    client.answers: list[str] = []  # type: ignore[attr-defined]
    client.message_requests: list[types.ShowMessageRequestParams] = []  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied_edits.append(params.edit)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def message_request(params: types.ShowMessageRequestParams) -> Any:
        client.message_requests.append(params)  # type: ignore[attr-defined]
        answers = client.answers  # type: ignore[attr-defined]
        title = answers.pop(0) if answers else None
        return types.MessageActionItem(title) if title else None

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.diagnostic_history.append(params)  # type: ignore[attr-defined]

    @client.feature("pair/status")
    def status(params: Any) -> None:
        client.statuses.append(params)  # type: ignore[attr-defined]

    client.applied_edits = []  # type: ignore[attr-defined]
    client.statuses = []  # type: ignore[attr-defined]
    client.diagnostic_history = []  # type: ignore[attr-defined]
    return client


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                              client_factory=make_client),
    params=["visual-studio-code", "neovim"],
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    fake: FakeModelServer = request.getfixturevalue("fake")
    tmp: Path = request.getfixturevalue("tmp_path")
    lsp_client.fake = fake  # type: ignore[attr-defined]
    lsp_client.editor = request.param  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(request.param),
        initialization_options=pair_settings(fake, "openai", "anthropic", tmp)))
    yield
    await lsp_client.shutdown_session()


# ------------------------------------------------------------------- helpers


def open_doc(client: LanguageClient, text: str = DOC, uri: str = URI) -> TextDocument:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    encoding = client_encoding(client)
    return TextDocument(uri, text, version=1, position_codec=PositionCodec(encoding))


def client_encoding(client: LanguageClient) -> types.PositionEncodingKind:
    # Neovim 0.11 offers utf-8 first and gets it; VS Code gets the utf-16 default
    return (types.PositionEncodingKind.Utf8 if client.editor == "neovim"  # type: ignore[attr-defined]
            else types.PositionEncodingKind.Utf16)


def func_range(doc: TextDocument) -> dict[str, Any]:
    first = doc.source.count("\n", 0, doc.source.index("def largest"))
    return {"start": {"line": first, "character": 0}, "end": {"line": first + 7, "character": 0}}


def change(client: LanguageClient, doc: TextDocument, rng: types.Range, text: str) -> None:
    """Edit the client's copy and tell the server (incremental sync)."""
    doc.apply_change(types.TextDocumentContentChangePartial(range=rng, text=text))
    doc.version = (doc.version or 0) + 1
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
        content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)]))


def apply_workspace_edit(client: LanguageClient, doc: TextDocument,
                         edit: types.WorkspaceEdit) -> None:
    edits: list[types.TextEdit] = []
    if edit.document_changes:
        for dc in edit.document_changes:
            assert isinstance(dc, types.TextDocumentEdit)
            assert dc.text_document.version == doc.version, "edit is for another version"
            edits += [e for e in dc.edits if isinstance(e, types.TextEdit)]
    elif edit.changes:
        edits = list(edit.changes[doc.uri])
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        change(client, doc, e.range, e.new_text)


async def execute(client: LanguageClient, command: str, arg: Any = None) -> Any:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command, arguments=[arg] if arg is not None else []))


async def until(predicate: Any, wait: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + wait
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def code_actions(client: LanguageClient, doc: TextDocument,
                       rng: dict[str, Any]) -> list[Any]:
    """The actions offered. The test client's converter reads a CodeAction that carries a
    `command` object as a Command (a union ambiguity in the client library; editors tell them
    apart by `typeof command`), so both shapes are returned; tests look at titles."""
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(doc.uri),
        range=types.Range(types.Position(**rng["start"]), types.Position(**rng["end"])),
        context=types.CodeActionContext(diagnostics=list(client.diagnostics.get(doc.uri, [])))))
    return list(result or [])


async def apply_action(client: LanguageClient, doc: TextDocument, action: types.CodeAction) -> None:
    resolved = action if action.edit else await client.code_action_resolve_async(action)
    assert resolved.edit is not None, "the action carried no edit"
    apply_workspace_edit(client, doc, resolved.edit)
    if resolved.command:
        await execute(client, resolved.command.command, *(resolved.command.arguments or []))


def script_pair(fake: FakeModelServer, reviewer: list[Any] | None = None) -> None:
    fake.script("w", [W1, W2])
    fake.script("r", reviewer or [R1, APPROVE])


# --------------------------------------------------------------------- tests


async def test_pair_selection_end_to_end(client: LanguageClient) -> None:
    script_pair(client.fake)  # type: ignore[attr-defined]
    doc = open_doc(client)
    other = {"range": {"start": {"line": 5, "character": 4}, "end": {"line": 5, "character": 8}},
             "message": "B007 loop variable could be simpler", "source": "ruff"}
    result = await execute(client, "pair.selection", {
        "uri": URI, "range": func_range(doc), "instruction": "handle empty lists",
        "diagnostics": [other]})
    assert result["status"] == "approved" and result["rounds"] == 2
    worker_first = next(r for r in client.fake.requests if r.model == "w")  # type: ignore[attr-defined]
    assert "line 6: [ruff] B007 loop variable" in str(worker_first.body)
    assert "handle empty lists" in str(worker_first.body)
    # progress: begin, reports, end
    reports = [p for ps in client.progress_reports.values() for p in ps]
    kinds = [getattr(v, "kind", None) for v in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    assert any("Round 2/3 · reviewer" in (getattr(v, "message", "") or "") for v in reports)
    # the round-1 finding was published as a diagnostic while the session ran; it quoted the
    # worker's candidate (not in the document), so it sat on the target, "in the proposed edit"
    history = client.diagnostic_history  # type: ignore[attr-defined]
    f1 = [d for p in history for d in p.diagnostics if d.code == "F1"]
    assert f1 and f1[0].source == "pair" and "(in the proposed edit)" in f1[0].message
    assert f1[0].severity == types.DiagnosticSeverity.Warning
    assert f1[0].data["sessionId"] == result["sessionId"]
    assert f1[0].range.start.line == func_range(doc)["start"]["line"]
    # round 2 approved: the finding it resolved is gone
    assert not client.diagnostics.get(URI)
    actions = await code_actions(client, doc, func_range(doc))
    apply = [a for a in actions if a.title.startswith("Pair: Apply approved edit")]
    assert apply and apply[0].is_preferred and apply[0].kind == types.CodeActionKind.RefactorRewrite
    await apply_action(client, doc, apply[0])
    assert doc.source == EXPECTED
    await until(lambda: not client.diagnostics.get(URI))


async def test_review_findings_anchor_on_quotes(client: LanguageClient) -> None:
    client.fake.script("r", [review("revise", finding(  # type: ignore[attr-defined]
        "F1", "best = 0  # 😀", "starts below negative numbers", line=3))])
    doc = open_doc(client)
    result = await execute(client, "pair.review", {"uri": URI, "range": func_range(doc)})
    assert result["status"] == "exhausted" and result["findings"][0]["id"] == "F1"
    diag = client.diagnostics[URI][0]
    start = doc.offset_at_position(diag.range.start)
    end = doc.offset_at_position(diag.range.end)
    assert doc.source[start:end] == "best = 0  # 😀"
    # an edit that removes the quoted code drops the diagnostic
    line = diag.range.start.line
    change(client, doc, types.Range(types.Position(line, 0), types.Position(line + 1, 0)), "")
    await until(lambda: not client.diagnostics.get(URI))


async def test_first_diagnostic_before_review_stream_ends(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.token_rate = 40  # a slow reviewer stream: ~10 s for this reply
    long_review = review("revise", finding("F1", "best = 0", "first finding"),
                         finding("F2", "for v in values:", "second finding " + "x" * 900))
    fake.script("r", [long_review])
    doc = open_doc(client)
    task = asyncio.ensure_future(execute(client, "pair.review", {"uri": URI,
                                                                 "range": func_range(doc)}))
    await until(lambda: bool(client.diagnostics.get(URI)), wait=30)
    assert fake.open_requests == 1, "the first finding arrived only after the stream ended"
    await execute(client, "pair.cancel", {"uri": URI})
    result = await task
    assert result["status"] == "cancelled"


async def test_stale_edit_rebased_or_withdrawn(client: LanguageClient) -> None:
    script_pair(client.fake, [APPROVE])  # type: ignore[attr-defined]
    doc = open_doc(client)
    result = await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc)})
    assert result["status"] == "approved"
    # the user types above the function: the action still applies, to the right lines
    change(client, doc, types.Range(types.Position(0, 0), types.Position(0, 0)),
           "import os  # 新しい\r\n\r\n")
    actions = await code_actions(client, doc, func_range(doc))
    apply = [a for a in actions if a.title.startswith("Pair: Apply approved edit")]
    assert apply
    await apply_action(client, doc, apply[0])
    assert doc.source == "import os  # 新しい\r\n\r\n" + DOC.replace(
        "    best = 0  # 😀", "    best = values[0]  # 😀")


async def test_stale_edit_withdrawn_when_code_destroyed(client: LanguageClient) -> None:
    script_pair(client.fake, [APPROVE])  # type: ignore[attr-defined]
    doc = open_doc(client)
    await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc)})
    line = doc.source.count("\n", 0, doc.source.index("    best = 0"))
    change(client, doc, types.Range(types.Position(line, 0), types.Position(line + 1, 0)),
           "    best = -1\r\n")
    actions = await code_actions(client, doc, func_range(doc))
    live = [a for a in actions if a.title.startswith("Pair: Apply")
            and getattr(a, "disabled", None) is None]
    assert live == []
    result = await execute(client, "pair.apply", {"sessionId": (await execute(
        client, "pair.status"))["sessions"][-1]["sessionId"]})
    assert result["applied"] is False and "changed" in result["reason"]


@pytest.mark.parametrize("path", ["pair.cancel", "progress", "cancelRequest"])
async def test_cancel_paths(client: LanguageClient, path: str) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [Reply(text=W1, fault="stall", disconnect_after=5)])
    doc = open_doc(client)
    fut = asyncio.ensure_future(client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="pair.selection", arguments=[{"uri": URI, "range": func_range(doc)}]),
        msg_id="pair-cmd-1"))
    await until(lambda: fake.open_requests == 1 and bool(client.progress_reports))
    if path == "pair.cancel":
        result = await execute(client, "pair.cancel", {"uri": URI})
        assert len(result["cancelled"]) == 1
    elif path == "progress":
        token = next(iter(client.progress_reports))
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token))
    else:
        client.cancel_request(types.CancelParams(id="pair-cmd-1"))
    try:
        result = await asyncio.wait_for(fut, 10)
        assert result["status"] == "cancelled"
    except Exception as exc:  # $/cancelRequest answers the request with RequestCancelled
        assert path == "cancelRequest", exc
    await until(lambda: fake.open_requests == 0, wait=10)
    status = await execute(client, "pair.status")
    assert status["sessions"][-1]["status"] == "cancelled"
    ends = [p for p in client.progress_reports[next(iter(client.progress_reports))]
            if getattr(p, "kind", "") == "end"]
    assert ends, "the progress did not end"


@pytest.mark.parametrize("answer", ["Apply anyway", "Two more rounds", "Discard"])
async def test_exhausted_asks_what_to_do(client: LanguageClient, answer: str) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1, W2])
    fake.script("r", [R1, R1, APPROVE])  # same finding twice -> exhausted; then approval
    client.answers.append(answer)  # type: ignore[attr-defined]
    doc = open_doc(client)
    result = await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc)})
    assert result["status"] == "exhausted" and result["reason"] == "same_findings"
    await until(lambda: bool(client.message_requests))  # type: ignore[attr-defined]
    actions = [a.title for a in client.message_requests[0].actions or []]  # type: ignore[attr-defined]
    assert actions == ["Apply anyway", "Two more rounds", "Discard"]
    if answer == "Apply anyway":
        await until(lambda: bool(client.applied_edits))  # type: ignore[attr-defined]
        apply_workspace_edit(client, doc, client.applied_edits[0])  # type: ignore[attr-defined]
        assert doc.source == EXPECTED
    elif answer == "Two more rounds":
        await until(lambda: len([r for r in fake.requests if r.model == "r"]) >= 3)
        status = await execute(client, "pair.status")
        # the same session goes on, its rounds counted on
        assert [x["sessionId"] for x in status["sessions"]] == [result["sessionId"]]
        await until(lambda: client.statuses[-1].status == "approved")  # type: ignore[attr-defined]
        assert client.statuses[-1].round == 3  # type: ignore[attr-defined]
    else:
        await until(lambda: not client.diagnostics.get(URI))
        actions_now = await code_actions(client, doc, func_range(doc))
        assert not [a for a in actions_now if a.title.startswith("Pair: Apply")]


async def test_two_sessions_run_concurrently_and_code_actions_answer(
        client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [Reply(text=W1, delay=1.0)])
    fake.script("r", [APPROVE])
    doc_a = open_doc(client, uri="file:///tmp/pair-test/a.py")
    doc_b = open_doc(client, uri="file:///tmp/pair-test/b.py")
    tasks = [asyncio.ensure_future(execute(client, "pair.selection", {
        "uri": d.uri, "range": func_range(d)})) for d in (doc_a, doc_b)]
    await until(lambda: fake.open_requests == 2)
    # the server answers while both sessions wait on the model (nothing to offer yet: no
    # proposal, no finding, and this client does not ask for instructions itself)
    actions = await code_actions(client, doc_a, func_range(doc_a))
    assert actions == [], actions
    results = await asyncio.gather(*tasks)
    assert [r["status"] for r in results] == ["approved", "approved"]


async def test_bad_params_get_clear_errors(client: LanguageClient) -> None:
    doc = open_doc(client)
    cases = [
        ("pair.selection", {"uri": "file:///nope.py", "range": func_range(doc)},
         "unknown document"),
        ("pair.selection", {"uri": URI, "range": {"start": {"line": 400, "character": 0},
                                                  "end": {"line": 401, "character": 0}}},
         "past the end"),
        ("pair.selection", {"uri": URI, "range": "lines 1-3"}, "'range' must be"),
        ("pair.selection", {"uri": 42}, "'uri' must be a string"),
        ("pair.apply", {"sessionId": "nope"}, "unknown session"),
        ("pair.nope", {}, "not defined"),
    ]
    for command, arg, expected in cases:
        with pytest.raises(Exception) as info:
            await execute(client, command, arg)
        assert expected in str(info.value), (command, str(info.value))
    status = await execute(client, "pair.status")
    assert status["version"]  # the server is still up and answering


async def test_invalid_setting_message_and_default(client: LanguageClient) -> None:
    client.set_configuration({"maxRounds": "many", "worker": {"provider": "openai"}},
                             section="pair")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await until(lambda: any("maxRounds" in m.message for m in client.messages))
    status = await execute(client, "pair.status")
    assert status["settings"]["maxRounds"] == 3


async def test_settings_layers_take_effect(client: LanguageClient, tmp_path: Path) -> None:
    # initializationOptions: every test's worker/reviewer point at the fake server through them
    status = await execute(client, "pair.status")
    assert status["settings"]["worker"]["baseUrl"].startswith("http://127.0.0.1:")
    assert status["keys"]["worker"].startswith("no") and "sk-" not in str(status)
    # the project file next to the opened document
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".pair-lsp.toml").write_text("maxRounds = 1\ncontextLines = 5\n")
    open_doc(client, uri=(project / "m.py").as_uri())
    status = await execute(client, "pair.status")
    assert (status["settings"]["maxRounds"], status["settings"]["contextLines"]) == (1, 5)
    # workspace/configuration, pulled again on didChangeConfiguration, wins over both
    client.set_configuration({"maxRounds": 2}, section="pair")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await until(lambda: True)
    for _ in range(100):
        status = await execute(client, "pair.status")
        if status["settings"]["maxRounds"] == 2:
            break
        await asyncio.sleep(0.05)
    assert status["settings"]["maxRounds"] == 2
    assert status["settings"]["contextLines"] == 5


async def test_review_on_save_is_debounced(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", finding("F1", "best = 0  # 😀", "starts too low"))])
    client.set_configuration({"reviewOnSave": True, "reviewOnSaveDelay": 0.2}, section="pair")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await until(lambda: True)
    for _ in range(100):
        if (await execute(client, "pair.status"))["settings"]["reviewOnSave"]:
            break
        await asyncio.sleep(0.05)
    open_doc(client)
    for _ in range(3):  # three quick saves: one review
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            types.TextDocumentIdentifier(URI)))
        await asyncio.sleep(0.02)
    await until(lambda: bool(client.diagnostics.get(URI)))
    assert [d.code for d in client.diagnostics[URI]] == ["F1"]
    assert len([r for r in fake.requests if r.model == "r"]) == 1


async def test_did_close_cancels_the_documents_sessions(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [Reply(text=W1, fault="stall", disconnect_after=5)])
    doc = open_doc(client)
    task = asyncio.ensure_future(execute(client, "pair.selection", {"uri": URI,
                                                                    "range": func_range(doc)}))
    await until(lambda: fake.open_requests == 1)
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(URI)))
    result = await asyncio.wait_for(task, 10)
    assert result["status"] == "cancelled"
    await until(lambda: fake.open_requests == 0, wait=10)


def pull_capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("neovim")
    assert caps.workspace is not None
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True)
    return caps


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=[sys.executable, "-m", "pair_lsp", "serve"], client_factory=make_client))
async def pull_client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    fake: FakeModelServer = request.getfixturevalue("fake")
    tmp: Path = request.getfixturevalue("tmp_path")
    lsp_client.fake = fake  # type: ignore[attr-defined]
    lsp_client.editor = "neovim"  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=pull_capabilities(),
        initialization_options=pair_settings(fake, "openai", "anthropic", tmp)))
    yield
    await lsp_client.shutdown_session()


async def test_pull_diagnostics_with_refresh(pull_client: LanguageClient) -> None:
    client = pull_client
    client.fake.script("r", [review("revise", finding(  # type: ignore[attr-defined]
        "F1", "best = 0  # 😀", "starts too low"))])
    doc = open_doc(client)
    result = await execute(client, "pair.review", {"uri": URI})
    assert result["status"] == "exhausted"
    assert client.diagnostic_refresh_count > 0
    assert not client.diagnostics.get(URI)  # pull mode: nothing pushed
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(URI)))
    assert [d.code for d in report.items] == ["F1"]
    start = doc.offset_at_position(report.items[0].range.start)
    assert doc.source[start:start + 8] == "best = 0"


async def test_pair_document_whole_file(client: LanguageClient) -> None:
    script_pair(client.fake, [APPROVE])  # type: ignore[attr-defined]
    doc = open_doc(client)
    result = await execute(client, "pair.document", {"uri": URI, "instruction": "tidy"})
    assert result["status"] == "approved"
    proposal = await execute(client, "pair.proposal", {"sessionId": result["sessionId"]})
    assert proposal["proposed"] == DOC.replace("    best = 0  # 😀", "    best = values[0]  # 😀")
    applied = await execute(client, "pair.apply", {"sessionId": result["sessionId"]})
    assert applied == {"applied": True}
    apply_workspace_edit(client, doc, client.applied_edits[0])  # type: ignore[attr-defined]
    assert doc.source == proposal["proposed"]


async def test_new_session_replaces_findings_in_its_range_only(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [
        review("revise", finding("F1", "NAME = '中文😀'", "a constant outside the function", 2),
               finding("F2", "return best", "inside the function", 10)),
        review("revise", finding("F1", "for v in values:", "the new finding", 4))])
    doc = open_doc(client)
    await execute(client, "pair.review", {"uri": URI})
    assert sorted(d.message.split("\n")[0] for d in client.diagnostics[URI]) == [
        "a constant outside the function", "inside the function"]
    await execute(client, "pair.review", {"uri": URI, "range": func_range(doc)})
    assert sorted(d.message.split("\n")[0] for d in client.diagnostics[URI]) == [
        "a constant outside the function", "the new finding"]
