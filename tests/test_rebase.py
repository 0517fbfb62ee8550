"""Re-basing a proposal onto the user's edited text (pair_lsp.loop.anchors), against a model.

The model keeps the user's document as characters tagged with where they came from (an offset
in the original, or typed by the user) and which belong to the session's target. With it, the
properties: a proposal re-based after any interleaving of user edits either is withdrawn, or
applying it gives exactly

- the user's current text with the target replaced by the candidate (the target's text is
  what it was), or
- the user's current text with each of the proposal's hunks replacing the very characters it
  was made for, all of them untouched (the user changed other lines of the target);

never anything else, so never a change outside the target. And a proposal whose target the
user never touched is never withdrawn.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pair_lsp.loop.anchors import Anchor, Change, diff_changes
from pair_lsp.loop.textops import TextEdit, apply_edits, region_edits

REPRO = "def f(values):\n    total = 0\n    y = 1\n    return total\n\n\ndef g():\n    return 2\n"
REPRO_END = REPRO.index("\n\n\ndef g") + 1


@dataclass
class Model:
    """The user's document, each character with its origin (-1: typed) and target flag."""

    original: str
    start: int
    end: int
    chars: list[tuple[str, int, bool]] = field(default_factory=list)
    point: int = 0  # where an emptied target is
    touched: bool = False

    def __post_init__(self) -> None:
        whole = self.start == 0 and self.end == len(self.original)
        self.whole = whole
        self.chars = [(c, i, self.start <= i < self.end) for i, c in enumerate(self.original)]
        self.point = self.start

    @property
    def text(self) -> str:
        return "".join(c for c, _, _ in self.chars)

    def span(self) -> tuple[int, int]:
        flagged = [i for i, (_, _, t) in enumerate(self.chars) if t]
        if self.whole:
            return 0, len(self.chars)
        return (flagged[0], flagged[-1] + 1) if flagged else (self.point, self.point)

    def change(self, a: int, b: int, text: str) -> None:
        current = self.text
        for br in ("\r\n", "\n"):  # a line break typed before a line break: lines after it
            if current[b:b + len(br)] == br:
                if a == b and text[:len(br)] == br:
                    a = b = a + len(br)
                    text = text[len(br):] + br
                elif not text and a < b and current[a:a + len(br)] == br:
                    a, b = a + len(br), b + len(br)
                break
        t0, t1 = self.span()
        if self.whole:
            inside = True
        elif t0 == t1:
            inside = a <= t0 <= b
        else:  # deletes a target character, or inserts between two of them
            inside = any(t for _, _, t in self.chars[a:b]) or (a == b and t0 < a < t1)
        self.touched |= inside
        if not self.whole and t0 == t1 and not inside and b <= t0:
            self.point += len(text) - (b - a)
        new = [(c, -1, inside) for c in text]
        self.chars[a:b] = new
        if not self.whole and not text and inside and self.span()[0] == self.span()[1]:
            self.point = a

    def where(self, lo: int, hi: int) -> int | None:
        """Where original [lo, hi) survives as one untouched run of characters."""
        origins = [o for _, o, _ in self.chars]
        try:
            at = origins.index(lo)
        except ValueError:
            return None
        return at if origins[at:at + hi - lo] == list(range(lo, hi)) else None


def accepted(model: Model, edits: list[TextEdit], result: str | None) -> bool:
    """Is ``result`` (the user's text after applying the re-based proposal; None: withdrawn)
    one the invariant allows?"""
    if result is None:
        return True
    text = model.text
    t0, t1 = model.span()
    target = model.original[model.start:model.end]
    if text[t0:t1] == target:
        proposed = apply_edits(model.original, edits)
        candidate = proposed[model.start:len(proposed) - (len(model.original) - model.end)]
        if result == text[:t0] + candidate + text[t1:]:
            return True
    moved = []
    for e in edits:
        lo, hi = e.start, e.end
        if lo == hi:
            lo, hi = max(lo - 1, model.start), min(hi + 1, model.end)
        at = model.where(lo, hi)
        if at is None:
            return False
        a = at + (e.start - lo)
        moved.append(TextEdit(a, a + e.end - e.start, e.new_text, e.old_text))
    return result == apply_edits(text, moved)


def applied(text: str, edits: list[TextEdit] | None) -> str | None:
    return None if edits is None else apply_edits(text, edits)


# ------------------------------------------------------------------ strategies

_fresh = itertools.count(100)


def fresh() -> str:
    return f"«{next(_fresh)}»"  # text that is nowhere else: no diff can mistake where it went


def restart_fresh() -> None:
    """The same draws give the same text in every example (hypothesis replays them)."""
    global _fresh
    _fresh = itertools.count(100)


