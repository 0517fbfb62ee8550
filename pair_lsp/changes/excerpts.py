"""What the reviewer sees of each changed file: its hunks inside surrounding context, sized to a
share of the review's token budget, and the files grouped into batches.

A file's excerpt numbers the new file's lines; ``+`` marks added lines and ``-`` lines that were
removed (they are no longer in the file). A file too large for its share gets less context, then
is summarised: its first hunks, and a list of the ones not shown (the cut is reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pair_lsp.changes.git import ChangedFile

CHARS_PER_TOKEN = 4
BATCH_CHARS = 24_000  # about 6k tokens of code per reviewer call
BATCH_FILES = 4
_MIN_SHARE_CHARS = 2_000


@dataclass
class Excerpt:
    file: ChangedFile
    text: str
    windows: list[tuple[int, int]]  # 1-based inclusive line spans shown
    cut: str | None = None  # what was left out, in words

    def near(self, line: int, slack: int = 3) -> bool:
        return any(lo - slack <= line <= hi + slack for lo, hi in self.windows)


@dataclass
class Batch:
    excerpts: list[Excerpt] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(e.text) for e in self.excerpts)


def _windows(f: ChangedFile, total_lines: int, context: int) -> list[tuple[int, int]]:
    spans = []
    for h in f.hunks:
        start = max(1, h.target_start)
        end = max(start, h.target_start + h.target_length - 1)
        if h.target_length == 0 and h.removed:  # a pure deletion: show the lines around it
            end = min(total_lines, start + 1)
        spans.append((max(1, start - context), min(max(total_lines, 1), end + context)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def render(f: ChangedFile, context: int) -> tuple[str, list[tuple[int, int]]]:
    """The numbered excerpt of ``f`` with ``context`` lines around each hunk."""
    assert f.text is not None
    lines = f.text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    added = {n for h in f.hunks for n in h.added}
    removed: dict[int, list[str]] = {}
    for h in f.hunks:
        for before, text in h.removed:
            removed.setdefault(before, []).append(text)
    windows = _windows(f, len(lines), context)
    width = len(str(len(lines) or 1))
    out: list[str] = []
    for i, (lo, hi) in enumerate(windows):
        if i or lo > 1:
            out.append(f"{'':>{width}}   ⋮")
        for n in range(lo, hi + 1):
            out += [f"{'':>{width}} - {text}" for text in removed.get(n, ())]
            if n <= len(lines):
                out.append(f"{n:>{width}} {'+' if n in added else ' '} {lines[n - 1]}")
        if hi >= len(lines):
            out += [f"{'':>{width}} - {text}" for text in removed.get(len(lines) + 1, ())]
    return "\n".join(out), windows


def excerpt(f: ChangedFile, share_chars: int, context: int) -> Excerpt:
    """The most context that fits ``share_chars``; failing that, a summary of the file."""
    for ctx in dict.fromkeys((context, min(context, 5), 0)):
        text, windows = render(f, ctx)
        if len(text) <= share_chars:
            return Excerpt(f, text, windows)
    text, windows = render(f, 0)
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        if used + len(line) + 1 > share_chars:
            break
        kept.append(line)
        used += len(line) + 1
    last_shown = max((int(ln.split()[0]) for ln in kept if ln.split() and
                      ln.split()[0].isdigit()), default=0)
    shown = [(lo, min(hi, last_shown)) for lo, hi in windows if lo <= last_shown]
    left = [(lo, hi) for lo, hi in windows if hi > last_shown]
    spans = ", ".join(f"{max(lo, last_shown + 1)}-{hi}" for lo, hi in left[:12])
    more = f" and {len(left) - 12} more" if len(left) > 12 else ""
    cut = (f"{f.path}: summarised — {len(kept)} of {len(text.splitlines())} excerpt lines "
           f"shown; changed lines {spans}{more} not shown (the file's change is larger than "
           f"its share of pair.changes.maxTokens)")
    kept.append(f"… (cut: the change to lines {spans}{more} is not shown: it is too large "
                f"for this review's budget)")
    return Excerpt(f, "\n".join(kept), shown, cut)


def plan(files: list[ChangedFile], max_tokens: int, context: int) -> list[Excerpt]:
    """Excerpts for ``files`` within ``max_tokens``: every file gets at least an equal share;
    what small files leave is shared among the larger ones."""
    budget = max(max_tokens, 1) * CHARS_PER_TOKEN
    full = {id(f): len(render(f, context)[0]) for f in files}
    shares: dict[int, int] = {}
    pending = sorted(files, key=lambda f: full[id(f)])
    left = budget
    while pending:
        share = max(_MIN_SHARE_CHARS, left // len(pending))
        f = pending.pop(0)
        shares[id(f)] = min(full[id(f)], share)
        left = max(0, left - shares[id(f)])
    return [excerpt(f, max(shares[id(f)], _MIN_SHARE_CHARS), context) for f in files]


def batches(excerpts: list[Excerpt]) -> list[Batch]:
    """Group excerpts (in path order, so neighbours travel together) into reviewer calls."""
    out: list[Batch] = []
    for e in sorted(excerpts, key=lambda e: e.file.path):
        if not out or len(out[-1].excerpts) >= BATCH_FILES or \
                (out[-1].excerpts and out[-1].chars + len(e.text) > BATCH_CHARS):
            out.append(Batch())
        out[-1].excerpts.append(e)
    return out
