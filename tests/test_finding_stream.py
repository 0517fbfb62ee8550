"""Findings pulled out of a streaming review: whatever the chunking, the whole findings are
exactly the parsed review's, and an early (partial) finding precedes its whole one."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pair_lsp.loop.protocol import FindingStream, ReviewParseError, parse_review

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
findings = st.lists(st.fixed_dictionaries({
    "id": st.sampled_from(["F1", "F2", "F3", "F4"]),
    "quote": texts,
    "line": st.integers(1, 500),
    "severity": st.sampled_from(["error", "warning", "info"]),
    "message": texts.filter(str.strip),
    "suggestion": st.one_of(st.none(), texts),
}), min_size=1, max_size=4, unique_by=lambda f: f["id"])


@settings(max_examples=200, deadline=None)
@given(findings, st.lists(st.integers(1, 25), min_size=1, max_size=200), st.booleans())
def test_any_chunking_yields_the_parsed_findings(items: list[dict], cuts: list[int],
                                                 compact: bool) -> None:
    text = json.dumps({"verdict": "revise", "findings": items, "summary": "done"},
                      separators=(",", ":") if compact else None, ensure_ascii=False)
    stream = FindingStream()
    got = []
    pos = 0
    k = 0
    while pos < len(text):
        step = cuts[k % len(cuts)]
        got += stream.feed(text[pos:pos + step])
        pos += step
        k += 1
    whole = [f for f, partial in got if not partial]
    assert whole == parse_review(text).findings
    for i, (finding, partial) in enumerate(got):
        if partial:
            later = [f for f, p in got[i + 1:] if not p]
            # the same finding, whole, follows (fields after the message may differ)
            assert later and later[0].id == finding.id and later[0].message == finding.message


def test_a_partial_finding_arrives_before_its_suggestion() -> None:
    head = '{"verdict":"revise","findings":[{"id":"F1","quote":"x = 1","line":3,' \
           '"severity":"warning","message":"x is never used",'
    stream = FindingStream()
    first = stream.feed(head)
    assert [(f.id, f.message, p) for f, p in first] == [("F1", "x is never used", True)]
    rest = stream.feed('"suggestion":"remove it"}],"summary":"s"}')
    assert [(f.id, f.suggestion, p) for f, p in rest] == [("F1", "remove it", False)]


def test_no_partial_without_an_anchor() -> None:
    stream = FindingStream()
    assert stream.feed('{"verdict":"revise","findings":[{"message":"vague",') == []


# ---------------------------------------------------------------- hostile replies, bounded work

def _feed(text: str, size: int = 20) -> tuple[FindingStream, list[tuple[object, bool]]]:
    stream = FindingStream()
    got = []
    for i in range(0, len(text), size):
        got += stream.feed(text[i:i + size])
    return stream, got


HOSTILE = {
    "one 100,000-character message": json.dumps({"verdict": "revise", "findings": [
        {"id": "F1", "quote": "x", "line": 1, "severity": "warning", "message": "m" * 100_000,
         "suggestion": None}], "summary": "s"}),
    "a 50,000-deep array": '{"verdict":"revise","findings":' + "[" * 50_000 + "]" * 50_000
                           + ',"summary":"s"}',
    "a 50,000-deep finding": '{"verdict":"revise","findings":[{"id":"F1","line":1,'
                             '"message":"m","quote":' + "[" * 50_000 + "]" * 50_000 + "}]}",
    "1,000 findings": json.dumps({"verdict": "revise", "findings": [
        {"id": f"F{i}", "quote": f"q{i}", "line": i, "severity": "info",
         "message": f"message {i} " * 5, "suggestion": "do x"} for i in range(1, 1001)],
        "summary": "s"}),
    "a 100,000-character summary first": '{"summary":"' + "s" * 100_000 +
                                         '","verdict":"revise","findings":[{"id":"F1",'
                                         '"line":2,"message":"m"}]}',
}


@pytest.mark.timeout(60)  # before the reader was incremental, each took 5-90 s of CPU
@pytest.mark.parametrize("name", list(HOSTILE))
def test_reading_a_hostile_reply_is_linear(name: str) -> None:
    text = HOSTILE[name]
    stream, got = _feed(text)
    # every character is scanned once and each finding decoded at most twice (partial, whole)
    assert stream.work <= 3 * len(text)
    whole = [f for f, partial in got if not partial]
    if name == "1,000 findings":
        assert len(whole) == 1000 and len(got) == 2000
    elif name in ("a 50,000-deep array", "a 50,000-deep finding"):
        assert whole == []
    else:
        assert len(whole) == 1


@pytest.mark.parametrize("depth", [65, 50_000])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(depth: int) -> None:
    text = '{"verdict":"revise","findings":' + "[" * depth + "]" * depth + ',"summary":"s"}'
    with pytest.raises(ReviewParseError, match="nests deeper than 64"):
        parse_review(text)


@pytest.mark.parametrize("text, error", [
    ('{"verdict":"revise","findings":[{"message":"m","line":' + "9" * 5000 + "}]}",
     "not valid JSON"),
    ('{"verdict":"approve","summary":"\\q"', "not closed"),
    ('{"verdict":' + json.dumps(["x"] * 10_000) + "}", "must be"),
])
def test_unreadable_values_are_parse_errors(text: str, error: str) -> None:
    with pytest.raises(ReviewParseError, match=error) as caught:
        parse_review(text)
    assert len(str(caught.value)) < 300


def test_lone_surrogate_escapes_and_raw_control_characters_are_read() -> None:
    verdict = parse_review('{"verdict":"revise","summary":"a\\ud83d","findings":'
                           '[{"id":"F1","message":"tab\there \\udc00 and \\ud83d\\ude00"}]}')
    assert verdict.summary == "a\ufffd"
    assert verdict.findings[0].message == "tab\there \ufffd and \U0001f600"
    for finding, _ in _feed('{"verdict":"revise","findings":[{"id":"F1","line":1,'
                            '"message":"x\\ud83d","suggestion":"y"}]}', 3)[1]:
        finding.message.encode("utf-8")