@st.composite
def documents(draw: st.DrawFn, crlf: bool = True) -> tuple[str, int, int]:
    """A document of unique lines (and some blank ones), with a target of whole lines."""
    n = draw(st.integers(3, 14))
    lines = []
    for i in range(n):
        if i and draw(st.integers(0, 5)) == 0:
            lines.append("\n")
        else:
            indent = draw(st.sampled_from(["", "    ", "\t"]))
            lines.append(f"{indent}{draw(st.sampled_from(['x = ', 'def f', 'return ', '']))}"
                         f"L{i}{draw(st.sampled_from(['', ':', '  # 😀', ' 中文']))}\n")
    if draw(st.booleans()):
        lines[-1] = lines[-1].rstrip("\n") or "end"
    doc = "".join(lines)
    if crlf and draw(st.integers(0, 4)) == 0:
        doc = doc.replace("\n", "\r\n")
    starts = [0] + [i + 1 for i, c in enumerate(doc) if c == "\n"]
    if starts[-1] == len(doc):
        starts.pop()
    first = draw(st.integers(0, len(starts) - 1))
    last = draw(st.integers(first + 1, len(starts)))
    end = starts[last] if last < len(starts) else len(doc)
    return doc, starts[first], end


@st.composite
def candidates(draw: st.DrawFn, region: str) -> str:
    """The worker's version of the target: lines replaced, deleted, inserted ('\\n' endings)."""
    lines = region.replace("\r\n", "\n").splitlines(keepends=True)
    out = []
    for line in lines:
        op = draw(st.sampled_from(["keep", "keep", "keep", "replace", "delete", "insert"]))
        if op == "replace":
            out.append("    W" + fresh() + "\n")
        elif op == "insert":
            out += ["    N" + fresh() + "\n", line]
        elif op == "keep":
            out.append(line)
    if draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), "    I" + fresh() + "\n")
    return "".join(out)


def user_op(draw: st.DrawFn, model: Model, ranged: bool) -> list[Change]:
    """One thing a user does, as the ranged changes an editor would send (in order)."""
    text = model.text
    n = len(text)
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and i + 1 < n]
    t0, t1 = model.span()
    ends = [i for i, c in enumerate(text) if c == "\n"]
    kinds = ["type", "line", "delete", "replace", "delete_line", "duplicate", "delete_target",
             "type_undo"] + (["move_line"] if ranged else []) + (["enter", "join"] if ends else [])
    kind = draw(st.sampled_from(kinds))
    where = st.sampled_from(sorted({0, n, t0, t1, max(t0 - 1, 0), min(t1 + 1, n)} |
                                   set(starts)) + list(range(n + 1)))
    if kind == "type":
        p = draw(where)
        return [Change(p, p, fresh())]
    if kind == "line":
        p = draw(st.sampled_from(starts))
        return [Change(p, p, fresh() + "\n")]
    if kind in ("delete", "replace"):
        a = draw(where)
        b = min(n, a + draw(st.integers(1, 25)))
        return [Change(a, b, "" if kind == "delete" else fresh())]
    if kind == "enter":  # Enter at the end of a line, then typing
        p = draw(st.sampled_from(ends))
        p -= text[p - 1:p] == "\r"
        return [Change(p, p, ("\r\n" if text[p] == "\r" else "\n") + fresh())]
    if kind == "join":  # from the end of a line to the end of the next one
        i = draw(st.integers(0, len(ends) - 1))
        nxt = ends[i + 1] if i + 1 < len(ends) else n
        return [Change(ends[i], nxt, "")]
    if kind == "delete_line":
        i = draw(st.integers(0, len(starts) - 1))
        return [Change(starts[i], starts[i + 1] if i + 1 < len(starts) else n, "")]
    if kind == "duplicate":  # a copy of the target pasted just before or after it
        p = t0 if draw(st.booleans()) else t1
        return [Change(p, p, text[t0:t1])]
    if kind == "delete_target":
        return [Change(t0, t1, "")]
    if kind == "type_undo":
        p = draw(where)
        s = fresh()
        return [Change(p, p, s), Change(p, p + len(s), "")]
    # move_line: cut a line and paste it at another line start (as an editor does: two changes)
    i = draw(st.integers(0, len(starts) - 1))
    a, b = starts[i], starts[i + 1] if i + 1 < len(starts) else n
    line = text[a:b] if text[a:b].endswith("\n") else text[a:b] + "\n"
    rest = text[:a] + text[b:]
    rest_starts = [0] + [k + 1 for k, c in enumerate(rest) if c == "\n"]
    p = draw(st.sampled_from(rest_starts))
    return [Change(a, b, ""), Change(p, p, line)]


