"""Every word pair-lsp says to a model, for both roles, in one place.

System prompts are constant (the stable, cacheable prefix). The first user message of a role
holds the task and stays the same across rounds, so round 2 re-sends a cached prefix and only
appends what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pair_lsp.loop.proof import ProofResult
from pair_lsp.loop.protocol import (
    DIVIDER,
    REPLACE_MARK,
    REVIEW_SCHEMA,
    SEARCH_MARK,
    Decline,
    Finding,
)
from pair_lsp.loop.textops import numbered

DEFAULT_INSTRUCTION = "Improve this code and fix what is wrong with it."

WORKER_SYSTEM = f"""You are the worker in a pair-programming loop inside a code editor.
You change one TARGET region of a file; a reviewer model checks your change and may ask for
revisions. Rules:
- Reply with one or two sentences on what you changed, then SEARCH/REPLACE blocks:
{SEARCH_MARK}
exact lines copied from the current TARGET text
{DIVIDER}
the lines that replace them
{REPLACE_MARK}
- SEARCH must quote the current TARGET text exactly (same indentation, same characters) and
  match exactly one place; keep each block small: only the lines that change plus enough
  neighbours to be unique. Use several blocks for several places. Never rewrite the whole region
  when a few lines change.
- Edit only the TARGET text. The surrounding code is shown for reference and cannot be changed.
- Do not wrap blocks in code fences. Do not add anything after the last block.
- When the reviewer raises a finding you disagree with, keep your code and add a line
  `DECLINE F2: <your reason>` (with that finding's id); the reviewer sees the reason.
- If nothing needs to change, say so and send no blocks."""

REVIEWER_SYSTEM = f"""You are the reviewer in a pair-programming loop inside a code editor.
A worker model changed a TARGET region of a file to follow an instruction. Review the CANDIDATE
(the region after the change): correctness first, then the instruction, then clarity.
Reply with ONLY a JSON object matching this schema, nothing else:
{json.dumps(REVIEW_SCHEMA, separators=(",", ":"))}
- "verdict": "approve" when the candidate is correct and does what was asked (minor nits may
  stay as "info"/"hint" findings); otherwise "revise" with at least one finding.
- Each finding: "id" (F1, F2, ... in order), "quote": text copied exactly from the CANDIDATE
  that the finding is about (one line or a short fragment; it anchors the finding in the
  editor), "line": the candidate line number shown at the left of that quote, "severity"
  (error: wrong behaviour or crash; warning: likely bug or missed requirement; info: worth a
  look; hint: style), "message": what is wrong, "suggestion": how to fix it, or null.
- Do not repeat a finding the worker declined unless its reason is wrong; then say why.
- Review only the CANDIDATE; the surrounding code is context."""

# For a provider that decodes under a grammar (the small local model): the grammar enforces the
# format, so the prompt only says what to do; a small model follows a short prompt better.
# (no placeholder text in the example: a small model copies it into its REPLACE part)
WORKER_SYSTEM_CONSTRAINED = f"""You fix code. Change the TARGET code as the instruction asks.
Reply with one short sentence, then a block that copies the TARGET lines to change and gives
them corrected. For example, to let zero pass a check:
{SEARCH_MARK}
    if n > 0:
{DIVIDER}
    if n >= 0:
{REPLACE_MARK}
Change as few lines as you can; keep their indentation."""

REVIEWER_SYSTEM_CONSTRAINED = """You review a code change. Is the CANDIDATE valid code that is
correct and does what the instruction asks? Reply with JSON: "verdict" is "approve" if so,
else "revise" with findings that quote a CANDIDATE line and say what is wrong; then a
one-sentence "summary"."""

REVIEW_ONLY_NOTE = ("There is no change to review: review the code of the CANDIDATE as it "
                    "stands (the ORIGINAL and the CANDIDATE are the same).")


@dataclass(frozen=True)
class Task:
    path: str
    language_id: str
    instruction: str
    original: str  # the target text ('\n' endings)
    first_line: int  # 1-based line of the target in the file
    before: str  # context above the target
    after: str  # context below the target
    diagnostics: tuple[str, ...] = ()
    whole_document: bool = False


def _fence(text: str, language: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{language}\n{text}\n{ticks}"


def _context(task: Task) -> str:
    parts = [f"File: {task.path} (language: {task.language_id})"]
    if task.whole_document:
        parts.append("The TARGET is the whole file.")
    else:
        last = task.first_line + task.original.count("\n")
        parts.append(f"The TARGET is lines {task.first_line}-{last} of the file.")
    if task.before:
        parts.append("Code above the TARGET (read-only):\n" + _fence(task.before, task.language_id))
    if task.after:
        parts.append("Code below the TARGET (read-only):\n" + _fence(task.after, task.language_id))
    if task.diagnostics:
        parts.append("Other tools report in the TARGET:\n" +
                     "\n".join(f"- {d}" for d in task.diagnostics))
    return "\n\n".join(parts)


def worker_task(task: Task) -> str:
    instruction = task.instruction.strip() or DEFAULT_INSTRUCTION
    return (f"{_context(task)}\n\nInstruction: {instruction}\n\n"
            f"TARGET:\n{_fence(task.original, task.language_id)}")


def worker_revision(round_no: int, findings: list[Finding], candidate: str | None,
                    language: str) -> str:
    """``candidate=None``: the worker's blocks applied verbatim, so it already knows the text
    (resending it would only cost tokens)."""
    lines = [f"The reviewer asked for changes (review of round {round_no}):"]
    lines += [_finding_line(f) for f in findings]
    if candidate is None:
        lines.append("\nYour edits were applied exactly as you wrote them: the current TARGET "
                     "is the original TARGET with your blocks applied.")
    else:
        lines.append("\nThe current TARGET text (your candidate) is:")
        lines.append(_fence(candidate, language))
    lines.append("Reply with SEARCH/REPLACE blocks against this current text, and a "
                 "`DECLINE F<n>: <reason>` line for each finding you decline.")
    return "\n".join(lines)


def worker_match_retry(failures: list[str], applied: list[int], candidate: str,
                       language: str) -> str:
    done = (f"Block(s) {', '.join(map(str, applied))} applied. " if applied else "")
    return (f"{done}These blocks could not be applied:\n" +
            "\n".join(f"- {f}" for f in failures) +
            "\n\nThe current TARGET text is:\n" + _fence(candidate, language) +
            "\nResend only the failed blocks, with SEARCH copied exactly from this text.")


def _finding_line(f: Finding) -> str:
    where = f" (line {f.line})" if f.line else ""
    quote = f" at `{f.quote.strip()}`" if f.quote.strip() else ""
    suggestion = f" Suggestion: {f.suggestion}" if f.suggestion else ""
    return f"- {f.id} [{f.severity}]{where}{quote}: {f.message}{suggestion}"


def reviewer_task(task: Task, candidate: str, diff: str, review_only: bool) -> str:
    instruction = task.instruction.strip() or DEFAULT_INSTRUCTION
    parts = [_context(task), f"Instruction given to the worker: {instruction}"]
    if review_only:
        parts.append(REVIEW_ONLY_NOTE)
    else:
        if len(diff) >= 0.6 * len(candidate):  # a small diff plus the candidate says it all
            parts.append("ORIGINAL TARGET:\n" + _fence(task.original, task.language_id))
        parts.append("DIFF (original -> candidate):\n" + _fence(diff or "(no change)", "diff"))
    parts.append("CANDIDATE (line numbers at the left are not part of the code):\n" +
                 _fence(numbered(candidate), task.language_id))
    return "\n\n".join(parts)


def reviewer_revision(round_no: int, candidate: str, diff_from_previous: str,
                      declines: list[Decline], language: str, explanation: str) -> str:
    parts = [f"The worker revised the candidate (round {round_no})."]
    if explanation.strip():
        parts.append(f"Worker's note: {explanation.strip()}")
    if declines:
        parts.append("The worker declined:\n" +
                     "\n".join(f"- {d.finding_id}: {d.reason}" for d in declines))
    parts.append("DIFF (previous candidate -> this one):\n" +
                 _fence(diff_from_previous or "(no change)", "diff"))
    if len(diff_from_previous) < 0.6 * len(candidate):
        parts.append("The CANDIDATE is the previous one with this diff applied (the @@ headers "
                     "give its line numbers); quote its text exactly.")
    else:
        parts.append("CANDIDATE (line numbers at the left are not part of the code):\n" +
                     _fence(numbered(candidate), language))
    parts.append("Review this candidate. Reply with only the JSON object.")
    return "\n\n".join(parts)


PLAN_WORKER_SYSTEM = """You are the worker in a pair-programming loop inside a code editor.
Before any code is written, write a PLAN for the instruction, in Markdown: the steps, the parts
of the code each step changes, the risks, and how the result will be checked. Be concrete and
short. Do not write the code itself. A reviewer model will approve or question the plan."""

PLAN_REVIEWER_SYSTEM = f"""You are the reviewer in a pair-programming loop inside a code editor.
A worker model wrote a PLAN (Markdown) for an instruction on a TARGET region of a file, before
writing any code. Judge the plan: does it do what was asked, is it correct, does it miss a risk
or a check? Reply with ONLY a JSON object matching this schema, nothing else:
{json.dumps(REVIEW_SCHEMA, separators=(",", ":"))}
- "verdict": "approve" when the plan is sound; otherwise "revise" with at least one finding.
- Each finding's "quote" is text copied exactly from the PLAN; "line" is its line in the plan."""


def with_plan(system: str, plan: str, role: str) -> str:
    """A system prompt opened by the agreed plan (it stays the cacheable prefix)."""
    if not plan:
        return system
    judge = ("\n- Judge the CANDIDATE against the AGREED PLAN too: a step it skips or "
             "contradicts is a finding." if role == "reviewer" else
             "\n- Follow the AGREED PLAN.")
    return f"{system}{judge}\n\nAGREED PLAN:\n{_fence(plan, 'markdown')}"


def plan_task(task: Task) -> str:
    instruction = task.instruction.strip() or DEFAULT_INSTRUCTION
    return (f"{_context(task)}\n\nInstruction: {instruction}\n\n"
            f"TARGET:\n{_fence(task.original, task.language_id)}\n\nWrite the plan.")


def plan_review(task: Task, plan: str) -> str:
    instruction = task.instruction.strip() or DEFAULT_INSTRUCTION
    return (f"{_context(task)}\n\nInstruction given to the worker: {instruction}\n\n"
            f"TARGET:\n{_fence(task.original, task.language_id)}\n\n"
            f"PLAN (line numbers at the left are not part of it):\n"
            f"{_fence(numbered(plan), 'markdown')}")


def plan_revision_for_reviewer(plan: str) -> str:
    return ("The worker revised the plan.\n\nPLAN (line numbers at the left are not part of "
            f"it):\n{_fence(numbered(plan), 'markdown')}\n\nReply with only the JSON object.")


def plan_revision(findings: list[Finding]) -> str:
    return ("The reviewer asked for changes to the plan:\n" +
            "\n".join(_finding_line(f) for f in findings) +
            "\n\nReply with the whole revised plan (Markdown), nothing else.")


def steer_notes(notes: list[str]) -> str:
    """The user's notes (pair.steer), appended to the next worker and reviewer message."""
    if not notes:
        return ""
    return ("\n\nThe user (the person at the editor) adds:\n" +
            "\n".join(f"- {n}" for n in notes) + "\nFollow these notes.")


def proof_report(proof: ProofResult) -> str:
    """What the reviewer learns of the proof (no timing: the message stays cacheable)."""
    command = " ".join(proof.command)
    if proof.error:
        state = f"could not run: {proof.error}"
    elif proof.timed_out:
        state = "was killed at its timeout (FAILED)"
    else:
        state = "PASSED (exit code 0)" if proof.passed else \
            f"FAILED (exit code {proof.exit_code})"
    parts = [f"PROOF: the command `{command}` ran on a copy of the workspace with the "
             f"CANDIDATE applied and {state}."]
    if proof.output.strip():
        parts.append("The end of its output:\n" + _fence(proof.output.rstrip("\n")))
    if not proof.passed:
        parts.append("Do not approve a candidate whose proof fails, unless the instruction "
                     "says a failing proof is acceptable; say what the failure shows.")
    return "\n".join(parts)


def proof_failed(proof: ProofResult) -> str:
    """The finding added when a reviewer approved a candidate whose proof failed."""
    tail = proof.output.strip().splitlines()[-5:]
    what = proof.error or ("timed out" if proof.timed_out else f"exit code {proof.exit_code}")
    return (f"The proof `{' '.join(proof.command)}` failed ({what}); the candidate must pass "
            "it." + ("\nIts output ends:\n" + "\n".join(tail) if tail else ""))


def reviewer_repair(reason: str) -> str:
    return (f"Your reply could not be read: {reason}. Reply again with only the JSON object "
            "described in the instructions: no prose, no code fences.")
