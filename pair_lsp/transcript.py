"""The session transcript: every event as a JSONL line, plus a readable Markdown rendering.

Written to the user state dir by default (or `.pair/` in the workspace): files 0600 in
directories 0700. Every string passes through :func:`pair_lsp.secrets.redact` first: keys never
reach the disk. Writing a transcript never fails a session: errors are logged once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import IO, Any

from pair_lsp.config import TranscriptConfig
from pair_lsp.loop.events import Event, Finished, StreamProgress
from pair_lsp.private_files import private_dir, private_file
from pair_lsp.secrets import redact

log = logging.getLogger(__name__)


def transcript_dir(config: TranscriptConfig, workspace: Path | None = None) -> Path:
    if config.directory:
        return Path(config.directory).expanduser()
    if config.location == "workspace" and workspace is not None:
        folder = workspace / ".pair" / "transcripts"
        # a repository shipping `.pair` as a link elsewhere does not move them out of it
        if folder.resolve().is_relative_to(workspace.resolve()):
            return folder
    from platformdirs import user_state_dir

    return Path(user_state_dir("pair-lsp", appauthor=False)) / "transcripts"


class Transcript:
    """A sink for session events. Any failure is logged once and never reaches the session."""

    def __init__(self, directory: Path, session_id: str):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.jsonl_path = directory / f"{stamp}-{session_id}.jsonl"
        self.markdown_path = directory / f"{stamp}-{session_id}.md"
        self._events: list[dict[str, Any]] = []
        self._failed = False
        self._fh: IO[str] | None = None
        self.written = threading.Event()
        self.finished = False
        try:
            # tightened only when it is a transcripts folder (never a folder a setting named)
            private_dir(directory, tighten=directory.name == "transcripts")
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if not self._failed:
            log.warning("cannot write the transcript at %s: %s", self.jsonl_path, exc)
        self._failed = True

    def __call__(self, event: Event) -> None:
        if isinstance(event, StreamProgress):
            return  # throttled token counts: the call_usage events carry the real numbers
        try:
            self._record(event)
        except Exception as exc:  # a transcript never fails a session
            self._fail(exc)
            if isinstance(event, Finished):
                self.written.set()

    def _record(self, event: Event) -> None:
        record = {"time": round(time.time(), 3), **event.to_json()}
        line = redact(json.dumps(record, ensure_ascii=False))
        self._events.append(json.loads(line))
        if self._failed:
            if isinstance(event, Finished):
                self.written.set()
            return
        if self._fh is None:
            self._fh = private_file(self.jsonl_path, "a")
        self._fh.write(line + "\n")  # buffered: one write per few events, not per event
        if isinstance(event, Finished):
            self.finished = True
            self._fh.close()
            self._fh = None
            # rendering is not the session's business: keep it off the event loop
            threading.Thread(target=self._write_markdown, daemon=True,
                             name="pair-transcript").start()

    def _write_markdown(self) -> None:
        try:
            with private_file(self.markdown_path, "w") as fh:
                fh.write(render_markdown(self._events))
        except Exception as exc:  # logged once; the session has ended already
            self._fail(exc)
        finally:
            self.written.set()

    def wait_written(self, timeout: float = 10.0) -> bool:
        """Block until the Markdown rendering exists (the CLI prints its path)."""
        return self.written.wait(timeout)


def _fmt_tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def render_markdown(events: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for e in events:
        kind = e["type"]
        if kind == "session_started":
            out.append(f"# Pair session {e['session_id']}\n")
            out.append(f"- file: `{e['path']}` lines {e['target_lines'][0]}-"
                       f"{e['target_lines'][1]}")
            out.append(f"- mode: {e['mode']}; worker: `{e['worker'] or '-'}`; "
                       f"reviewer: `{e['reviewer']}`; max rounds: {e['max_rounds']}")
            out.append(f"- instruction: {e['instruction'] or '(default)'}")
            out += [f"- note: {n}" for n in e.get("notes", [])]
            out.append("")
        elif kind == "proposal":
            out.append(f"## Round {e['round']} · worker\n")
            if e["explanation"]:
                out.append(e["explanation"] + "\n")
            out.append("```diff\n" + (e["diff"] or "(no change)\n") + "```\n")
        elif kind == "declined":
            out.append(f"- declined {e['finding_id']}: {e['reason']}")
        elif kind == "reviewed":
            out.append(f"## Round {e['round']} · reviewer: **{e['verdict']}**\n")
            if e["summary"]:
                out.append(e["summary"] + "\n")
            for f in e["findings"]:
                line = f" (line {f['line']})" if f.get("line") else ""
                out.append(f"- **{f['id']}** {f['severity']}{line}: {f['message']}")
                if f.get("quote"):
                    out.append(f"  - at `{f['quote'].strip()}`")
                if f.get("suggestion"):
                    out.append(f"  - suggestion: {f['suggestion']}")
            out.append("")
        elif kind == "call_usage":
            u = e["usage"]
            src = " (from cache)" if e["from_cache"] else ""
            out.append(f"> round {e['round']} {e['role']} `{e['model']}`: "
                       f"{u['input_tokens']} in ({u['cached_tokens']} cached), "
                       f"{u['output_tokens']} out, {e['latency_ms']:.0f} ms{src}\n")
        elif kind == "notice":
            out.append(f"> {e['level']}: {e['message']}\n")
        elif kind == "finished":
            out.append(f"## Result: {e['status']} ({e['reason']}) after {e['rounds']} "
                       f"round(s)\n")
            per_round = ", ".join(f"round {i}: {_fmt_tokens(t)}"
                                  for i, t in enumerate(e.get("round_tokens", []), 1))
            u = e["usage"]
            out.append(f"Tokens: {u['input_tokens']} in ({u['cached_tokens']} cached), "
                       f"{u['output_tokens']} out" + (f" — {per_round}" if per_round else ""))
            if e["diff"]:
                out.append("\n```diff\n" + e["diff"] + "```")
    return "\n".join(out) + "\n"
