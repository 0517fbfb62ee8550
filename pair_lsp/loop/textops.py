"""Text plumbing the engine needs to stay byte-exact: line endings, offsets, edits, diffs.

Offsets are code points into Python strs. Models see text with '\\n' line endings; results are
mapped back so untouched bytes (CRLF, tabs, a missing final newline) stay exactly as they were.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Eol:
    """'\\n'-normalised text plus the map back to the original's offsets."""

    text: str
    crlf_at: tuple[int, ...]  # normalised indices of '\n' that were '\r\n'
    dominant: str  # the original's usual line ending

    @classmethod
    def of(cls, original: str) -> Eol:
        crlf: list[int] = []
        out: list[str] = []
        removed = 0
        i = original.find("\r\n")
        last = 0
        while i >= 0:
            out.append(original[last:i])
            crlf.append(i - removed)
            removed += 1
            last = i + 1  # keep the '\n'
            i = original.find("\r\n", last)
        out.append(original[last:])
        text = "".join(out)
        lone_lf = text.count("\n") - len(crlf)
        return cls(text, tuple(crlf), "\r\n" if len(crlf) > lone_lf else "\n")

    def to_original(self, offset: int) -> int:
        return offset + bisect.bisect_left(self.crlf_at, offset)

    def restore(self, new_text: str) -> str:
        """New text (with '\\n') in the original's dominant line ending."""
        return new_text.replace("\n", self.dominant) if self.dominant != "\n" else new_text


@dataclass(frozen=True)
class TextEdit:
    """Replace ``old_text`` at [start, end) of a document with ``new_text``.

    ``before``/``after`` are the surrounding text that made the span unique when the edit was
    made: they let a stale edit be re-found in a changed document (see :func:`rebase_edits`).
    """

    start: int
    end: int
    new_text: str
    old_text: str
    before: str = ""
    after: str = ""

    def to_json(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "new_text": self.new_text,
                "old_text": self.old_text}


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < pos:
            raise ValueError("overlapping edits")
        out.append(text[pos:edit.start])
        out.append(edit.new_text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i >= 0:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def offset_to_line(starts: list[int], offset: int) -> int:
    """0-based line of ``offset`` given :func:`line_starts`."""
    return bisect.bisect_right(starts, offset) - 1


def region_edits(document: str, start: int, end: int, new_region: str) -> list[TextEdit]:
    """Minimal line-hunk edits turning document[start:end] into ``new_region``.

    ``new_region`` uses '\\n'; each hunk's new text gets the document's dominant line ending,
    and offsets point into the original (possibly CRLF) document.
    """
    original_region = document[start:end]
    eol = Eol.of(original_region)
    old_lines = eol.text.splitlines(keepends=True)
    new_lines = new_region.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    old_starts = [0]
    for line in old_lines:
        old_starts.append(old_starts[-1] + len(line))
    edits: list[TextEdit] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        a = start + eol.to_original(old_starts[i1])
        b = start + eol.to_original(old_starts[i2])
        new_text = eol.restore("".join(new_lines[j1:j2]))
        edits.append(_with_context(document, a, b, new_text))
    return edits


def _with_context(document: str, a: int, b: int, new_text: str) -> TextEdit:
    """An edit with just enough surrounding lines to be unique in ``document``."""
    old = document[a:b]
    before = after = ""
    for lines in range(0, 8):
        before = _lines_before(document, a, lines)
        after = _lines_after(document, b, lines)
        if _count(document, before + old + after) == 1:
            break
    return TextEdit(a, b, new_text, old, before, after)


def _lines_before(text: str, pos: int, n: int) -> str:
    start = pos
    for _ in range(n):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    return text[start:pos]


def _lines_after(text: str, pos: int, n: int) -> str:
    end = pos
    for _ in range(n):
        if end >= len(text):
            break
        nl = text.find("\n", end)
        end = len(text) if nl < 0 else nl + 1
    return text[pos:end]


def _count(text: str, needle: str, limit: int = 2) -> int:
    if not needle:
        return limit
    count = 0
    i = text.find(needle)
    while i >= 0 and count < limit:
        count += 1
        i = text.find(needle, i + 1)
    return count


def context_within(document: str, lo: int, hi: int,
                   edits: list[TextEdit]) -> list[TextEdit] | None:
    """The edits with their context taken from ``document[lo:hi]`` only (a session's target),
    grown line by line until each edit is unique there; None if one never is."""
    out: list[TextEdit] = []
    for edit in edits:
        if not lo <= edit.start <= edit.end <= hi:
            return None
        old = document[edit.start:edit.end]
        for lines in range(0, 9):
            before = _lines_before(document, edit.start, lines)
            before = before[max(0, len(before) - (edit.start - lo)):]
            after = _lines_after(document, edit.end, lines)[:hi - edit.end]
            if _count_in(document, before + old + after, lo, hi) == 1:
                out.append(TextEdit(edit.start, edit.end, edit.new_text, old, before, after))
                break
        else:
            return None
    return out


def _count_in(text: str, needle: str, lo: int, hi: int, limit: int = 2) -> int:
    if not needle:
        return limit
    count = 0
    i = text.find(needle, lo, hi)
    while i >= 0 and count < limit:
        count += 1
        i = text.find(needle, i + 1, hi)
    return count


def rebase_edits(edits: list[TextEdit], new_document: str, lo: int = 0,
                 hi: int | None = None) -> list[TextEdit] | None:
    """Re-find each edit (with its context) in a changed document, inside ``[lo, hi)`` only (the
    re-anchored target; the whole document by default); None if any is lost.

    An edit is re-based only when its quoted context occurs exactly once there: an ambiguous or
    vanished anchor withdraws the whole edit rather than risk the wrong lines.
    """
    hi = len(new_document) if hi is None else hi
    out: list[TextEdit] = []
    for edit in edits:
        needle = edit.before + edit.old_text + edit.after
        if _count_in(new_document, needle, lo, hi) != 1:
            return None
        at = new_document.find(needle, lo, hi) + len(edit.before)
        out.append(TextEdit(at, at + len(edit.old_text), edit.new_text, edit.old_text,
                            edit.before, edit.after))
    out.sort(key=lambda e: e.start)
    for prev, nxt in itertools.pairwise(out):
        if nxt.start < prev.end:
            return None
    return out


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def unified_diff(old: str, new: str, path: str = "file", context: int = 3,
                 line_offset: int = 0) -> str:
    """A unified diff as `git diff` would print it (with '\\ No newline' markers).

    ``line_offset``: ``old``/``new`` are a region starting after that many lines of a larger
    file; hunk headers are numbered in the file's lines (diffing only the region is what keeps
    a session's cost independent of the file's size).
    """
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}",
                                     n=context):
        if line_offset and line.startswith("@@"):
            m = _HUNK.match(line)
            if m:
                a = int(m.group(1)) + line_offset
                b = int(m.group(3)) + line_offset
                line = f"@@ -{a}{m.group(2) or ''} +{b}{m.group(4) or ''} @@\n"
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def numbered(text: str, first_line: int = 1) -> str:
    """Text with right-aligned line numbers, for the reviewer's `line` hints."""
    lines = text.split("\n")
    width = len(str(first_line + len(lines)))
    return "\n".join(f"{n:>{width}} | {ln}" for n, ln in enumerate(lines, first_line))
