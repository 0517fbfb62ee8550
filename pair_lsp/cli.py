"""`pair-lsp run | serve | doctor | fake-server`: the command-line fronts.

`run` pairs on a file from a terminal: round-by-round progress on stderr, the approved unified
diff on stdout, `--apply` writes the file atomically. Exit codes: 0 approved, 2 not approved,
1 error. Bad input gets one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pair_lsp import __version__

EXIT_APPROVED, EXIT_ERROR, EXIT_NOT_APPROVED = 0, 1, 2


TRUST_HELP = ("trust the project file found near FILE: obey its settings that run a program, "
              "send code or keys elsewhere, or write outside the workspace")


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit 1."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pair-lsp", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"pair-lsp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="pair a worker and a reviewer model on a file")
    run.add_argument("file", type=Path, nargs="?")
    run.add_argument("--resume", metavar="SESSION_ID",
                     help="continue a session from its transcript (same id); -m adds a note")
    run.add_argument("--uncommitted", action="store_true",
                     help="pair on the uncommitted changes across files (instead of FILE)")
    run.add_argument("--base", metavar="REF",
                     help="pair on the changes since the merge base with REF (instead of FILE)")
    run.add_argument("--lines", help="target lines A-B (1-based, inclusive); default: whole file")
    run.add_argument("-m", "--message", "--instruction", dest="instruction", default="",
                     help="what to do (default: improve and fix what is wrong)")
    run.add_argument("--worker", help="PROVIDER:MODEL, e.g. openai:gpt-5-codex or local")
    run.add_argument("--reviewer", help="PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4-5")
    run.add_argument("--worker-url", help="base URL for the worker's API")
    run.add_argument("--reviewer-url", help="base URL for the reviewer's API")
    run.add_argument("--max-rounds", type=int)
    run.add_argument("--max-tokens", type=int, help="per-session token budget")
    run.add_argument("--apply", action="store_true", help="write the approved edit to FILE")
    run.add_argument("--review-only", action="store_true", help="review without editing")
    run.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    run.add_argument("--config", type=Path, help="a .pair-lsp.toml settings file (trusted)")
    run.add_argument("--trust", action="store_true", help=TRUST_HELP)
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", action="store_true",
                       help="listen on TCP instead of stdio (needs --token-file)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=2087)
    serve.add_argument("--token-file", type=Path, metavar="PATH",
                       help="the token a TCP client sends in initializationOptions.token "
                       "(created, mode 0600, if missing)")
    serve.add_argument("--socket", type=Path, metavar="PATH",
                       help="listen on a Unix-domain socket (mode 0600) instead of stdio")
    serve.add_argument("--log-level", default="WARNING")

    doctor = sub.add_parser("doctor", help="show the resolved configuration and test providers")
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--offline", action="store_true", help="do not call the providers")
    doctor.add_argument("--config", type=Path, help="a .pair-lsp.toml settings file (trusted)")
    doctor.add_argument("--trust", action="store_true", help=TRUST_HELP)

    from pair_lsp.changes.cli import add_parsers as add_changes_parsers

    add_changes_parsers(sub)  # `review` and `dismiss` (issue 11)

    sub.add_parser("fake-server", help="run the scripted fake model server (tests, demos); "
                   "`pair-lsp fake-server --help` for its options")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fake-server"]:  # its own options: hand them over untouched
        from pair_lsp.testing.fake_server import main as fake_main

        return int(fake_main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="pair-lsp: %(levelname)s: %(message)s")
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            from pair_lsp.imports import no_gc_while_loading

            with no_gc_while_loading(collect=False):
                from pair_lsp.server.app import serve

            return serve(tcp=args.tcp, host=args.host, port=args.port, socket_path=args.socket,
                         token_file=args.token_file, log_level=args.log_level)
        if args.command == "doctor":
            return asyncio.run(_doctor(args))
        if args.command in ("review", "dismiss"):
            from pair_lsp.changes.cli import run as run_changes

            return run_changes(args, UserError)
    except UserError as exc:
        print(f"pair-lsp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("pair-lsp: interrupted", file=sys.stderr)
        return EXIT_NOT_APPROVED
    return EXIT_ERROR


# --------------------------------------------------------------------- settings


def _settings(args: argparse.Namespace, near: Path) -> Any:
    from pair_lsp.config import (
        env_layer,
        find_project_file,
        parse_role_spec,
        parse_settings,
        project_settings,
    )

    layers: list[Any] = []
    messages: list[str] = []
    try:  # precedence, lowest first: environment, project file, flags
        layers.append(env_layer())
    except ValueError as exc:
        raise UserError(f"PAIR_LSP_WORKER/PAIR_LSP_REVIEWER: {exc}") from None
    project = args.config or find_project_file(near.resolve())
    if project is not None:
        if not project.is_file():
            raise UserError(f"no such settings file: {project}")
        # a file named with --config is the user's own choice; a found one is the project's
        data, errs = project_settings(project, trusted=bool(args.config or args.trust),
                                      how_to_trust="run with --trust")
        layers.append(data)
        messages += errs
    cli: dict[str, Any] = {}
    for role in ("worker", "reviewer"):
        spec = getattr(args, role, None)
        url = getattr(args, f"{role}_url", None)
        if spec or url:
            try:
                role_layer: dict[str, Any] = parse_role_spec(spec) if spec else {}
            except ValueError as exc:
                raise UserError(f"--{role}: {exc}") from None
            if url:
                role_layer["baseUrl"] = url
            cli[role] = role_layer
    if getattr(args, "max_rounds", None) is not None:
        if args.max_rounds < 1:
            raise UserError("--max-rounds must be at least 1")
        cli["maxRounds"] = args.max_rounds
    if getattr(args, "max_tokens", None) is not None:
        cli["maxTokens"] = args.max_tokens
    if getattr(args, "no_cache", False):
        cli["cache"] = {"enabled": False}
    layers.append(cli)
    settings, errs = parse_settings(*layers)
    for message in messages + errs:
        print(f"pair-lsp: warning: {message}", file=sys.stderr)
    return settings


# --------------------------------------------------------------------------- run


def read_text_file(path: Path) -> str:
    """The file's text exactly (line endings kept); UserError for anything unusable."""
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if b"\x00" in data[:8192]:
        raise UserError(f"{path} looks like a binary file; pair-lsp edits text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    if not text.strip():
        raise UserError(f"{path} is empty: there is nothing to pair on")
    return text


def line_range(text: str, spec: str | None) -> tuple[int, int | None]:
    """Code-point offsets for `A-B` (1-based, inclusive lines)."""
    if not spec:
        return 0, None
    try:
        a_str, _, b_str = spec.partition("-")
        a = int(a_str)
        b = int(b_str) if b_str else a
    except ValueError:
        raise UserError(f"--lines wants A-B, e.g. 10-24; got {spec!r}") from None
    lines = text.splitlines(keepends=True)
    if a < 1 or b < a:
        raise UserError(f"--lines {spec}: lines count from 1 and A must not exceed B")
    if b > len(lines):
        raise UserError(f"--lines {spec} is out of range: the file has {len(lines)} lines")
    start = sum(len(ln) for ln in lines[:a - 1])
    end = start + sum(len(ln) for ln in lines[a - 1:b])
    return start, end


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename: never a half-written file."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pair-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _language(path: Path) -> str:
    return {".py": "python", ".js": "javascript", ".ts": "typescript", ".rs": "rust",
            ".go": "go", ".lua": "lua", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java",
            ".rb": "ruby", ".sh": "shellscript", ".md": "markdown"}.get(path.suffix, "plaintext")


def _run(args: argparse.Namespace) -> int:
    if args.uncommitted or args.base:
        from pair_lsp.changes.cli import run_pair

        return run_pair(args, UserError)
    from pair_lsp.loop.session import PairRequest
    from pair_lsp.providers.base import ProviderConfigError
    from pair_lsp.runner import SessionFactory

    if args.resume:
        request, settings, rounds = _resume_request(args)
        args.file = Path(request.path)
        text = request.document
    elif args.file is None:
        raise UserError("run needs a FILE (or --resume SESSION_ID, or --uncommitted / --base "
                        "REF for a change)")
    else:
        text = read_text_file(args.file)
        start, end = line_range(text, args.lines)
        settings = _settings(args, args.file)
        request = PairRequest(document=text, start=start, end=end, path=str(args.file),
                              language_id=_language(args.file), instruction=args.instruction,
                              mode="review" if args.review_only else "pair")
        rounds = None
    factory = SessionFactory(settings, workspace=Path.cwd())
    try:
        session = factory.create(request, session_id=args.resume, max_rounds=rounds)
    except ProviderConfigError as exc:
        raise UserError(str(exc)) from None
    from pair_lsp.imports import prefetch_sdks

    # the worker's SDK first, the reviewers' while the worker's model thinks
    roles = ([settings.worker] if request.mode == "pair" else []) + list(settings.review_roles())
    prefetch_sdks([getattr(factory.provider(r), "sdk_module", "") for r in roles])
    if args.resume and args.instruction.strip():
        session.steer(args.instruction)
    printer = ProgressPrinter(quiet=args.quiet)
    session.sinks.append(printer)
    from pair_lsp.loop import events as ev

    def go_on(event: ev.Event) -> None:  # planApproval = ask: a terminal run goes on
        if isinstance(event, ev.PlanAgreed) and event.waiting:
            session.proceed()
    session.sinks.append(go_on)
    finished = asyncio.run(_drive(session, factory))
    transcript = factory.transcripts.get(session.id)
    if transcript is not None:
        transcript.wait_written()
        if not args.quiet:
            print(f"transcript: {transcript.markdown_path}", file=sys.stderr)
    if finished.status == "failed":
        print(f"pair-lsp: error: {finished.reason}", file=sys.stderr)
        return EXIT_ERROR
    if finished.status != "approved":
        return EXIT_NOT_APPROVED
    if finished.diff:
        sys.stdout.write(finished.diff)
        sys.stdout.flush()
    if args.apply and finished.new_document is not None:
        if read_text_file(args.file) != text:
            raise UserError(f"{args.file} changed while pairing; the edit was not applied")
        write_atomically(args.file, finished.new_document)
        print(f"applied to {args.file}", file=sys.stderr)
    return EXIT_APPROVED


def _resume_request(args: argparse.Namespace) -> tuple[Any, Any, int | None]:
    """`run --resume ID`: the session's request rebuilt from its transcript (the file as it is
    now), the settings, and the rounds to run (--max-rounds, else maxRounds)."""
    from pair_lsp.loop.resume import ResumeError, load_state, resume_request
    from pair_lsp.transcript import transcript_dir

    near = args.file or Path.cwd()
    settings = _settings(args, near)
    try:
        state = load_state(transcript_dir(settings.transcript, Path.cwd()), args.resume)
        path = Path(state.path)
        text = read_text_file(path)
        request = resume_request(state, text, _language(path))
    except ResumeError as exc:
        raise UserError(f"--resume: {exc}") from None
    return request, settings, args.max_rounds


async def _drive(session: Any, factory: Any) -> Any:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, session.cancel)
        loop.add_signal_handler(signal.SIGTERM, session.cancel)
    except (NotImplementedError, RuntimeError):
        pass
    try:
        return await session.result()
    finally:
        await factory.aclose()


