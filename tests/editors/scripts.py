"""The conversation both real-editor tests script: fix, review with a finding, fix, approve."""

from __future__ import annotations

from pair_lsp.testing.fake_server import FakeModelServer
from tests.scripts import block, finding, review

SOURCE = '''"""Example."""


def largest(values):
    """Return the largest number in values."""
    best = 0
    for v in values:
        if v > best:
            best = v
    return best
'''
EXPECTED = SOURCE.replace("    best = 0\n", "    if not values:\n"
                          "        raise ValueError(\"empty\")\n    best = values[0]\n")


def script_pair(fake: FakeModelServer, worker: str, reviewer: str) -> None:
    """Round 1: the worker fixes the start value; the reviewer flags the empty list (quoting
    a line that is in the document, so the finding stays visible until the edit is applied).
    Round 2: the worker guards it; the reviewer approves."""
    fake.script(worker, [
        "Start from the first value.\n" + block("    best = 0", "    best = values[0]"),
        "Guard the empty list.\n" + block("    best = values[0]",
                                          "    if not values:\n        raise ValueError(\"empty\")"
                                          "\n    best = values[0]")])
    fake.script(reviewer, [
        review("revise", finding("F1", "for v in values:", "an empty list raises IndexError",
                                 line=4)),
        review("approve")])
