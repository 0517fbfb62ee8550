"""Several reviewers in one round: their verdicts merged into one.

Approval needs every reviewer's approval. Findings that several reviewers raise on the same code
(the same quote, a similar message) become one finding with ``agreement`` ("2/2"), so the worker
and the editor see each once. Ids are renumbered F1, F2, ... in order: the first reviewer's
findings keep their ids (its stream is the one shown while the round runs).
"""

from __future__ import annotations

import dataclasses
import re
from difflib import SequenceMatcher

from pair_lsp.loop.protocol import SEVERITIES, Finding, Verdict

SIMILAR = 0.5  # word overlap (or character similarity) of two messages on the same quote


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9_]+", text.lower()))


def _quote(f: Finding) -> str:
    return " ".join(f.quote.split())


def same_finding(a: Finding, b: Finding) -> bool:
    """Two reviewers' findings about the same thing: the same code, a similar message."""
    qa, qb = _quote(a), _quote(b)
    if not qa or not qb or not (qa == qb or qa in qb or qb in qa):
        return False
    wa, wb = _words(a.message), _words(b.message)
    overlap = len(wa & wb) / max(1, min(len(wa), len(wb)))
    return overlap >= SIMILAR or \
        SequenceMatcher(None, a.message.lower(), b.message.lower()).ratio() >= SIMILAR


def merge_verdicts(verdicts: list[Verdict], labels: list[str]) -> Verdict:
    """One verdict out of a round's reviewers (one reviewer: its verdict unchanged)."""
    if len(verdicts) == 1:
        return verdicts[0]
    groups: list[list[Finding]] = []
    for verdict in verdicts:
        taken: set[int] = set()  # one reviewer's findings never merge with each other
        for finding in verdict.findings:
            for i, group in enumerate(groups):
                if i not in taken and same_finding(group[0], finding):
                    group.append(finding)
                    taken.add(i)
                    break
            else:
                groups.append([finding])
                taken.add(len(groups) - 1)
    n = len(verdicts)
    findings = [_merged(group, f"F{i}", n) for i, group in enumerate(groups, 1)]
    approved = all(v.verdict == "approve" for v in verdicts)
    summary = " ".join(f"[{label}: {v.verdict}] {v.summary.strip()}".strip()
                       for label, v in zip(labels, verdicts, strict=True))
    return Verdict("approve" if approved else "revise", summary, findings)


def _merged(group: list[Finding], fid: str, reviewers: int) -> Finding:
    first = group[0]
    severity = min((f.severity for f in group),
                   key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else len(SEVERITIES))
    suggestion = next((f.suggestion for f in group if f.suggestion), None)
    return dataclasses.replace(first, id=fid, severity=severity, suggestion=suggestion,
                               agreement=f"{len(group)}/{reviewers}")
