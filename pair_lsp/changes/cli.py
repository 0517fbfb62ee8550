"""`pair-lsp review` (the reviewer on a change: uncommitted, staged, against a base, one commit)
and `pair-lsp dismiss` (remember that a finding is not to be raised again).

`review` exits 0 when nothing is at or above the severity threshold, 2 when something is, 1 on
an error. With `--format json|sarif` stdout holds the report alone; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from pair_lsp.loop.protocol import SEVERITIES

EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS = 0, 1, 2


def add_parsers(sub: Any) -> None:
    from pair_lsp.cli import TRUST_HELP

    review = sub.add_parser("review", help="review a change (uncommitted, staged, a branch, a "
                            "commit) with the reviewer model")
    scope = review.add_mutually_exclusive_group(required=True)
    scope.add_argument("--uncommitted", action="store_true",
                       help="staged, unstaged and untracked changes against HEAD")
    scope.add_argument("--staged", action="store_true", help="the staged changes")
    scope.add_argument("--base", metavar="REF",
                       help="changes since the merge base with REF, plus uncommitted work")
    scope.add_argument("--commit", metavar="SHA", help="the changes of one commit")
    review.add_argument("-m", "--message", "--instruction", dest="instruction", default="",
                        help="what to look for (default: what is wrong with the change)")
    review.add_argument("--min-severity", choices=SEVERITIES,
                        help="hide findings below this (default: pair.minSeverity, info)")
    review.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    review.add_argument("--reviewer", help="PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4-5")
    review.add_argument("--reviewer-url", help="base URL for the reviewer's API")
    review.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    review.add_argument("--config", type=Path, help="a .pair-lsp.toml settings file (trusted)")
    review.add_argument("--trust", action="store_true", help=TRUST_HELP)
    review.add_argument("-C", dest="directory", type=Path, default=None,
                        help="run in this directory (default: the current one)")
    review.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    dismiss = sub.add_parser("dismiss", help="dismiss a finding: the reviewer is told it was "
                             "decided and it is filtered if raised again "
                             "(.pair/dismissed.jsonl)")
    dismiss.add_argument("finding", nargs="?", help="a finding id (F3) from --report")
    dismiss.add_argument("--report", type=Path, help="a `pair-lsp review --format json` report")
    dismiss.add_argument("--file", help="the finding's file (workspace-relative)")
    dismiss.add_argument("--message", help="the finding's message")
    dismiss.add_argument("--quote", default="", help="the code the finding quotes")
    dismiss.add_argument("--reason", default="", help="why it is dismissed")
    dismiss.add_argument("--list", action="store_true", help="list the dismissals")
    dismiss.add_argument("-C", dest="directory", type=Path, default=None)


def run(args: argparse.Namespace, user_error: type[Exception]) -> int:
    """Dispatch `review` / `dismiss`; problems are raised as ``user_error`` (one line, exit 1)."""
    if args.command == "review":
        return _review(args, user_error)
    return _dismiss(args, user_error)


def _scope(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.staged:
        return "staged", None
    if args.base is not None:
        return "base", args.base
    if args.commit is not None:
        return "commit", args.commit
    return "uncommitted", None


def _review(args: argparse.Namespace, user_error: type[Exception]) -> int:
    from pair_lsp.changes.git import ChangesError, collect
    from pair_lsp.changes.report import render
    from pair_lsp.changes.review import review_changes
    from pair_lsp.cli import _settings
    from pair_lsp.providers.base import ProviderConfigError
    from pair_lsp.runner import SessionFactory

    where = (args.directory or Path.cwd()).resolve()
    settings = _settings(args, where)
    if args.min_severity:
        settings = dataclasses.replace(settings, minSeverity=args.min_severity)
    scope, ref = _scope(args)
    try:
        changes = collect(where, scope, ref, max_files=settings.changes.maxFiles)
    except ChangesError as exc:
        raise user_error(str(exc)) from None
    factory = SessionFactory(settings, workspace=changes.root)
    printer = _Progress(args.quiet)
    try:
        review = review_changes(changes, settings, factory, instruction=args.instruction,
                                sinks=[printer])
    except ProviderConfigError as exc:
        raise user_error(str(exc)) from None
    result = asyncio.run(_drive(review, factory))
    transcript = factory.transcripts.get(review.id)
    if transcript is not None:
        transcript.wait_written()
        printer.say(f"transcript: {transcript.markdown_path}")
    sys.stdout.write(render(result, args.format))
    sys.stdout.flush()
    if result.status in ("failed", "cancelled"):
        print(f"pair-lsp: error: {result.reason}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN


def run_pair(args: argparse.Namespace, user_error: type[Exception]) -> int:
    """`pair-lsp run --uncommitted | --base REF -m TEXT [--apply]`: the pair loop on a change.
    The approved diff goes to stdout; `--apply` writes every file or none."""
    from pair_lsp.changes.apply import write_change_set
    from pair_lsp.changes.git import ChangesError, collect
    from pair_lsp.changes.pairing import ChangesPair
    from pair_lsp.cli import _settings
    from pair_lsp.providers.base import ProviderConfigError
    from pair_lsp.runner import SessionFactory
    from pair_lsp.transcript import Transcript, transcript_dir

    if args.file is not None:
        raise user_error("give FILE or --uncommitted / --base REF, not both")
    where = Path.cwd().resolve()
    settings = _settings(args, where)
    scope, ref = ("base", args.base) if args.base else ("uncommitted", None)
    try:
        changes = collect(where, scope, ref, max_files=settings.changes.maxFiles)
    except ChangesError as exc:
        raise user_error(str(exc)) from None
    factory = SessionFactory(settings, workspace=changes.root)
    printer = _Progress(args.quiet)
    try:
        pair = ChangesPair(changes, settings, factory.provider(settings.worker),
                           factory.provider(settings.reviewer), factory.cache,
                           instruction=args.instruction, sinks=[printer],
                           max_rounds=args.max_rounds)
    except ProviderConfigError as exc:
        raise user_error(str(exc)) from None
    transcript = None
    if settings.transcript.enabled:
        transcript = Transcript(transcript_dir(settings.transcript, changes.root), pair.id)
        pair.sinks.insert(0, transcript)
    result = asyncio.run(_drive(pair, factory))
    if transcript is not None:
        transcript.wait_written()
        printer.say(f"transcript: {transcript.markdown_path}")
    if result.status == "failed":
        print(f"pair-lsp: error: {result.reason}", file=sys.stderr)
        return EXIT_ERROR
    if result.status != "approved":
        return EXIT_FINDINGS
    if result.diff:
        sys.stdout.write(result.diff)
        sys.stdout.flush()
    if args.apply and result.proposals:
        try:
            written = write_change_set(changes.root, result.proposals)
        except ChangesError as exc:
            raise user_error(str(exc)) from None
        printer.say("applied to " + ", ".join(written))
    return EXIT_CLEAN


async def _drive(review: Any, factory: Any) -> Any:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, review.cancel)
        loop.add_signal_handler(signal.SIGTERM, review.cancel)
    except (NotImplementedError, RuntimeError):
        pass
    try:
        return await review.run()
    finally:
        await factory.aclose()


class _Progress:
    """A change review's events as short lines on stderr."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr,
                  flush=True)

    def __call__(self, event: Any) -> None:
        from pair_lsp.loop import events as ev

        if isinstance(event, ev.SessionStarted):
            self.say(f"reviewing changes in {event.path} (reviewer {event.reviewer})")
            for note in event.notes:
                self.say(f"note: {note}")
        elif isinstance(event, ev.Notice):
            self.say(f"{event.level}: {event.message}")
        elif isinstance(event, ev.FindingFound):
            f = event.finding
            self.say(f"{f.file}:{f.line}: {f.severity} {f.id}: {f.message}")
        elif isinstance(event, ev.CallUsage):
            u = event.usage
            src = ", from cache" if event.from_cache else ""
            self.say(f"    part {event.round}: {u.input_tokens} in ({u.cached_tokens} cached), "
                     f"{u.output_tokens} out, {event.latency_ms / 1000:.1f}s{src}")
        elif isinstance(event, ev.RoundStarted) and event.role == "worker":
            self.say(f"round {event.round} · worker ({event.model}) …")
        elif isinstance(event, ev.Declined):
            self.say(f"round {event.round} · worker declined {event.finding_id}: "
                     f"{event.reason}")
        elif isinstance(event, ev.Reviewed) and event.round and \
                event.verdict in ("approve", "revise"):
            self.say(f"round {event.round} · reviewer: {event.verdict}")
        elif isinstance(event, ev.Finished):
            self.say(event.summary or f"{event.status} ({event.reason}) after "
                     f"{event.rounds} round(s), {event.usage.total} tokens")


