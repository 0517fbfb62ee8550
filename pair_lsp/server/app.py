"""The pygls language server's router: one handler per LSP method, each delegating to the module
that owns the concern (commands.py, code_actions.py, sessions.py, findings.py, settings.py).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from pair_lsp.server import changes, code_actions, commands
from pair_lsp.server.core import PairServer

log = logging.getLogger(__name__)


def create_server() -> PairServer:
    ls = PairServer()
    commands.register(ls)
    changes.register(ls)  # pair.reviewChanges (issue 11)

    @ls.feature(types.INITIALIZE)
    def initialize(ls: PairServer, params: types.InitializeParams) -> None:
        opts = params.initialization_options
        trusted = False  # absent: the project file's trust-gated settings are ignored
        if isinstance(opts, dict):
            opts = dict(opts)
            extra = opts.pop("clientCommands", None)
            if isinstance(extra, list):
                ls.client_commands = {c for c in extra if isinstance(c, str)}
            trusted = opts.pop("trusted", None) is True
            ls.result_notifications = opts.pop("resultNotifications", None) is True
        ls.config.set_initialization_options(opts, params, trusted=trusted)
        ls.pull_mode = ls._client_pull_mode()

    @ls.feature(types.INITIALIZED)
    async def initialized(ls: PairServer, params: types.InitializedParams) -> None:
        await ls.config.refresh()

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: PairServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        await ls.config.refresh(pushed=params.settings)

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PairServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.config.note_document(params.text_document.uri)
        ls.document_changed(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PairServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.document_changed(params.text_document.uri, params.content_changes)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PairServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule_review_on_save(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PairServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.sessions.cancel(uri=uri)
        ls._indexes.pop(uri, None)
        ls._texts.pop(uri, None)
        if ls.findings.get(uri):
            ls.findings.clear(uri)
            if not ls.pull_mode:
                ls.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @ls.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.RefactorRewrite, types.CodeActionKind.QuickFix,
                           types.CodeActionKind.Refactor], resolve_provider=True))
    def code_action(ls: PairServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions.list_actions(ls, params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: PairServer, params: types.CodeAction) -> types.CodeAction:
        return code_actions.resolve(ls, params)

    @ls.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
        identifier="pair", inter_file_dependencies=False, workspace_diagnostics=False))
    def pull_diagnostics(ls: PairServer, params: types.DocumentDiagnosticParams) -> Any:
        items = ls.diagnostics(params.text_document.uri) if ls.pull_mode else []
        return types.RelatedFullDocumentDiagnosticReport(
            items=items, result_id=f"{ls.findings.version}")

    @ls.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: PairServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.sessions.cancel_token(params.token)

    @ls.feature(types.SHUTDOWN)
    async def shutdown(ls: PairServer, params: Any) -> None:
        for run in list(ls.change_runs.values()):
            run.cancel()
        await ls.sessions.shutdown()
        if ls._factory is not None:
            await ls._factory.aclose()

    return ls


def serve(*, tcp: bool = False, host: str = "127.0.0.1", port: int = 2087,
          socket_path: Path | None = None, token_file: Path | None = None,
          log_level: str = "WARNING") -> int:
    level = getattr(logging, str(log_level).upper(), logging.WARNING)
    logging.getLogger("pair_lsp").setLevel(level)
    logging.getLogger("pygls").setLevel(max(level, logging.WARNING))  # pygls logs bodies
    if tcp or socket_path is not None:
        from pair_lsp.server import tcp as listen

        try:
            where = listen.endpoint(host=host, port=port, socket_path=socket_path,
                                    token_file=token_file)
            return listen.serve(create_server(), where)
        except listen.ServeError as exc:
            print(f"pair-lsp: error: {exc}", file=sys.stderr)
            return 1
    from pair_lsp.server.transport import start_stdio

    start_stdio(create_server())
    return 0
