"""A change review's report: text for people, JSON for scripts, SARIF 2.1.0 for CI systems and
GitHub code scanning."""

from __future__ import annotations

import json
from typing import Any

from pair_lsp import __version__
from pair_lsp.changes.review import ChangesResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}
RULE_ID = "pair-review"


def text(result: ChangesResult) -> str:
    lines: list[str] = []
    for item in result.findings:
        f = item.finding
        where = f"{item.file}:{item.line}"
        confidence = f" ({f.confidence:.0%} sure)" if f.confidence is not None else ""
        lines.append(f"{where}: {f.severity} {f.id}: {f.message}{confidence}")
        if f.rule:
            lines.append(f"    rule: {f.rule}")
        if f.suggestion:
            lines.append(f"    suggestion: {f.suggestion}")
    for changed in result.changes.skipped:
        lines.append(f"skipped {changed.path}: {changed.skipped}")
    lines.append(result.summary)
    return "\n".join(lines) + "\n"


def as_json(result: ChangesResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"


def sarif(result: ChangesResult) -> dict[str, Any]:
    results = []
    for item in result.findings:
        f = item.finding
        region: dict[str, Any] = {"startLine": item.line, "endLine": item.end_line}
        if f.quote.strip():
            region["snippet"] = {"text": f.quote}
        message = f.message + (f"\nSuggestion: {f.suggestion}" if f.suggestion else "") + \
            (f"\nRule: {f.rule}" if f.rule else "")
        properties: dict[str, Any] = {"severity": f.severity, "findingId": f.id}
        for key in ("confidence", "rule", "suggestion"):
            if getattr(f, key) is not None:
                properties[key] = getattr(f, key)
        results.append({
            "ruleId": RULE_ID,
            "ruleIndex": 0,
            "level": _SARIF_LEVEL.get(f.severity, "warning"),
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": item.file, "uriBaseId": "%SRCROOT%"},
                "region": region}}],
            "partialFingerprints": {"pairFinding/v1": item.fingerprint},
            "properties": properties,
        })
    notifications = [{"level": "note", "message": {"text": f"skipped {c.path}: {c.skipped}"}}
                     for c in result.changes.skipped]
    notifications += [{"level": "warning", "message": {"text": n}} for n in result.notices
                      if not n.startswith("skipped ")]
    root = result.changes.root.resolve().as_uri() + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pair-lsp",
                "version": __version__,
                "rules": [{"id": RULE_ID, "name": "PairReview",
                           "shortDescription": {"text": "A finding of the pair-lsp reviewer "
                                                        "model on a change"},
                           "properties": {"reviewer": result.reviewer}}],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root}},
            "invocations": [{"executionSuccessful": result.status != "failed",
                             "toolExecutionNotifications": notifications}],
            "results": results,
            "properties": {"scope": result.changes.scope, "summary": result.summary},
        }],
    }


def render(result: ChangesResult, fmt: str) -> str:
    if fmt == "json":
        return as_json(result)
    if fmt == "sarif":
        return json.dumps(sarif(result), indent=2, ensure_ascii=False) + "\n"
    return text(result)
