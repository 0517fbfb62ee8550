"""Review a change across files (reviewer only): batches of file excerpts reviewed concurrently,
findings checked (their file is in the change, their quote is changed or nearby code), anchored
in the new file text, filtered by dismissals and ``minSeverity``, and numbered F1, F2, ... as
they arrive.

Providers and the response cache come from :class:`pair_lsp.runner.SessionFactory`; the events
(pair_lsp.loop.events) go to the same sinks as a session's: the transcript, the CLI's progress.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pair_lsp.changes import prompts
from pair_lsp.changes.dismissals import Dismissals, finding_fingerprint
from pair_lsp.changes.dismissals import render as render_dismissed
from pair_lsp.changes.excerpts import Batch, Excerpt, batches, plan
from pair_lsp.changes.git import ChangeSet
from pair_lsp.changes.rules import Rules, find_rules
from pair_lsp.changes.running import CancellableRun, Sink
from pair_lsp.config import Settings
from pair_lsp.loop.events import (
    CallUsage,
    FindingFound,
    Finished,
    ModelReply,
    Notice,
    Reviewed,
    RoundStarted,
    SessionStarted,
)
from pair_lsp.loop.protocol import (
    SEVERITIES,
    Finding,
    FindingStream,
    ReviewParseError,
    Verdict,
    parse_review,
)
from pair_lsp.providers.base import (
    Message,
    ModelRequest,
    Provider,
    ProviderError,
    TextDelta,
    Usage,
)


def at_least(severity: str, threshold: str) -> bool:
    """Is ``severity`` at or above ``threshold`` (error > warning > info > hint)?"""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return rank.get(severity, 1) <= rank.get(threshold, 2)


@dataclass(frozen=True)
class ChangeFinding:
    finding: Finding  # id unique in the review, file set
    line: int  # 1-based in the new file
    end_line: int
    approximate: bool  # the quote was not found: placed on its line hint
    fingerprint: str

    @property
    def file(self) -> str:
        return self.finding.file or ""

    def to_json(self) -> dict[str, Any]:
        f = self.finding
        return {"file": self.file, "line": self.line, "endLine": self.end_line,
                "severity": f.severity, "confidence": f.confidence, "id": f.id,
                "message": f.message, "suggestion": f.suggestion, "rule": f.rule,
                "quote": f.quote, "fingerprint": self.fingerprint}


@dataclass
class ChangesResult:
    session_id: str
    status: str  # "findings" | "clean" | "failed" | "cancelled"
    changes: ChangeSet
    findings: list[ChangeFinding]  # at or above minSeverity, not dismissed
    hidden: int = 0  # below minSeverity
    dismissed: int = 0
    notices: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    reason: str = ""
    reviewer: str = ""

    @property
    def summary(self) -> str:
        reviewed = len(self.changes.reviewable)
        skipped = len(self.changes.skipped)
        counts = {s: sum(1 for f in self.findings if f.finding.severity == s) for s in SEVERITIES}
        found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
        extra = [f"{self.hidden} below the severity threshold"] if self.hidden else []
        extra += [f"{self.dismissed} dismissed earlier"] if self.dismissed else []
        return (f"Reviewed {reviewed} file(s) of the {self.changes.label}"
                + (f" ({skipped} skipped)" if skipped else "") + f": {found}"
                + (f" ({'; '.join(extra)})" if extra else "") + ".")

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "findings": [f.to_json() for f in self.findings],
                "summary": self.summary, "scope": self.changes.scope,
                "skipped": [{"file": f.path, "reason": f.skipped}
                            for f in self.changes.skipped],
                "notices": self.notices, "reviewerSummaries": self.summaries,
                "hidden": self.hidden, "dismissed": self.dismissed,
                **({"reason": self.reason} if self.reason else {})}


class ChangesReview(CancellableRun["ChangesResult"]):
    """One review of a change set. ``run()`` returns a :class:`ChangesResult`."""

    def __init__(self, changes: ChangeSet, settings: Settings, reviewer: Provider, cache: Any,
                 *, instruction: str = "", sinks: list[Sink] | None = None,
                 on_finding: Callable[[ChangeFinding], None] | None = None,
                 session_id: str | None = None):
        self.changes = changes
        self.settings = settings
        self.reviewer = reviewer
        self.cache = cache
        self.instruction = instruction
        self.sinks = list(sinks or [])
        self.on_finding = on_finding
        self.id = session_id or uuid.uuid4().hex[:12]
        self.dismissals = Dismissals(changes.root)
        self.result = ChangesResult(self.id, "clean", changes, [], reviewer=reviewer.info.label)
        self._seen: set[tuple[str, str, str]] = set()
        self._excerpts: dict[str, Excerpt] = {}
        self.rules: Rules = Rules([], [])

    # ------------------------------------------------------------------ events

    def notice(self, message: str, level: str = "warning") -> None:
        self.result.notices.append(message)
        self._emit(Notice(message, level))

    # --------------------------------------------------------------------- run

    async def run(self) -> ChangesResult:
        return await self._run_cancellable(self._run, self._cancelled)

    def _cancelled(self) -> ChangesResult:
        self.result.status, self.result.reason = "cancelled", "cancelled"
        self._finish()
        return self.result

    async def _run(self) -> ChangesResult:
        reviewable = self.changes.reviewable
        self._emit(SessionStarted(self.id, "review", "", self.reviewer.info.label, 1,
                                  str(self.changes.root), (0, 0), self.instruction,
                                  tuple(self.reviewer.info.notes)))
        for f in self.changes.skipped:
            self.notice(f"skipped {f.path}: {f.skipped}", "info")
        self.rules = find_rules(self.changes.root, [f.path for f in reviewable],
                                self.settings.rules)
        for note in self.rules.notes + self.dismissals.problems:
            self.notice(note)
        if self.rules.files:
            self.notice("project rules: " + ", ".join(r.name for r in self.rules.files), "info")
        excerpts = plan(reviewable, self.settings.changes.maxTokens,
                        self.settings.contextLines)
        self._excerpts = {e.file.path: e for e in excerpts}
        for e in excerpts:
            if e.cut:
                self.notice(f"cut: {e.cut}")
        work = batches(excerpts)
        files = {f.path for f in reviewable}
        system = prompts.system(self.rules.render(),
                                render_dismissed(self.dismissals.for_files(files)))
        limit = asyncio.Semaphore(self.settings.changes.concurrency)
        await asyncio.gather(*(self._batch(system, b, i, len(work), limit)
                               for i, b in enumerate(work, 1)))
        if self.result.status != "failed":
            self.result.status = "findings" if self.result.findings else "clean"
        self._finish()
        return self.result

    def _finish(self) -> None:
        r = self.result
        status = {"clean": "approved", "findings": "exhausted"}.get(r.status, r.status)
        reason = r.reason or ("approved" if r.status == "clean" else "review")
        self._emit(Finished(status, reason, 1, r.summary,  # type: ignore[arg-type]
                            tuple(f.finding for f in r.findings), (), None, "", r.usage))

    async def _batch(self, system: str, batch: Batch, part: int, parts: int,
                     limit: asyncio.Semaphore) -> None:
        async with limit:
            budget = self.settings.maxTokens
            if budget and self.result.usage.total > budget:
                names = ", ".join(e.file.path for e in batch.excerpts)
                self.notice(f"token budget of {budget} reached: not reviewed: {names}")
                return
            message = prompts.batch_message(self.changes.label, self.instruction, batch,
                                            part, parts)
            messages = [Message("user", message)]
            for attempt in (1, 2):
                stream = FindingStream()
                request = ModelRequest(role="reviewer", system=system,
                                       messages=tuple(messages),
                                       json_schema=prompts.CHANGES_SCHEMA,
                                       max_output_tokens=self.settings.reviewer.maxOutputTokens,
                                       temperature=None)
                try:
                    text = await self._call(part, request, attempt, functools.partial(
                        self._streamed, part, stream, batch))
                except ProviderError as exc:
                    self.result.status = "failed"
                    self.result.reason = self.result.reason or f"reviewer failed: {exc}"
                    self.notice(f"part {part}/{parts} "
                                f"({', '.join(e.file.path for e in batch.excerpts)}) "
                                f"could not be reviewed: {exc}")
                    return
                try:
                    verdict = parse_review(text)
                except ReviewParseError as exc:
                    if exc.salvage is not None:
                        verdict = exc.salvage
                    elif attempt == 1:
                        self.notice(f"the reviewer's reply for part {part} could not be read "
                                    f"({exc}); asking it to repair the reply")
                        messages += [Message("assistant", text), Message("user", (
                            f"Your reply could not be read: {exc}. Reply again with only the "
                            "JSON object described in the instructions."))]
                        continue
                    else:
                        self.result.status = "failed"
                        self.result.reason = self.result.reason or \
                            f"the reviewer's reply could not be read: {exc}"
                        self.notice(f"part {part}: {self.result.reason}")
                        return
                self._verdict(part, verdict, batch)
                return

    def _verdict(self, part: int, verdict: Verdict, batch: Batch) -> None:
        for finding in verdict.findings:
            self._accept(part, finding, batch)
        if verdict.summary:
            self.result.summaries.append(verdict.summary)
        self._emit(Reviewed(part, verdict.verdict, verdict.summary,
                            tuple(f.finding for f in self.result.findings)))

    def _streamed(self, part: int, stream: FindingStream, batch: Batch, chunk: str) -> None:
        for finding, partial in stream.feed(chunk):
            if not partial:
                self._accept(part, finding, batch)

    # ---------------------------------------------------------------- findings

    def _accept(self, part: int, raw: Finding, batch: Batch) -> None:
        key = (raw.file or "", " ".join(raw.quote.split()), " ".join(raw.message.split()))
        if key in self._seen:
            return
        self._seen.add(key)
        file = (raw.file or "").replace("\\", "/").removeprefix("./").strip()
        if not file:
            file = self._locate(raw, batch) or ""
        if not file:
            self.notice(f"a finding names no file and its quote is in none of the reviewed "
                        f"files; dropped: {raw.message}")
            return
        excerpt = self._excerpts.get(file)
        if excerpt is None:
            changed = self.changes.get(file)
            why = "which is not in the change" if changed is None else \
                f"which was not reviewed ({changed.skipped})"
            self.notice(f"a finding on {file}, {why}, was dropped: {raw.message}")
            return
        text = excerpt.file.text or ""
        placed = _place(text, raw.quote, raw.line, excerpt)
        if placed is None:
            self.notice(f"a finding on {file} quotes code that is neither changed nor near the "
                        f"change; dropped: {raw.message}")
            return
        line, end_line, approximate = placed
        finding = replace(raw, file=file)
        fingerprint = finding_fingerprint(finding)
        dismissed = self.dismissals.match(finding)
        if dismissed is not None:
            self.result.dismissed += 1
            self.notice(f"a finding on {file} was dismissed earlier"
                        + (f" ({dismissed.reason})" if dismissed.reason else "")
                        + f"; filtered: {raw.message}", "info")
            return
        if not at_least(finding.severity, self.settings.minSeverity):
            self.result.hidden += 1
            return
        finding = replace(finding, id=f"F{len(self.result.findings) + 1}", line=line)
        item = ChangeFinding(finding, line, end_line, approximate, fingerprint)
        self.result.findings.append(item)
        self._emit(FindingFound(part, finding, False))
        if self.on_finding is not None:
            self.on_finding(item)

    def _locate(self, raw: Finding, batch: Batch) -> str | None:
        if len(batch.excerpts) == 1:
            return batch.excerpts[0].file.path
        quote = raw.quote.strip()
        hits = [e.file.path for e in batch.excerpts if quote and quote in (e.file.text or "")]
        return hits[0] if len(hits) == 1 else None

    # ------------------------------------------------------------------- calls

    async def _call(self, part: int, request: ModelRequest, attempt: int,
                    on_text: Callable[[str], None]) -> str:
        self._emit(RoundStarted(part, "reviewer", self.reviewer.info.label))
        started = time.monotonic()
        text, usage, from_cache = await call_model(self.reviewer, request, self.cache, on_text,
                                                   self.notice)
        self._account(part, text, usage, started, attempt, from_cache)
        return text

    def _account(self, part: int, text: str, usage: Usage, started: float, attempt: int,
                 from_cache: bool) -> None:
        self.result.usage = self.result.usage + usage
        label = self.reviewer.info.label
        self._emit(ModelReply(part, "reviewer", label, text, attempt))
        self._emit(CallUsage(part, "reviewer", label, usage,
                             round((time.monotonic() - started) * 1000, 1), from_cache))


async def call_model(provider: Provider, request: ModelRequest, cache: Any,
                     on_text: Callable[[str], None] | None = None,
                     notice: Callable[[str], None] | None = None) -> tuple[str, Usage, bool]:
    """One streamed call through the response cache: (text, usage, from cache). A stream that
    breaks before any text is retried once; an empty reply is a ProviderError."""
    cached = await cache.get(provider, request)
    if cached is not None:
        text, usage = cached
        if on_text is not None:
            on_text(text)
        return str(text), usage, True
    for stream_try in (1, 2):
        chunks: list[str] = []
        usage = Usage()
        try:
            items = provider.stream(request)
            try:
                async for item in items:
                    if isinstance(item, TextDelta):
                        chunks.append(item.text)
                        if on_text is not None:
                            on_text(item.text)
                    else:
                        usage = item
            finally:
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    await aclose()
            break
        except ProviderError as exc:
            if exc.retryable and stream_try == 1 and not chunks:
                if notice is not None:
                    notice(f"{request.role} stream broke ({exc}); retrying once")
                continue
            raise
    text = "".join(chunks)
    if not text.strip():
        raise ProviderError(f"{provider.info.label} returned an empty reply")
    await cache.put(provider, request, text, usage)
    return text, usage, False


def _place(text: str, quote: str, hint: int | None,
           excerpt: Excerpt) -> tuple[int, int, bool] | None:
    """(line, end line, approximate) of a finding in the new file text, or None when it is
    about code far from the change."""
    quote = quote.strip("\n")
    stripped = quote.strip()
    if stripped:
        starts: list[int] = []
        i = text.find(stripped)
        while i >= 0 and len(starts) < 1000:
            starts.append(text.count("\n", 0, i) + 1)
            i = text.find(stripped, i + 1)
        near = [n for n in starts if excerpt.near(n)]
        if near:
            line = min(near, key=lambda n: abs(n - (hint or n)))
            return line, line + stripped.count("\n"), False
        if starts:
            return None
    total = text.count("\n") + (0 if text.endswith("\n") else 1)
    if hint and 1 <= hint <= max(total, 1) and excerpt.near(hint):
        return hint, hint, True
    return None


def review_changes(changes: ChangeSet, settings: Settings, factory: Any, *,
                         instruction: str = "", sinks: list[Sink] | None = None,
                         on_finding: Callable[[ChangeFinding], None] | None = None
                         ) -> ChangesReview:
    """A review wired like a session: the factory's reviewer, cache and transcript."""
    from pair_lsp.transcript import Transcript, transcript_dir

    review = ChangesReview(changes, settings, factory.provider(settings.reviewer), factory.cache,
                           instruction=instruction, sinks=sinks, on_finding=on_finding)
    if settings.transcript.enabled:
        transcript = Transcript(transcript_dir(settings.transcript, factory.workspace),
                                review.id)
        review.sinks.insert(0, transcript)
        factory.transcripts[review.id] = transcript
    return review
