"""The reviewer's words for a change across files: the system prompt (stable: instructions,
project rules, dismissed findings), the schema (the engine's, plus file/confidence/rule) and one
batch's message."""

from __future__ import annotations

import copy
import json
from typing import Any

from pair_lsp.changes.excerpts import Batch
from pair_lsp.loop.prompts import DEFAULT_INSTRUCTION
from pair_lsp.loop.protocol import (
    DIVIDER,
    REPLACE_MARK,
    REVIEW_SCHEMA,
    SEARCH_MARK,
    Finding,
)


def _changes_schema() -> dict[str, Any]:
    schema = copy.deepcopy(REVIEW_SCHEMA)
    item = schema["properties"]["findings"]["items"]
    props = item["properties"]
    # order matters (findings stream as they complete): the file and anchor first
    ordered = {"id": props["id"], "file": {"type": "string"}, "quote": props["quote"],
               "line": props["line"], "severity": props["severity"],
               "confidence": {"type": ["number", "null"]}, "message": props["message"],
               "rule": {"type": ["string", "null"]}, "suggestion": props["suggestion"]}
    ordered.update({k: v for k, v in props.items() if k not in ordered})
    item["properties"] = ordered
    item["required"] = list(ordered)
    return schema


CHANGES_SCHEMA = _changes_schema()

SYSTEM = f"""You are the reviewer in a pair-programming tool. You review a CHANGE to a code \
repository: the files it touches, each shown as numbered excerpts of the new file around its \
changed lines. Find what is wrong with the change: correctness first (bugs, crashes, broken \
callers, security), then the instruction and the project rules, then clarity.
Reply with ONLY a JSON object matching this schema, nothing else:
{json.dumps(CHANGES_SCHEMA, separators=(",", ":"))}
- "verdict": "approve" when nothing at "warning" or above is wrong; otherwise "revise" with at \
least one finding.
- Each finding: "id" (F1, F2, ... in order); "file": the file's path exactly as written after \
FILE:; "quote": text copied exactly from that file as shown (an added `+` line or code next to \
it; never a removed `-` line), one line or a short fragment, without the line number; "line": \
the number at the left of that quote; "severity" (error: wrong behaviour or crash; warning: \
likely bug or broken rule; info: worth a look; hint: style); "confidence": 0.0-1.0, how sure \
you are; "message": what is wrong; "rule": null, or the project rule the finding rests on as \
"<rules file>: <the rule's words>"; "suggestion": how to fix it, or null.
- Review what the change does. Untouched code is context: raise it only when the change \
breaks it. Only files shown here can have findings."""


def system(rules_text: str, dismissed_text: str) -> str:
    """The stable, cacheable prefix: the same for every batch of one review."""
    return "\n\n".join(p for p in (SYSTEM, rules_text, dismissed_text) if p)


def batch_message(label: str, instruction: str, batch: Batch, part: int, parts: int) -> str:
    head = [f"Review this change: {label}.",
            f"Instruction: {instruction.strip() or DEFAULT_INSTRUCTION}"]
    if parts > 1:
        head.append(f"This is part {part} of {parts} of the review: {len(batch.excerpts)} "
                    "file(s); the other parts are reviewed separately.")
    head.append("Line numbers at the left are the file's own; `+` marks an added or changed "
                "line, `-` a removed line (no longer in the file), `⋮` skipped lines.")
    files = []
    for e in batch.excerpts:
        f = e.file
        what = f.status + (f", from {f.old_path}" if f.old_path else "")
        files.append(f"FILE: {f.path} ({what})\n{_fence(e.text)}")
    return "\n".join(head) + "\n\n" + "\n\n".join(files)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text}\n{ticks}"


# ------------------------------------------------------------------ pairing (worker + check)

