"""Dismissed findings, kept in `.pair/dismissed.jsonl` in the workspace (a team can commit it).

One JSON object a line: ``fingerprint, file, message, reason, date`` (plus ``quote``). The
fingerprint hashes the file, the quoted code and the message, each with whitespace and case
normalised, so it survives the code moving: no line numbers in it. A finding matches a dismissal
by fingerprint, or by the same file and quote with a message worded nearly the same (models
rephrase). Dismissals go to the reviewer as "already decided" and filter what it raises anyway.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pair_lsp.loop.protocol import Finding

FILE = Path(".pair") / "dismissed.jsonl"
_SIMILAR = 0.75  # message similarity that counts as "the same finding" at the same quote


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def fingerprint(file: str, quote: str, message: str) -> str:
    blob = "\0".join((file.replace("\\", "/"), " ".join(quote.split()), _norm(message)))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def finding_fingerprint(finding: Finding) -> str:
    return fingerprint(finding.file or "", finding.quote, finding.message)


@dataclass(frozen=True)
class Dismissal:
    fingerprint: str
    file: str
    message: str
    reason: str
    date: str
    quote: str = ""

    def to_json(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "file": self.file, "message": self.message,
                "reason": self.reason, "date": self.date, "quote": self.quote}


class Dismissals:
    def __init__(self, root: Path):
        self.path = root / FILE
        self.items: list[Dismissal] = []
        self.problems: list[str] = []
        self.reload()

    def reload(self) -> None:
        self.items, self.problems = [], []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"could not read {FILE}: {exc}")
            return
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                item = Dismissal(str(raw["fingerprint"]), str(raw.get("file", "")),
                                 str(raw.get("message", "")), str(raw.get("reason", "")),
                                 str(raw.get("date", "")), str(raw.get("quote", "")))
            except (ValueError, KeyError, TypeError):
                self.problems.append(f"{FILE} line {n} is not a dismissal; ignored")
                continue
            self.items.append(item)

    def match(self, finding: Finding) -> Dismissal | None:
        fp = finding_fingerprint(finding)
        quote = " ".join(finding.quote.split())
        message = _norm(finding.message)
        for item in self.items:
            if item.fingerprint == fp:
                return item
            if quote and item.file == (finding.file or "") and \
                    " ".join(item.quote.split()) == quote and difflib.SequenceMatcher(
                        None, _norm(item.message), message).ratio() >= _SIMILAR:
                return item
        return None

    def for_files(self, files: set[str]) -> list[Dismissal]:
        return [d for d in self.items if d.file in files]

    def add(self, finding: Finding, reason: str = "") -> Dismissal:
        """Append a dismissal (one line, written with O_APPEND: concurrent writers are safe)."""
        existing = self.match(finding)
        if existing is not None:
            return existing
        item = Dismissal(finding_fingerprint(finding), finding.file or "", finding.message,
                         reason.strip(), datetime.date.today().isoformat(), finding.quote)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(item.to_json(), ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        self.items.append(item)
        return item


def render(items: list[Dismissal]) -> str:
    """The "already decided" section of the reviewer's system prompt ('' when none)."""
    if not items:
        return ""
    lines = ["ALREADY DECIDED — the team dismissed these findings; do not raise them again "
             "(nor the same point reworded):"]
    for d in items:
        quote = f" at `{' '.join(d.quote.split())[:120]}`" if d.quote.strip() else ""
        why = f" — dismissed: {d.reason}" if d.reason else ""
        lines.append(f"- {d.file}{quote}: {d.message}{why}")
    return "\n".join(lines)
