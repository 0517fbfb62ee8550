"""Code-point offsets <-> LSP positions in the negotiated encoding (UTF-8, UTF-16 or UTF-32).

The engine speaks code points; this is the only place that converts. A :class:`LineIndex` is
built once per document text (line starts), so conversions are O(log n + line length).
"""

from __future__ import annotations

import bisect
import itertools
import re

from lsprotocol import types

_BREAK = re.compile(r"\r\n|\r|\n")  # LSP line breaks (not Python's splitlines set)


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    return len(text)


class LineIndex:
    def __init__(self, text: str, encoding: str = "utf-16"):
        self.text = text
        self.encoding = encoding
        if "\r" in text:
            self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]
        else:  # the common case, at C speed: starts are running sums of (line length + 1)
            self.starts = [0, *itertools.accumulate(map((1).__add__,
                                                        map(len, text.split("\n")[:-1])))]

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def _line_end(self, line: int) -> int:
        """Offset of the end of ``line``'s content (before its break)."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1]
            seg = self.text[self.starts[line]:end]
            return end - (2 if seg.endswith("\r\n") else 1)
        return len(self.text)

    def offset(self, position: types.Position, *, strict: bool = False) -> int:
        """Offset of a client position; clamps (or raises ValueError when ``strict``)."""
        line, char = position.line, position.character
        if line >= len(self.starts):
            if strict and not (line == len(self.starts) and char == 0):
                raise ValueError(f"line {line} is past the end (the document has "
                                 f"{len(self.starts)} lines)")
            return len(self.text)
        start, end = self.starts[line], self._line_end(line)
        content = self.text[start:end]
        if self.encoding == "utf-32":
            col = char
        else:
            col, used = 0, 0
            for ch in content:
                step = _units(ch, self.encoding)
                if used + step > char:
                    break
                used += step
                col += 1
            if col == len(content) and used < char:
                col = len(content) + 1  # past the end of the line
        if col > len(content):
            if strict:
                raise ValueError(f"character {char} is past the end of line {line}")
            col = len(content)
        return start + col

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        end = self._line_end(line)
        col_text = self.text[start:min(offset, end)]
        return types.Position(line, _units(col_text, self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def line_span(self, line: int) -> tuple[int, int]:
        """[start, end-with-break) of a 0-based line."""
        line = max(0, min(line, len(self.starts) - 1))
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.starts[line], end


def encoding_of(ls: object) -> str:
    """The position encoding the server negotiated with its client."""
    caps = getattr(ls, "server_capabilities", None)
    kind = getattr(caps, "position_encoding", None) if caps else None
    value = getattr(kind, "value", kind) or "utf-16"
    return str(value)
