"""The reviewer's words for a change across files: the system prompt (stable: instructions,
project rules, dismissed findings), the schema (the engine's, plus file/confidence/rule) and one
batch's message."""

from __future__ import annotations

import copy
import json
from typing import Any

from pair_lsp.changes.excerpts import Batch
from pair_lsp.loop.prompts import DEFAULT_INSTRUCTION
from pair_lsp.loop.protocol import REVIEW_SCHEMA


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
