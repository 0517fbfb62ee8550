"""The pair session: drafting -> reviewing -> (revising -> reviewing)* -> an end state.

:class:`Session` knows nothing of LSP: it takes text, a target range (code points), an
instruction and settings, and yields typed events (events.py). ``cancel()`` aborts the model call
in flight (closing its HTTP stream) and ends the session as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pair_lsp.config import RoleConfig, Settings
from pair_lsp.loop import prompts
from pair_lsp.loop.events import (
    CallUsage,
    Declined,
    Event,
    FindingFound,
    Finished,
    ModelReply,
    Notice,
    PlanAgreed,
    PlanProposed,
    PlanReviewed,
    ProofRan,
    Proposal,
    Reviewed,
    ReviewerVerdict,
    RoundStarted,
    SessionStarted,
    Status,
    Steered,
    StreamProgress,
)
from pair_lsp.loop.grammar import review_grammar, worker_grammar
from pair_lsp.loop.matching import apply_blocks
from pair_lsp.loop.proof import ProofResult, failure_allowed, run_proof
from pair_lsp.loop.protocol import (
    REVIEW_SCHEMA,
    Decline,
    Finding,
    FindingStream,
    ReviewParseError,
    Verdict,
    parse_review,
    parse_worker_reply,
)
from pair_lsp.loop.reviewers import merge_verdicts
from pair_lsp.loop.textops import Eol, apply_edits, region_edits, unified_diff
from pair_lsp.providers.base import (
    Message,
    ModelRequest,
    Provider,
    ProviderError,
    TextDelta,
    Usage,
)

Sink = Callable[[Event], None]
Reader = Callable[[], Callable[[str], None]]  # a fresh text consumer for each stream attempt

log = logging.getLogger(__name__)

# a stream that broke after it started is called again after RETRY_DELAY * 2**n seconds (n:
# retries so far; with jitter, at most RETRY_DELAY_MAX), up to the role's maxRetries times
RETRY_DELAY = 0.5
RETRY_DELAY_MAX = 8.0


@dataclass
class PairRequest:
    """What to pair on. ``end=None`` targets the whole document."""

    document: str
    start: int = 0
    end: int | None = None
    path: str = "untitled"
    language_id: str = "plaintext"
    instruction: str = ""
    diagnostics: tuple[str, ...] = ()
    mode: str = "pair"  # "pair" | "review"
    # continue from an earlier session: its last candidate and the findings still open
    seed: tuple[str, tuple[Finding, ...]] | None = None
    plan: str | None = None  # an agreed plan (a continued session): no plan step

    @property
    def whole_document(self) -> bool:
        return self.start == 0 and (self.end is None or self.end >= len(self.document))


class _Stop(Exception):
    def __init__(self, status: Status, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ResponseStore:
    """What the session needs of a response cache (pair_lsp.cache implements it)."""

    async def get(self, provider: Provider, request: ModelRequest) -> tuple[str, Usage] | None:
        return None

    async def put(self, provider: Provider, request: ModelRequest, text: str,
                  usage: Usage) -> None:
        return None


@dataclass
class _Conversation:
    messages: list[Message] = field(default_factory=list)

    def user(self, text: str) -> None:
        self.messages.append(Message("user", text))

    def assistant(self, text: str) -> None:
        self.messages.append(Message("assistant", text))


class Session:
    def __init__(self, request: PairRequest, settings: Settings, worker: Provider | None,
                 reviewer: Provider, *, cache: ResponseStore | None = None,
                 sinks: list[Sink] | None = None, session_id: str | None = None,
                 max_rounds: int | None = None,
                 reviewers: Sequence[tuple[Provider, RoleConfig]] | None = None,
                 workspace: Path | None = None):
        self.id = session_id or uuid.uuid4().hex[:12]
        self.request = request
        self.settings = settings
        self.worker = worker
        self.reviewer = reviewer
        # every reviewer of a round (settings.review_roles()); one: just `reviewer`
        self.reviewers = list(reviewers or [(reviewer, settings.reviewer)])
        self.workspace = workspace
        self._steers: list[str] = []  # the user's notes not yet seen by the worker
        self._steers_seen: list[str] = []  # the notes the current round's worker was given
        self._dismissed: set[tuple[str, str]] = set()  # findings the user declined
        self.plan = request.plan or ""  # the agreed plan: opens every later prompt
        self._proceed: asyncio.Future[str | None] | None = None  # planApproval = ask
        self.proof_message = ""  # the last proof's "proof: passed (2.1 s)"
        self.cache = cache or ResponseStore()
        self.sinks = list(sinks or [])
        self.max_rounds = max_rounds or settings.maxRounds
        self.status: str = "running"
        self.round = 0
        self.role = ""
        self._usage = Usage()
        self._round_tokens: list[int] = []
        self._inflight_tokens = 0
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._last_progress = 0.0
        self.finished: Finished | None = None

        doc = request.document
        end = len(doc) if request.end is None else request.end
        if not 0 <= request.start <= end <= len(doc):
            raise ValueError(f"target range {request.start}-{end} is outside the document "
                             f"(length {len(doc)})")
        self._start, self._end = request.start, end
        self._eol = Eol.of(doc[self._start:self._end])
        first_line = doc.count("\n", 0, self._start) + 1
        before, after = _surroundings(doc, self._start, self._end, settings.contextLines)
        self._latest = self._eol.text  # the newest candidate (an exhausted session offers it)
        self._verbatim = False  # the last round's blocks applied exactly as the worker wrote
        self._verdict: Verdict | None = None  # the last review's
        self.task = prompts.Task(
            path=request.path, language_id=request.language_id,
            instruction=request.instruction, original=self._eol.text, first_line=first_line,
            before=before, after=after, diagnostics=request.diagnostics,
            whole_document=request.whole_document)

    # ------------------------------------------------------------------ public

    @property
    def latest_candidate(self) -> str:
        """The newest candidate text ('\\n' endings): the one an exhausted session offers."""
        return self._latest

    @property
    def tokens(self) -> int:
        return self._usage.total + self._inflight_tokens

    def steer(self, note: str) -> None:
        """A note from the user: the next worker turn, and that round's reviewers, see it."""
        if note.strip():
            self._steers.append(note.strip())
            if self._task is not None:  # else told right after SessionStarted
                self._emit(Steered(self.round, note.strip()))

    def dismiss(self, finding: Finding, reason: str = "") -> None:
        """The user dismissed a finding mid-session: it counts as declined by the user, with
        their reason, for both models (the worker is not asked to address it again)."""
        self._dismissed.add(finding.signature())
        quote = f" at `{finding.quote.strip()}`" if finding.quote.strip() else ""
        self.steer(f"I decline finding {finding.id}{quote} (\"{finding.message}\"): "
                   f"{reason.strip() or 'no reason given'}. Do not work on it; reviewers: do "
                   "not raise it again.")

    @property
    def waiting_for_plan(self) -> bool:
        return self._proceed is not None and not self._proceed.done()

    def proceed(self, plan: str | None = None) -> bool:
        """planApproval = ask: go on after the plan, with ``plan`` (the user's edited text) or
        the agreed one. False when the session is not waiting."""
        if not self.waiting_for_plan:
            return False
        assert self._proceed is not None
        self._proceed.set_result(plan)
        return True

    def cancel(self) -> None:
        """End the session as cancelled, aborting the model call in flight."""
        self._cancel_requested = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(self) -> AsyncIterator[Event]:
        """Drive the session, yielding each event; the last one is :class:`Finished`."""
        self._task = asyncio.create_task(self._drive(), name=f"pair-session-{self.id}")
        self._task.add_done_callback(self._ended)
        if self._cancel_requested:
            self._task.cancel()
        try:
            while True:
                event = await self._queue.get()
                yield event
                if isinstance(event, Finished):
                    break
        finally:
            if not self._task.done():
                self._cancel_requested = True
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def result(self) -> Finished:
        """Run to the end, discarding intermediate events (sinks still see them)."""
        async for event in self.run():
            if isinstance(event, Finished):
                return event
        raise RuntimeError("session ended without a result")  # pragma: no cover

    # ------------------------------------------------------------------ engine

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The drive task is done: make sure a Finished was queued. A task cancelled before its
        first step never ran its body (nor its ``except CancelledError``)."""
        if self.finished is not None:
            return
        if task.cancelled():
            self._finish("cancelled", "cancelled", None)
        else:
            exc = task.exception()
            self._finish("failed", f"internal error: {type(exc).__name__}: {exc}", None)

    def _emit(self, event: Event) -> None:
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a broken sink must not break the session
                log.exception("session sink failed")
        self._queue.put_nowait(event)

    async def _drive(self) -> None:
        candidate = self._eol.text
        try:
            self._emit(SessionStarted(
                self.id, self.request.mode,
                self.worker.info.label if self.worker else "",
                ", ".join(p.info.label for p, _ in self.reviewers), self.max_rounds,
                self.request.path,
                (self.task.first_line, self.task.first_line + max(
                    0, self._eol.text.rstrip("\n").count("\n"))),
                self.request.instruction,
                tuple(dict.fromkeys(n for p in (self.worker, *(r for r, _ in self.reviewers))
                                    if p
                                    for n in p.info.notes))))
            for note in self._steers:  # notes given before the session started
                self._emit(Steered(0, note))
            if self.request.mode == "review":
                self.round = 1
                self._steers_seen, self._steers = self._steers, []
                verdict = await self._review_round(1, candidate, None, [], "")
                status: Status = "approved" if verdict.verdict == "approve" else "exhausted"
                raise _Stop(status, "approved" if status == "approved" else "review")
            await self._pair_loop()
        except _Stop as stop:
            self._finish(stop.status, stop.reason, self._kept(stop.status))
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise
            self._finish("cancelled", "cancelled", self._latest)
        except ProviderError as exc:
            self._finish("failed", f"{self.role} failed: {exc}", self._kept("failed"))
        except Exception as exc:  # the engine must end every session with a result
            log.exception("session %s crashed", self.id)
            self._finish("failed", f"internal error: {type(exc).__name__}: {exc}", None)

    def _kept(self, status: Status) -> str | None:
        """The candidate a session ending with ``status`` offers. A failed reviewer leaves the
        worker's finished candidate as an unapproved proposal; a failed worker leaves none."""
        if status != "failed" or self.role == "reviewer":
            return self._latest
        return None

    async def _pair_loop(self) -> None:
        """Rounds until a stop: always ends by raising _Stop (or an error)."""
        assert self.worker is not None
        worker_conv = _Conversation()
        reviewer_convs = [_Conversation() for _ in self.reviewers]
        candidate = self._eol.text
        first = prompts.worker_task(self.task)
        if self.request.seed is not None:
            candidate = self.request.seed[0]
            self._latest = candidate
            first += "\n\n" + prompts.worker_revision(0, list(self.request.seed[1]), candidate,
                                                      self.task.language_id)
        if self.request.plan is None and self.request.seed is None and self._plan_enabled():
            await self._plan_step()
        seen = [self._eol.text, candidate]
        previous_signatures: set[tuple[str, str]] | None = None
        verdict: Verdict | None = None
        for round_no in range(1, self.max_rounds + 1):
            self.round = round_no
            self._round_tokens.append(0)
            message = first if verdict is None else prompts.worker_revision(
                round_no - 1, [f for f in verdict.findings
                               if f.signature() not in self._dismissed],
                None if self._verbatim else candidate, self.task.language_id)
            self._steers_seen, self._steers = self._steers, []
            worker_conv.user(message + prompts.steer_notes(self._steers_seen))
            new_candidate, declines, explanation = await self._work_round(
                round_no, worker_conv, candidate)
            if new_candidate == candidate and not declines:
                if round_no == 1:  # nothing to review
                    raise _Stop("no_change", "the worker proposed no change")
                raise _Stop("exhausted", "no_change")
            if new_candidate != candidate and new_candidate in seen:
                raise _Stop("exhausted", "oscillation")
            previous = candidate
            candidate = new_candidate
            self._latest = candidate
            seen.append(candidate)
            self._check_budget()
            verdict = await self._review_round(round_no, candidate, previous, declines,
                                               explanation, reviewer_convs)
            if verdict.verdict == "approve":
                raise _Stop("approved", "approved")
            signatures = {f.signature() for f in verdict.findings}
            if previous_signatures is not None and signatures == previous_signatures:
                raise _Stop("exhausted", "same_findings")
            previous_signatures = signatures
            self._check_budget()
        raise _Stop("exhausted", "max_rounds")

    def _plan_enabled(self) -> bool:
        mode = self.settings.plan
        return mode == "on" or (mode == "auto" and self.request.whole_document)

    async def _plan_step(self) -> None:
        """Round 0: the worker writes a plan, the (first) reviewer approves or revises it, at
        most planRounds times; with planApproval = ask the user then proceeds or cancels."""
        assert self.worker is not None
        provider, role = self.reviewers[0]
        worker_conv, reviewer_conv = _Conversation(), _Conversation()
        worker_conv.user(prompts.plan_task(self.task))
        plan, approved = "", False
        rounds = self.settings.planRounds
        for attempt in range(1, rounds + 1):
            text = await self._call(0, "worker", self.worker, ModelRequest(
                role="worker", system=prompts.PLAN_WORKER_SYSTEM,
                messages=tuple(worker_conv.messages),
                max_output_tokens=self.worker_max_tokens, temperature=None), attempt)
            worker_conv.assistant(text)
            plan = _unfence(text)
            self._emit(PlanProposed(attempt, plan))
            reviewer_conv.user(prompts.plan_review(self.task, plan) if attempt == 1
                               else prompts.plan_revision_for_reviewer(plan))
            text = await self._call(0, "reviewer", provider, ModelRequest(
                role="reviewer", system=prompts.PLAN_REVIEWER_SYSTEM,
                messages=tuple(reviewer_conv.messages), json_schema=REVIEW_SCHEMA,
                max_output_tokens=role.maxOutputTokens, temperature=None), attempt,
                role_config=role)
            reviewer_conv.assistant(text)
            try:
                verdict = parse_review(text)
            except ReviewParseError as exc:
                verdict = exc.salvage or Verdict("revise", "", [])
                self._emit(Notice(f"the reviewer's verdict on the plan could not be read "
                                  f"({exc})", "warning"))
            self._emit(PlanReviewed(attempt, verdict.verdict, verdict.summary,
                                    tuple(verdict.findings)))
            if verdict.verdict == "approve":
                approved = True
                break
            if attempt < rounds:
                worker_conv.user(prompts.plan_revision(verdict.findings))
        if not approved:
            self._emit(Notice(f"the plan was not approved after {rounds} round(s); the "
                              "worker goes on with its last plan", "warning"))
        waiting = self.settings.planApproval == "ask"
        saved = await self._save_plan(plan)
        self.plan = plan
        if waiting:  # before the event: a sink may proceed at once
            self.role = "plan"
            self._proceed = asyncio.get_running_loop().create_future()
        self._emit(PlanAgreed(plan, approved, waiting, saved))
        if self._proceed is not None:
            edited = await self._proceed
            if edited is not None and edited.strip() and edited.strip() != plan:
                self.plan = edited.strip()
                saved = await self._save_plan(self.plan)
                self._emit(PlanAgreed(self.plan, approved, False, saved))

    async def _save_plan(self, plan: str) -> str:
        """planSave: the plan in .pair/PLAN.md of the workspace; its path ("" when not)."""
        if not self.settings.planSave:
            return ""
        if self.workspace is None:
            self._emit(Notice("planSave: no workspace folder to write .pair/PLAN.md in",
                              "warning"))
            return ""
        path = self.workspace / ".pair" / "PLAN.md"

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(plan.rstrip("\n") + "\n", encoding="utf-8")
        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            self._emit(Notice(f"planSave: could not write {path}: {exc}", "warning"))
            return ""
        return str(path)

    def _check_budget(self) -> None:
        budget = self.settings.maxTokens
        if budget and self._usage.total > budget:
            self._emit(Notice(f"token budget of {budget} exceeded ({self._usage.total} used)",
                              "warning"))
            raise _Stop("exhausted", "budget")

    async def _work_round(self, round_no: int, conv: _Conversation,
                          candidate: str) -> tuple[str, list[Decline], str]:
        assert self.worker is not None
        declines: list[Decline] = []
        explanation = ""
        applied_all: list[int] = []
        tolerant_all: list[int] = []
        for attempt in range(1, self.settings.matchRetries + 2):
            # a provider decoding under a grammar gets one forcing blocks that quote this text
            grammar = worker_grammar(candidate) if _constrained(self.worker) else None
            system = prompts.WORKER_SYSTEM_CONSTRAINED if grammar else prompts.WORKER_SYSTEM
            text = await self._call(round_no, "worker", self.worker, ModelRequest(
                role="worker", system=prompts.with_plan(system, self.plan, "worker"),
                messages=tuple(conv.messages), max_output_tokens=self.worker_max_tokens,
                temperature=None, grammar=grammar), attempt)
            conv.assistant(text)
            reply = parse_worker_reply(text)
            if attempt == 1:
                explanation = reply.prose
            for d in reply.declines:
                if d.finding_id not in {x.finding_id for x in declines}:
                    declines.append(d)
                    self._emit(Declined(round_no, d.finding_id, d.reason))
            result = apply_blocks(candidate, reply.blocks)
            candidate = result.text
            applied_all += result.applied
            tolerant_all += result.tolerant
            failures = reply.problems + [f.reason for f in result.failures]
            if not failures:
                break
            if attempt > self.settings.matchRetries:
                if applied_all:
                    self._emit(Notice("some worker edits never matched and were dropped: " +
                                      "; ".join(failures), "warning"))
                    break
                raise _Stop("failed", "the worker's edits did not match the code after "
                            f"{attempt} attempts: {failures[0]}")
            self._emit(Notice(f"worker edits did not apply (attempt {attempt}): " +
                              "; ".join(failures) + " — asking the worker again", "warning"))
            conv.user(prompts.worker_match_retry(failures, result.applied, candidate,
                                                 self.task.language_id))
        # the worker knows the candidate exactly when its blocks applied as written, at once
        self._verbatim = not tolerant_all and attempt == 1
        diff = unified_diff(self._eol.text, candidate, self.request.path)
        self._emit(Proposal(round_no, candidate, diff, tuple(applied_all), tuple(tolerant_all),
                            explanation))
        return candidate, declines, explanation

    @property
    def worker_max_tokens(self) -> int:
        assert self.worker is not None
        return self.settings.worker.maxOutputTokens

    async def _review_round(self, round_no: int, candidate: str, previous: str | None,
                            declines: list[Decline], explanation: str,
                            convs: list[_Conversation] | None = None) -> Verdict:
        """The proof (when set), then every reviewer at once; their verdicts merged."""
        convs = convs if convs is not None else [_Conversation() for _ in self.reviewers]
        proof = await self._proof(round_no, candidate)
        if len(self.reviewers) == 1:
            verdict = await self._review_one(round_no, 0, convs[0], candidate, previous,
                                             declines, explanation, proof)
        else:
            results = await asyncio.gather(
                *(self._review_one(round_no, i, conv, candidate, previous, declines,
                                   explanation, proof) for i, conv in enumerate(convs)),
                return_exceptions=True)
            for item in results:  # the first failure ends the round (the others are done)
                if isinstance(item, BaseException):
                    raise item
            verdicts = [v for v in results if isinstance(v, Verdict)]
            labels = [p.info.label for p, _ in self.reviewers]
            for label, v in zip(labels, verdicts, strict=True):
                self._emit(ReviewerVerdict(round_no, label, v.verdict, v.summary,
                                           len(v.findings)))
            verdict = merge_verdicts(verdicts, labels)
        if proof is not None and not proof.passed and verdict.verdict == "approve" \
                and not failure_allowed(self.request.instruction):
            finding = Finding(f"F{len(verdict.findings) + 1}", prompts.proof_failed(proof),
                              "error")
            self._emit(Notice("the reviewer approved but the proof failed: not approved",
                              "warning"))
            verdict = Verdict("revise", verdict.summary, [*verdict.findings, finding])
        self._reviewed(round_no, verdict)
        return verdict

    async def _proof(self, round_no: int, candidate: str) -> ProofResult | None:
        config = self.settings.proof
        if not config.command:
            return None
        self.role = "proof"
        self._emit(RoundStarted(round_no, "proof", config.command[0]))
        doc = self.request.document
        new_doc = apply_edits(doc, region_edits(doc, self._start, self._end, candidate))
        secrets = {env for r in (self.settings.worker, self.settings.reviewer,
                                 *self.settings.reviewers) if (env := r.default_key_env())}
        result = await run_proof(config, workspace=self.workspace, file=Path(self.request.path),
                                 new_text=new_doc, secrets=secrets)
        self.proof_message = result.message
        self._emit(ProofRan(round_no, result.command, result.exit_code, round(result.seconds, 2),
                            result.output, result.timed_out, result.error, result.passed,
                            result.message))
        return result

    async def _review_one(self, round_no: int, index: int, conv: _Conversation,
                          candidate: str, previous: str | None, declines: list[Decline],
                          explanation: str, proof: ProofResult | None) -> Verdict:
        """One reviewer's verdict, in its own conversation."""
        provider, role = self.reviewers[index]
        report = "" if proof is None else "\n\n" + prompts.proof_report(proof)
        steers = prompts.steer_notes(self._steers_seen)
        if not conv.messages:
            diff = unified_diff(self._eol.text, candidate, self.request.path)
            conv.user(prompts.reviewer_task(self.task, candidate, diff,
                                            review_only=self.request.mode == "review")
                      + steers + report)
        else:
            diff = unified_diff(previous or "", candidate, self.request.path)
            conv.user(prompts.reviewer_revision(round_no, candidate, diff, declines,
                                                self.task.language_id, explanation)
                      + steers + report)
        last_error = ""
        # only the first reviewer's findings stream to the editor (their ids survive merging)
        reader = self._finding_reader(round_no) if index == 0 else None
        grammar = review_grammar(candidate) if _constrained(provider) else None
        system = prompts.REVIEWER_SYSTEM_CONSTRAINED if grammar else prompts.REVIEWER_SYSTEM
        for attempt in (1, 2):
            text = await self._call(
                round_no, "reviewer", provider,
                ModelRequest(role="reviewer",
                             system=prompts.with_plan(system, self.plan, "reviewer"),
                             messages=tuple(conv.messages), json_schema=REVIEW_SCHEMA,
                             max_output_tokens=role.maxOutputTokens, temperature=None,
                             grammar=grammar),
                attempt, reader=reader, role_config=role)
            conv.assistant(text)
            try:
                return parse_review(text)
            except ReviewParseError as exc:
                last_error = str(exc)
                if exc.salvage is not None:
                    verdict = exc.salvage
                    self._emit(Notice(f"the reviewer's reply was cut off ({exc}; "
                                      f"{provider.info.label}); kept its verdict and "
                                      f"{len(verdict.findings)} complete finding(s)",
                                      "warning"))
                    return verdict
                if attempt == 1:
                    self._emit(Notice(f"the reviewer's reply could not be read ({exc}; "
                                      f"{provider.info.label}); asking it to repair the reply",
                                      "warning"))
                    conv.user(prompts.reviewer_repair(str(exc)))
                    continue
                break
        raise _Stop("failed", f"the reviewer's reply could not be read after a repair "
                    f"attempt ({provider.info.label}): {last_error}")

    def _reviewed(self, round_no: int, verdict: Verdict) -> None:
        self._verdict = verdict
        self._emit(Reviewed(round_no, verdict.verdict, verdict.summary, tuple(verdict.findings)))

    def _finding_reader(self, round_no: int) -> Reader:
        """Findings out of a reviewer stream, as they complete. A stream that broke and is
        called again starts a fresh reader; what the earlier attempt already reported (the same
        finding under the same id) is not reported twice."""
        reported: set[tuple[Finding, bool]] = set()

        def fresh() -> Callable[[str], None]:
            stream = FindingStream()

            def read(chunk: str) -> None:
                for item in stream.feed(chunk):
                    if item not in reported:
                        reported.add(item)
                        self._emit(FindingFound(round_no, *item))
            return read
        return fresh

    async def _call(self, round_no: int, role: str, provider: Provider, request: ModelRequest,
                    attempt: int, reader: Reader | None = None,
                    role_config: RoleConfig | None = None) -> str:
        self.role = role
        if role == "worker":
            self.proof_message = ""
        self._emit(RoundStarted(round_no, role, provider.info.label))
        started = time.monotonic()
        cached = await self.cache.get(provider, request)
        if cached is not None:
            text, usage = cached
            if reader:
                reader()(text)
            self._account(round_no, role, provider, text, usage, started, attempt, True)
            return text
        retries = max(0, (role_config or getattr(self.settings, role)).maxRetries)
        for retry in range(retries + 1):
            try:
                text, usage = await self._stream(round_no, role, provider, request,
                                                 reader() if reader else None)
                break
            except ProviderError as exc:
                if not exc.retryable or retry >= retries:
                    raise
                delay = min(RETRY_DELAY_MAX, RETRY_DELAY * 2 ** retry) * random.uniform(0.75, 1)
                self._emit(Notice(f"the {role}'s reply broke off ({exc}); retrying in "
                                  f"{delay:.1f} s ({retry + 1}/{retries})", "warning"))
                await asyncio.sleep(delay)
        self._account(round_no, role, provider, text, usage, started, attempt, False)
        if not text.strip():  # cut before its first word (a busy machine): say so
            cut = f" (it was cut {usage.truncated})" if usage.truncated else ""
            raise ProviderError(f"{provider.info.label} returned an empty reply{cut}")
        if usage.truncated:  # a cut reply is never replayed from the cache
            self._emit(Notice(f"the {role}'s reply was cut {usage.truncated}", "warning"))
        else:
            await self.cache.put(provider, request, text, usage)
        return text

    async def _stream(self, round_no: int, role: str, provider: Provider, request: ModelRequest,
                      on_text: Callable[[str], None] | None) -> tuple[str, Usage]:
        """One streamed call: its whole text and usage."""
        chunks: list[str] = []
        usage = Usage()
        self._inflight_tokens = 0
        items = provider.stream(request)
        try:
            async for item in items:
                if isinstance(item, TextDelta):
                    chunks.append(item.text)
                    self._inflight_tokens += max(1, len(item.text) // 4)
                    if on_text:
                        on_text(item.text)
                    self._progress(round_no, role)
                else:
                    usage = item
        finally:
            self._inflight_tokens = 0
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        return "".join(chunks), usage

    def _account(self, round_no: int, role: str, provider: Provider, text: str, usage: Usage,
                 started: float, attempt: int, from_cache: bool) -> None:
        self._usage = self._usage + usage
        if self._round_tokens:
            self._round_tokens[-1] += usage.total
        else:
            self._round_tokens.append(usage.total)
        self._emit(ModelReply(round_no, role, provider.info.label, text, attempt))
        self._emit(CallUsage(round_no, role, provider.info.label, usage,
                             round((time.monotonic() - started) * 1000, 1), from_cache))

    def _progress(self, round_no: int, role: str) -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.2:
            self._last_progress = now
            self._emit(StreamProgress(round_no, role, self.tokens))

    def _finish(self, status: Status, reason: str, candidate: str | None) -> None:
        verdict = self._verdict  # the last review
        self.status = status
        doc = self.request.document
        edits: list = []
        new_doc: str | None = None
        diff = ""
        if candidate is not None and candidate != self._eol.text:
            edits = region_edits(doc, self._start, self._end, candidate)
            new_doc = apply_edits(doc, edits)
            # diff only the target's lines: the rest of the file is unchanged
            lo = doc.rfind("\n", 0, self._start) + 1
            hi = self._end
            if hi < len(doc) and (hi == 0 or doc[hi - 1] != "\n"):
                nl = doc.find("\n", hi)
                hi = len(doc) if nl < 0 else nl + 1
            diff = unified_diff(doc[lo:hi], new_doc[lo:len(new_doc) - (len(doc) - hi)],
                                self.request.path, line_offset=doc.count("\n", 0, lo))
        findings: tuple[Finding, ...] = tuple(verdict.findings) if verdict else ()
        if status == "failed" and edits:
            self._emit(Notice("the worker's edit is kept as an unapproved proposal", "warning"))
        finished = Finished(status, reason, self.round, verdict.summary if verdict else "",
                            findings, tuple(edits), new_doc, diff, self._usage,
                            tuple(self._round_tokens))
        self.finished = finished
        self._emit(finished)


def _constrained(provider: Provider) -> bool:
    """The provider decodes under ``ModelRequest.grammar`` (the local model)."""
    return bool(getattr(provider, "constrained", False))


def _unfence(text: str) -> str:
    """A plan the model wrapped whole in a code fence, without the fence."""
    lines = text.strip().split("\n")
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1].strip().startswith("```"):
        lines = lines[1:-1]
    return "\n".join(lines).strip()


def _surroundings(doc: str, start: int, end: int, lines: int) -> tuple[str, str]:
    """Up to ``lines`` lines of code above and below the target, '\\n'-normalised.

    Only those lines are sliced out: the cost does not grow with the file.
    """
    if lines <= 0:
        return "", ""
    lo = doc.rfind("\n", 0, start) + 1  # the start of the target's first line
    for _ in range(lines):
        if lo == 0:
            break
        lo = doc.rfind("\n", 0, lo - 1) + 1
    hi = end
    if 0 < hi < len(doc) and doc[hi - 1] != "\n":  # the rest of the target's last line
        nl = doc.find("\n", hi)
        hi = len(doc) if nl < 0 else nl + 1
    for _ in range(lines):
        nl = doc.find("\n", hi)
        if nl < 0:
            hi = len(doc)
            break
        hi = nl + 1
    before = Eol.of(doc[lo:start]).text
    after = Eol.of(doc[end:hi]).text
    return (before if before.strip() else ""), (after.rstrip("\n") if after.strip() else "")
