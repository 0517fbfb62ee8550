"""Apply SEARCH/REPLACE blocks to the target text: exact first, then whitespace-tolerant.

A block that matches nowhere or more than once is not applied; its failure carries a precise
reason worded for the worker ("line 2 of the SEARCH ... does not match; the closest line in the
target is ..."), which the session sends back for a bounded retry.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from pair_lsp.loop.protocol import Block


@dataclass(frozen=True)
class MatchFailure:
    block: int
    reason: str


@dataclass
class ApplyResult:
    text: str
    applied: list[int] = field(default_factory=list)
    failures: list[MatchFailure] = field(default_factory=list)
    tolerant: list[int] = field(default_factory=list)  # blocks matched only whitespace-tolerantly


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    replacement: str
    tolerant: bool


def apply_blocks(text: str, blocks: list[Block]) -> ApplyResult:
    """Apply ``blocks`` in order to ``text`` ('\\n' line endings); never raises."""
    result = ApplyResult(text)
    for block in blocks:
        span = _locate(result.text, block)
        if isinstance(span, MatchFailure):
            result.failures.append(span)
            continue
        result.text = result.text[:span.start] + span.replacement + result.text[span.end:]
        result.applied.append(block.index)
        if span.tolerant:
            result.tolerant.append(block.index)
    return result


def _norm(line: str) -> str:
    return " ".join(line.split())


def _locate(text: str, block: Block) -> _Span | MatchFailure:
    search, replace = block.search, block.replace
    if not search.strip():
        if not text.strip():
            return _Span(0, len(text), replace + ("\n" if text.endswith("\n") else ""), False)
        return MatchFailure(block.index, f"block {block.index} has an empty SEARCH part; quote "
                            "the exact lines of the target that the REPLACE part replaces")
    hits = _find_all(text, search)
    if len(hits) == 1:
        return _exact_span(text, hits[0], search, replace)
    if len(hits) > 1:
        lines = ", ".join(str(text.count("\n", 0, h) + 1) for h in hits[:6])
        return MatchFailure(block.index, f"block {block.index}'s SEARCH matches {len(hits)} "
                            f"places (target lines {lines}); add surrounding lines so it "
                            "matches exactly one")
    return _tolerant(text, block)


def _find_all(text: str, needle: str) -> list[int]:
    hits: list[int] = []
    i = text.find(needle)
    while i >= 0:
        hits.append(i)
        i = text.find(needle, i + 1)
    return hits


def _exact_span(text: str, at: int, search: str, replace: str) -> _Span:
    end = at + len(search)
    whole_lines = (at == 0 or text[at - 1] == "\n") and (end == len(text) or text[end] == "\n")
    if whole_lines and replace == "" and end < len(text):
        end += 1  # deleting whole lines takes their line break too
    return _Span(at, end, replace, False)


def _tolerant(text: str, block: Block) -> _Span | MatchFailure:
    lines = text.split("\n")
    search_lines = _trim_blank(block.search.split("\n"))
    want = [_norm(s) for s in search_lines]
    have = [_norm(s) for s in lines]
    n = len(want)
    hits = [i for i in range(len(have) - n + 1) if have[i:i + n] == want]
    if len(hits) > 1:
        where = ", ".join(str(h + 1) for h in hits[:6])
        return MatchFailure(block.index, f"block {block.index}'s SEARCH matches {len(hits)} "
                            f"places when whitespace is ignored (target lines {where}); add "
                            "surrounding lines so it matches exactly one")
    if not hits:
        return MatchFailure(block.index, _why_not(block.index, search_lines, lines))
    first = hits[0]
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + 1)
    start = starts[first]
    end = starts[first + n] - 1  # end of the last matched line, before its '\n'
    replacement = _reindent(search_lines, lines[first:first + n],
                            _trim_blank(block.replace.split("\n")) if block.replace.strip()
                            else [])
    if not replacement:
        end = min(end + 1, len(text))  # delete the lines with their break
        return _Span(start, end, "", True)
    return _Span(start, end, "\n".join(replacement), True)


def _trim_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(search: list[str], actual: list[str], replace: list[str]) -> list[str]:
    """Shift REPLACE's indentation by the difference between SEARCH's and the target's."""
    s_first = next((ln for ln in search if ln.strip()), "")
    a_first = next((ln for ln in actual if ln.strip()), "")
    s_ws, a_ws = _indent(s_first), _indent(a_first)
    if s_ws == a_ws:
        return replace
    out = []
    for ln in replace:
        if not ln.strip():
            out.append("")
        elif ln.startswith(s_ws):
            out.append(a_ws + ln[len(s_ws):])
        else:
            out.append(a_ws + ln.lstrip())
    return out


def _why_not(index: int, search: list[str], lines: list[str]) -> str:
    """Say which SEARCH line fails to match, and what the target holds near there."""
    have = [_norm(s) for s in lines]
    best_at, best_len = -1, 0
    for i in range(len(have)):
        k = 0
        while k < len(search) and i + k < len(have) and have[i + k] == _norm(search[k]):
            k += 1
        if k > best_len:
            best_at, best_len = i, k
    if best_len > 0 and best_len < len(search):
        got = lines[best_at + best_len] if best_at + best_len < len(lines) else "<end of target>"
        return (f"block {index}'s SEARCH did not match: its first {best_len} line(s) match "
                f"target line {best_at + 1}, but SEARCH line {best_len + 1} "
                f"`{search[best_len].strip()}` differs from target line "
                f"{best_at + best_len + 1} `{got.strip()}`; copy the current text exactly")
    first = search[0].strip() if search else ""
    close = difflib.get_close_matches(first, [ln.strip() for ln in lines if ln.strip()], n=1,
                                      cutoff=0.5)
    hint = f"; the closest target line is `{close[0]}`" if close else ""
    return (f"block {index}'s SEARCH did not match: no target line equals `{first}`{hint}. "
            "SEARCH must quote the current text of the target exactly")
