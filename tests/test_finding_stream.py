"""Findings pulled out of a streaming review: whatever the chunking, the whole findings are
exactly the parsed review's, and an early (partial) finding precedes its whole one."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pair_lsp.loop.protocol import FindingStream, parse_review

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
