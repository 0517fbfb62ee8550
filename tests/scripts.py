"""Scripted model replies shared by the engine, CLI and server tests."""

from __future__ import annotations

import json

BUGGY = '''def largest(values):
    """Return the largest number in values."""
    best = 0
    for v in values:
        if v > best:
            best = v
    return best
'''

FIXED = BUGGY.replace("    best = 0\n    for v in values:\n",
                      "    if not values:\n        raise ValueError(\"empty\")\n"
                      "    best = values[0]\n    for v in values[1:]:\n")


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


WORKER_R1 = "Start from the first value.\n" + block("    best = 0", "    best = values[0]")
WORKER_R2 = "Guard the empty list and skip the first value.\n" + block(
    "    best = values[0]\n    for v in values:",
    "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]\n"
    "    for v in values[1:]:")


def review(verdict: str, *findings: dict[str, object], summary: str = "") -> str:
    return json.dumps({"verdict": verdict, "summary": summary or f"{verdict}d",
                       "findings": list(findings)})


def finding(fid: str, quote: str, message: str, line: int = 3,
            severity: str = "warning") -> dict[str, object]:
    return {"id": fid, "quote": quote, "line": line, "severity": severity, "message": message,
            "suggestion": None}


REVISE_EMPTY = review("revise", finding("F1", "best = values[0]",
                                        "an empty list raises IndexError"))
APPROVE = review("approve")
