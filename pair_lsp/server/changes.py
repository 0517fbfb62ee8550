"""`pair.reviewChanges {scope, base?, commit?, instruction?}`: the reviewer on a git change, its
findings published as diagnostics for every file they are on, opened or not. `pair.pairChanges
{scope, base?, instruction?}`: the pair loop on the change; its result holds one versioned
WorkspaceEdit over every file (`edit`) for the client to apply.

A file that is open is anchored against its buffer, any other against the file on disk; the
diagnostics are pushed (textDocument/publishDiagnostics) whatever the client's diagnostic mode,
so unopened files show too. A review replaces, file by file as its findings arrive, the findings
of the previous review of the same scope; when it ends, files the new review found clean are
cleared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import default_converter
from pygls.uris import from_fs_path

from pair_lsp.providers.base import ProviderConfigError
from pair_lsp.server.core import SEVERITY, PairServer
from pair_lsp.server.findings import anchor
from pair_lsp.server.positions import LineIndex, encoding_of

if TYPE_CHECKING:  # the change modules load on the first command: the server starts without
    from pair_lsp.changes.git import ChangeSet
    from pair_lsp.changes.pairing import FileProposal
    from pair_lsp.changes.review import ChangeFinding, ChangesResult
    from pair_lsp.loop.events import Event

COMMAND = "pair.reviewChanges"
PAIR_COMMAND = "pair.pairChanges"


@dataclass
class ScopeFindings:
    """The latest findings of one scope (e.g. "uncommitted", "base:main"), by URI."""

    session_id: str = ""
    by_uri: dict[str, list[ChangeFinding]] = field(default_factory=dict)


class ChangeFindings:
    """Every scope's findings, and the diagnostics they make."""

    def __init__(self, ls: PairServer):
        self.ls = ls
        self.scopes: dict[str, ScopeFindings] = {}
        self.paths: dict[str, Path] = {}  # uri -> file on disk

    def uris(self) -> set[str]:
        return {u for s in self.scopes.values() for u in s.by_uri}

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        items = [(s.session_id, f) for s in self.scopes.values() for f in s.by_uri.get(uri, ())]
        if not items:
            return []
        text, index = self._text(uri)
        if text is None or index is None:
            return []
        out = []
        for session_id, item in items:
            f = item.finding
            placed = anchor(text, f, (0, len(text)), session_id, "", 1)
            if placed.placement == "proposal":  # the quote is gone: its line, approximately
                placed = anchor(text, replace(f, quote=""), (0, len(text)), session_id, "", 1)
            lines = [f.message]
            if f.suggestion:
                lines.append(f"Suggestion: {f.suggestion}")
            if f.rule:
                lines.append(f"Rule: {f.rule}")
            approx = " · approximate location" if placed.approximate else ""
            lines.append(f"— change review{approx}")
            out.append(types.Diagnostic(
                range=index.range(placed.start, placed.end), message="\n".join(lines),
                severity=SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
                code=f.id, source="pair",
                data={"sessionId": session_id, "findingId": f.id, "file": item.file,
                      "fingerprint": item.fingerprint, "rule": f.rule}))
        return out

    def _text(self, uri: str) -> tuple[str | None, LineIndex | None]:
        if self.ls.open_document(uri) is not None:
            return self.ls.current_text(uri), self.ls.line_index(uri)
        path = self.paths.get(uri)
        try:
            text = path.read_text(encoding="utf-8") if path else None
        except (OSError, UnicodeDecodeError):
            return None, None
        return text, (LineIndex(text, encoding_of(self.ls)) if text is not None else None)

    def publish(self, uri: str) -> None:
        if self.ls.pull_mode:  # pulled diagnostics cover open files only: push ours
            self.ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, diagnostics=self.diagnostics(uri)))
        else:
            self.ls.publish(uri)  # the core's diagnostics and ours (diagnostic_sources)

    def dismiss(self, uri: str, finding_id: str, reason: str = "", remember: bool = True,
                session_id: str | None = None) -> bool:
        """Clear one change finding (for `pair.dismiss`); ``remember`` records it in the
        workspace's `.pair/dismissed.jsonl`. False when no change finding has that id."""
        for scope in self.scopes.values():
            if session_id is not None and scope.session_id != session_id:
                continue
            items = scope.by_uri.get(uri, [])
            hit = next((i for i in items if i.finding.id == finding_id), None)
            if hit is None:
                continue
            scope.by_uri[uri] = [i for i in items if i is not hit]
            root = self.ls.config.workspace_root()
            if remember and root is not None:
                from pair_lsp.changes.dismissals import Dismissals
                from pair_lsp.changes.git import ChangesError, repo_root

                try:
                    root = repo_root(root)
                except ChangesError:
                    pass
                Dismissals(root).add(hit.finding, reason)
            self.publish(uri)
            return True
        return False


