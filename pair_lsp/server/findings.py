"""Reviewer findings anchored in documents: the source of the `pair` diagnostics.

What is shown is the truth about each session (docs/lsp-surface.md, "The finding lifecycle"):
- a finding whose quote is in the session's target is anchored on the quote (the hinted line
  picks among repeats);
- a finding whose quote is not in the document is about the proposal (code the user cannot
  see yet): it sits on the session's whole target, labelled "in the proposed edit";
- a finding without a quote sits on its hinted line of the target;
- on every change, anchors follow the user's edits; a quoted finding whose code is gone goes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pair_lsp.loop.protocol import Finding
from pair_lsp.server.tracking import Change

Placement = Literal["quote", "line", "proposal"]
IN_PROPOSAL = "in the proposed edit"


@dataclass(frozen=True)
class Anchored:
    session_id: str
    finding: Finding
    start: int
    end: int
    placement: Placement
    reviewer: str
    round: int
    declined: str | None = None  # the worker's reason, when it declined this finding

    @property
    def approximate(self) -> bool:
        return self.placement != "quote"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {**self.finding.to_json(), "approximate": self.approximate,
                                  "placement": self.placement, "sessionId": self.session_id,
                                  "round": self.round}
        if self.declined is not None:
            out["declined"] = self.declined
        return out


def _occurrences(text: str, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
    hi = len(text) if hi is None else hi
    out: list[int] = []
    i = text.find(needle, lo, hi)
    while i >= 0 and len(out) < 1000:
        out.append(i)
        i = text.find(needle, i + 1, hi)
    return out


def anchor(text: str, finding: Finding, region: tuple[int, int], session_id: str,
           reviewer: str, round_no: int) -> Anchored:
    """Anchor ``finding`` in ``text``; ``region`` is the session's target as it is now."""
    lo, hi = region
    quote = finding.quote.strip()
    if quote:
        hits = _occurrences(text, quote, lo, hi)
        if hits:
            hint = _line_after(text, lo, (finding.line - 1) if finding.line else 0)
            best = min(hits, key=lambda h: abs(h - hint))
            return Anchored(session_id, finding, best, best + len(quote), "quote", reviewer,
                            round_no)
        # the quote is not in the user's text: it is about the proposal
        return Anchored(session_id, finding, lo, _trim_end(text, lo, hi), "proposal", reviewer,
                        round_no)
    if finding.line:
        start = _line_after(text, lo, finding.line - 1)
        if lo <= start < max(hi, lo + 1):
            nl = text.find("\n", start, hi)
            end = hi if nl < 0 else nl
            if end > start and text[end - 1] == "\r":
                end -= 1
            return Anchored(session_id, finding, start, max(start, end), "line", reviewer,
                            round_no)
    return Anchored(session_id, finding, lo, _trim_end(text, lo, hi), "proposal", reviewer,
                    round_no)


def _trim_end(text: str, lo: int, hi: int) -> int:
    """The target's end without its final line break (a diagnostic ends on the last line)."""
    end = hi
    while end > lo and text[end - 1] in "\r\n":
        end -= 1
    return end


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

    def of_session(self, session_id: str) -> list[tuple[str, Anchored]]:
        return [(uri, a) for uri, items in self._by_uri.items() for a in items
                if a.session_id == session_id]

    def _set(self, uri: str, items: list[Anchored]) -> None:
        self.version += 1
        if items:
            self._by_uri[uri] = items
        else:
            self._by_uri.pop(uri, None)

    def add(self, uri: str, item: Anchored) -> None:
        """Add or replace (same session and finding id)."""
        items = [a for a in self.get(uri)
                 if not (a.session_id == item.session_id and a.finding.id == item.finding.id)]
        self._set(uri, [*items, item])

    def replace_session(self, uri: str, session_id: str, items: list[Anchored]) -> None:
        kept = [a for a in self.get(uri) if a.session_id != session_id]
        self._set(uri, kept + items)

    def drop_older_rounds(self, uri: str, session_id: str, round_no: int) -> bool:
        items = self.get(uri)
        kept = [a for a in items if a.session_id != session_id or a.round >= round_no]
        if len(kept) != len(items):
            self._set(uri, kept)
            return True
        return False

    def remove(self, uri: str, session_id: str | None, finding_id: str) -> bool:
        items = self.get(uri)
        kept = [a for a in items if not (a.finding.id == finding_id and
                                         (session_id is None or a.session_id == session_id))]
        if len(kept) != len(items):
            self._set(uri, kept)
            return True
        return False

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

    def follow(self, uri: str, change: Change, text: str) -> bool:
        """Move every anchor through ``change`` (``text`` is the new text); a quoted finding
        whose code the change destroyed is re-found nearby, or dropped."""
        items = self.get(uri)
        if not items:
            return False
        out: list[Anchored] = []
        for a in items:
            start, end = change.map_start(a.start), change.map_end(a.end)
            if a.placement != "quote":
                out.append(replace(a, start=start, end=max(start, end)))
                continue
            quote = a.finding.quote.strip()
            if text[start:end] == quote:
                out.append(replace(a, start=start, end=end))
                continue
            hits = _occurrences(text, quote)
            if hits:  # the quoted code moved (cut and pasted, re-indented)
                best = min(hits, key=lambda h: abs(h - start))
                out.append(replace(a, start=best, end=best + len(quote)))
            # else: the quoted code is gone, and the finding with it
        if out != items:
            self._set(uri, out)
            return True
        return False