def _dismiss(args: argparse.Namespace, user_error: type[Exception]) -> int:
    from pair_lsp.changes.dismissals import Dismissals
    from pair_lsp.changes.git import ChangesError, repo_root
    from pair_lsp.loop.protocol import Finding

    where = (args.directory or Path.cwd()).resolve()
    try:
        root = repo_root(where)
    except ChangesError:
        root = where
    store = Dismissals(root)
    for problem in store.problems:
        print(f"pair-lsp: warning: {problem}", file=sys.stderr)
    if args.list:
        for d in store.items:
            print(f"{d.fingerprint}  {d.file}: {d.message}" + (f" — {d.reason}" if d.reason
                                                                 else ""))
        return EXIT_CLEAN
    if args.report is not None:
        if not args.finding:
            raise user_error("name the finding to dismiss, e.g. `pair-lsp dismiss --report "
                             "review.json F2`")
        finding = _from_report(args.report, args.finding, user_error)
    elif args.file and args.message:
        finding = Finding("F0", args.message, quote=args.quote, file=args.file)
    else:
        raise user_error("say which finding: `--report REPORT.json F2`, or `--file PATH "
                         "--message TEXT [--quote CODE]`")
    item = store.add(finding, args.reason)
    print(f"dismissed {item.fingerprint} ({item.file}: {item.message}) in {store.path}",
          file=sys.stderr)
    return EXIT_CLEAN


def _from_report(path: Path, fid: str, user_error: type[Exception]) -> Any:
    from pair_lsp.loop.protocol import Finding

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["findings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise user_error(f"{path} is not a `pair-lsp review --format json` report "
                         f"({exc})") from None
    for raw in items if isinstance(items, list) else []:
        if isinstance(raw, dict) and str(raw.get("id", "")).upper() == fid.upper():
            return Finding(str(raw["id"]), str(raw.get("message", "")),
                           quote=str(raw.get("quote") or ""), file=str(raw.get("file") or ""))
    raise user_error(f"{path} has no finding {fid}")