def _params(args: tuple[Any, ...], command: str = COMMAND,
            scopes: tuple[str, ...] | None = None) -> tuple[str, str | None, str]:
    from pair_lsp.changes.git import SCOPES

    scopes = scopes or SCOPES
    if len(args) != 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{command} expects one argument object "
                                   "{scope, base?, commit?, instruction?}")
    obj = args[0]
    scope = obj.get("scope", "uncommitted")
    if scope not in scopes:
        raise JsonRpcInvalidParams(f"{command}: 'scope' must be one of {', '.join(scopes)}, "
                                   f"got {scope!r}")
    ref = obj.get("base") if scope == "base" else obj.get("commit") if scope == "commit" \
        else None
    if scope in ("base", "commit") and not (isinstance(ref, str) and ref.strip()):
        key = "base" if scope == "base" else "commit"
        raise JsonRpcInvalidParams(f"{command}: scope {scope!r} needs '{key}' (a ref string)")
    instruction = obj.get("instruction") or ""
    if not isinstance(instruction, str):
        raise JsonRpcInvalidParams(f"{command}: 'instruction' must be a string")
    return scope, ref, instruction


async def _change_set(ls: PairServer, command: str, args: tuple[Any, ...],
                      scopes: tuple[str, ...] | None = None
                      ) -> tuple[Path, ChangeSet, tuple[str, str | None, str]]:
    """The workspace, its change in the command's scope, and the command's params; a clear
    InvalidParams when there is no workspace, no git repository or no such ref."""
    from pair_lsp.changes.git import ChangesError, collect

    params = _params(args, command, scopes)
    root = ls.config.workspace_root()
    if root is None:
        raise JsonRpcInvalidParams(f"{command}: the server has no workspace folder")
    scope, ref, _ = params
    try:
        changes = await asyncio.to_thread(collect, root, scope, ref,
                                          max_files=ls.settings.changes.maxFiles)
    except ChangesError as exc:
        raise JsonRpcInvalidParams(f"{command}: {exc}") from None
    return root, changes, params


async def _run_listed(ls: PairServer, run: Any) -> Any:
    """Run a change review or pairing, listed in ``ls.change_runs`` so that pair.cancel (and
    shutdown) reach it, and $/cancelRequest of its command."""
    run.request_id = ls.protocol.msg_id  # $/cancelRequest of this command (protocol.py)
    ls.change_runs[run.id] = run
    try:
        return await run.run()
    finally:
        ls.change_runs.pop(run.id, None)


