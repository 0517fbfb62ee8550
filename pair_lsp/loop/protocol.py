"""The model protocol: parsing worker replies (SEARCH/REPLACE blocks, DECLINE lines) and reviewer
replies (JSON verdicts), including findings pulled out of a reviewer stream as they complete.

This module is the single definition of the wire text between pair-lsp and the models; the
README documents it and the prompts in prompts.py teach it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pair_lsp.providers.base import clean_text

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
    agreement: str | None = None  # several reviewers: how many raised it, e.g. "2/2"
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
                                "message": self.message, "quote": self.quote, "line": self.line,
                                "suggestion": self.suggestion}
        for key in ("agreement", "file", "confidence", "rule"):
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


# Reviewer JSON nests three levels (verdict object, findings array, finding object); a reply
# nesting deeper than this is refused before any decoder sees it (they recurse).
MAX_DEPTH = 64

_STRING_RUN = re.compile(r'[^"\\]*')
_PLAIN_RUN = re.compile(r'[^"{}\[\]:,]*')


class JsonLexer:
    """The structure of JSON text fed in chunks, without decoding any value.

    :meth:`scan` yields ``(token, index in the chunk)``: one of ``{ } [ ] : ,``, ``"`` where a
    string opens, ``s`` where it closes, ``v`` where another value (number, literal) starts.
    Strings are skipped a run at a time, so the work is linear in the text whatever the
    chunking. ``head``: the first characters of the last string (raw), enough to tell keys.
    """

    HEAD = 16

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False
        self.head = ""

    def scan(self, chunk: str) -> Iterator[tuple[str, int]]:
        i, n = 0, len(chunk)
        while i < n:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                    self._keep(chunk[i])
                    i += 1
                    continue
                j = _STRING_RUN.match(chunk, i).end()  # type: ignore[union-attr]
                if j > i:
                    self._keep(chunk[i:j])
                if j >= n:
                    return
                if chunk[j] == "\\":
                    self.escaped = True
                    self._keep("\\")
                else:
                    self.in_string = False
                    yield "s", j
                i = j + 1
                continue
            ch = chunk[i]
            if ch == '"':
                self.in_string = True
                self.head = ""
                yield '"', i
                i += 1
            elif ch in "{}[]:,":
                yield ch, i
                i += 1
            else:
                j = _PLAIN_RUN.match(chunk, i).end()  # type: ignore[union-attr]
                if not chunk[i:j].isspace():
                    yield "v", i
                i = j

    def _keep(self, text: str) -> None:
        if len(self.head) < self.HEAD:
            self.head += text[:self.HEAD - len(self.head)]


def _extract_json_object(text: str) -> str:
    """The outermost JSON object in ``text`` (tolerates ```json fences and chatter)."""
    start = text.find("{")
    if start < 0:
        raise ReviewParseError("the reply contains no JSON object")
    depth = 0
    for token, i in JsonLexer().scan(text[start:]):
        if token in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                raise ReviewParseError(f"the JSON nests deeper than {MAX_DEPTH} levels")
        elif token in "}]":
            depth -= 1
            if depth == 0:
                return text[start:start + i + 1]
    raise ReviewParseError("the JSON object in the reply is not closed (truncated?)")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _decode(text: str) -> Any:
    """json.loads, lenient about control characters inside strings (models write raw tabs and
    newlines); ValueError for anything it cannot read (numbers too long included). A lone
    surrogate escape (JSON allows ``"\\ud83d"`` alone) decodes to U+FFFD."""
    try:
        data = json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return _clean(data) if _SURROGATE_ESCAPE.search(text) else data


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    return value


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
    try:
        text_summary = _decode(f'"{summary.group(1)}"') if summary else ""
    except ValueError:
        text_summary = ""
    return Verdict("approve" if verdict == "approve" else "revise", text_summary, findings)


def parse_review(text: str) -> Verdict:
    """Parse a reviewer reply. Raises ReviewParseError saying what is wrong."""
    try:
        obj = _extract_json_object(text)
    except ReviewParseError as exc:
        raise ReviewParseError(str(exc), salvage_review(text)) from None
    try:
        data = _decode(obj)
    except json.JSONDecodeError as exc:
        raise ReviewParseError(f"the reply is not valid JSON ({exc.msg} at char {exc.pos})")\
            from None
    except ValueError as exc:
        raise ReviewParseError(f"the reply is not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise ReviewParseError("the reply is not a JSON object")
    verdict = data.get("verdict")
    if isinstance(verdict, str):
        verdict = verdict.strip().lower()
    if verdict not in ("approve", "revise"):
        raise ReviewParseError('"verdict" must be "approve" or "revise", got '
                               f"{repr(verdict)[:80]}")
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


class FindingStream:
    """Pulls findings out of a reviewer's JSON as it streams in.

    Feed text chunks; each call returns ``(finding, partial)`` pairs: a finding whose message
    has arrived while the rest of its object (the suggestion) is still streaming comes back
    once as partial, then again, whole, when its object closes. The schema puts the message
    after the anchor (quote, line), so a partial finding can already be placed.

    Incremental: each chunk is scanned once (:class:`JsonLexer`), and each finding object is
    decoded at most twice (at the end of its message, and whole), so the work is linear in
    the reply however it is chunked. ``work`` counts the characters scanned and decoded.
    """

    def __init__(self) -> None:
        self._lex = JsonLexer()
        self._started = False  # the top-level object has opened
        self._done = False  # ... and closed
        self._depth = 0
        self._prev = ""  # the previous token
        self._key: str | None = None  # the key whose value comes next
        self._array = 0  # depth inside the findings array (0: not open yet, -1: closed)
        self._parts: list[str] = []  # the finding object read so far (earlier chunks)
        self._size = 0  # its length
        self._open = False
        self._deep = False  # it nests past MAX_DEPTH: never decoded
        self._in_message = False
        self._message_end: int | None = None  # the object's length through its message
        self._emitted = 0
        self.work = 0

    def feed(self, chunk: str) -> list[tuple[Finding, bool]]:
        out: list[tuple[Finding, bool]] = []
        self.work += len(chunk)
        if self._done:
            return out
        if not self._started:
            at = chunk.find("{")
            if at < 0:
                return out
            self._started = True
            chunk = chunk[at:]
        seg = 0  # where the open finding object's text starts in this chunk
        for token, i in self._lex.scan(chunk):
            key, self._key = self._key, None
            prev, self._prev = self._prev, token
            if token == "s":
                if self._in_message:
                    self._in_message = False
                    self._message_end = self._size + i + 1 - seg
                continue
            if token == ":":
                self._key = self._lex.head if prev == "s" else None
            elif token == '"':
                self._in_message = key == "message" and self._open and \
                    self._depth == self._array + 1
            elif token in "{[":
                if token == "[" and key == "findings" and self._depth == 1 and not self._array:
                    self._array = 2
                elif token == "{" and self._array > 0 and self._depth == self._array:
                    self._open, self._deep, self._message_end = True, False, None
                    self._parts, self._size, seg = [], 0, i
                self._depth += 1
                if self._open and self._depth - self._array > MAX_DEPTH:
                    self._deep = True
            elif token in "}]":
                self._depth -= 1
                if self._open and self._depth == self._array:
                    self._open = False
                    finding = self._finding("".join(self._parts) + chunk[seg:i + 1])
                    self._parts = []
                    if finding is not None:
                        self._emitted += 1
                        out.append((finding, False))
                elif self._array > 0 and self._depth < self._array:
                    self._array = -1  # the findings array closed
                if self._depth <= 0:
                    self._done = True
                    break
        if self._open:
            self._parts.append(chunk[seg:])
            self._size += len(chunk) - seg
            if self._message_end is not None:
                cut, self._message_end = self._message_end, None
                partial = self._finding("".join(self._parts)[:cut] + "}", partial=True)
                if partial is not None:
                    out.append((partial, True))
        return out

    def _finding(self, text: str, partial: bool = False) -> Finding | None:
        """The finding an object's text holds. A partial one (the object cut after its
        message) needs its id and an anchor (a quote or a line): without its id the whole
        finding could not replace it."""
        if self._deep:
            return None
        self.work += len(text)
        try:
            raw = _decode(text)
        except ValueError:
            return None
        if partial and (not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or
                        not raw["id"].strip() or not (raw.get("quote") or raw.get("line"))):
            return None
        return finding_from_json(raw, self._emitted + 1)