# ------------------------------------------------------------------ properties


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rebased_edit_is_the_candidate_in_the_users_text_or_withdrawn(data: st.DataObject) -> None:
    restart_fresh()
    doc, start, end = data.draw(documents())
    model = Model(doc, start, end)
    anchor = Anchor(doc, start, end)
    candidate = data.draw(candidates(doc[start:end]))
    edits = region_edits(doc, start, end, candidate)
    ranged_only = True
    for _ in range(data.draw(st.integers(0, 6))):
        ranged = data.draw(st.booleans())
        ranged_only &= ranged
        changes = user_op(data.draw, model, ranged)
        for c in changes:
            model.change(c.start, c.end, c.text)
        anchor.follow(changes if ranged else None, model.text)
        assert anchor.target == model.span() or not ranged_only
        # the editor asks for code actions at any time: re-basing must not disturb the anchor
        rebased = anchor.rebase(edits)
        assert accepted(model, edits, applied(model.text, rebased)), (model.text, rebased)
    rebased = anchor.rebase(edits)
    assert accepted(model, edits, applied(model.text, rebased)), (model.text, rebased)
    if ranged_only and not model.touched:
        assert rebased is not None, "withdrawn although the user never touched the target"


def test_reproduction_move_a_line_out_of_the_target() -> None:
    """Issue 15: `y = 1` moved from f into g: the edit must not follow it into g."""
    candidate = REPRO[:REPRO_END].replace("    y = 1\n", "    y = 2  # fixed\n")
    edits = region_edits(REPRO, 0, REPRO_END, candidate)
    moved = REPRO.replace("    y = 1\n", "").replace("def g():\n", "def g():\n    y = 1\n")
    cut = REPRO.index("    y = 1\n")
    paste = moved.index("    y = 1\n")
    for changes in ([Change(cut, cut + 10, ""), Change(paste, paste, "    y = 1\n")], None):
        anchor = Anchor(REPRO, 0, REPRO_END)
        anchor.follow(changes, moved)
        assert anchor.rebase(edits) is None


def test_edit_follows_typing_above_and_inside_the_target() -> None:
    candidate = REPRO[:REPRO_END].replace("    y = 1\n", "    y = 2  # fixed\n")
    edits = region_edits(REPRO, 0, REPRO_END, candidate)
    anchor = Anchor(REPRO, 0, REPRO_END)
    text = "import os\n" + REPRO
    anchor.follow([Change(0, 0, "import os\n")], text)
    assert apply_edits(text, anchor.rebase(edits) or []) == "import os\n" + candidate + \
        REPRO[REPRO_END:]
    at = text.index("total = 0") + len("total = ")
    text2 = text[:at] + "1" + text[at:]  # total = 10: another line of the target
    anchor.follow(None, text2)
    assert apply_edits(text2, anchor.rebase(edits) or []) == text2.replace("y = 1",
                                                                           "y = 2  # fixed")


def test_a_copy_of_the_target_in_a_whole_replacement_withdraws() -> None:
    candidate = REPRO[:REPRO_END].replace("    y = 1\n", "    y = 2  # fixed\n")
    edits = region_edits(REPRO, 0, REPRO_END, candidate)
    anchor = Anchor(REPRO, 0, REPRO_END)
    anchor.follow(None, REPRO + "\n" + REPRO[:REPRO_END])  # which f is the user's? unknown
    assert anchor.rebase(edits) is None


def test_diff_changes_cover_every_alignment() -> None:
    # a line next to an identical one: the insertion could be either
    assert diff_changes("a\nY\nb\n", "a\nY\nY\nb\n") == [Change(1, 4, "\nY\nY\n")]
    # one of two blank lines deleted: either could be
    assert diff_changes("a\n\n\nb\n", "a\n\nb\n") == [Change(1, 4, "\n\n")]
    assert diff_changes("same", "same") == []


@settings(max_examples=400, deadline=None)
@given(st.text("ab\n", max_size=30), st.text("ab\n", max_size=30))
def test_diff_changes_rebuild_the_new_text(old: str, new: str) -> None:
    text = old
    for c in reversed(diff_changes(old, new)):
        text = text[:c.start] + c.text + text[c.end:]
    assert text == new


def test_a_large_rewrite_is_one_change() -> None:
    """A whole-text replacement rewriting many lines is not diffed line by line (that could
    hold the event loop): it is one change, and only a target inside it is withdrawn."""
    body = "".join(f"line {i}\n" for i in range(3000))
    doc = REPRO + body
    candidate = REPRO[:REPRO_END].replace("    y = 1\n", "    y = 2  # fixed\n")
    edits = region_edits(doc, 0, REPRO_END, candidate)
    rewritten = REPRO + body.replace("line", "row")
    anchor = Anchor(doc, 0, REPRO_END)
    anchor.follow(None, rewritten)
    assert apply_edits(rewritten, anchor.rebase(edits) or []) == \
        rewritten.replace("    y = 1\n", "    y = 2  # fixed\n")
    inside = Anchor(doc, len(REPRO), len(REPRO) + 7)  # "line 0\n"
    inside.follow(None, rewritten)
    assert inside.rebase(region_edits(doc, len(REPRO), len(REPRO) + 7, "line zero\n")) is None
    assert len(diff_changes(doc, rewritten)) == 1
