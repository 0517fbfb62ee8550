"""The pygls language server: one router that wires each LSP concern to its module.

commands.py (pair.*), code_actions.py, sessions.py (running sessions, progress, cancel),
findings.py (diagnostics), positions.py (encodings), settings.py (configuration).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from pair_lsp import __version__
from pair_lsp.config import Settings
from pair_lsp.loop.textops import TextEdit
from pair_lsp.runner import SessionFactory
from pair_lsp.secrets import redact
from pair_lsp.server import code_actions, commands
from pair_lsp.server.findings import FindingStore
from pair_lsp.server.positions import LineIndex, encoding_of
from pair_lsp.server.sessions import SessionManager
from pair_lsp.server.settings import SettingsSync

log = logging.getLogger(__name__)

SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
            "info": types.DiagnosticSeverity.Information, "hint": types.DiagnosticSeverity.Hint}


class PairProtocol(LanguageServerProtocol):
    """Adds what pygls leaves out: $/cancelRequest also stops a running pair command."""

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, PairServer):
            server.sessions.cancel_request(msg_id)


class PairServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("pair-lsp", __version__, protocol_cls=PairProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.findings = FindingStore()
        self.sessions = SessionManager(self)
        self.config = SettingsSync(self)
        self.client_commands: set[str] = set()
        self._factory: SessionFactory | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._indexes: dict[str, tuple[int | None, str, LineIndex]] = {}
        self._save_timers: dict[str, asyncio.TimerHandle] = {}
        self.pull_mode = False

    # ----------------------------------------------------------------- settings

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def settings_messages(self) -> list[str]:
        return self.config.messages

    def factory(self) -> SessionFactory:
        if self._factory is None:
            self._factory = SessionFactory(self.settings, self.config.workspace_root(),
                                           warn=self.show_warning)
        else:
            self._factory.update(self.settings)
        return self._factory

    def transcript_path(self, session_id: str) -> str | None:
        if self._factory is None:
            return None
        t = self._factory.transcripts.get(session_id)
        return str(t.markdown_path) if t is not None and t.markdown_path.exists() else \
            (str(t.jsonl_path) if t is not None and t.jsonl_path.exists() else None)

    # ---------------------------------------------------------------- documents

    def open_document(self, uri: str) -> Any:
        if uri not in self.workspace.text_documents:
            return None
        return self.workspace.get_text_document(uri)

    def current_text(self, uri: str) -> str | None:
        doc = self.open_document(uri)
        return doc.source if doc is not None else None

    def document_version(self, uri: str) -> int | None:
        doc = self.open_document(uri)
        return doc.version if doc is not None else None

    def line_index(self, uri: str) -> LineIndex:
        doc = self.workspace.get_text_document(uri)
        cached = self._indexes.get(uri)
        text = doc.source
        if cached is not None and cached[0] == doc.version and cached[1] is text:
            return cached[2]
        index = LineIndex(text, encoding_of(self))
        self._indexes[uri] = (doc.version, text, index)
        return index

    def other_diagnostics(self, uri: str, start: int, end: int) -> tuple[str, ...]:
        return ()  # other servers' diagnostics are not visible to this one

    def workspace_edit(self, uri: str, edits: list[TextEdit]) -> types.WorkspaceEdit:
        index = self.line_index(uri)
        lsp_edits = [types.TextEdit(index.range(e.start, e.end), e.new_text) for e in edits]
        caps = self.client_capabilities.workspace
        document_changes = bool(caps and caps.workspace_edit and
                                caps.workspace_edit.document_changes)
        if document_changes:
            return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=self.document_version(uri)),
                edits=list(lsp_edits))])
        return types.WorkspaceEdit(changes={uri: lsp_edits})

    # ---------------------------------------------------------------- messages

    def _show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=redact(message)))

    def show_error(self, message: str) -> None:
        self._show(types.MessageType.Error, message)

    def show_warning(self, message: str) -> None:
        self._show(types.MessageType.Warning, message)

    def show_info(self, message: str) -> None:
        self._show(types.MessageType.Info, message)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------- capabilities

    def supports_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    def supports_resolve(self, prop: str) -> bool:
        td = self.client_capabilities.text_document
        ca = td.code_action if td else None
        support = ca.resolve_support if ca else None
        return bool(support and prop in support.properties)

    def supports_disabled_actions(self) -> bool:
        td = self.client_capabilities.text_document
        ca = td.code_action if td else None
        return bool(ca and ca.disabled_support)

    def _client_pull_mode(self) -> bool:
        caps = self.client_capabilities
        pull = caps.text_document and caps.text_document.diagnostic
        refresh = caps.workspace and caps.workspace.diagnostics and \
            caps.workspace.diagnostics.refresh_support
        return bool(pull and refresh)

    # ------------------------------------------------------------- diagnostics

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        if self.open_document(uri) is None:
            return []
        index = self.line_index(uri)
        out = []
        for a in self.findings.get(uri):
            f = a.finding
            message = f.message + (f"\nSuggestion: {f.suggestion}" if f.suggestion else "")
            approx = " · approximate location" if a.approximate else ""
            out.append(types.Diagnostic(
                range=index.range(a.start, a.end),
                message=f"{message}\n— {a.reviewer}, round {a.round}{approx}",
                severity=SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
                code=f.id, source="pair",
                data={"sessionId": a.session_id, "findingId": f.id, "round": a.round}))
        return out

    def publish(self, uri: str) -> None:
        if self.pull_mode:
            try:
                self.workspace_diagnostic_refresh(None)
            except Exception:  # a client without refresh support still pulls on change
                pass
            return
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=self.diagnostics(uri), version=self.document_version(uri)))

    # ---------------------------------------------------------------- on save

    def schedule_review_on_save(self, uri: str) -> None:
        if not self.settings.reviewOnSave:
            return
        timer = self._save_timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._save_timers[uri] = loop.call_later(
            self.settings.reviewOnSaveDelay,
            lambda: self.spawn(self._review_saved(uri)))

    async def _review_saved(self, uri: str) -> None:
        self._save_timers.pop(uri, None)
        if self.open_document(uri) is None:
            return
        try:
            await self.sessions.run(uri, 0, None, mode="review")
        except Exception as exc:
            self.show_warning(f"Pair: review on save failed: {exc}")


def create_server() -> PairServer:
    ls = PairServer()
    commands.register(ls)

    @ls.feature(types.INITIALIZE)
    def initialize(ls: PairServer, params: types.InitializeParams) -> None:
        opts = params.initialization_options
        if isinstance(opts, dict):
            opts = dict(opts)
            extra = opts.pop("clientCommands", None)
            if isinstance(extra, list):
                ls.client_commands = {c for c in extra if isinstance(c, str)}
        ls.config.set_initialization_options(opts, params)
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

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PairServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        text = ls.current_text(uri)
        if text is not None and ls.findings.reanchor(uri, text):
            ls.publish(uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PairServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule_review_on_save(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PairServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.sessions.cancel(uri=uri)
        ls._indexes.pop(uri, None)
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
        await ls.sessions.shutdown()
        if ls._factory is not None:
            await ls._factory.aclose()

    return ls


def serve(*, tcp: bool = False, host: str = "127.0.0.1", port: int = 2087,
          log_level: str = "WARNING") -> int:
    level = getattr(logging, str(log_level).upper(), logging.WARNING)
    logging.getLogger("pair_lsp").setLevel(level)
    logging.getLogger("pygls").setLevel(max(level, logging.WARNING))  # pygls logs bodies
    server = create_server()
    if tcp:
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0


def workspace_root_of(params: types.InitializeParams) -> Path | None:
    from pygls.uris import to_fs_path

    if params.workspace_folders:
        path = to_fs_path(params.workspace_folders[0].uri)
        return Path(path) if path else None
    if params.root_uri:
        path = to_fs_path(params.root_uri)
        return Path(path) if path else None
    return None
