"""A real LSP client driving `pair-lsp serve` over stdio, plus workload generators."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.fake_process import FakeProcess


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


# The target of every workload: a real 30-line function with a real bug (`best = 0`: a list
# of only negative scores reports 0 as the largest, and no record holds it).
FUNC = '''def summarize_scores(records, key="score", limit=None):
    """Summarise the scores in records: count, largest, smallest, mean, top names.

    records is a list of dicts with a "name" and a number under key; records
    without the key are skipped. limit caps how many top names are returned.
    """
    count = 0
    total = 0.0
    best = 0
    worst = None
    top = []
    for record in records:
        if key not in record:
            continue
        value = record[key]
        count += 1
        total += value
        if value > best:
            best = value
            top = [record["name"]]
        elif value == best:
            top.append(record["name"])
        if worst is None or value < worst:
            worst = value
    if count == 0:
        return {"count": 0, "largest": None, "smallest": None, "mean": None, "top": []}
    if limit is not None:
        top = top[:limit]
    return {"count": count, "largest": best, "smallest": worst, "mean": total / count,
            "top": top}
'''
FUNC_LINES = FUNC.count("\n")
# the fix, as SEARCH/REPLACE blocks: what the worker (and aider's editor) reply with
FIX_1 = block("    best = 0", "    best = None")
FIX_2 = block("        if value > best:", "        if best is None or value > best:")


def document(lines: int, functions_at: int | None = None) -> tuple[str, int]:
    """A Python file of about ``lines`` lines with FUNC in it; returns (text, FUNC's first
    line, 0-based)."""
    body = [f"x_{i} = {i}  # filler line {i}" for i in range(lines)]
    at = min(functions_at if functions_at is not None else lines // 2,
             max(0, lines - FUNC_LINES - 1))
    body[at:at + FUNC_LINES] = FUNC.rstrip("\n").split("\n")
    return "\n".join(body[:lines]) + "\n", at


def worker_replies() -> list[str]:
    """Two worker turns: the first fixes the start value, the second the comparison that the
    reviewer asks for."""
    return ["Start from no value instead of 0.\n" + FIX_1,
            "Compare against None first, as the review asks.\n" + FIX_2]


LONG_MESSAGE = ("`best` starts at 0, so for records whose scores are all negative the "
                "function reports 0 as the largest score, a value no record holds, and the "
                "top names stay empty.")
LONG_SUGGESTION = ("Start `best` at None and compare with `best is None or value > best`, "
                   "so that the first record's score is the first candidate.")


def review(verdict: str, n: int = 1, detailed: bool = False) -> str:
    """A reviewer reply. ``detailed``: findings as long as hosted reviewers write them
    (about 45 words each, message and suggestion) instead of one-liners."""
    import json

    findings = [{"id": f"F{k}", "quote": "for record in records:", "line": 12,
                 "severity": "warning",
                 "message": f"finding {k}: " + (LONG_MESSAGE if detailed
                                                else "`value > best` fails on None"),
                 "suggestion": LONG_SUGGESTION if detailed
                 else "compare with `best is None or value > best`"}
                for k in range(1, n + 1)] if verdict == "revise" else []
    return json.dumps({"verdict": verdict, "findings": findings,
                       "summary": "The change is close; see the findings." if findings
                       else "Looks correct."})


class Client:
    """pair-lsp over stdio with what the benchmarks observe recorded and timestamped."""

    def __init__(self, fake: FakeProcess, workdir: Path, cache: bool = False,
                 settings: dict[str, Any] | None = None, profile_to: Path | None = None):
        self.fake = fake
        self.profile_to = profile_to  # run the server under cProfile, its stats written here
        self.workdir = workdir
        self.cache = cache
        self.extra_settings = settings or {}
        self.lsp = LanguageClient("pair-bench", "1")
        self.diagnostic_times: list[tuple[float, str, int]] = []
        self.statuses: list[dict[str, Any]] = []
        self.version: dict[str, int] = {}
        self._register()

    def _register(self) -> None:
        lsp = self.lsp

        @lsp.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostic_times.append((time.perf_counter(), params.uri,
                                          len(params.diagnostics)))

        @lsp.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: Any) -> None:
            return None

        @lsp.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            return None

        @lsp.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

        @lsp.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: Any) -> None:
            return None

        @lsp.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def ask(params: Any) -> None:
            return None

        @lsp.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: Any) -> None:
            return None

        @lsp.feature("pair/status")
        def status(params: Any) -> None:
            self.statuses.append(params)

        @lsp.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return types.ApplyWorkspaceEditResult(applied=True)

    def settings(self) -> dict[str, Any]:
        return {
            "worker": {"provider": "openai", "model": "bench-worker",
                       "baseUrl": self.fake.openai_url},
            "reviewer": {"provider": "anthropic", "model": "bench-reviewer",
                         "baseUrl": self.fake.anthropic_url},
            "cache": {"enabled": self.cache, "directory": str(self.workdir / "cache")},
            "transcript": {"directory": str(self.workdir / "transcripts")},
            **self.extra_settings,
        }

    async def start(self) -> float:
        """Start the server; returns seconds from process start to the initialize result."""
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        started = time.perf_counter()
        profile = ["-m", "cProfile", "-o", str(self.profile_to)] if self.profile_to else []
        await self.lsp.start_io(sys.executable, *profile, "-m", "pair_lsp", "serve", env=env)
        caps = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            workspace=types.WorkspaceClientCapabilities(configuration=True),
            general=types.GeneralClientCapabilities(
                position_encodings=[types.PositionEncodingKind.Utf16]))
        await self.lsp.initialize_async(types.InitializeParams(
            capabilities=caps, initialization_options=self.settings()))
        elapsed = time.perf_counter() - started
        self.lsp.initialized(types.InitializedParams())
        return elapsed

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.lsp.shutdown_async(None), 10)
            self.lsp.exit(None)
        except Exception:
            pass
        await self.lsp.stop()

    def open(self, uri: str, text: str) -> None:
        self.version[uri] = 1
        self.lsp.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def change(self, uri: str, line: int, text: str) -> None:
        self.version[uri] += 1
        self.lsp.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.version[uri]),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, 0), types.Position(line, 0)),
                text=text)]))

    async def command(self, name: str, arg: Any = None) -> Any:
        return await self.lsp.workspace_execute_command_async(types.ExecuteCommandParams(
            command=name, arguments=[arg] if arg is not None else []))

    async def code_action(self, uri: str, line: int) -> Any:
        return await self.lsp.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            context=types.CodeActionContext(diagnostics=[])))

    def server_pid(self) -> int | None:
        server = getattr(self.lsp, "_server", None)
        return getattr(server, "pid", None)


def rng(first: int, lines: int = FUNC_LINES) -> dict[str, Any]:
    return {"start": {"line": first, "character": 0},
            "end": {"line": first + lines, "character": 0}}


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]
