"""Offsets <-> LSP positions in UTF-8, UTF-16 and UTF-32, with CRLF and astral characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol.types import Position

from pair_lsp.server.positions import LineIndex


@pytest.mark.parametrize(("encoding", "column"), [("utf-32", 3), ("utf-16", 5), ("utf-8", 9)])
def test_emoji_columns(encoding: str, column: int) -> None:
    index = LineIndex("x\r\n😀😀 TODO\r\n", encoding)
    offset = len("x\r\n😀😀 ")
    assert index.position(offset) == Position(1, column)
    assert index.offset(Position(1, column)) == offset


def test_strict_offsets_reject_positions_past_the_end() -> None:
    index = LineIndex("ab\ncd", "utf-16")
    with pytest.raises(ValueError):
        index.offset(Position(5, 0), strict=True)
    with pytest.raises(ValueError):
        index.offset(Position(0, 9), strict=True)
    assert index.offset(Position(2, 0), strict=True) == 5  # just past the last line


@given(st.text(alphabet=st.sampled_from(list("ab \t\r\n😀中é")), max_size=40),
       st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_roundtrip(text: str, encoding: str) -> None:
    index = LineIndex(text, encoding)
    for offset in range(len(text) + 1):
        if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
            continue  # inside a CRLF: not a position
        assert index.offset(index.position(offset)) == offset
