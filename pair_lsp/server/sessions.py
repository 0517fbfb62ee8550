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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from pair_lsp.loop import events as ev
from pair_lsp.loop.protocol import Finding
from pair_lsp.loop.resume import ResumeError, load_state, resume_request
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.loop.textops import TextEdit, region_edits
from pair_lsp.server import outcome
from pair_lsp.server.anchoring import AnchorBook
from pair_lsp.server.findings import Anchored, anchor
from pair_lsp.transcript import transcript_dir

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
    # per hunk of the proposal (Finished.edits): "open" | "accepted" | "rejected"
    hunk_status: list[str] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)  # "the reviewer's reply was cut at ..."
    hunk_reasons: dict[int, str] = field(default_factory=dict)  # 0-based index -> reason
    plan_path: str = ""  # planApproval = ask: the Markdown file showing the plan
    steers: list[str] = field(default_factory=list)  # pair.steer on an ended session: for
    # its next run (pair.continue)

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
                and "open" in self.hunks())

    def hunks(self) -> list[str]:
        """Each hunk's status (the proposal's edits, in document order)."""
        f = self.finished
        if f is None:
            return []
        if len(self.hunk_status) != len(f.edits):
            self.hunk_status = ["open"] * len(f.edits)
        return self.hunk_status

    def open_hunks(self) -> list[int]:
        return [i for i, status in enumerate(self.hunks()) if status == "open"]

    def hunk_review(self) -> str:
        """What the user decided hunk by hunk, for the worker's next turn ("" if nothing)."""
        f = self.finished
        if f is None or all(status == "open" for status in self.hunks()):
            return ""
        lines = ["The user reviewed your last proposal hunk by hunk:"]
        for i, status in enumerate(self.hunks()):
            if status == "open":
                continue
            e = f.edits[i]
            what = (f"replacing {e.old_text.strip()!r} with {e.new_text.strip()!r}"
                    if e.old_text.strip() else f"inserting {e.new_text.strip()!r}")
            if status == "accepted":
                lines.append(f"- hunk {i + 1} ({what}): accepted (now in the code)")
            else:
                reason = self.hunk_reasons.get(i, "")
                lines.append(f"- hunk {i + 1} ({what}): REJECTED"
                             + (f" — {reason}" if reason else "")
                             + "; do not propose it again as it was")
        return "\n".join(lines)

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
        self.said_notes: set[str] = set()
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
                  session_id: str | None = None, round_base: int = 0,
                  plan: str | None = None) -> dict[str, Any]:
        """Run a session to its end and return the command result.

        ``text``/``version``: the document as the request saw it (default: as of the
        command's request). ``previous``: the record this run continues (same session id,
        rounds counted on)."""
        doc = self.server.command_document(uri)  # as of the command's request
        if text is None:
            text, version = doc.text, doc.version
        stop = len(text) if end is None else end
        request = PairRequest(document=text, start=start, end=end, path=_path_of(uri),
                              language_id=doc.language_id or "plaintext",
                              instruction=instruction, mode=mode,
                              diagnostics=diagnostics,
                              seed=seed, plan=plan)
        record = Record(session=None,  # type: ignore[arg-type]
                        uri=uri, version=version, document=text, start=start, end=stop,
                        first_line=text.count("\n", 0, start) + 1, request_id=request_id,
                        span=(start, stop))
        record.round_base = round_base
        if previous is not None:
            record.round_base = previous.rounds
            record.ids, record.by_signature = previous.ids, previous.by_signature
            record.next_id, record.dismissed = previous.next_id, previous.dismissed
        session = self.server.factory().create(
            request, sinks=[lambda e: self._on_event(record, e)], max_rounds=max_rounds,
            session_id=previous.id if previous is not None else session_id)
        record.session = session
        for note in previous.steers if previous is not None else ():
            session.steer(note)
        if previous is not None:  # same id: the old record's anchor follows its older text
            self.anchors.forget(uri, previous.id)
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
            self._say_notes(record)
        elif isinstance(event, ev.FindingFound):
            self._add_finding(record, event.finding, event.round)
        elif isinstance(event, ev.Reviewed):
            self._settle_findings(record, event.round, event.findings)
        elif isinstance(event, ev.Declined):
            self._declined(record, event)
        elif isinstance(event, ev.Notice) and "reply was cut" in event.message:
            record.cuts.append(event.message.split(";")[0])
        elif isinstance(event, ev.PlanAgreed) and event.waiting:
            self.server.spawn(self._show_plan(record, event))
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

    def _say_notes(self, record: Record) -> None:
        """Notes on how the session runs (e.g. the offline model stands in for a role with no
        key) are said once per server, not per session. Clients that render pair/result get
        them in `notes` of pair/status and pair/result instead."""
        if self.server.result_notifications:
            return
        for note in record.notes:
            if note not in self.said_notes:
                self.said_notes.add(note)
                self.server.show_info(f"Pair: {note}.")

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

    def dismiss(self, record: Record | None, uri: str, finding_id: str,
                reason: str = "") -> bool:
        """The user dismissed one finding: it goes, and the session does not raise it again
        (a running session: both models learn it as declined by the user, with the reason)."""
        if record is not None:
            finding = record.latest.get(finding_id)
            if finding is None:
                finding = next((f for f, _ in record.declined.values()
                                if f.id == finding_id), None)
            if finding is not None:
                if record.running:
                    record.session.dismiss(finding, reason)
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
        provider = {"worker": s.worker, "reviewer": s.reviewer}.get(s.role)
        f = record.finished
        self.server.protocol.notify("pair/status", {
            "sessionId": record.id, "uri": record.uri,
            "status": f.status if f else "running", "mode": record.mode,
            "round": record.round_base + s.round,
            "maxRounds": record.round_base + s.max_rounds, "role": s.role,
            "model": provider.info.model if provider else "", "tokens": s.tokens,
            "notes": list(record.notes),
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
        """The proposal's open hunks against the document as it is now (their version is
        the document's current one); None if withdrawn: they are re-based only inside the
        session's target as the user's edits moved it."""
        hunks = self.current_hunks(record)
        return None if hunks is None else [e for _, e in hunks]

    def current_hunks(self, record: Record) -> list[tuple[int, TextEdit]] | None:
        """(0-based hunk index, re-based edit) for each open hunk, or None if withdrawn."""
        if not record.has_proposal or record.finished is None:
            return None
        text = self.server.current_text(record.uri)
        if text is None:
            return None
        indexes = record.open_hunks()
        edits = [record.finished.edits[i] for i in indexes]
        rebased = self.anchors.edits(record.uri, record, edits, text)
        return None if rebased is None else list(zip(indexes, rebased, strict=True))

    def running_hunks(self, record: Record) -> list[TextEdit] | None:
        """A running pair session's newest candidate as hunks against the document now, for a
        live view (read-only: nothing can be accepted before the session ends); None if it has
        no candidate yet or its target no longer matches."""
        if not record.running or record.mode != "pair":
            return None
        text = self.server.current_text(record.uri)
        candidate = record.session.latest_candidate
        target = record.document[record.start:record.end].replace("\r\n", "\n")
        if text is None or candidate == target:
            return None
        edits = region_edits(record.document, record.start, record.end, candidate)
        return self.anchors.edits(record.uri, record, edits, text) or None

    async def accept_hunk(self, record: Record, hunk: int) -> tuple[bool, str]:
        """Apply one hunk (0-based); the rest stay applicable, re-based after it."""
        hunks = self.current_hunks(record)
        if hunks is None:
            return False, "the code changed since the proposal and it no longer matches"
        edit = next((e for i, e in hunks if i == hunk), None)
        if edit is None:
            return False, f"hunk {hunk + 1} is already {record.hunks()[hunk]}"
        ok, reason = await self._send(record, [edit], f"Pair: accept hunk {hunk + 1}")
        if not ok:
            return False, reason
        record.hunks()[hunk] = "accepted"
        # findings on the accepted lines are settled by them
        store = self.server.findings
        for a in store.get(record.uri):
            if a.session_id == record.id and a.placement == "quote" and \
                    a.start < edit.end + 1 and edit.start <= a.end:
                store.remove(record.uri, record.id, a.finding.id)
                record.latest.pop(a.finding.id, None)
        self._hunks_settled(record)
        return True, ""

    def reject_hunk(self, record: Record, hunk: int, reason: str) -> None:
        record.hunks()[hunk] = "rejected"
        if reason:
            record.hunk_reasons[hunk] = reason
        self._hunks_settled(record)

    def _hunks_settled(self, record: Record) -> None:
        if not record.open_hunks():
            if "accepted" in record.hunks():
                record.resolved = "applied"
                self.server.findings.drop_session(record.id)
            else:
                record.resolved = "rejected"
        self.server.publish(record.uri)

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
        ok, reason = await self._send(record, edits, "Pair: apply edit")
        if ok:
            self.mark_applied(record)
        return ok, reason

    async def _send(self, record: Record, edits: list[TextEdit],
                    label: str) -> tuple[bool, str]:
        edit = self.server.workspace_edit(record.uri, edits)
        try:
            result = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=label))
        except Exception as exc:
            return False, f"the editor refused the edit: {exc}"
        if not result.applied:
            return False, result.failure_reason or "the editor did not apply the edit"
        return True, ""

    def mark_applied(self, record: Record) -> None:
        """The edit landed: the session's findings are settled with it."""
        record.resolved = "applied"
        for i in record.open_hunks():
            record.hunks()[i] = "accepted"
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
        reviewed = record.hunk_review()
        changed = text[start:end] != record.document[record.start:record.end]
        if changed and not (reviewed and (not record.open_hunks() or
                                          self.current_hunks(record) is not None)):
            self.server.show_error("Pair: the code under this session changed; start a new "
                                   "session on it instead")
            return None
        candidate = self._candidate_now(record, text) if reviewed else \
            record.session.latest_candidate
        seed = (candidate, tuple(record.open_findings())) if record.mode == "pair" else None
        record.resolved = record.resolved or "discarded"
        base = instruction if instruction is not None else record.session.request.instruction
        return await self.run(
            record.uri, start, end, mode=record.mode,
            instruction=(base + "\n\n" + reviewed).strip() if reviewed else base,
            diagnostics=record.session.request.diagnostics,
            seed=seed, max_rounds=rounds, previous=record,
            plan=record.session.plan or None)

    async def _show_plan(self, record: Record, event: ev.PlanAgreed) -> None:
        """planApproval = ask: the plan as a Markdown file the user can read and edit, shown
        (window/showDocument) and announced (`pair/plan`); pair.proceed or pair.cancel next."""
        path = Path(event.saved_to) if event.saved_to else None
        if path is None:
            factory = self.server.factory()
            folder = transcript_dir(factory.settings.transcript, factory.workspace)
            path = folder / f"plan-{record.id}.md"
            try:
                await asyncio.to_thread(_write_private, path, event.plan + "\n")
            except OSError as exc:
                self.server.show_error(f"Pair: could not write the plan to {path}: {exc}")
        record.plan_path = str(path)
        uri = _uri_of(str(path))
        self.server.protocol.notify("pair/plan", {"sessionId": record.id, "uri": uri,
                                                  "planPath": str(path)})
        self._notify_status(record, force=True)  # role "plan": the wait shows at once
        with contextlib.suppress(Exception):  # clients without showDocument get the note
            await self.server.window_show_document_async(types.ShowDocumentParams(
                uri=uri, take_focus=True))

    def proceed(self, record: Record, plan: str | None) -> bool:
        """Go on after the plan: with ``plan``, else the plan document's text as the editor
        holds it (or as saved)."""
        if plan is None and record.plan_path:
            plan = self.server.current_text(_uri_of(record.plan_path))
            if plan is None:
                with contextlib.suppress(OSError):
                    plan = Path(record.plan_path).read_text(encoding="utf-8")
        return record.session.proceed(plan)

    def steer(self, record: Record, message: str) -> None:
        """A note from the user: a running session's next worker turn sees it; an ended
        session's next run (pair.continue) does."""
        if record.running:
            record.session.steer(message)
        else:
            record.steers.append(message)

    async def resume(self, session_id: str, rounds: int,
                     instruction: str | None = None) -> dict[str, Any]:
        """Continue a session this server does not know (it restarted): rebuilt from the
        session's transcript, under the same id. Raises ResumeError with the reason."""
        factory = self.server.factory()
        state = load_state(transcript_dir(factory.settings.transcript, factory.workspace),
                           session_id)
        uri = _uri_of(state.path)
        text = self.server.current_text(uri)
        if text is None:
            raise ResumeError(f"open {state.path} in the editor first")
        request = resume_request(state, text, instruction=instruction)
        return await self.run(uri, request.start, request.end, mode=state.mode,
                              instruction=request.instruction, seed=request.seed,
                              max_rounds=rounds, session_id=session_id,
                              round_base=state.rounds, plan=request.plan)

    def _candidate_now(self, record: Record, text: str) -> str:
        """The target as it is now with the still-open hunks applied ('\\n' endings)."""
        start, end = record.span
        hunks = self.current_hunks(record) or []
        out = text
        for _, e in sorted(hunks, key=lambda h: h[1].start, reverse=True):
            out = out[:e.start] + e.new_text + out[e.end:]
        return out[start:end + len(out) - len(text)].replace("\r\n", "\n")

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


def _write_private(path: Path, text: str) -> None:
    from pair_lsp.private_files import private_dir, private_file

    private_dir(path.parent, tighten=path.parent.name == "transcripts")
    with private_file(path, "w") as fh:
        fh.write(text)


def _uri_of(path: str) -> str:
    from pygls.uris import from_fs_path

    return path if "://" in path else (from_fs_path(path) or path)


def _path_of(uri: str) -> str:
    from pygls.uris import to_fs_path

    try:
        return to_fs_path(uri) or uri
    except Exception:
        return uri
