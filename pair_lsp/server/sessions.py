"""Running pair sessions for the language server: start, progress, findings, cancel, apply.

Sessions are asyncio tasks; this module turns their events into diagnostics, progress and
`pair/status` notifications, keeps finished sessions' proposals for the code actions, and owns
the three cancel paths (pair.cancel, work-done progress cancel, $/cancelRequest). What the user
sees of a session (its findings, its end message) is decided here, in one place: see
docs/lsp-surface.md, "The finding lifecycle".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from pair_lsp.loop import events as ev
from pair_lsp.loop.protocol import Finding
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.loop.textops import TextEdit
from pair_lsp.server import outcome
from pair_lsp.server.anchoring import AnchorBook
from pair_lsp.server.findings import Anchored, anchor

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
    # the target as it is in the current text (follows the user's edits)
    span: tuple[int, int] = (0, 0)
    # rounds run by earlier runs of this session (pair.continue keeps the session id)
    round_base: int = 0
    # finding ids shown to the user are unique per session: (round, reviewer id) -> shown id
    ids: dict[tuple[int, str], str] = field(default_factory=dict)
    by_signature: dict[tuple[str, str], str] = field(default_factory=dict)
    next_id: int = 1
    latest: dict[str, Finding] = field(default_factory=dict)  # the latest review, by shown id
    latest_round: int = 0
    declined: dict[str, tuple[Finding, str]] = field(default_factory=dict)
    dismissed: set[tuple[str, str]] = field(default_factory=set)  # finding signatures
    notes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def mode(self) -> str:
        return self.session.request.mode

    @property
    def rounds(self) -> int:
        f = self.finished
        return self.round_base + (f.rounds if f else self.session.round)

    @property
    def approved(self) -> bool:
        return self.finished is not None and self.finished.status == "approved"

    @property
    def has_proposal(self) -> bool:
        f = self.finished
        return (f is not None and not self.resolved and bool(f.edits)
                and f.status != "running")

    def open_findings(self) -> list[Finding]:
        return [f for fid, f in self.latest.items() if fid not in self.declined]

    def summary(self, transcript: str | None = None) -> dict[str, Any]:
        f = self.finished
        out: dict[str, Any] = {"sessionId": self.id, "uri": self.uri,
                               "status": f.status if f else "running",
                               "rounds": self.rounds,
                               "findings": [x.to_json() for x in self.latest.values()],
                               "summary": f.summary if f else "",
                               "reason": f.reason if f else "",
                               "hasProposal": self.has_proposal,
                               "tokens": self.session.tokens}
        if f is not None:
            out["message"] = outcome.describe(self).message
        if transcript:
            out["transcript"] = transcript
        return out

    # ------------------------------------------------------------- finding ids

    def shown(self, round_no: int, finding: Finding) -> Finding:
        """The finding with its session-unique id (the same finding keeps its id)."""
        key = (round_no, finding.id)
        shown_id = self.ids.get(key)
        if shown_id is None:
            shown_id = self.by_signature.get(finding.signature())
            taken = {v for (r, _), v in self.ids.items() if r == round_no}
            if shown_id is None or shown_id in taken:
                shown_id = f"F{self.next_id}"
                self.next_id += 1
            self.ids[key] = shown_id
            self.by_signature.setdefault(finding.signature(), shown_id)
        return finding if finding.id == shown_id else replace(finding, id=shown_id)


class SessionManager:
    def __init__(self, server: PairServer):
        self.server = server
        self.records: OrderedDict[str, Record] = OrderedDict()
        self.anchors = AnchorBook()

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
                  max_rounds: int | None = None, text: str | None = None,
                  version: int | None = None, previous: Record | None = None,
                  ) -> dict[str, Any]:
        """Run a session to its end and return the command result.

        ``text``/``version``: the document as the request saw it (default: as it is now).
        ``previous``: the record this run continues (same session id, rounds counted on)."""
        doc = self.server.workspace.get_text_document(uri)
        if text is None:
            text, version = doc.source, doc.version
        stop = len(text) if end is None else end
        request = PairRequest(document=text, start=start, end=end, path=_path_of(uri),
                              language_id=doc.language_id or "plaintext",
                              instruction=instruction, mode=mode,
                              diagnostics=diagnostics,
                              seed=seed)
        record = Record(session=None,  # type: ignore[arg-type]
                        uri=uri, version=version, document=text, start=start, end=stop,
                        first_line=text.count("\n", 0, start) + 1, request_id=request_id,
                        span=(start, stop))
        if previous is not None:
            record.round_base = previous.rounds
            record.ids, record.by_signature = previous.ids, previous.by_signature
            record.next_id, record.dismissed = previous.next_id, previous.dismissed
        session = self.server.factory().create(
            request, sinks=[lambda e: self._on_event(record, e)], max_rounds=max_rounds,
            session_id=previous.id if previous is not None else None)
        record.session = session
        current = self.server.current_text(uri)
        if current is not None and current is not text:  # the user typed since the request
            record.span = self.anchors.target(uri, record, current)
        for other in self.running():
            if other.uri == uri and other.span[0] < max(record.span[1], record.span[0] + 1) \
                    and record.span[0] < max(other.span[1], other.span[0] + 1):
                self.server.show_info(f"Pair: a new session on these lines replaced "
                                      f"session {other.id}")
                other.session.cancel()
        if previous is not None:
            self.records.pop(previous.id, None)
            self.server.findings.drop_session(previous.id)
        self.records[session.id] = record
        self._trim()
        self.server.findings.clear_range(uri, record.span[0], record.span[1],
                                         keep_session=session.id)
        record.task = asyncio.create_task(session.result(), name=f"pair-{session.id}")
        # the client's answer to progress creation is not worth waiting for before starting
        self.server.spawn(self._begin_progress(record))
        try:
            finished = await asyncio.shield(record.task)
        except asyncio.CancelledError:
            session.cancel()
            finished = await record.task
        del finished
        transcript = self.server.transcript_path(session.id)
        return record.summary(transcript)

    def _trim(self) -> None:
        while len(self.records) > KEEP_FINISHED:
            oldest = next((k for k, r in self.records.items() if not r.running), None)
            if oldest is None:
                return
            self.records.pop(oldest)

    # ---------------------------------------------------------- user's edits

    def on_change(self, uri: str, changes: Sequence[Any]) -> None:
        """didChange (after pygls applied it): every session's target follows the user's
        edits (its anchor also decides where its proposal can still be applied)."""
        text = self.server.current_text(uri)
        if text is None:
            return
        records = self.for_uri(uri)
        self.anchors.follow(uri, records, changes, text, lambda: self.server.line_index(uri))
        for record in records:
            record.span = self.anchors.target(uri, record, text)

    # ------------------------------------------------------------------ events

    def _on_event(self, record: Record, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStarted):
            record.notes = event.notes
        elif isinstance(event, ev.FindingFound):
            self._add_finding(record, event.finding, event.round)
        elif isinstance(event, ev.Reviewed):
            self._settle_findings(record, event.round, event.findings)
        elif isinstance(event, ev.Declined):
            self._declined(record, event)
        elif isinstance(event, ev.Finished):
            record.finished = event
            self._final_findings(record)
            self._end_progress(record)
            self._notify_status(record, force=True)
            self.server.spawn(self._announce(record))
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

    # ---------------------------------------------------------------- findings

    def _anchor(self, record: Record, finding: Finding, round_no: int,
                declined: str | None = None) -> Anchored | None:
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        a = anchor(text, finding, record.span, record.id,
                   record.session.reviewer.info.model, record.round_base + round_no)
        return replace(a, declined=declined) if declined is not None else a

    def _visible(self, record: Record, finding: Finding) -> bool:
        return finding.signature() not in record.dismissed

    def _add_finding(self, record: Record, finding: Finding, round_no: int) -> None:
        """A finding streamed in: it replaces the earlier rounds' findings of the session."""
        shown = record.shown(round_no, finding)
        if not self._visible(record, shown):
            return
        anchored = self._anchor(record, shown, round_no)
        if anchored is None:
            return
        store = self.server.findings
        store.drop_older_rounds(record.uri, record.id, record.round_base + round_no)
        store.add(record.uri, anchored)
        self.server.publish_soon(record.uri)

    def _settle_findings(self, record: Record, round_no: int,
                         findings: tuple[Finding, ...]) -> None:
        """A review ended: its findings are the session's open findings now."""
        record.latest = {}
        for f in findings:
            shown = record.shown(round_no, f)
            if self._visible(record, shown):
                record.latest[shown.id] = shown
                record.declined.pop(shown.id, None)  # raised again: the decline did not hold
        record.latest_round = round_no
        self._show_findings(record)

    def _declined(self, record: Record, event: ev.Declined) -> None:
        """The worker declined a finding of the previous review (its id is that review's)."""
        shown_id = record.ids.get((event.round - 1, event.finding_id), event.finding_id)
        finding = record.latest.get(shown_id)
        if finding is not None:
            record.declined[shown_id] = (finding, event.reason)

    def _show_findings(self, record: Record) -> None:
        items: list[Anchored] = []
        for fid, f in record.latest.items():
            if fid in record.declined:
                continue
            a = self._anchor(record, f, record.latest_round)
            if a is not None:
                items.append(a)
        for fid, (f, reason) in record.declined.items():
            if fid in record.latest and record.latest[fid] is not f:
                continue
            a = self._anchor(record, replace(f, severity="hint"), record.latest_round,
                             declined=reason)
            if a is not None:
                items.append(a)
        self.server.findings.replace_session(record.uri, record.id, items)
        self.server.publish_soon(record.uri)

    def _final_findings(self, record: Record) -> None:
        """At the end: the latest review's open findings and the declined ones (as hints).
        On approval the findings of earlier reviews are resolved by the approved edit."""
        f = record.finished
        if f is None or (f.status == "failed" and not record.latest):
            return
        if f.status in ("approved", "exhausted") or record.latest:
            self._show_findings(record)

    def dismiss(self, record: Record | None, uri: str, finding_id: str) -> bool:
        """The user dismissed one finding: it goes, and the session does not raise it again."""
        if record is not None:
            finding = record.latest.get(finding_id)
            if finding is None:
                finding = next((f for f, _ in record.declined.values()
                                if f.id == finding_id), None)
            if finding is not None:
                record.dismissed.add(finding.signature())
                record.latest.pop(finding_id, None)
                record.declined.pop(finding_id, None)
        removed = self.server.findings.remove(uri, record.id if record else None, finding_id)
        if removed:
            self.server.publish(uri)
        return removed

    # ---------------------------------------------------------------- progress

    async def _begin_progress(self, record: Record) -> None:
        if not self.server.supports_progress():
            return
        token = f"pair-{record.id}-{uuid.uuid4().hex[:6]}"
        try:
            # shielded: a late answer must find its future uncancelled (pygls reports an
            # answer to a cancelled future as a server error, shown to the user)
            await asyncio.wait_for(asyncio.shield(
                self.server.work_done_progress.create_async(token)), 60)
        except Exception:  # a client that refuses progress still gets its session
            return
        record.progress_token = token
        self.server.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Pair", cancellable=True, message=outcome.progress_text(record),
            percentage=0))
        if record.finished is not None:  # it ended while the client was answering
            self._end_progress(record)

    def _report_progress(self, record: Record) -> None:
        if record.progress_token and record.running:
            s = record.session
            pct = int(100 * (max(s.round, 1) - 1 + (0.5 if s.role == "reviewer" else 0))
                      / max(s.max_rounds, 1))
            self.server.work_done_progress.report(record.progress_token,
                                                  types.WorkDoneProgressReport(
                                                      message=outcome.progress_text(record),
                                                      percentage=min(pct, 99)))

    def _end_progress(self, record: Record) -> None:
        if record.progress_token:
            token, record.progress_token = record.progress_token, None
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(
                message=outcome.describe(record).message.removeprefix("Pair: ")))

    def _notify_status(self, record: Record, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - record.last_status < 0.25:
            return
        record.last_status = now
        s = record.session
        provider = s.worker if s.role == "worker" else s.reviewer
        f = record.finished
        self.server.protocol.notify("pair/status", {
            "sessionId": record.id, "uri": record.uri,
            "status": f.status if f else "running", "mode": record.mode,
            "round": record.round_base + s.round,
            "maxRounds": record.round_base + s.max_rounds, "role": s.role,
            "model": provider.info.model if provider else "", "tokens": s.tokens,
            "message": outcome.describe(record).message if f else
            "Pair · " + outcome.progress_text(record)})

    async def _announce(self, record: Record) -> None:
        """Say once how the session ended, with what the user can do next."""
        result = outcome.describe(record)
        if self.server.result_notifications:
            self.server.protocol.notify("pair/result", result.to_json(record))
            return
        if result.status == "exhausted" and record.has_proposal:
            await self._ask_exhausted(record, result.message)
        elif result.level == "error":
            self.server.show_error(result.message)
        elif result.level == "warning":
            self.server.show_warning(result.message)
        elif record.request_id is None or record.has_proposal:
            # a session the user did not wait on (code action, continue, on save) or one
            # with something to apply: say how it ended
            self.server.show_info(result.message)

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
        """The proposal's edits against the document as it is now (their version is the
        document's current one); None if withdrawn: they are re-based only inside the
        session's target as the user's edits moved it."""
        if not record.has_proposal or record.finished is None:
            return None
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        return self.anchors.edits(record.uri, record, record.finished.edits, text)

    async def confirm_unapproved(self, record: Record) -> bool:
        """Ask before applying an edit the reviewer did not approve."""
        open_count = len(record.open_findings())
        detail = f" ({open_count} finding{'s' if open_count != 1 else ''} open)" \
            if open_count else ""
        question = (f"Pair: the reviewer did not approve this edit{detail}. "
                    "Apply it anyway?")
        try:
            answer = await self.server.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Warning, message=question,
                    actions=[types.MessageActionItem(outcome.APPLY_UNAPPROVED),
                             types.MessageActionItem("Cancel")]))
        except Exception:
            return False
        return answer is not None and answer.title == outcome.APPLY_UNAPPROVED

    async def apply(self, record: Record) -> tuple[bool, str]:
        edits = self.current_edits(record)
        if edits is None:
            return False, ("the code changed since the proposal and it no longer matches; "
                           "run the pair again" if record.has_proposal else
                           "this session has no proposal to apply" if not record.resolved
                           else f"this session's proposal was already {record.resolved}")
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
        """The edit landed: the session's findings are settled with it."""
        record.resolved = "applied"
        self.server.findings.drop_session(record.id)
        self.server.publish(record.uri)

    def discard(self, record: Record) -> None:
        record.resolved = "discarded"
        self.server.findings.drop_session(record.id)
        self.server.publish(record.uri)

    async def _ask_exhausted(self, record: Record, message: str) -> None:
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

    async def continue_session(self, record: Record, rounds: int,
                               instruction: str | None = None) -> dict[str, Any] | None:
        """Run more rounds from the last candidate, with the outstanding findings; the
        session keeps its id and counts its rounds on."""
        f = record.finished
        text = self.server.current_text(record.uri)
        if f is None or text is None:
            return None
        start, end = record.span
        if text[start:end] != record.document[record.start:record.end]:
            self.server.show_error("Pair: the code under this session changed; start a new "
                                   "session on it instead")
            return None
        candidate = record.session.latest_candidate
        seed = (candidate, tuple(record.open_findings())) if record.mode == "pair" else None
        record.resolved = "discarded"
        return await self.run(
            record.uri, start, end, mode=record.mode,
            instruction=instruction if instruction is not None
            else record.session.request.instruction,
            diagnostics=record.session.request.diagnostics,
            seed=seed, max_rounds=rounds, previous=record)

    async def retry(self, record: Record) -> dict[str, Any] | None:
        """Run a failed or cancelled session's request again, as a new session."""
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        start, end = record.span
        req = record.session.request
        return await self.run(record.uri, start, None if req.end is None else end,
                              mode=req.mode, instruction=req.instruction,
                              diagnostics=req.diagnostics)


def _path_of(uri: str) -> str:
    from pygls.uris import to_fs_path

    try:
        return to_fs_path(uri) or uri
    except Exception:
        return uri
