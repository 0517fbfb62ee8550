"""The model protocol: parsing worker replies (SEARCH/REPLACE blocks, DECLINE lines) and reviewer
replies (JSON verdicts), including findings pulled out of a reviewer stream as they complete.

This module is the single definition of the wire text between pair-lsp and the models; the
README documents it and the prompts in prompts.py teach it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

PROTOCOL_VERSION = "1"

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER = "======="
REPLACE_MARK = ">>>>>>> REPLACE"

Severity = Literal["error", "warning", "info", "hint"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info", "hint")

_SEARCH_RE = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
_REPLACE_RE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
_DECLINE_RE = re.compile(r"^\s*DECLINE\s+(F\d+)\s*[:\-–]\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    search: str
    replace: str
    index: int  # 1-based position in the reply, for feedback ("block 2 ...")


@dataclass(frozen=True)
class Decline:
    finding_id: str
    reason: str


@dataclass
class WorkerReply:
    blocks: list[Block]
    declines: list[Decline]
    prose: str
    problems: list[str] = field(default_factory=list)  # structural errors to send back


def parse_worker_reply(text: str) -> WorkerReply:
    """Split a worker reply into blocks, declines and prose. Never raises."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[Block] = []
    problems: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        if not _SEARCH_RE.match(lines[i]):
            prose.append(lines[i])
            i += 1
            continue
        start = i
        where = f"block {len(blocks) + 1} (starting at reply line {start + 1})"
        search, i, found = _part(lines, i + 1, _DIVIDER_RE, (_SEARCH_RE, _REPLACE_RE))
        if not found:
            problems.append(f"{where} has no '{DIVIDER}' line after its SEARCH part")
            continue
        replace, i, found = _part(lines, i + 1, _REPLACE_RE, (_SEARCH_RE,))
        if not found:
            problems.append(f"{where} is not closed by a '{REPLACE_MARK}' line")
            continue
        i += 1
        blocks.append(Block(_strip_fence("\n".join(search)), _strip_fence("\n".join(replace)),
                            len(blocks) + 1))
    prose_text = "\n".join(prose)
    declines = [Decline(m.group(1).upper(), m.group(2)) for m in _DECLINE_RE.finditer(prose_text)]
    return WorkerReply(blocks, declines, _clean_prose(prose_text), problems)


def _part(lines: list[str], i: int, end: re.Pattern[str],
          abort: tuple[re.Pattern[str], ...]) -> tuple[list[str], int, bool]:
    """Lines from ``i`` up to the ``end`` marker: (lines, index, found). Without the marker,
    the index is where another marker (or the reply's end) stands, to resume parsing there."""
    out: list[str] = []
    while i < len(lines):
        if end.match(lines[i]):
            return out, i, True
        if any(a.match(lines[i]) for a in abort):
            break
        out.append(lines[i])
        i += 1
    return out, i, False


def _strip_fence(text: str) -> str:
    # models sometimes wrap a block's halves in ``` fences; a fence line is never code here
    lines = text.split("\n")
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1].strip() == "```":
        lines = lines[1:-1]
    return "\n".join(lines)


def _clean_prose(text: str) -> str:
    kept = [ln for ln in text.split("\n") if not ln.strip().startswith("```")]
    return "\n".join(kept).strip()


# ---------------------------------------------------------------- reviewer


@dataclass(frozen=True)
class Finding:
    id: str
    message: str
    severity: str = "warning"
    quote: str = ""
    line: int | None = None  # 1-based in the text under review: a hint only
    suggestion: str | None = None
    # issue 11 (changes): the workspace-relative file, the reviewer's confidence (0-1) and the
    # project rule the finding rests on; optional for single-file sessions
    file: str | None = None
    confidence: float | None = None
    rule: str | None = None

    def signature(self) -> tuple[str, str]:
        """What makes two rounds' findings 'the same' (ids and wording drift)."""
        return (" ".join(self.quote.split()), " ".join(self.message.lower().split()))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "severity": self.severity,
                                "message": self.message, "quote": self.quote,
                                "line": self.line, "suggestion": self.suggestion}
        for key in ("file", "confidence", "rule"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class Verdict:
    verdict: Literal["approve", "revise"]
    summary: str
    findings: list[Finding]


class ReviewParseError(ValueError):
    def __init__(self, message: str, salvage: Verdict | None = None):
        super().__init__(message)
        self.salvage = salvage  # what a truncated reply still says clearly, if anything


# Property order matters: schema-constrained models write properties in this order, so the
# findings stream (and show as diagnostics) before the summary is written.
REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["verdict", "findings", "summary"],
    "properties": {
        "verdict": {"type": "string", "enum": ["approve", "revise"]},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "quote", "line", "severity", "message", "suggestion"],
                "properties": {
                    "id": {"type": "string"},
                    "quote": {"type": "string"},
                    "line": {"type": "integer"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "message": {"type": "string"},
                    "suggestion": {"type": ["string", "null"]},
                },
            },
        },
        "summary": {"type": "string"},
    },
}