class ProgressPrinter:
    """Renders session events as short lines on stderr."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.started = time.monotonic()

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr,
                  flush=True)

    def __call__(self, event: Any) -> None:
        from pair_lsp.loop import events as ev

        if isinstance(event, ev.SessionStarted):
            who = (f"worker {event.worker}, " if event.worker else "") + \
                f"reviewer {event.reviewer}"
            self._say(f"pairing on {event.path} lines {event.target_lines[0]}-"
                      f"{event.target_lines[1]} ({who}, up to {event.max_rounds} rounds)")
            for note in event.notes:
                self._say(f"note: {note}")
        elif isinstance(event, ev.RoundStarted):
            self._say(f"round {event.round} · {event.role} ({event.model}) …")
        elif isinstance(event, ev.Proposal):
            changed = event.diff.count("\n+") + event.diff.count("\n-")
            self._say(f"round {event.round} · worker proposed {len(event.applied_blocks)} "
                      f"edit(s), {changed} changed line(s)")
        elif isinstance(event, ev.Declined):
            self._say(f"round {event.round} · worker declined {event.finding_id}: "
                      f"{event.reason}")
        elif isinstance(event, ev.Reviewed):
            self._say(f"round {event.round} · reviewer: {event.verdict}"
                      + (f" — {len(event.findings)} finding(s)" if event.findings else ""))
            for f in event.findings:
                self._say(f"    {f.id} {f.severity}: {f.message}")
        elif isinstance(event, ev.CallUsage):
            u = event.usage
            src = ", from cache" if event.from_cache else ""
            self._say(f"    {event.role}: {u.input_tokens} in ({u.cached_tokens} cached), "
                      f"{u.output_tokens} out, {event.latency_ms / 1000:.1f}s{src}")
        elif isinstance(event, ev.Notice):
            self._say(f"{event.level}: {event.message}")
        elif isinstance(event, ev.ProofRan):
            self._say(f"round {event.round} · {event.message}")
        elif isinstance(event, ev.ReviewerVerdict):
            self._say(f"round {event.round} · reviewer {event.model}: {event.verdict}"
                      + (f" — {event.findings} finding(s)" if event.findings else ""))
        elif isinstance(event, ev.PlanProposed):
            self._say(f"plan · attempt {event.attempt} · worker wrote a plan "
                      f"({event.plan.count(chr(10)) + 1} lines)")
        elif isinstance(event, ev.PlanReviewed):
            self._say(f"plan · attempt {event.attempt} · reviewer: {event.verdict}"
                      + (f" — {len(event.findings)} finding(s)" if event.findings else ""))
        elif isinstance(event, ev.PlanAgreed) and not self.quiet:
            print(event.plan, file=sys.stderr, flush=True)
        elif isinstance(event, ev.Steered):
            self._say(f"note from you for the next turn: {event.note}")
        elif isinstance(event, ev.Finished):
            self._say(f"{event.status} ({event.reason}) after {event.rounds} round(s), "
                      f"{event.usage.total} tokens")


# ------------------------------------------------------------------------ doctor


async def _doctor(args: argparse.Namespace) -> int:
    from pair_lsp.config import settings_to_dict
    from pair_lsp.loop.session import PairRequest  # noqa: F401 - import check
    from pair_lsp.providers.base import Message, ModelRequest, ProviderError
    from pair_lsp.providers.registry import local_available, make_provider
    from pair_lsp.secrets import key_status

    settings = _settings(args, Path.cwd())
    report: dict[str, Any] = {"version": __version__, "python": sys.version.split()[0],
                              "local_model_installed": local_available(),
                              "settings": settings_to_dict(settings), "roles": {}}
    ok = True
    pinged: dict[str, dict[str, Any]] = {}  # by the model actually used
    for role_name in ("worker", "reviewer"):
        role = getattr(settings, role_name)
        entry: dict[str, Any] = {"provider": role.provider, "model": role.model,
                                 "baseUrl": role.baseUrl,
                                 "key": key_status(role, command_run=not args.offline)}
        if args.offline and role.apiKeyCommand:  # offline runs no program: the key is not needed
            entry["uses"], entry["notes"] = role.label, []
            report["roles"][role_name] = entry
            continue
        try:
            provider = make_provider(role, local_fallback=settings.localFallback)
            entry["uses"] = provider.info.label
            entry["notes"] = provider.info.notes
            if not args.offline and provider.info.label in pinged:  # the same model: once
                entry.update(pinged[provider.info.label])
            elif not args.offline:
                started = time.monotonic()
                request = ModelRequest(role="worker", system="Reply with the word OK.",
                                       messages=(Message("user", "ping"),),
                                       max_output_tokens=16)
                async for _item in provider.stream(request):
                    pass
                entry["answers"] = True
                entry["latency_ms"] = round((time.monotonic() - started) * 1000)
                pinged[provider.info.label] = {"answers": True,
                                               "latency_ms": entry["latency_ms"]}
                await provider.aclose()
        except ProviderError as exc:
            entry["answers"] = False
            entry["error"] = str(exc)
            ok = False
        report["roles"][role_name] = entry
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"pair-lsp {report['version']} (Python {report['python']})")
        print(f"local model installed: {'yes' if report['local_model_installed'] else 'no'}")
        for name, entry in report["roles"].items():
            configured = f"{entry['provider']}:{entry['model']}"
            used = entry.get("uses", configured)
            # say which model answered: a fallback is not the configured provider answering
            who = "" if used == configured else f" · not used: {used} stands in"
            ms = f" in {entry['latency_ms']} ms" if "latency_ms" in entry else ""
            if entry.get("answers"):
                status = f"{used} answers{ms}" if who else f"answers{ms}"
            else:
                status = "not checked (--offline)" if "error" not in entry else \
                    f"FAILS: {entry['error']}"
            print(f"{name}: {configured}"
                  + (f" at {entry['baseUrl']}" if entry["baseUrl"] else "")
                  + f" · key: {entry['key']}{who} · {status}")
            for note in entry.get("notes", []):
                print(f"  note: {note}")
        print(f"maxRounds: {settings.maxRounds} · maxTokens: {settings.maxTokens} · cache: "
              f"{'on' if settings.cache.enabled else 'off'}")
    return 0 if ok else 1