def register(ls: PairServer) -> ChangeFindings:
    store = ChangeFindings(ls)
    ls.diagnostic_sources.append(store.diagnostics)
    ls.change_findings = store  # type: ignore[attr-defined]

    @ls.command(COMMAND)
    async def review_changes_command(ls: PairServer, *args: Any) -> dict[str, Any]:
        from pair_lsp.changes.review import review_changes

        root, changes, (scope, ref, instruction) = await _change_set(ls, COMMAND, args)
        settings = ls.settings
        factory = ls.factory()
        key = scope + (f":{ref}" if ref else "")
        # until the new review ends, the old findings of files it has not reached stay
        previous = store.scopes.get(key, ScopeFindings())
        current = ScopeFindings(previous.session_id, dict(previous.by_uri))
        store.scopes[key] = current
        touched: set[str] = set()

        def uri_of(item: ChangeFinding) -> str:
            path = changes.root / item.file
            uri = from_fs_path(str(path)) or path.as_uri()
            store.paths[uri] = path
            return uri

        def on_finding(item: ChangeFinding) -> None:
            uri = uri_of(item)
            if uri not in touched:  # the first new finding on a file replaces the old ones
                touched.add(uri)
                current.by_uri[uri] = []
            current.by_uri[uri].append(item)
            store.publish(uri)

        try:
            review = review_changes(changes, settings, factory, instruction=instruction,
                                    on_finding=on_finding, sinks=[_status_sink(ls, root)])
        except ProviderConfigError as exc:
            raise JsonRpcInvalidParams(f"{COMMAND}: {exc}") from None
        current.session_id = review.id
        result = await _run_listed(ls, review)
        for uri in [u for u in current.by_uri if u not in touched]:
            del current.by_uri[uri]  # the new review found nothing there: cleared
            store.publish(uri)
        _review_ended(ls, root, result)
        return _result(result, {item.fingerprint: uri_of(item) for item in result.findings})

    @ls.command(PAIR_COMMAND)
    async def pair_changes_command(ls: PairServer, *args: Any) -> dict[str, Any]:
        from pair_lsp.changes.pairing import ChangesPair

        root, changes, (_, _, instruction) = await _change_set(ls, PAIR_COMMAND, args,
                                                               ("uncommitted", "base"))
        settings = ls.settings
        factory = ls.factory()
        try:
            pair = ChangesPair(changes, settings, factory.provider(settings.worker),
                               factory.provider(settings.reviewer), factory.cache,
                               instruction=instruction,
                               sinks=[_status_sink(ls, root, "pair", settings.maxRounds)])
        except ProviderConfigError as exc:
            raise JsonRpcInvalidParams(f"{PAIR_COMMAND}: {exc}") from None
        result = await _run_listed(ls, pair)
        edit, problem = change_set_edit(ls, changes.root, result.proposals)
        files = len(result.proposals)
        message = ("Pair: approved after " if result.status == "approved" else
                   f"Pair: {result.status} ({result.reason}) after ") + \
            f"{result.rounds} round(s): edits to {files} file(s)" + \
            (f", {len(result.findings)} finding(s) open." if result.findings else ".")
        _announce(ls, root, session_id=result.session_id, status=result.status,
                  reason=problem or result.reason, rounds=result.rounds,
                  open_findings=len(result.findings), message=message, mode="pair",
                  model=pair.reviewer.info.label, tokens=result.usage.total)
        return {"sessionId": result.session_id, "status": result.status,
                "reason": problem or result.reason, "rounds": result.rounds,
                "findings": [f.to_json() for f in result.findings],
                "files": [p.path for p in result.proposals],
                "edit": default_converter().unstructure(edit) if edit else None}

    return store


