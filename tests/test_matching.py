"""Edit application: exact, whitespace-tolerant, failures with reasons, byte-exact results."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pair_lsp.loop.matching import apply_blocks
from pair_lsp.loop.protocol import Block, parse_worker_reply
from pair_lsp.loop.textops import Eol, TextEdit, apply_edits, rebase_edits, region_edits

SRC = "def top(values):\n    best = 0\n    for v in values:\n        if v > best:\n" \
      "            best = v\n    return best\n"


def b(search: str, replace: str, i: int = 1) -> Block:
    return Block(search, replace, i)


def test_exact_single_block() -> None:
    r = apply_blocks(SRC, [b("    best = 0", "    best = values[0]")])
    assert r.failures == [] and r.applied == [1]
    assert r.text == SRC.replace("best = 0", "best = values[0]")


def test_several_blocks_apply_in_order() -> None:
    r = apply_blocks(SRC, [b("    best = 0", "    best = values[0]", 1),
                           b("    return best", "    return best  # max", 2)])
    assert r.applied == [1, 2]
    assert "values[0]" in r.text and "# max" in r.text


def test_whitespace_tolerant_reindents() -> None:
    # the model dropped the indentation: matched tolerantly, replacement re-indented
    r = apply_blocks(SRC, [b("if v > best:\n    best = v", "if v >= best:\n    best = v")])
    assert r.failures == [] and r.tolerant == [1]
    assert "        if v >= best:\n            best = v\n" in r.text


def test_tabs_tolerant() -> None:
    src = "def f():\n\tx = 1\n\treturn x\n"
    r = apply_blocks(src, [b("    x = 1", "    x = 2")])
    assert r.text == "def f():\n\tx = 2\n\treturn x\n"


def test_not_found_reason_names_closest_line() -> None:
    r = apply_blocks(SRC, [b("    best = 0.0", "    best = 2")])
    assert r.applied == [] and r.text == SRC
    assert "did not match" in r.failures[0].reason
    assert "best = 0" in r.failures[0].reason


def test_partial_match_reason_names_differing_line() -> None:
    r = apply_blocks(SRC, [b("    best = 0\n    for x in values:", "")])
    reason = r.failures[0].reason
    assert "SEARCH line 2" in reason and "for v in values:" in reason


def test_ambiguous_reason_lists_lines() -> None:
    src = "a = 1\nb = 2\na = 1\n"
    r = apply_blocks(src, [b("a = 1", "a = 3")])
    assert r.text == src
    assert "matches 2 places" in r.failures[0].reason and "1, 3" in r.failures[0].reason


def test_delete_whole_lines() -> None:
    r = apply_blocks("a\nb\nc\n", [b("b", "")])
    assert r.text == "a\nc\n"


def test_last_line_without_newline() -> None:
    r = apply_blocks("x = 1\ny = 2", [b("y = 2", "y = 3")])
    assert r.text == "x = 1\ny = 3"


def test_empty_search_on_nonempty_target_fails() -> None:
    r = apply_blocks("x = 1\n", [b("", "y")])
    assert "empty SEARCH" in r.failures[0].reason


def test_parse_worker_reply_blocks_declines_problems() -> None:
    reply = ("Fixed it.\nDECLINE F2: the list is never empty here\n"
             "<<<<<<< SEARCH\n    best = 0\n=======\n    best = values[0]\n>>>>>>> REPLACE\n"
             "<<<<<<< SEARCH\n    oops\n")
    parsed = parse_worker_reply(reply)
    assert [(x.search, x.replace) for x in parsed.blocks] == [("    best = 0",
                                                                "    best = values[0]")]
    assert parsed.declines[0].finding_id == "F2"
    assert "never empty" in parsed.declines[0].reason
    assert parsed.problems and "no '=======' line" in parsed.problems[0]
    assert parsed.prose.startswith("Fixed it.")


# -------------------------------------------------- document-level, byte-exact, property tests

def test_region_edits_crlf_keeps_untouched_bytes() -> None:
    doc = "head\r\ndef f():\r\n    return 1\r\ntail\r\n"
    start = doc.index("def")
    end = doc.index("tail")
    new_region = Eol.of(doc[start:end]).text.replace("return 1", "return 2")
    edits = region_edits(doc, start, end, new_region)
    assert apply_edits(doc, edits) == doc.replace("return 1", "return 2")


def test_region_edits_non_ascii() -> None:
    doc = "# 😀 emoji\nname = '日本語'\nx = 1  # ✓\n"
    start = doc.index("name")
    new = apply_edits(doc, region_edits(doc, start, len(doc),
                                        "name = '中文'\nx = 1  # ✓\n"))
    assert new == "# 😀 emoji\nname = '中文'\nx = 1  # ✓\n"


def test_rebase_after_edit_above_and_withdraw_when_destroyed() -> None:
    doc = "a = 1\n" + SRC
    start = doc.index("def")
    edits = region_edits(doc, start, len(doc), SRC.replace("best = 0", "best = values[0]"))
    moved = "# a new comment\n# and another\n" + doc
    rebased = rebase_edits(edits, moved)
    assert rebased is not None
    assert apply_edits(moved, rebased) == moved.replace("best = 0", "best = values[0]")
    destroyed = moved.replace("    best = 0\n", "    best = -1\n")
    assert rebase_edits(edits, destroyed) is None


line_text = st.lists(st.sampled_from([*list("ab xy\t😀中"), "  ", "def ", "()"]),
                     max_size=6).map("".join)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, int, int, int]:
    lines = draw(st.lists(line_text, min_size=1, max_size=12))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    doc = eol.join(lines) + draw(st.sampled_from(["", eol]))
    a = draw(st.integers(0, len(lines) - 1))
    c = draw(st.integers(a, len(lines) - 1))
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + len(eol))
    start = starts[a]
    end = min(starts[c + 1], len(doc))
    which = draw(st.integers(a, c))
    return doc, start, end, which - a


@settings(max_examples=200, deadline=None)
@given(documents(), line_text)
def test_property_edit_changes_only_the_target(case: tuple[str, int, int, int],
                                               new_line: str) -> None:
    doc, start, end, rel = case
    region = Eol.of(doc[start:end]).text
    lines = region.split("\n")
    lines[rel] = new_line
    new_region = "\n".join(lines)
    edits = region_edits(doc, start, end, new_region)
    out = apply_edits(doc, edits)
    # nothing outside the target changed, byte for byte
    assert out[:start] == doc[:start]
    tail = len(doc) - end
    assert out[len(out) - tail:] == doc[end:] if tail else True
    # the target now holds the new region in the document's line endings
    assert Eol.of(out[start:len(out) - tail]).text == new_region
    for e in edits:
        assert start <= e.start <= e.end <= end


@settings(max_examples=150, deadline=None)
@given(documents())
def test_property_exact_block_roundtrip(case: tuple[str, int, int, int]) -> None:
    doc, start, end, rel = case
    region = Eol.of(doc[start:end]).text
    lines = region.split("\n")
    target_line = lines[rel]
    if not target_line.strip() or region.count(target_line) != 1:
        return
    r = apply_blocks(region, [b(target_line, target_line + "  # changed")])
    assert r.failures == []
    assert r.text == region.replace(target_line, target_line + "  # changed")


def test_textedit_json() -> None:
    assert TextEdit(1, 2, "x", "y").to_json() == {"start": 1, "end": 2, "new_text": "x",
                                                  "old_text": "y"}


def test_truncated_review_salvages_distinct_findings() -> None:
    from pair_lsp.loop.protocol import ReviewParseError, parse_review

    one = '{"id": "F1", "quote": "x", "line": 1, "severity": "error", "message": "bad"}'
    text = '{"verdict": "revise", "summary": "s", "findings": [' + ", ".join([one] * 5) + ', {"id'
    try:
        parse_review(text)
    except ReviewParseError as exc:
        assert exc.salvage is not None
        assert exc.salvage.verdict == "revise" and len(exc.salvage.findings) == 1
    else:
        raise AssertionError("a truncated reply must not parse cleanly")
    try:
        parse_review("no json here")
    except ReviewParseError as exc:
        assert exc.salvage is None


def test_broken_block_does_not_hide_the_next_one() -> None:
    reply = ("<<<<<<< SEARCH\nfoo\n<<<<<<< SEARCH\nbar\n=======\nbaz\n>>>>>>> REPLACE\n")
    parsed = parse_worker_reply(reply)
    assert [(x.search, x.replace) for x in parsed.blocks] == [("bar", "baz")]
    assert len(parsed.problems) == 1


def test_region_diff_is_numbered_in_file_lines() -> None:
    from pair_lsp.loop.textops import unified_diff

    doc = "".join(f"line {i}\n" for i in range(1, 101))
    new = doc.replace("line 50\n", "line fifty\n")
    whole = unified_diff(doc, new, "f.txt", context=0)
    start = doc.index("line 48")
    end = doc.index("line 53")
    region = unified_diff(doc[start:end], new[start:end + 3], "f.txt", context=0,
                          line_offset=47)
    assert region == whole and "@@ -50 +50 @@" in region
