"""Where a session's target is while the user keeps typing, and its edits re-based onto it.

A session's edits are computed against the document as it was when the session started. An
:class:`Anchor` follows every change the editor reports after that (ranged changes, or a whole
new text, which a line diff turns into changes) and keeps two things: the target's range in
the current text, and which stretches of the current text are still the original's own
characters (a piece table of origins). Re-basing then has two cases only:

- the target's text is what it was: the edits move with it, and applying them gives the user's
  text with the target replaced by the candidate;
- the user changed text inside the target: each edit must sit on original characters that
  survived untouched (found by origin, not by searching), inside the target, with its context
  unique there; anything else withdraws the whole proposal.

Nothing outside the target is ever edited. Offsets are code points; changes apply in order,
each against the text the previous one left.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pair_lsp.loop.textops import TextEdit, context_within, rebase_edits

DIFF_MAX_LINES = 1000  # more changed lines in a whole-text replacement: one change (a bounded
# diff keeps the event loop free; the target is then withdrawn only if it is among them)
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


@dataclass(frozen=True)
class Change:
    """Replace ``[start, end)`` of the text it applies to with ``text``."""

    start: int
    end: int
    text: str


class Anchor:
    def __init__(self, document: str, start: int, end: int):
        self.original = document
        self.start, self.end = start, end  # the target in the original
        self.whole = start == 0 and end == len(document)
        self.text = document  # the text this anchor has followed up to
        self.t0, self.t1 = start, end  # the target in ``text``
        self.touched = False  # a change landed inside the target (or on an empty one)
        self.ambiguous = False  # a whole replacement may have copied the target
        self.guessed = False  # a whole replacement changed the target: its edges are a guess
        # (current offset, original offset, length) of each run of surviving original text
        self._pieces: list[tuple[int, int, int]] = [(0, 0, len(document))] if document else []

    # ------------------------------------------------------------------ follow

    def follow(self, changes: Sequence[Change] | None, new_text: str) -> None:
        """The text became ``new_text``: by ``changes`` applied in order to :attr:`text` (the
        caller checked that they do), or, when None, by a replacement of the whole text."""
        if new_text is self.text:
            return
        if changes is None:
            if new_text != self.text:
                self._resync(new_text)
        else:
            text = self.text
            for i, change in enumerate(changes):
                c = whole_lines(text, change)
                self._replace(c.start, c.end, len(c.text))
                if i + 1 < len(changes):
                    text = text[:c.start] + c.text + text[c.end:]
        self.text = new_text

    def _replace(self, a: int, b: int, length: int) -> None:
        delta = length - (b - a)
        pieces: list[tuple[int, int, int]] = []
        for cur, orig, n in self._pieces:
            end = cur + n
            if end <= a:
                pieces.append((cur, orig, n))
            elif cur >= b:
                pieces.append((cur + delta, orig, n))
            else:  # the change cuts this run: keep what survives on either side
                if cur < a:
                    pieces.append((cur, orig, a - cur))
                if end > b:
                    pieces.append((b + delta, orig + (b - cur), end - b))
        merged: list[tuple[int, int, int]] = []
        for piece in pieces:  # typing then undoing it leaves the run whole again
            if merged and merged[-1][0] + merged[-1][2] == piece[0] and \
                    merged[-1][1] + merged[-1][2] == piece[1]:
                merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + piece[2])
            else:
                merged.append(piece)
        self._pieces = merged
        if self.whole:
            self.t1 += delta
            self.touched = True
        elif self.t0 == self.t1 and a <= self.t0 <= b:  # an empty target: any change at it
            self.t0, self.t1, self.touched = a, b + delta, True
        elif b <= self.t0:  # before the target (an insertion at its start too)
            self.t0 += delta
            self.t1 += delta
        elif a < self.t1:  # inside, or across an edge: the target grows to hold the change
            self.t0, self.t1 = min(self.t0, a), max(self.t1, b) + delta
            self.touched = True
        # after the target (an insertion at its end too): nothing moves

    def _resync(self, new_text: str) -> None:
        old = self.text
        touched = self.touched
        self.touched = False
        for change in reversed(diff_changes(old, new_text)):
            self._replace(change.start, change.end, len(change.text))
        # a diff widens its changes over every alignment: the target it grew is a guess
        self.guessed |= self.touched
        self.touched |= touched
        if not self.whole and not self.ambiguous:
            target = self.original[self.start:self.end]
            # a copy of the target appeared: which one is the user's target is a guess
            if _count(new_text, target) > _count(old, target):
                self.ambiguous = True

    # ------------------------------------------------------------------ rebase

    @property
    def target(self) -> tuple[int, int]:
        """The target's range in :attr:`text`."""
        return self.t0, self.t1

    def rebase(self, edits: Sequence[TextEdit]) -> list[TextEdit] | None:
        """``edits`` (against the original, inside its target) moved onto :attr:`text`, or None
        (withdrawn) when that cannot be done without risking other lines."""
        if self.ambiguous:
            return None
        edits = sorted(edits, key=lambda e: e.start)
        if any(not self.start <= e.start <= e.end <= self.end for e in edits):
            return None
        text, t0, t1 = self.text, self.t0, self.t1
        empty = self.start == self.end
        if not (empty and self.touched) and \
                text[t0:t1] == self.original[self.start:self.end] and \
                (not self.guessed or self._locate(self.start, self.end) == t0):
            shift = t0 - self.start
            return [TextEdit(e.start + shift, e.end + shift, e.new_text, e.old_text, e.before,
                             e.after) for e in edits]
        if empty:
            return None
        framed = context_within(self.original, self.start, self.end, edits)
        found = rebase_edits(framed, text, t0, t1) if framed is not None else None
        if found is None:
            return None
        for edit, moved in zip(edits, found, strict=True):
            # the match must be the original's own characters, not a copy or a retyping;
            # an insertion needs both its neighbours (inside the target) untouched
            lo, hi = edit.start, edit.end
            if lo == hi:
                lo, hi = max(lo - 1, self.start), min(hi + 1, self.end)
            at = self._locate(lo, hi)
            if at is None or at + (edit.start - lo) != moved.start:
                return None
        return found

    def _locate(self, lo: int, hi: int) -> int | None:
        """Where original ``[lo, hi)`` is now, if it survived in one untouched run."""
        i = bisect.bisect_right(self._pieces, lo, key=lambda p: p[1]) - 1
        if i < 0:
            return None
        cur, orig, n = self._pieces[i]
        return cur + (lo - orig) if orig <= lo and hi <= orig + n else None


