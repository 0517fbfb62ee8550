"""Each session's :class:`~pair_lsp.loop.anchors.Anchor`, following the editor's didChange
notifications, so that an edit is re-based only inside its session's target (or withdrawn).

didChange carries ranged changes in the client's position encoding (or a whole new text);
pygls has already applied them when the handler runs, so each anchor replays them on the text
it last saw, and checks the result against the document pygls holds: any disagreement falls
back to diffing the two texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from pair_lsp.loop.anchors import Anchor, Change
from pair_lsp.loop.textops import TextEdit
from pair_lsp.server.positions import LineIndex


class Target(Protocol):
    """What an anchor needs of a session record."""

    @property
    def id(self) -> str: ...

    document: str
    start: int
    end: int


class AnchorBook:
    def __init__(self) -> None:
        self._by_uri: dict[str, dict[str, Anchor]] = {}
        self._last: dict[str, str] = {}  # the text the last didChange left, while followed

    def _anchor(self, uri: str, record: Target) -> Anchor:
        anchors = self._by_uri.setdefault(uri, {})
        anchor = anchors.get(record.id)
        if anchor is None or _stale(anchor, record):
            anchor = anchors[record.id] = Anchor(record.document, record.start, record.end)
        return anchor

    def follow(self, uri: str, records: Iterable[Target], changes: Sequence[Any], text: str,
               index: Callable[[], LineIndex]) -> None:
        """The document ``uri`` became ``text`` by didChange ``changes``; ``records`` are the
        sessions on it that have (or will have) a proposal; ``index``: the line index of
        ``text`` (the server's, cached per version)."""
        records = list(records)
        kept = {r.id for r in records}
        anchors = self._by_uri.setdefault(uri, {})
        for gone in [k for k in anchors if k not in kept]:
            del anchors[gone]
        previous = self._last.pop(uri, None)
        replayed: dict[int, list[Change] | None] = {}  # by the identity of the text replayed on
        for record in records:
            anchor = self._anchor(uri, record)
            base = anchor.text
            if base is text:
                continue
            if id(base) not in replayed:
                replayed[id(base)] = offset_changes(base, changes, text, index,
                                                    just_before=base is previous)
            anchor.follow(replayed[id(base)], text)
        if anchors:
            self._last[uri] = text
        else:
            self._by_uri.pop(uri, None)

    def target(self, uri: str, record: Target, text: str) -> tuple[int, int]:
        """The record's target in ``text`` (the document now)."""
        anchor = self._anchor(uri, record)
        anchor.follow(None, text)
        return anchor.target

    def edits(self, uri: str, record: Target, edits: Sequence[TextEdit],
              text: str) -> list[TextEdit] | None:
        """``edits`` (against ``record.document``) on ``text``, the document now; None when
        they can no longer be applied inside the record's target."""
        anchor = self._anchor(uri, record)
        anchor.follow(None, text)
        return anchor.rebase(edits)


def _stale(anchor: Anchor, record: Target) -> bool:
    """The anchor was made for another run of the same session (pair.continue keeps the id):
    another target, or another document it started from."""
    return (anchor.start, anchor.end) != (record.start, record.end) or (
        anchor.original is not record.document and anchor.original != record.document)


def offset_changes(base: str, changes: Sequence[Any], expected: str,
                   index: Callable[[], LineIndex], just_before: bool = False
                   ) -> list[Change] | None:
    """didChange content changes as code-point changes on ``base``; None when one replaces the
    whole text or when replaying them on ``base`` does not give ``expected``. ``just_before``:
    ``base`` is the text the previous didChange left (not an older one)."""
    if just_before and len(changes) == 1 and getattr(changes[0], "range", None) is not None:
        # typing: one change, found in the new text's index (shared with the rest of the
        # server) rather than by indexing the old text as well
        new_index = index()
        if new_index.text is expected:
            return _one_change(base, changes[0], expected, new_index)
    text = base
    out: list[Change] = []
    for change in changes:
        rng = getattr(change, "range", None)
        if rng is None:
            return None
        old_index = LineIndex(text, index().encoding)
        a, b = old_index.offset(rng.start), old_index.offset(rng.end)
        if b < a:
            return None
        out.append(Change(a, b, change.text))
        text = text[:a] + change.text + text[b:]
    return out if text == expected else None


def _one_change(base: str, change: Any, new: str, index: LineIndex) -> list[Change] | None:
    """The text before a change's start is the same before and after it: its start is found in
    the new text, its end follows from the lengths; the text around it must agree."""
    inserted = change.text
    a = index.offset(change.range.start)
    b = a + len(base) - len(new) + len(inserted)
    c = a + len(inserted)
    if not a <= b <= len(base) or new[a:c] != inserted or \
            base[max(a - 80, 0):a] != new[max(a - 80, 0):a] or base[b:b + 80] != new[c:c + 80]:
        return None
    return [Change(a, b, inserted)]
