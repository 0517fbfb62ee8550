"""Following offsets through the user's edits.

A change between two texts is reduced to the one region that differs (the common prefix and
suffix stay); an offset before the region stays, one after it moves by the length difference,
and one inside it moves to the region's start (a start) or its new end (an end). Findings placed
by line and findings about the proposal (on the target) move this way; session targets follow
their :class:`~pair_lsp.loop.anchors.Anchor` (which also knows which text is still original).
"""

from __future__ import annotations

from dataclasses import dataclass

from pair_lsp.loop.anchors import common_prefix, common_suffix


@dataclass(frozen=True)
class Change:
    """``old[start:old_end]`` became ``new[start:new_end]``; everything else is unchanged."""

    start: int
    old_end: int
    new_end: int

    @classmethod
    def between(cls, old: str, new: str) -> Change | None:
        if old is new or old == new:
            return None
        prefix = common_prefix(old, new)
        suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
        return cls(prefix, len(old) - suffix, len(new) - suffix)

    @property
    def delta(self) -> int:
        return self.new_end - self.old_end

    def map_start(self, offset: int) -> int:
        if offset <= self.start:
            return offset
        if offset >= self.old_end:
            return offset + self.delta
        return self.start

    def map_end(self, offset: int) -> int:
        if offset < self.start:
            return offset
        if offset >= self.old_end:
            return offset + self.delta
        return self.new_end

    def touches(self, start: int, end: int) -> bool:
        """The change overlaps [start, end) (an insertion at either edge counts as inside)."""
        return self.start <= end and start <= self.old_end
