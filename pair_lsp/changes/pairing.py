"""Pairing on a change: the reviewer reviews the change (review.py), the worker fixes its
findings across files with path-labelled SEARCH/REPLACE blocks, the reviewer checks the fixes;
rounds, declines, stops and the token budget as in the engine's loop.

The result is one change set: for every file the worker edited, the text read when the session
started and the proposed text (in the file's own line endings). Nothing is written here.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pair_lsp.changes import prompts
from pair_lsp.changes.dismissals import render as render_dismissed
from pair_lsp.changes.excerpts import render as render_excerpt
from pair_lsp.changes.git import ChangeSet, parse_diff
from pair_lsp.changes.review import ChangesResult, ChangesReview, call_model
from pair_lsp.changes.rules import find_rules
from pair_lsp.changes.running import CancellableRun, Sink
from pair_lsp.config import Settings
from pair_lsp.loop.events import (
    CallUsage,
    Declined,
    Event,
    Finished,
    ModelReply,
    Notice,
    Reviewed,
    RoundStarted,
)
from pair_lsp.loop.matching import apply_blocks
from pair_lsp.loop.protocol import (
    Block,
    Finding,
    ReviewParseError,
    Verdict,
    parse_review,
    parse_worker_reply,
)
from pair_lsp.loop.textops import Eol, unified_diff
from pair_lsp.providers.base import Message, ModelRequest, Provider, ProviderError, Usage

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")


@dataclass(frozen=True)
class FileProposal:
    path: str
    original: str  # the file's text when the session started (its own line endings)
    proposed: str


@dataclass
class ChangesPairResult:
    session_id: str
    status: str  # approved | exhausted | failed | cancelled
    reason: str
    rounds: int
    findings: list[Finding]  # still open
    proposals: list[FileProposal]
    review: ChangesResult | None
    usage: Usage = field(default_factory=Usage)

    @property
    def diff(self) -> str:
        return "".join(unified_diff(Eol.of(p.original).text, Eol.of(p.proposed).text, p.path)
                       for p in self.proposals)


def split_blocks(text: str, paths: set[str]) -> tuple[list[tuple[str, Block]], list[str]]:
    """(path, block) pairs of a worker reply, the path being the line before each block's
    SEARCH marker; and the problems to send back (a block naming no file of the change)."""
    lines = text.replace("\r\n", "\n").split("\n")
    marks = [i for i, line in enumerate(lines) if _SEARCH.match(line)]
    out: list[tuple[str, Block]] = []
    problems: list[str] = []
    previous: str | None = None
    for k, i in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(lines)
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        before = lines[j] if j >= 0 else ""
        raw = before.strip().strip("`*#").strip().removeprefix("File:").strip().rstrip(":")
        path = raw.removeprefix("./")
        if _REPLACE.match(before) and previous is not None:
            path = previous  # consecutive blocks for the same file
        part = parse_worker_reply("\n".join(lines[i:end]))
        problems += [f"block {k + 1}: {p}" for p in part.problems]
        if not part.blocks:
            continue
        if path not in paths:
            problems.append(f"block {k + 1} does not name a file of the change on the line "
                            f"before `<<<<<<< SEARCH` (found {raw[:80]!r}); write the file's "
                            "path there")
            continue
        previous = path
        out.append((path, Block(part.blocks[0].search, part.blocks[0].replace, k + 1)))
    return out, problems


class ChangesPair(CancellableRun["ChangesPairResult"]):
    def __init__(self, changes: ChangeSet, settings: Settings, worker: Provider,
                 reviewer: Provider, cache: Any, *, instruction: str = "",
                 sinks: list[Sink] | None = None, max_rounds: int | None = None):
        self.changes = changes
        self.settings = settings
        self.worker = worker
        self.reviewer = reviewer
        self.cache = cache
        self.instruction = instruction
        self.sinks = list(sinks or [])
        self.max_rounds = max_rounds or settings.maxRounds
        self.id = uuid.uuid4().hex[:12]
        self.usage = Usage()
        self.originals: dict[str, str] = {}  # path -> text read at the start (own endings)
        self.current: dict[str, str] = {}  # path -> '\n' text being worked on
        self.round = 0
        self.role = "reviewer"

    def _emit_unless_end(self, event: Event) -> None:
        if not isinstance(event, Finished):
            self._emit(event)

    def _read_originals(self) -> None:
        for f in self.changes.reviewable:
            try:
                with open(self.changes.root / f.path, encoding="utf-8", newline="") as fh:
                    self.originals[f.path] = fh.read()
            except (OSError, UnicodeDecodeError):
                continue
            self.current[f.path] = Eol.of(self.originals[f.path]).text

    async def run(self) -> ChangesPairResult:
        return await self._run_cancellable(
            self._run, lambda: self._result("cancelled", "cancelled", [], None))

    async def _run(self) -> ChangesPairResult:
        await asyncio.to_thread(self._read_originals)
        # the first review's events go to the same sinks, except its end: the session goes on
        review = ChangesReview(self.changes, self.settings, self.reviewer, self.cache,
                               instruction=self.instruction, sinks=[self._emit_unless_end],
                               session_id=self.id)
        first = await review.run()
        findings = [item.finding for item in first.findings]
        self.usage = first.usage
        if first.status in ("failed", "cancelled"):
            return self._result(first.status, first.reason, findings, first)
        if not findings and not self.instruction.strip():
            return self._result("approved", "no_findings", [], first)
        rules = find_rules(self.changes.root, list(self.current), self.settings.rules)
        system = prompts.system(rules.render(), render_dismissed(
            review.dismissals.for_files(set(self.current))))
        try:
            status, reason, findings = await self._loop(findings, system)
        except ProviderError as exc:
            status, reason = "failed", f"{self.role} failed: {exc}"
        return self._result(status, reason, findings, first)

    async def _loop(self, findings: list[Finding],
                    system: str) -> tuple[str, str, list[Finding]]:
        conversation: list[Message] = []
        previous: set[tuple[str, str]] | None = None
        for round_no in range(1, self.max_rounds + 1):
            self.round = round_no
            if round_no == 1:
                conversation.append(Message("user", self._worker_task(findings)))
            else:
                conversation.append(Message("user", prompts.worker_revision(findings, {})))
            before = dict(self.current)
            explanation, declines = await self._work(round_no, conversation)
            edited = [p for p in self.current if self.current[p] != before[p]]
            if not edited and not declines:
                return "exhausted", "no_change", findings
            verdict = await self._check(round_no, system, findings, explanation, declines)
            if verdict.verdict == "approve":
                return "approved", "approved", verdict.findings
            findings = verdict.findings
            if not findings:  # everything it raised is outside the change: not for the worker
                return "exhausted", "outside_change", findings
            signature = {f.signature() for f in findings}
            if previous is not None and signature == previous:
                return "exhausted", "same_findings", findings
            previous = signature
            budget = self.settings.maxTokens
            if budget and self.usage.total > budget:
                self._emit(Notice(f"token budget of {budget} exceeded ({self.usage.total} "
                                  "used)", "warning"))
                return "exhausted", "budget", findings
        return "exhausted", "max_rounds", findings

    def _worker_task(self, findings: list[Finding]) -> str:
        budget = max(self.settings.changes.maxTokens, 1) * 4
        with_findings = [p for p in self.current if any(f.file == p for f in findings)]
        rest = [p for p in self.current if p not in with_findings]
        shown: dict[str, str] = {}
        used = 0
        for path in with_findings + (rest if self.instruction.strip() else []):
            text = self.current[path]
            if used + len(text) > budget and shown:
                continue
            shown[path] = text
            used += len(text)
        others = [p for p in self.current if p not in shown]
        return prompts.worker_task(self.changes.label, self.instruction, findings, shown, others)

    async def _work(self, round_no: int,
                    conversation: list[Message]) -> tuple[str, list[tuple[str, str]]]:
        declines: list[tuple[str, str]] = []
        explanation = ""
        for attempt in range(1, self.settings.matchRetries + 2):
            text = await self._call(round_no, "worker", self.worker, ModelRequest(
                role="worker", system=prompts.WORKER_SYSTEM, messages=tuple(conversation),
                max_output_tokens=self.settings.worker.maxOutputTokens, temperature=None),
                attempt)
            conversation.append(Message("assistant", text))
            reply = parse_worker_reply(text)
            if attempt == 1:
                explanation = reply.prose
            for d in reply.declines:
                if d.finding_id not in {fid for fid, _ in declines}:
                    declines.append((d.finding_id, d.reason))
                    self._emit(Declined(round_no, d.finding_id, d.reason))
            pairs, problems = split_blocks(text, set(self.current))
            failed_files: set[str] = set()
            for path in dict.fromkeys(p for p, _ in pairs):
                result = apply_blocks(self.current[path], [b for p, b in pairs if p == path])
                self.current[path] = result.text
                for failure in result.failures:
                    problems.append(f"{path}: {failure.reason}")
                    failed_files.add(path)
            if not problems:
                break
            if attempt > self.settings.matchRetries:
                self._emit(Notice("some worker edits never applied and were dropped: " +
                                  "; ".join(problems), "warning"))
                break
            self._emit(Notice(f"worker edits did not apply (attempt {attempt}): " +
                              "; ".join(problems) + " — asking the worker again", "warning"))
            conversation.append(Message("user", prompts.worker_retry(
                problems, {p: self.current[p] for p in sorted(failed_files)})))
        return explanation, declines

    async def _check(self, round_no: int, system: str, findings: list[Finding],
                     explanation: str, declines: list[tuple[str, str]]) -> Verdict:
        diffs: dict[str, str] = {}
        excerpts: dict[str, str] = {}
        for path, now in self.current.items():
            start = Eol.of(self.originals[path]).text
            if now == start:
                continue
            diff = unified_diff(start, now, path)
            diffs[path] = diff
            edited = parse_diff(f"diff --git a/{path} b/{path}\n{diff}")[0]
            edited.text = now
            excerpts[path] = render_excerpt(edited, self.settings.contextLines)[0]
        message = prompts.check_message(self.changes.label, findings, explanation, declines,
                                        diffs, excerpts)
        messages = [Message("user", message)]
        for attempt in (1, 2):
            text = await self._call(round_no, "reviewer", self.reviewer, ModelRequest(
                role="reviewer", system=system, messages=tuple(messages),
                json_schema=prompts.CHANGES_SCHEMA,
                max_output_tokens=self.settings.reviewer.maxOutputTokens, temperature=None),
                attempt)
            try:
                verdict = parse_review(text)
            except ReviewParseError as exc:
                if exc.salvage is not None:
                    verdict = exc.salvage
                elif attempt == 1:
                    messages += [Message("assistant", text), Message("user", (
                        f"Your reply could not be read: {exc}. Reply again with only the JSON "
                        "object described in the instructions."))]
                    continue
                else:
                    raise ProviderError(f"the reviewer's reply could not be read: {exc}") \
                        from None
            kept = [f for f in verdict.findings if f.file is None or f.file in self.current]
            if len(kept) != len(verdict.findings):
                self._emit(Notice("findings on files outside the change were dropped: " +
                                  ", ".join(sorted({f.file or "" for f in verdict.findings
                                                    if f not in kept})), "warning"))
            verdict = Verdict(verdict.verdict, verdict.summary, kept)
            self._emit(Reviewed(round_no, verdict.verdict, verdict.summary,
                                tuple(verdict.findings)))
            return verdict
        raise ProviderError("the reviewer's reply could not be read")

    async def _call(self, round_no: int, role: str, provider: Provider,
                    request: ModelRequest, attempt: int) -> str:
        self.role = role
        self._emit(RoundStarted(round_no, role, provider.info.label))
        started = time.monotonic()
        text, usage, cached = await call_model(provider, request, self.cache, None,
                                               lambda m: self._emit(Notice(m, "warning")))
        self.usage = self.usage + usage
        self._emit(ModelReply(round_no, role, provider.info.label, text, attempt))
        self._emit(CallUsage(round_no, role, provider.info.label, usage,
                             round((time.monotonic() - started) * 1000, 1), cached))
        return text

    def _result(self, status: str, reason: str, findings: list[Finding],
                review: ChangesResult | None) -> ChangesPairResult:
        proposals = [FileProposal(p, self.originals[p], Eol.of(self.originals[p]).restore(t))
                     for p, t in self.current.items() if t != Eol.of(self.originals[p]).text]
        result = ChangesPairResult(self.id, status, reason, self.round, findings, proposals,
                                   review, self.usage)
        self._emit(Finished(status, reason, self.round, "",  # type: ignore[arg-type]
                            tuple(findings), (), None, result.diff, self.usage))
        return result