WORKER_SYSTEM = f"""You are the worker in a pair-programming tool. A reviewer model reviewed a \
CHANGE to a code repository across several files; you fix what it found, in whichever files \
that takes, and it checks your fixes. Rules:
- Reply with one or two sentences on what you changed, then SEARCH/REPLACE blocks. Write the \
file's path (exactly as shown after FILE:) alone on the line before each block:
path/to/file.py
{SEARCH_MARK}
exact lines copied from the current text of that file
{DIVIDER}
the lines that replace them
{REPLACE_MARK}
- SEARCH must quote the file's current text exactly and match one place; keep blocks small. \
Edit only the files shown. Do not wrap blocks in code fences.
- When you disagree with a finding, leave the code and add a line `DECLINE F2: <reason>`.
- If nothing needs to change, say so and send no blocks."""

CHECK_NOTE = ("Check the worker's fixes: approve when the findings are resolved (or rightly "
              "declined) and the fixes break nothing; otherwise revise with the findings that "
              "remain or are new. Quote the files as they stand now.")


def finding_lines(findings: list[Finding]) -> str:
    out = []
    for f in findings:
        where = f"{f.file or '?'}" + (f":{f.line}" if f.line else "")
        quote = f" at `{f.quote.strip()}`" if f.quote.strip() else ""
        rule = f" (rule: {f.rule})" if f.rule else ""
        fix = f" Suggestion: {f.suggestion}" if f.suggestion else ""
        out.append(f"- {f.id} [{f.severity}] {where}{quote}: {f.message}{rule}{fix}")
    return "\n".join(out)


def worker_task(label: str, instruction: str, findings: list[Finding],
                files: dict[str, str], others: list[str]) -> str:
    parts = [f"The change under work: {label}.",
             f"Instruction: {instruction.strip() or 'Fix the findings below.'}"]
    if findings:
        parts.append("The reviewer's findings:\n" + finding_lines(findings))
    parts += [f"FILE: {path}\n{_fence(text)}" for path, text in files.items()]
    if others:
        parts.append("Also in the change (not shown; ask for them by editing only what is "
                     "shown): " + ", ".join(others))
    return "\n\n".join(parts)


def worker_revision(findings: list[Finding], files: dict[str, str]) -> str:
    parts = ["The reviewer asked for more changes:\n" + finding_lines(findings)]
    if files:
        parts.append("The current text of the files your blocks did not apply to exactly:")
        parts += [f"FILE: {path}\n{_fence(text)}" for path, text in files.items()]
    else:
        parts.append("Your blocks were applied exactly as written.")
    parts.append("Reply with path-labelled SEARCH/REPLACE blocks against the current texts, "
                 "and a `DECLINE F<n>: <reason>` line for each finding you decline.")
    return "\n\n".join(parts)


def worker_retry(problems: list[str], files: dict[str, str]) -> str:
    return ("These blocks could not be applied:\n" + "\n".join(f"- {p}" for p in problems) +
            "\n\n" + "\n\n".join(f"FILE: {path}\n{_fence(text)}"
                                 for path, text in files.items()) +
            "\nResend only the failed blocks, each with its path on the line before it and "
            "SEARCH copied exactly from the current text.")


def check_message(label: str, findings: list[Finding], explanation: str,
                  declines: list[tuple[str, str]], diffs: dict[str, str],
                  excerpts: dict[str, str]) -> str:
    parts = [f"The worker fixed findings in this change: {label}.",
             "The findings it was asked to fix:\n" + finding_lines(findings)]
    if explanation.strip():
        parts.append(f"Worker's note: {explanation.strip()}")
    if declines:
        parts.append("The worker declined:\n" + "\n".join(f"- {fid}: {why}"
                                                          for fid, why in declines))
    for path, diff in diffs.items():
        parts.append(f"FILE: {path} — the worker's edits:\n{_fence(diff)}\n"
                     f"Now (line numbers are the file's):\n{_fence(excerpts[path])}")
    parts.append(CHECK_NOTE)
    return "\n\n".join(parts)
