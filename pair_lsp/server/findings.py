"""Reviewer findings anchored in documents: the source of the `pair` diagnostics.

A finding is anchored by its quote (the hinted line picks among repeats); a quote that is not
in the document is anchored to its line and marked approximate. On every change the anchors
are re-found: a finding whose quoted code is gone is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pair_lsp.loop.protocol import Finding


@dataclass(frozen=True)
class Anchored:
    session_id: str
    finding: Finding
    start: int
    end: int
    approximate: bool
    reviewer: str
    round: int

    def to_json(self) -> dict[str, object]:
        return {**self.finding.to_json(), "approximate": self.approximate,
                "sessionId": self.session_id, "round": self.round}


def _occurrences(text: str, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
    hi = len(text) if hi is None else hi
    out: list[int] = []
    i = text.find(needle, lo, hi)
    while i >= 0 and len(out) < 1000:
        out.append(i)
        i = text.find(needle, i + 1, hi)
    return out


def anchor(text: str, finding: Finding, region: tuple[int, int], region_first_line: int,
           session_id: str, reviewer: str, round_no: int) -> Anchored:
    """Anchor ``finding`` in ``text``; ``region`` is the reviewed span (offsets) and
    ``region_first_line`` its 1-based first line (used when the region is unknown: (0, len))."""
    quote = finding.quote.strip()
    below = (finding.line - 1) if finding.line else 0
    if region[0] == 0 and region_first_line > 1:  # the document changed: count from the top
        below += region_first_line - 1
    hint = _line_after(text, region[0], below)  # from the region, not from the top of the file
    if quote:
        hits = _occurrences(text, quote, region[0], region[1]) or _occurrences(text, quote)
        if hits:
            best = min(hits, key=lambda h: abs(h - hint))
            return Anchored(session_id, finding, best, best + len(quote), False, reviewer,
                            round_no)
    start = max(region[0], min(hint, max(region[0], region[1] - 1)))
    line_end = text.find("\n", start)
    end = len(text) if line_end < 0 else line_end
    if end > len(text.rstrip("\r\n")) and text.endswith("\r\n"):
        end = max(start, end - 1)
    return Anchored(session_id, finding, start, max(start, end), True, reviewer, round_no)


def _line_after(text: str, start: int, lines: int) -> int:
    """Offset of the start of the line ``lines`` lines below the one holding ``start``."""
    pos = text.rfind("\n", 0, start) + 1
    for _ in range(max(0, lines)):
        nl = text.find("\n", pos)
        if nl < 0:
            return pos
        pos = nl + 1
    return pos


class FindingStore:
    """Anchored findings per document URI."""

    def __init__(self) -> None:
        self._by_uri: dict[str, list[Anchored]] = {}
        self.version = 0  # bumps on any change: the pull result id

    def get(self, uri: str) -> list[Anchored]:
        return list(self._by_uri.get(uri, ()))

    def uris(self) -> list[str]:
        return list(self._by_uri)

    def _set(self, uri: str, items: list[Anchored]) -> None:
        self.version += 1
        if items:
            self._by_uri[uri] = items
        else:
            self._by_uri.pop(uri, None)

    def add(self, uri: str, item: Anchored) -> None:
        """Add or replace (same session, round and finding id)."""
        items = [a for a in self.get(uri)
                 if not (a.session_id == item.session_id and a.round == item.round
                         and a.finding.id == item.finding.id)]
        self._set(uri, [*items, item])

    def replace_session(self, uri: str, session_id: str, items: list[Anchored]) -> None:
        kept = [a for a in self.get(uri) if a.session_id != session_id]
        self._set(uri, kept + items)

    def clear_range(self, uri: str, start: int, end: int, keep_session: str) -> None:
        """Drop other sessions' findings inside [start, end): a new session replaces them."""
        kept = [a for a in self.get(uri) if a.session_id == keep_session
                or not (start <= a.start and a.end <= max(end, start + 1))]
        self._set(uri, kept)

    def drop_session(self, session_id: str) -> list[str]:
        touched = []
        for uri in self.uris():
            items = self.get(uri)
            kept = [a for a in items if a.session_id != session_id]
            if len(kept) != len(items):
                self._set(uri, kept)
                touched.append(uri)
        return touched

    def clear(self, uri: str) -> None:
        self._set(uri, [])

    def reanchor(self, uri: str, text: str) -> bool:
        """Re-find every anchor after a change; drop the ones whose quote is gone."""
        items = self.get(uri)
        if not items:
            return False
        out: list[Anchored] = []
        changed = False
        for a in items:
            quote = a.finding.quote.strip()
            if a.approximate or not quote:
                start = min(a.start, len(text))
                end = min(max(a.end, start), len(text))
                moved = replace(a, start=start, end=end)
                out.append(moved)
                changed |= moved != a
                continue
            if text[a.start:a.end] == quote:
                out.append(a)
                continue
            hits = _occurrences(text, quote)
            changed = True
            if not hits:
                continue  # the quoted code is gone: the finding goes with it
            best = min(hits, key=lambda h: abs(h - a.start))
            out.append(replace(a, start=best, end=best + len(quote)))
        if changed or len(out) != len(items):
            self._set(uri, out)
            return True
        return False
