"""What a session's state is called on screen: progress lines and the end message, in words a
user uses ("approved after 2 rounds", "review found 3 findings"), with what they can do next.

One place for these words: progress, `pair/status`, `pair/result`, window messages and the
command results all take them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pair_lsp.server.sessions import Record

APPLY_UNAPPROVED = "Apply unapproved edit"

_EXHAUSTED_WHY = {
    "max_rounds": "",
    "same_findings": " (the reviewer repeated its findings)",
    "oscillation": " (the worker went back to an earlier version)",
    "budget": " (the token budget is used up)",
    "no_change": " (the worker made no further change)",
}


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str
    level: str  # "info" | "warning" | "error"
    actions: tuple[str, ...]

    def to_json(self, record: Record) -> dict[str, Any]:
        f = record.finished
        return {"sessionId": record.id, "uri": record.uri, "status": self.status,
                "reason": f.reason if f else "", "rounds": record.rounds,
                "openFindings": len(record.open_findings()),
                "hasProposal": record.has_proposal, "approved": record.approved,
                "mode": record.mode, "message": self.message, "level": self.level,
                "actions": list(self.actions), "notes": list(record.notes)}


def progress_text(record: Record) -> str:
    s = record.session
    role = s.role or "starting"
    provider = s.worker if role == "worker" else s.reviewer
    model = f" ({provider.info.model})" if provider is not None and s.role else ""
    if role == "reviewer" and len(s.reviewers) > 1:  # every reviewer of the round
        model = f" ({', '.join(p.info.model for p, _ in s.reviewers)})"
    elif role in ("proof", "plan"):
        model = ""
    tokens = f"{format_tokens(s.tokens)} token{'' if s.tokens == 1 else 's'}"
    if s.proof_message and role != "worker":  # "proof: passed (2.1 s)" for the round's review
        tokens += f" · {s.proof_message}"
    if record.mode == "review":
        return f"Reviewing{model} · {tokens}"
    if role == "plan":  # planApproval = ask: the session waits after its plan
        return f"The plan waits for you: proceed (after any edit) or cancel · {tokens}"
    base = record.round_base
    return f"Round {base + max(s.round, 1)}/{base + s.max_rounds} · {role}{model} · {tokens}"


def _provider_where(record: Record, reason: str) -> str:
    """Name the endpoint a connection failure was about, when the reason does not."""
    s = record.session
    role = "worker" if reason.startswith("worker") else "reviewer"
    provider = s.worker if role == "worker" else s.reviewer
    url = provider.info.base_url if provider is not None else None
    if provider is None or not url or url in reason:
        return ""
    return f" ({provider.info.label} at {url})"


def describe(record: Record) -> Outcome:
    """The session's end (or current state) in words, with the actions that make sense; a
    reply cut short (token cap, time limit) is said, since it may explain the result."""
    out = _describe(record)
    if record.finished is not None and record.cuts:
        cut = record.cuts[-1]
        out = Outcome(out.status, f"{out.message} Note: {cut[0].lower()}{cut[1:]}.",
                      "warning" if out.level == "info" else out.level, out.actions)
    return out


def _describe(record: Record) -> Outcome:
    f = record.finished
    if f is None:
        return Outcome("running", "Pair · " + progress_text(record), "info", ("cancel",))
    rounds = plural(record.rounds, "round")
    open_count = len(record.open_findings())
    declined = len(record.declined)
    proposal = record.has_proposal
    keep: tuple[str, ...] = ("applyUnapproved", "preview", "discard") if proposal else ()
    if record.mode == "review":
        if f.status == "approved":
            text = ("Pair: review found nothing to fix." if not open_count else
                    f"Pair: review passed with {plural(open_count, 'note')}.")
            return Outcome("approved", text, "info", ("showTranscript",))
        if f.status == "exhausted":
            return Outcome("exhausted", f"Pair: review found {plural(open_count, 'finding')}.",
                           "info", ("showTranscript",))
    if f.status == "approved":
        if not f.edits:
            return Outcome("approved", "Pair: the reviewer approved the code as it is; "
                           "no change was needed.", "info", ("showTranscript",))
        tail = f" {plural(declined, 'finding')} declined by the worker." if declined else ""
        acted = "" if proposal else f" (already {record.resolved})" if record.resolved else ""
        return Outcome("approved", f"Pair: approved after {rounds}.{tail}{acted}", "info",
                       ("apply", "preview", "discard", "showTranscript") if proposal
                       else ("showTranscript",))
    if f.status == "exhausted":
        why = _EXHAUSTED_WHY.get(f.reason, "")
        left = f" — {plural(open_count, 'finding')} open" if open_count else ""
        return Outcome("exhausted", f"Pair: not approved after {rounds}{why}{left}.",
                       "warning", (*keep[:2], "continue", *keep[2:], "showTranscript")
                       if proposal else ("continue", "showTranscript"))
    if f.status == "cancelled":
        text = "Pair: cancelled." + (" The last proposal is kept (not approved)."
                                     if proposal else "")
        return Outcome("cancelled", text, "info", (*keep, "retry") if proposal else ("retry",))
    if f.status == "failed":
        reason = f.reason.rstrip(".")
        text = f"Pair: the {reason}{_provider_where(record, reason)}." \
            if reason.startswith(("worker ", "reviewer ")) else f"Pair: {reason}."
        if proposal:
            text += " The worker's edit is kept as an unapproved proposal."
        return Outcome("failed", text, "error",
                       (*keep, "retry", "openSettings", "showTranscript"))
    if f.status == "no_change":
        return Outcome("no_change", "Pair: the worker proposed no change.", "warning",
                       ("retry", "showTranscript"))
    return Outcome(f.status, f"Pair: {f.status} after {rounds}.", "info", ("showTranscript",))