def whole_lines(text: str, change: Change) -> Change:
    """The same change, as whole lines where it can be: inserting a line break and more right
    before a line break (Enter at the end of a line, then typing) is inserting lines after
    it; deleting from a line break up to a line break is deleting the lines after it. The
    text it makes is the same; the lines it touches are fewer (a line typed right after the
    target, or after a line the worker changed, leaves them alone)."""
    a, b, new = change.start, change.end, change.text
    for br in ("\r\n", "\n"):
        if text.startswith(br, b):
            if a == b and new.startswith(br):
                return Change(a + len(br), a + len(br), new[len(br):] + br)
            if not new and a < b and text.startswith(br, a):
                return Change(a + len(br), b + len(br), "")
            break
    return change


def _count(text: str, needle: str, limit: int = 50) -> int:
    if not needle:
        return 0
    count, i = 0, text.find(needle)
    while i >= 0 and count < limit:
        count += 1
        i = text.find(needle, i + 1)
    return count


# --------------------------------------------------------------------- diffing


def diff_changes(old: str, new: str, max_lines: int = DIFF_MAX_LINES) -> list[Change]:
    """Changes turning ``old`` into ``new`` (ascending, each in ``old``'s offsets), from a line
    diff refined to characters.

    A diff picks one alignment where several give the same text (inserting a line next to an
    identical one, deleting one of two blank lines): every insertion or deletion is widened
    over all the places it could slide to, so no character counts as untouched that another
    alignment would have touched.
    """
    p = common_prefix(old, new)
    p = old.rfind("\n", 0, p) + 1  # whole lines for the line diff
    s = common_suffix(old, new, min(len(old), len(new)) - p)
    old_mid, new_mid = old[p:len(old) - s], new[p:len(new) - s]
    if not old_mid and not new_mid:
        return []
    a_lines, b_lines = _LINE.findall(old_mid), _LINE.findall(new_mid)
    spans: list[tuple[int, int, int, int]] = []
    if len(a_lines) + len(b_lines) > max_lines:
        spans.append((p, len(old) - s, p, len(new) - s))
    else:
        a_at, b_at = _starts(a_lines, p), _starts(b_lines, p)
        matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                spans.append(_refine(old, new, a_at[i1], a_at[i2], b_at[j1], b_at[j2]))
    out: list[Change] = []
    lo = (0, 0)
    for k, (i1, i2, j1, j2) in enumerate(spans):
        hi = (spans[k + 1][0], spans[k + 1][2]) if k + 1 < len(spans) else (len(old), len(new))
        i1, i2, j1, j2 = _widen(old, new, i1, i2, j1, j2, lo, hi)
        out.append(Change(i1, i2, new[j1:j2]))
        lo = (i2, j2)  # the next one slides no further back than this one's widened end
    return out