def _extract_json_object(text: str) -> str:
    """The outermost JSON object in ``text`` (tolerates ```json fences and chatter)."""
    start = text.find("{")
    if start < 0:
        raise ReviewParseError("the reply contains no JSON object")
    end = _balanced_end(text, start)
    if end is None:
        raise ReviewParseError("the JSON object in the reply is not closed (truncated?)")
    return text[start:end]


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the object/array opened at ``start``; None if it never closes."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def finding_from_json(raw: Any, position: int) -> Finding | None:
    """A Finding from one decoded object; None when it carries no message at all."""
    if not isinstance(raw, dict):
        return None
    message = raw.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    fid = raw.get("id")
    fid = fid.strip().upper() if isinstance(fid, str) and fid.strip() else f"F{position}"
    severity = raw.get("severity")
    severity = severity.lower() if isinstance(severity, str) else "warning"
    if severity not in SEVERITIES:
        severity = {"critical": "error", "major": "error", "minor": "warning",
                    "information": "info", "note": "info"}.get(severity, "warning")
    quote = raw.get("quote")
    line = raw.get("line")
    suggestion = raw.get("suggestion")
    file, rule, confidence = raw.get("file"), raw.get("rule"), raw.get("confidence")
    return Finding(
        id=fid,
        message=message.strip(),
        severity=severity,
        quote=quote if isinstance(quote, str) else "",
        line=line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None,
        suggestion=suggestion if isinstance(suggestion, str) and suggestion.strip() else None,
        file=file.strip() if isinstance(file, str) and file.strip() else None,
        confidence=(max(0.0, min(1.0, float(confidence)))
                    if isinstance(confidence, int | float) and not isinstance(confidence, bool)
                    else None),
        rule=rule.strip() if isinstance(rule, str) and rule.strip() else None,
    )


def salvage_review(text: str) -> Verdict | None:
    """From a cut-off reply: the verdict and every complete, distinct finding before the cut."""
    m = re.search(r'"verdict"\s*:\s*"(approve|revise)"', text)
    if not m:
        return None
    summary = re.search(r'"summary"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for f, partial in FindingStream().feed(text):
        if not partial and f.signature() not in seen:  # a cut-off finding is not kept
            seen.add(f.signature())
            findings.append(replace(f, id=f"F{len(findings) + 1}"))
    verdict = m.group(1)
    if verdict == "revise" and not findings:
        return None
    text_summary = json.loads(f'"{summary.group(1)}"') if summary else ""
    return Verdict("approve" if verdict == "approve" else "revise", text_summary, findings)


def parse_review(text: str) -> Verdict:
    """Parse a reviewer reply. Raises ReviewParseError saying what is wrong."""
    try:
        obj = _extract_json_object(text)
    except ReviewParseError as exc:
        raise ReviewParseError(str(exc), salvage_review(text)) from None
    try:
        data = json.loads(obj)
    except json.JSONDecodeError as exc:
        raise ReviewParseError(f"the reply is not valid JSON ({exc.msg} at char {exc.pos})")\
            from None
    if not isinstance(data, dict):
        raise ReviewParseError("the reply is not a JSON object")
    verdict = data.get("verdict")
    if isinstance(verdict, str):
        verdict = verdict.strip().lower()
    if verdict not in ("approve", "revise"):
        raise ReviewParseError(f'"verdict" must be "approve" or "revise", got {verdict!r}')
    raw_findings = data.get("findings", [])
    if not isinstance(raw_findings, list):
        raise ReviewParseError('"findings" must be a list')
    findings: list[Finding] = []
    seen: set[str] = set()
    for pos, raw in enumerate(raw_findings, 1):
        finding = finding_from_json(raw, pos)
        if finding is None:
            raise ReviewParseError(f"finding {pos} has no \"message\"")
        if finding.id in seen:
            finding = replace(finding, id=f"F{pos}")
        seen.add(finding.id)
        findings.append(finding)
    if verdict == "revise" and not findings:
        raise ReviewParseError('a "revise" verdict needs at least one finding')
    summary = data.get("summary")
    return Verdict("approve" if verdict == "approve" else "revise",
                   summary.strip() if isinstance(summary, str) else "", findings)


_MESSAGE_KEY = re.compile(r'"message"\s*:\s*(?=")')
_DECODER = json.JSONDecoder()


class FindingStream:
    """Pulls findings out of a reviewer's JSON as it streams in.

    Feed text chunks; each call returns ``(finding, partial)`` pairs: a finding whose message
    has arrived while the rest of its object (the suggestion) is still streaming comes back
    once as partial, then again, whole, when its object closes. The schema puts the message
    after the anchor (quote, line), so a partial finding can already be placed.
    Scanning resumes where it stopped, so total work is linear in the reply's length.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._pos = 0  # next char to scan
        self._in_array = False
        self._emitted = 0
        self._partial_at = -1  # start of the object already reported as partial

    def feed(self, chunk: str) -> list[tuple[Finding, bool]]:
        self._buf += chunk
        out: list[tuple[Finding, bool]] = []
        if not self._in_array:
            m = re.search(r'"findings"\s*:\s*\[', self._buf)
            if not m:
                return out
            self._in_array = True
            self._pos = m.end()
        while True:
            start = self._buf.find("{", self._pos)
            if start < 0:
                return out
            end = _balanced_end(self._buf, start)
            if end is None:
                if self._partial_at != start:
                    partial = self._partial(start)
                    if partial is not None:
                        self._partial_at = start
                        out.append((partial, True))
                return out
            self._pos = end
            try:
                raw = json.loads(self._buf[start:end])
            except json.JSONDecodeError:
                continue
            finding = finding_from_json(raw, self._emitted + 1)
            if finding is not None:
                self._emitted += 1
                out.append((finding, False))

    def _partial(self, start: int) -> Finding | None:
        """The open object at ``start`` cut after its message, if the message is complete,
        the finding has its id and can be placed (it has a quote or a line)."""
        m = _MESSAGE_KEY.search(self._buf, start)
        if m is None:
            return None
        try:
            _, end = _DECODER.raw_decode(self._buf, m.end())
            raw = json.loads(self._buf[start:end] + "}")
        except (json.JSONDecodeError, ValueError):
            return None  # the message is still streaming
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or \
                not raw["id"].strip() or not (raw.get("quote") or raw.get("line")):
            return None  # without its id the whole finding could not replace it
        return finding_from_json(raw, self._emitted + 1)

