"""Continue a session from its transcript (after a server restart, or `pair-lsp run --resume`).

A transcript (JSONL, one event a line; a continued session appends a new file under the same
session id) holds what a new run needs: the file and target lines and instruction
(``session_started``), the newest candidate (``proposal``), the open findings (``reviewed``) and
the rounds run so far. The target is read again from the file as it is now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pair_lsp.loop.protocol import Finding, finding_from_json
from pair_lsp.loop.session import PairRequest


class ResumeError(ValueError):
    """The session cannot be continued (no transcript, or the file no longer fits it)."""


@dataclass(frozen=True)
class ResumeState:
    session_id: str
    path: str
    mode: str
    first_line: int  # 1-based, inclusive
    last_line: int
    instruction: str
    candidate: str | None  # the newest candidate ('\n' endings); None: no proposal yet
    findings: tuple[Finding, ...]  # the last review's
    rounds: int  # rounds run so far (all runs)
    plan: str | None = None  # the agreed plan, if the session had one


def transcript_files(directory: Path, session_id: str) -> list[Path]:
    """The session's transcripts, oldest first (names start with a time stamp)."""
    if not session_id or any(c in session_id for c in "/\\*?[]") or not directory.is_dir():
        return []
    return sorted(directory.glob(f"*-{session_id}.jsonl"))


def load_state(directory: Path, session_id: str) -> ResumeState:
    files = transcript_files(directory, session_id)
    if not files:
        raise ResumeError(f"no transcript of session {session_id} in {directory}")
    started: dict[str, Any] | None = None
    candidate: str | None = None
    findings: tuple[Finding, ...] = ()
    rounds = 0
    base = 0
    plan: str | None = None
    for file in files:
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "session_started" and started is None:
                started = event
            elif kind == "plan_agreed":
                plan = event.get("plan")
            elif kind == "proposal":
                candidate = event.get("candidate")
            elif kind == "reviewed":
                findings = tuple(f for i, raw in enumerate(event.get("findings", []), 1)
                                 if (f := finding_from_json(raw, i)) is not None)
            if kind in ("proposal", "reviewed") and isinstance(event.get("round"), int):
                rounds = max(rounds, base + event["round"])
        base = rounds
    if started is None:
        raise ResumeError(f"the transcript of session {session_id} has no start")
    lines = started.get("target_lines") or [1, 1]
    return ResumeState(session_id, str(started.get("path", "")), str(started.get("mode", "pair")),
                       int(lines[0]), int(lines[1]), str(started.get("instruction", "")),
                       candidate, findings, rounds, plan)


def target_offsets(text: str, state: ResumeState) -> tuple[int, int | None]:
    """The target's offsets in the file as it is now: its lines (the whole file: end None)."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    if text.endswith("\n"):
        starts.pop()
    if state.first_line > len(starts):
        raise ResumeError(f"{state.path} has {len(starts)} lines now; the session's target "
                          f"starts at line {state.first_line}")
    start = starts[state.first_line - 1]
    if state.last_line >= len(starts):
        return start, None if start == 0 else len(text)
    return start, starts[state.last_line]


def resume_request(state: ResumeState, text: str, language_id: str = "plaintext",
                   instruction: str | None = None, path: str | None = None) -> PairRequest:
    """A request that continues ``state`` on ``text`` (the file now): the newest candidate is
    the seed, with the open findings."""
    start, end = target_offsets(text, state)
    seed = None
    if state.mode == "pair" and state.candidate is not None:
        seed = (state.candidate, state.findings)
    return PairRequest(document=text, start=start, end=end, path=path or state.path,
                       language_id=language_id, mode=state.mode, seed=seed,
                       instruction=state.instruction if instruction is None else instruction,
                       plan=state.plan)
