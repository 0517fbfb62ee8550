"""The server object: document access, capabilities, diagnostics publishing, messages.

The LSP handlers live in app.py (routing), commands.py and code_actions.py; running sessions in
sessions.py; findings in findings.py; encodings in positions.py; settings in settings.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from pair_lsp import __version__
from pair_lsp.config import Settings
from pair_lsp.loop.textops import TextEdit
from pair_lsp.runner import SessionFactory
from pair_lsp.secrets import redact
from pair_lsp.server.documents import Snapshot
from pair_lsp.server.findings import IN_PROPOSAL, Anchored, FindingStore
from pair_lsp.server.positions import LineIndex, encoding_of
from pair_lsp.server.protocol import PairProtocol
from pair_lsp.server.sessions import SessionManager
from pair_lsp.server.settings import SettingsSync
from pair_lsp.server.tracking import Change

log = logging.getLogger(__name__)

SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
            "info": types.DiagnosticSeverity.Information, "hint": types.DiagnosticSeverity.Hint}


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class PairServer(LanguageServer):
    protocol: PairProtocol

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
        self._publish_due: set[str] = set()
        self.pull_mode = False
        self.result_notifications = False  # the client renders pair/result itself
        self._texts: dict[str, str] = {}  # the text each anchor was last placed in
        # more pushed diagnostics per URI (opened or not), e.g. a change review's (changes.py)
        self.diagnostic_sources: list[Callable[[str], list[types.Diagnostic]]] = []
        # change reviews and pairings running (changes.py), by session id: pair.cancel stops them
        self.change_runs: dict[str, Cancellable] = {}

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
        if t is None or not t.jsonl_path.exists():
            return None
        # the Markdown rendering is written in the background as the session ends
        return str(t.markdown_path if t.finished else t.jsonl_path)

    async def transcript_ready(self, session_id: str) -> None:
        t = self._factory.transcripts.get(session_id) if self._factory else None
        if t is not None and t.finished:
            await asyncio.to_thread(t.wait_written, 5.0)

    # ---------------------------------------------------------------- documents

    def open_document(self, uri: str) -> Any:
        # pygls keys documents by the unquoted URI ("file:///a%20b.py" is "file:///a b.py")
        if unquote(uri) not in self.workspace.text_documents:
            return None
        return self.workspace.get_text_document(uri)

    def command_document(self, uri: str) -> Snapshot:
        """The document as it was when the running command's request arrived: a command runs
        as a task, after the messages read with it (a didChange sent just after the command
        is applied before the command starts). Outside a command: the document as it is."""
        snap = self.protocol.snapshot_for(uri)
        if snap is not None:
            return snap
        doc = self.workspace.get_text_document(uri)
        return Snapshot(uri, doc.version, doc.source, doc.language_id)

    def command_index(self, uri: str) -> LineIndex:
        """The line index of :meth:`command_document`."""
        snap = self.protocol.snapshot_for(uri)
        if snap is None or snap.text is self.current_text(uri):
            return self.line_index(uri)
        return LineIndex(snap.text, encoding_of(self))

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
        extra = [] if self.pull_mode else [d for source in self.diagnostic_sources
                                           for d in source(uri)]
        if self.open_document(uri) is None:
            return extra
        index = self.line_index(uri)
        return [self._diagnostic(index, a) for a in self.findings.get(uri)] + extra

    @staticmethod
    def _diagnostic(index: LineIndex, a: Anchored) -> types.Diagnostic:
        f = a.finding
        lines = [f.message + (f" ({IN_PROPOSAL})" if a.placement == "proposal" else "")]
        if a.declined is not None:
            lines.append(f"Declined by the worker: {a.declined}")
        elif f.suggestion:
            lines.append(f"Suggestion: {f.suggestion}")
        agreed = f" ({f.agreement} reviewers agree)" if f.agreement else ""
        lines.append(f"— {a.reviewer}, round {a.round}{agreed}")
        return types.Diagnostic(
            range=index.range(a.start, a.end), message="\n".join(lines),
            severity=SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
            code=f.id, source="pair",
            data={"sessionId": a.session_id, "findingId": f.id, "round": a.round})

    # ---------------------------------------------------------------- changes

    def document_changed(self, uri: str, changes: Sequence[Any] = ()) -> None:
        """Anchors (session targets, findings) follow the user's edit (``changes``: the
        didChange content changes, already applied to the document)."""
        text = self.current_text(uri)
        old = self._texts.get(uri)
        if text is None:
            return
        self._texts[uri] = text
        if old is None:
            return
        self.sessions.on_change(uri, changes)
        change = Change.between(old, text)
        if change is not None and self.findings.follow(uri, change, text):
            self.publish(uri)

    @staticmethod
    def soon(callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback`` on the loop's next turn, after the current task next waits (for
        a session: after its next model request is sent); at once when no loop runs."""
        try:
            asyncio.get_running_loop().call_soon(callback, *args)
        except RuntimeError:
            callback(*args)

    def publish_soon(self, uri: str) -> None:
        """Publish on the loop's next turn; several changes in one turn make one publish."""
        if uri not in self._publish_due:
            self._publish_due.add(uri)
            self.soon(self._publish_due_now, uri)

    def _publish_due_now(self, uri: str) -> None:
        if uri in self._publish_due:  # not already published directly since
            self.publish(uri)

    def publish(self, uri: str) -> None:
        self._publish_due.discard(uri)
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


def workspace_root_of(params: types.InitializeParams) -> Path | None:
    from pygls.uris import to_fs_path

    if params.workspace_folders:
        path = to_fs_path(params.workspace_folders[0].uri)
        return Path(path) if path else None
    if params.root_uri:
        path = to_fs_path(params.root_uri)
        return Path(path) if path else None
    return None
