"""The typed events a session yields. Fronts (CLI, language server, transcript) render these."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pair_lsp.loop.protocol import Finding
from pair_lsp.loop.textops import TextEdit
from pair_lsp.providers.base import Usage

# no_change: the worker proposed nothing in round 1 (there was nothing to review)
Status = Literal["approved", "exhausted", "cancelled", "failed", "no_change"]
END_STATES: tuple[str, ...] = ("approved", "exhausted", "cancelled", "failed", "no_change")


@dataclass(frozen=True)
class Event:
    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": _kind(type(self))}
        for f in dataclasses.fields(self):
            data[f.name] = _jsonable(getattr(self, f.name))
        return data


def _kind(cls: type) -> str:
    name = cls.__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class SessionStarted(Event):
    session_id: str
    mode: str  # "pair" | "review"
    worker: str
    reviewer: str
    max_rounds: int
    path: str
    target_lines: tuple[int, int]  # 1-based, inclusive
    instruction: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoundStarted(Event):
    round: int
    role: str  # "worker" | "reviewer"
    model: str


@dataclass(frozen=True)
class StreamProgress(Event):
    round: int
    role: str
    tokens: int  # session tokens so far, including the call in flight (estimated)


@dataclass(frozen=True)
class Notice(Event):
    message: str
    level: str = "info"  # "info" | "warning"


@dataclass(frozen=True)
class ModelReply(Event):
    round: int
    role: str
    model: str
    text: str
    attempt: int = 1


@dataclass(frozen=True)
class CallUsage(Event):
    round: int
    role: str
    model: str
    usage: Usage
    latency_ms: float
    from_cache: bool


@dataclass(frozen=True)
class Proposal(Event):
    round: int
    candidate: str  # the whole target text after this round's edits ('\n' endings)
    diff: str  # unified diff of the target region, original -> candidate
    applied_blocks: tuple[int, ...]
    tolerant_blocks: tuple[int, ...]
    explanation: str


@dataclass(frozen=True)
class Declined(Event):
    round: int
    finding_id: str
    reason: str


@dataclass(frozen=True)
class FindingFound(Event):
    """A finding as soon as the reviewer's stream contains it (before the review ends).

    ``partial``: everything up to its message has arrived but not the rest (the suggestion);
    the same finding follows again, whole, when its object closes.
    """

    round: int
    finding: Finding
    partial: bool = False


@dataclass(frozen=True)
class Reviewed(Event):
    round: int
    verdict: str
    summary: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class ReviewerVerdict(Event):
    """One reviewer's verdict in a round with several (``Reviewed`` holds the merged one)."""

    round: int
    model: str
    verdict: str
    summary: str
    findings: int


@dataclass(frozen=True)
class ProofRan(Event):
    round: int
    command: tuple[str, ...]
    exit_code: int | None  # None: timed out or could not start
    seconds: float
    output: str  # the tail of its output
    timed_out: bool
    error: str
    passed: bool
    message: str  # "proof: passed (2.1 s)"


@dataclass(frozen=True)
class PlanProposed(Event):
    """The worker's plan (Markdown), attempt ``attempt`` of at most planRounds."""

    attempt: int
    plan: str


@dataclass(frozen=True)
class PlanReviewed(Event):
    attempt: int
    verdict: str
    summary: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class PlanAgreed(Event):
    """The plan every later prompt opens with. ``waiting``: planApproval = ask, the session
    waits for Session.proceed() (the user's edited text, or this one) or cancel()."""

    plan: str
    approved: bool  # the reviewer approved it (False: planRounds ran out)
    waiting: bool
    saved_to: str = ""  # .pair/PLAN.md when planSave


@dataclass(frozen=True)
class Steered(Event):
    """A note from the user (pair.steer / run --resume -m) for the next worker turn."""

    round: int
    note: str


@dataclass(frozen=True)
class Finished(Event):
    status: Status
    reason: str  # approved | max_rounds | same_findings | oscillation | no_change | budget |
    # cancelled | "the worker proposed no change" | error text
    rounds: int
    summary: str
    findings: tuple[Finding, ...]  # the last review's findings
    edits: tuple[TextEdit, ...]  # document edits of the final candidate (approved or not)
    new_document: str | None  # the document with the edits applied (None: no proposal)
    diff: str  # unified diff of the whole document
    usage: Usage = field(default_factory=Usage)
    round_tokens: tuple[int, ...] = ()  # tokens used by each round

    def to_json(self) -> dict[str, Any]:
        # the new document is the old one plus `edits` (and `diff`): no copy of the whole file
        data = super().to_json()
        data["new_document"] = None if self.new_document is None else \
            {"chars": len(self.new_document)}
        return data
