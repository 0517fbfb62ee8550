"""Hostile model output through the whole engine: whatever the worker and the reviewer write,
and however their streams are chunked, cut or broken, every session ends with a status, no
exception escapes, nothing is logged as an error, and every event encodes as UTF-8 JSON.

The models are a minimal Provider written here (the protocol the engine takes), not an SDK mock.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop import session as session_module
from pair_lsp.loop.session import PairRequest, Session
from pair_lsp.loop.textops import apply_edits
from pair_lsp.providers.base import (
    ModelRequest,
    ProviderError,
    ProviderInfo,
    StreamItem,
    TextDelta,
    Usage,
)
from tests.scripts import APPROVE, BUGGY, WORKER_R1, block

pytestmark = pytest.mark.timeout(600)


class ScriptedModel:
    """A Provider that streams scripted replies (the last repeats) in chunks of the given sizes.
    A reply may be an exception to raise after its text, or carry a cut reason."""

    def __init__(self, name: str, replies: list[Any], chunks: list[int]):
        self.info = ProviderInfo("scripted", name)
        self.replies = replies
        self.chunks = chunks
        self.calls = 0

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        text, after = (reply[0], reply[1]) if isinstance(reply, tuple) else (reply, None)
        pos = k = 0
        while pos < len(text):
            size = self.chunks[k % len(self.chunks)]
            yield TextDelta(text[pos:pos + size])
            pos += size
            k += 1
            if k % 50 == 0:
                await asyncio.sleep(0)
        if isinstance(after, Exception):
            raise after
        yield Usage(100, len(text) // 4, truncated=after)

    async def aclose(self) -> None:
        return None


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


# ------------------------------------------------------------------- strategies

TEXT = st.text(st.characters(exclude_categories=()), max_size=60)  # lone surrogates too
SNIPPETS = st.sampled_from([line for line in BUGGY.split("\n") if line] +
                           ["    best = 0\n    for v in values:", "nowhere in the code", "",
                            "    best = 0\r", "def largest(values):\n"])


@st.composite
def worker_replies(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["prose", "block", "dup", "unterminated", "nested",
                                     "decline", "fence", "huge", "control"]))
        search, replace = draw(SNIPPETS), draw(TEXT)
        if kind == "prose":
            parts.append(draw(TEXT))
        elif kind == "block":
            parts.append(block(search, replace))
        elif kind == "dup":
            parts.append(block(search, replace) * 2)
        elif kind == "unterminated":
            parts.append(block(search, replace)[:draw(st.integers(0, 40))])
        elif kind == "nested":
            parts.append(block(block(search, replace), replace))
        elif kind == "decline":
            parts.append(f"DECLINE F{draw(st.integers(0, 3))}: {draw(TEXT)}")
        elif kind == "fence":
            parts.append(block(f"```python\n{search}\n```", f"```\n{replace}\n```"))
        elif kind == "huge":
            parts.append(block(search, replace * 5_000 + "x" * 50_000))
        else:
            parts.append("".join(chr(c) for c in draw(st.lists(st.integers(0, 31),
                                                                max_size=20))))
    text = "\n".join(parts)
    return text.replace("\n", "\r\n") if draw(st.booleans()) else text


ANY = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | TEXT |
                   st.floats(allow_nan=False),
                   lambda inner: st.lists(inner, max_size=3) |
                   st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)


@st.composite
def findings(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(ANY)  # not an object at all
    quote = draw(st.one_of(SNIPPETS, TEXT, ANY))
    out = {"id": draw(st.one_of(st.sampled_from(["F1", "F2", "f1", " "]), ANY)),
           "quote": quote,
           "line": draw(st.one_of(st.integers(-5, 10**12), ANY)),
           "severity": draw(st.one_of(st.sampled_from(["error", "warning", "info", "hint",
                                                       "critical", "blocker", "ERROR"]), ANY)),
           "message": draw(st.one_of(TEXT, ANY)),
           "suggestion": draw(st.one_of(st.none(), TEXT, ANY))}
    drop = draw(st.sets(st.sampled_from(sorted(out))))
    return {k: v for k, v in out.items() if k not in drop}


@st.composite
def reviewer_replies(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["json", "json", "json", "cut", "chatter", "garbage", "deep",
                                 "many", "approve"]))
    if kind == "garbage":
        return draw(TEXT)
    if kind == "approve":
        return '{"verdict": "approve", "findings": [], "summary": "fine"}'
    if kind == "deep":
        depth = draw(st.sampled_from([63, 64, 65, 1_000, 50_000]))
        where = draw(st.sampled_from(["findings", "quote"]))
        nest = "[" * depth + "]" * depth
        if where == "quote":
            return '{"verdict":"revise","findings":[{"id":"F1","line":1,"message":"m",' \
                   f'"quote":{nest}}}],"summary":"s"}}'
        return f'{{"verdict":"revise","findings":{nest},"summary":"s"}}'
    if kind == "many":
        items = [{"id": f"F{i}", "quote": "best", "line": i, "severity": "info",
                  "message": f"finding {i}"} for i in range(1, 1001)]
        return json.dumps({"verdict": "revise", "findings": items, "summary": "many"})
    body = {"verdict": draw(st.one_of(st.sampled_from(["approve", "revise", "Approve",
                                                       "maybe"]), ANY)),
            "findings": draw(st.one_of(st.lists(findings(), max_size=4), ANY)),
            "summary": draw(st.one_of(TEXT, ANY))}
    drop = draw(st.sets(st.sampled_from(sorted(body))))
    text = json.dumps({k: v for k, v in body.items() if k not in drop},
                      ensure_ascii=draw(st.booleans()))
    if kind == "cut":
        return text[:draw(st.integers(0, len(text)))]
    if kind == "chatter":
        return f"Here is my review:\n```json\n{text}\n```\n{draw(TEXT)}"
    return text


def faults() -> st.SearchStrategy[Any]:
    return st.sampled_from([None, None, None, "at its 512-token limit",
                            ProviderError("the connection dropped mid-reply", retryable=True),
                            ProviderError("HTTP 401", status=401)])


@st.composite
def scripts(draw: st.DrawFn, replies: st.SearchStrategy[str]) -> list[Any]:
    out: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        text, fault = draw(replies), draw(faults())
        out.append((text, fault) if fault is not None else text)
    return out


CHUNKS = st.lists(st.integers(1, 64), min_size=1, max_size=8)


# ------------------------------------------------------------------- the property

async def _run(worker: ScriptedModel, reviewer: ScriptedModel, mode: str,
               whole: bool) -> ev.Finished:
    config, errors = parse_settings({"maxRounds": 3, "cache": {"enabled": False},
                                     "transcript": {"enabled": False}})
    assert errors == []
    start, end = (0, None) if whole else (BUGGY.index("    best"), BUGGY.index("    return"))
    encoded: list[ev.Event] = []

    def utf8_json(event: ev.Event) -> None:  # what a transcript or the server does with it
        json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8")
        encoded.append(event)

    session = Session(PairRequest(document=BUGGY, start=start, end=end, path="m.py",
                                  language_id="python", mode=mode), config,
                      worker if mode == "pair" else None, reviewer, sinks=[utf8_json])
    events = [e async for e in session.run()]
    done = events[-1]
    assert isinstance(done, ev.Finished)
    assert len(encoded) == len(events)  # no sink failed
    return done


def _check(worker_script: list[Any], reviewer_script: list[Any], chunks: list[int],
           mode: str, whole: bool) -> None:
    log = ErrorLog()
    root = logging.getLogger()
    root.addHandler(log)
    delay = session_module.RETRY_DELAY
    session_module.RETRY_DELAY = 0.0
    try:
        worker = ScriptedModel("w", worker_script, chunks)
        reviewer = ScriptedModel("r", reviewer_script, chunks)
        done = asyncio.run(asyncio.wait_for(_run(worker, reviewer, mode, whole), 120))
    finally:
        session_module.RETRY_DELAY = delay
        root.removeHandler(log)
    assert done.status in ev.END_STATES
    assert "internal error" not in done.reason, done.reason
    assert not log.records, [r.getMessage() for r in log.records]
    if done.new_document is not None:
        assert apply_edits(BUGGY, list(done.edits)) == done.new_document
    if mode == "review":
        assert done.new_document is None


# the reproductions from the issue, always run
DEEP_ARRAY = '{"verdict":"revise","findings":' + "[" * 50_000 + "]" * 50_000 + ',"summary":"s"}'
DEEP_OBJECT = '{"verdict":"revise","findings":[' + '{"a":' * 20_000 + "1" + "}" * 20_000 + "]}"
SURROGATE_ESCAPE = '{"verdict":"revise","summary":"\\ud83d","findings":[{"id":"F1",' \
                   '"quote":"best","line":3,"message":"odd \\udc00"}]}'

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(scripts(worker_replies()), scripts(reviewer_replies()), CHUNKS, st.booleans())
@example([WORKER_R1], [DEEP_ARRAY], [20], True)
@example(["Done \ud83d.\n" + WORKER_R1], [SURROGATE_ESCAPE, APPROVE], [7], False)
def test_any_worker_and_reviewer_output_ends_the_session(worker: list[Any], reviewer: list[Any],
                                                         chunks: list[int], whole: bool) -> None:
    _check(worker, reviewer, chunks, "pair", whole)


@SETTINGS
@given(scripts(reviewer_replies()), CHUNKS, st.booleans())
@example([DEEP_OBJECT], [20], True)
@example([SURROGATE_ESCAPE], [3], True)
def test_any_review_ends_the_session(reviewer: list[Any], chunks: list[int],
                                     whole: bool) -> None:
    _check(["unused"], reviewer, chunks, "review", whole)
