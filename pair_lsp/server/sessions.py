"""Running pair sessions for the language server: start, progress, findings, cancel, apply.

Sessions are asyncio tasks; this module turns their events into diagnostics, progress and
`pair/status` notifications, keeps finished sessions' proposals for the code actions, and owns
the three cancel paths (pair.cancel, work-done progress cancel, $/cancelRequest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from pair_lsp.loop import events as ev
from pair_lsp.loop.protocol import Finding
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.loop.textops import TextEdit, rebase_edits
from pair_lsp.server.findings import anchor

if TYPE_CHECKING:
    from pair_lsp.server.core import PairServer

log = logging.getLogger(__name__)
KEEP_FINISHED = 50


@dataclass
class Record:
    session: Session
    uri: str
    version: int | None
    document: str
    start: int
    end: int
    first_line: int
    request_id: Any = None
    progress_token: str | None = None
    task: asyncio.Task[ev.Finished] | None = None
    finished: ev.Finished | None = None
    resolved: str = ""  # "applied" | "discarded" once the proposal is used up
    started: float = field(default_factory=time.monotonic)
    last_status: float = 0.0
    flush_due: bool = False  # a progress/status update is scheduled for this record
    status_forced: bool = False

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def has_proposal(self) -> bool:
        f = self.finished
        return (f is not None and not self.resolved and bool(f.edits)
                and f.status in ("approved", "exhausted", "cancelled"))

    def summary(self, transcript: str | None = None) -> dict[str, Any]:
        f = self.finished
        out: dict[str, Any] = {"sessionId": self.id, "uri": self.uri,
                               "status": f.status if f else "running",
                               "rounds": f.rounds if f else self.session.round,
                               "findings": [x.to_json() for x in f.findings] if f else [],
                               "summary": f.summary if f else "",
                               "reason": f.reason if f else "",
                               "hasProposal": self.has_proposal,
                               "tokens": self.session.tokens}
        if transcript:
            out["transcript"] = transcript
        return out


class SessionManager:
    def __init__(self, server: PairServer):
        self.server = server
        self.records: OrderedDict[str, Record] = OrderedDict()

    # ------------------------------------------------------------------ queries

    def get(self, session_id: str) -> Record | None:
        return self.records.get(session_id)

    def running(self) -> list[Record]:
        return [r for r in self.records.values() if r.running]

    def for_uri(self, uri: str) -> list[Record]:
        return [r for r in self.records.values() if r.uri == uri]

    def latest(self, uri: str | None = None) -> Record | None:
        for record in reversed(self.records.values()):
            if uri is None or record.uri == uri:
                return record
        return None

    # ------------------------------------------------------------------- start

    async def run(self, uri: str, start: int, end: int | None, *, mode: str,
                  instruction: str = "", request_id: Any = None,
                  diagnostics: tuple[str, ...] = (),
                  seed: tuple[str, tuple[Finding, ...]] | None = None,
                  max_rounds: int | None = None) -> dict[str, Any]:
        """Run a session to its end and return the command result."""
        doc = self.server.command_document(uri)  # as of the command's request
        text = doc.text
        stop = len(text) if end is None else end
        request = PairRequest(document=text, start=start, end=end, path=_path_of(uri),
                              language_id=doc.language_id or "plaintext",
                              instruction=instruction, mode=mode,
                              diagnostics=diagnostics,
                              seed=seed)
        record = Record(session=None,  # type: ignore[arg-type]
                        uri=uri, version=doc.version, document=text, start=start, end=stop,
                        first_line=text.count("\n", 0, start) + 1, request_id=request_id)
        session = self.server.factory().create(request, sinks=[lambda e: self._on_event(
            record, e)], max_rounds=max_rounds)
        record.session = session
        for other in self.running():
            if other.uri == uri and other.start < max(stop, start + 1) and \
                    start < max(other.end, other.start + 1):
                self.server.show_info(f"Pair: a new session on these lines replaced "
                                      f"session {other.id}")
                other.session.cancel()
        self.records[session.id] = record
        self._trim()
        self.server.findings.clear_range(uri, start, stop, keep_session=session.id)
        record.task = asyncio.create_task(session.result(), name=f"pair-{session.id}")
        # the client's answer to progress creation is not worth waiting for before starting
        self.server.spawn(self._begin_progress(record))
        try:
            finished = await asyncio.shield(record.task)
        except asyncio.CancelledError:
            session.cancel()
            finished = await record.task
        transcript = self.server.transcript_path(session.id)
        result = record.summary(transcript)
        if finished.status == "exhausted" and record.has_proposal:
            self.server.spawn(self._ask_exhausted(record))
        return result

    def _trim(self) -> None:
        while len(self.records) > KEEP_FINISHED:
            oldest = next((k for k, r in self.records.items() if not r.running), None)
            if oldest is None:
                return
            self.records.pop(oldest)

    # ------------------------------------------------------------------ events

    def _on_event(self, record: Record, event: ev.Event) -> None:
        if isinstance(event, ev.FindingFound):
            self._add_finding(record, event.finding, event.round)
        elif isinstance(event, ev.Reviewed):
            self._settle_findings(record, event.round, event.findings)
        elif isinstance(event, ev.Finished):
            record.finished = event
            if event.status == "failed":
                self.server.show_error(f"Pair session failed: {event.reason}")
            self._end_progress(record)
            self._notify_status(record, force=True)
            return
        if isinstance(event, ev.RoundStarted | ev.StreamProgress | ev.CallUsage |
                      ev.Reviewed):
            self._schedule_update(record, force=isinstance(event, ev.RoundStarted))

    def _schedule_update(self, record: Record, force: bool) -> None:
        """Progress and status go out on the loop's next turn, coalesced: the session's next
        model request is sent first, and events that arrive together make one update."""
        record.status_forced |= force
        if not record.flush_due:
            record.flush_due = True
            self.server.soon(self._flush_update, record)

    def _flush_update(self, record: Record) -> None:
        record.flush_due = False
        forced, record.status_forced = record.status_forced, False
        if not record.running:  # the end of the session sent its own
            return
        self._report_progress(record)
        self._notify_status(record, force=forced)

    def _anchor(self, record: Record, finding: Finding, round_no: int) -> Any:
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        region = (record.start, record.end) if text == record.document else (0, len(text))
        return anchor(text, finding, region, record.first_line, record.id,
                      record.session.reviewer.info.model, round_no)

    def _add_finding(self, record: Record, finding: Finding, round_no: int) -> None:
        anchored = self._anchor(record, finding, round_no)
        if anchored is None:
            return
        self.server.findings.add(record.uri, anchored)
        self.server.publish_soon(record.uri)

    def _settle_findings(self, record: Record, round_no: int,
                         findings: tuple[Finding, ...]) -> None:
        """A review ended: its findings are final; earlier rounds keep only exact anchors."""
        store = self.server.findings
        kept = [a for a in store.get(record.uri)
                if a.session_id == record.id and a.round < round_no and not a.approximate]
        fresh = [a for f in findings if (a := self._anchor(record, f, round_no)) is not None]
        store.replace_session(record.uri, record.id, kept + fresh)
        self.server.publish_soon(record.uri)

    # ---------------------------------------------------------------- progress

    async def _begin_progress(self, record: Record) -> None:
        if not self.server.supports_progress():
            return
        token = f"pair-{record.id}-{uuid.uuid4().hex[:6]}"
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(token), 10)
        except Exception:  # a client that refuses progress still gets its session
            return
        record.progress_token = token
        self.server.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Pair", cancellable=True, message=self._progress_text(record),
            percentage=0))
        if record.finished is not None:  # it ended while the client was answering
            self._end_progress(record)

    def _progress_text(self, record: Record) -> str:
        s = record.session
        role = s.role or "starting"
        provider = s.worker if role == "worker" else s.reviewer
        model = f" ({provider.info.model})" if provider is not None and s.role else ""
        return (f"Round {max(s.round, 1)}/{s.max_rounds} · {role}{model} · "
                f"{format_tokens(s.tokens)} tokens")

    def _report_progress(self, record: Record) -> None:
        if record.progress_token and record.running:
            s = record.session
            pct = int(100 * (max(s.round, 1) - 1 + (0.5 if s.role == "reviewer" else 0))
                      / max(s.max_rounds, 1))
            self.server.work_done_progress.report(record.progress_token,
                                                  types.WorkDoneProgressReport(
                                                      message=self._progress_text(record),
                                                      percentage=min(pct, 99)))

    def _end_progress(self, record: Record) -> None:
        if record.progress_token:
            f = record.finished
            message = f"{f.status} ({f.reason}) after {f.rounds} round(s)" if f else "done"
            self.server.work_done_progress.end(record.progress_token,
                                               types.WorkDoneProgressEnd(message=message))

    def _notify_status(self, record: Record, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - record.last_status < 0.25:
            return
        record.last_status = now
        s = record.session
        provider = s.worker if s.role == "worker" else s.reviewer
        self.server.protocol.notify("pair/status", {
            "sessionId": record.id, "uri": record.uri,
            "status": record.finished.status if record.finished else "running",
            "round": s.round, "maxRounds": s.max_rounds, "role": s.role,
            "model": provider.info.model if provider else "", "tokens": s.tokens})

    # ------------------------------------------------------------------ cancel

    def cancel(self, session_id: str | None = None, uri: str | None = None) -> list[str]:
        cancelled = []
        for record in self.running():
            if (session_id is None or record.id == session_id) and \
                    (uri is None or record.uri == uri):
                record.session.cancel()
                cancelled.append(record.id)
        return cancelled

    def cancel_request(self, request_id: Any) -> None:
        for record in self.running():
            if record.request_id is not None and record.request_id == request_id:
                record.session.cancel()

    def cancel_token(self, token: Any) -> None:
        for record in self.running():
            if record.progress_token == token:
                record.session.cancel()

    async def shutdown(self) -> None:
        tasks = [r.task for r in self.running() if r.task is not None]
        self.cancel()
        if tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks, timeout=5)

    # ------------------------------------------------------------------- apply

    def current_edits(self, record: Record) -> list[TextEdit] | None:
        """The proposal's edits against the document as it is now; None if withdrawn."""
        if not record.has_proposal or record.finished is None:
            return None
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        edits = list(record.finished.edits)
        if text == record.document:
            return edits
        return rebase_edits(edits, text)

    async def apply(self, record: Record) -> tuple[bool, str]:
        edits = self.current_edits(record)
        if edits is None:
            return False, ("the code changed since the proposal and it no longer matches; "
                           "run the pair again" if record.has_proposal else
                           "this session has no proposal to apply")
        edit = self.server.workspace_edit(record.uri, edits)
        try:
            result = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label="Pair: apply edit"))
        except Exception as exc:
            return False, f"the editor refused the edit: {exc}"
        if not result.applied:
            return False, result.failure_reason or "the editor did not apply the edit"
        self.mark_applied(record)
        return True, ""

    def mark_applied(self, record: Record) -> None:
        """The edit landed: drop the findings it addressed (all but the last review's)."""
        record.resolved = "applied"
        store = self.server.findings
        last = record.finished.rounds if record.finished else 0
        kept = [a for a in store.get(record.uri) if a.session_id != record.id or
                a.round >= last]
        store.replace_session(record.uri, record.id, [a for a in kept
                                                      if a.session_id == record.id])
        text = self.server.current_text(record.uri)
        if text is not None:
            store.reanchor(record.uri, text)
        self.server.publish(record.uri)

    def discard(self, record: Record) -> None:
        record.resolved = "discarded"
        self.server.findings.drop_session(record.id)
        self.server.publish(record.uri)

    async def _ask_exhausted(self, record: Record) -> None:
        f = record.finished
        if f is None:
            return
        remaining = len(f.findings)
        message = (f"Pair: the reviewer did not approve after {f.rounds} round(s) ({f.reason})"
                   + (f"; {remaining} finding(s) remain." if remaining else "."))
        actions = [types.MessageActionItem(t) for t in ("Apply anyway", "Two more rounds",
                                                        "Discard")]
        try:
            answer = await self.server.window_show_message_request_async(
                types.ShowMessageRequestParams(type=types.MessageType.Warning, message=message,
                                               actions=actions))
        except Exception:
            return
        title = answer.title if answer is not None else None
        if title == "Apply anyway":
            ok, reason = await self.apply(record)
            if not ok:
                self.server.show_error(f"Pair: could not apply: {reason}")
        elif title == "Two more rounds":
            await self.continue_session(record, rounds=2)
        elif title == "Discard":
            self.discard(record)

    async def continue_session(self, record: Record, rounds: int) -> dict[str, Any] | None:
        """Run more rounds from the last candidate, with the outstanding findings."""
        f = record.finished
        text = self.server.current_text(record.uri)
        if f is None or text is None:
            return None
        region = record.document[record.start:record.end]
        at = record.start if text == record.document else text.find(region)
        if at < 0 or (text != record.document and text.count(region) != 1):
            self.server.show_error("Pair: the code changed; start a new session instead")
            return None
        candidate = record.session.latest_candidate
        record.resolved = "discarded"
        return await self.run(record.uri, at, at + len(region), mode="pair",
                              instruction=record.session.request.instruction,
                              seed=(candidate, f.findings), max_rounds=rounds)


def format_tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _path_of(uri: str) -> str:
    from pygls.uris import to_fs_path

    try:
        return to_fs_path(uri) or uri
    except Exception:
        return uri