def change_set_edit(ls: PairServer, root: Path, proposals: list[FileProposal]
                    ) -> tuple[types.WorkspaceEdit | None, str | None]:
    """One versioned WorkspaceEdit over every proposed file: open files at their buffer's
    version, others as on disk. (None, why) when a buffer differs from what the session read."""
    from pair_lsp.loop.textops import Eol, region_edits

    if not proposals:
        return None, None
    encoding = encoding_of(ls)
    document_changes: list[types.TextDocumentEdit] = []
    changes: dict[str, list[types.TextEdit]] = {}
    for p in proposals:
        uri = from_fs_path(str(root / p.path)) or (root / p.path).as_uri()
        version = ls.document_version(uri)
        if version is not None and ls.current_text(uri) != p.original:
            return None, (f"{p.path} has changes in the editor that the session did not see "
                          "(save it and pair again)")
        index = LineIndex(p.original, encoding)
        edits = [types.TextEdit(index.range(e.start, e.end), e.new_text)
                 for e in region_edits(p.original, 0, len(p.original),
                                       Eol.of(p.proposed).text)]
        document_changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri,
                                                                        version=version),
            edits=list(edits)))
        changes[uri] = edits
    caps = ls.client_capabilities.workspace
    if caps and caps.workspace_edit and caps.workspace_edit.document_changes:
        return types.WorkspaceEdit(document_changes=document_changes), None
    return types.WorkspaceEdit(changes=changes), None


def _status_sink(ls: PairServer, root: Path, mode: str = "review",
                 max_rounds: int = 1) -> Any:
    """`pair/status` while a change session runs: at its start and at each model turn (who is
    at work, which round)."""
    from pair_lsp.loop.events import RoundStarted, SessionStarted

    session = ""

    def notify(round_no: int, role: str, model: str) -> None:
        doing = "fixing the change" if role == "worker" else "reviewing changes"
        rounds = f" · round {round_no}/{max_rounds}" if mode == "pair" else ""
        ls.protocol.notify("pair/status", {
            "sessionId": session, "uri": root.as_uri(), "status": "running",
            "round": round_no, "maxRounds": max_rounds, "role": role, "mode": mode,
            "model": model, "tokens": 0, "message": f"Pair · {doing}{rounds} ({model})"})

    def sink(event: Event) -> None:
        nonlocal session
        if isinstance(event, SessionStarted):
            session = event.session_id
            notify(1, "reviewer", event.reviewer)
        elif isinstance(event, RoundStarted) and session and \
                (mode == "pair" or event.round > 1):
            notify(event.round, event.role, event.model)
    return sink


def _announce(ls: PairServer, root: Path, *, session_id: str, status: str, reason: str,
              rounds: int, open_findings: int, message: str, mode: str, model: str,
              tokens: int) -> None:
    """The end of a change session: `pair/status`, then `pair/result` to clients that render
    it (contract), or an error message to the others."""
    level = "error" if status == "failed" else "warning" if open_findings else "info"
    ls.protocol.notify("pair/status", {
        "sessionId": session_id, "uri": root.as_uri(), "status": status, "round": rounds,
        "maxRounds": rounds, "role": "reviewer", "mode": mode, "model": model,
        "tokens": tokens, "message": message})
    if ls.result_notifications:
        ls.protocol.notify("pair/result", {
            "sessionId": session_id, "uri": root.as_uri(), "status": status, "reason": reason,
            "rounds": rounds, "openFindings": open_findings, "hasProposal": False,
            "approved": status == "approved", "message": message, "level": level,
            "actions": ["showTranscript"], "notes": []})
    elif status == "failed":
        ls.show_error(message)


def _review_ended(ls: PairServer, root: Path, result: ChangesResult) -> None:
    status = {"clean": "approved", "findings": "exhausted"}.get(result.status, result.status)
    message = f"Pair: {result.summary}" if result.status not in ("failed", "cancelled") else \
        f"Pair: the change review {result.status}: {result.reason}"
    _announce(ls, root, session_id=result.session_id, status=status,
              reason=result.reason or status, rounds=1, open_findings=len(result.findings),
              message=message, mode="review", model=result.reviewer,
              tokens=result.usage.total)


def _result(result: ChangesResult, uris: dict[str, str]) -> dict[str, Any]:
    data = result.to_json()
    data["findings"] = [{**f.to_json(), "uri": uris.get(f.fingerprint)}
                        for f in result.findings]
    return {"sessionId": result.session_id, "rounds": 1, **data}