def _starts(lines: list[str], base: int) -> list[int]:
    out = [base]
    for line in lines:
        out.append(out[-1] + len(line))
    return out


def _refine(old: str, new: str, i1: int, i2: int, j1: int,
            j2: int) -> tuple[int, int, int, int]:
    """Trim what a changed block of lines shares at its ends, to the characters that changed."""
    n = 0
    while i1 + n < i2 and j1 + n < j2 and old[i1 + n] == new[j1 + n]:
        n += 1
    i1, j1 = i1 + n, j1 + n
    n = 0
    while i2 - n > i1 and j2 - n > j1 and old[i2 - n - 1] == new[j2 - n - 1]:
        n += 1
    return i1, i2 - n, j1, j2 - n


def _widen(old: str, new: str, i1: int, i2: int, j1: int, j2: int, lo: tuple[int, int],
           hi: tuple[int, int]) -> tuple[int, int, int, int]:
    """A pure insertion or deletion, widened over every position it could slide to within the
    unchanged text between its neighbours (``lo``: the previous change's end, ``hi``: the next
    one's start, as (old, new) offsets)."""
    if i1 != i2 and j1 != j2:
        return i1, i2, j1, j2
    if i1 == i2:  # an insertion: slide the inserted block of ``new``
        text, b1, b2, low, high = new, j1, j2, lo[1], hi[1]
    else:
        text, b1, b2, low, high = old, i1, i2, lo[0], hi[0]
    left = 0
    while b1 - left - 1 >= low and text[b1 - left - 1] == text[b2 - left - 1]:
        left += 1
    for br in ("\r\n", "\n"):  # lines moved by their line break only: see whole_lines
        if left == len(br) and text.endswith(br, b1, b2) and text.endswith(br, 0, b1):
            left = 0
    right = 0
    while b2 + right < high and text[b1 + right] == text[b2 + right]:
        right += 1
    return i1 - left, i2 + right, j1 - left, j2 + right


def common_prefix(a: str, b: str) -> int:
    n, step = 0, 4096
    limit = min(len(a), len(b))
    while n + step <= limit and a[n:n + step] == b[n:n + step]:
        n += step
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def common_suffix(a: str, b: str, limit: int) -> int:
    n, step = 0, 4096
    la, lb = len(a), len(b)
    while n + step <= limit and a[la - n - step:la - n] == b[lb - n - step:lb - n]:
        n += step
    while n < limit and a[la - n - 1] == b[lb - n - 1]:
        n += 1
    return n
