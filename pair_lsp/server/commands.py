"""The `pair.*` commands (workspace/executeCommand): argument checks, then the session manager.

Arguments are one JSON object (see docs/lsp-surface.md). Anything malformed is answered with
InvalidParams and a message that says exactly what is wrong; the server keeps running.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from pair_lsp import __version__
from pair_lsp.config import settings_to_dict
from pair_lsp.loop.resume import ResumeError
from pair_lsp.providers.base import ProviderConfigError
from pair_lsp.secrets import key_status
from pair_lsp.server.core import PairServer

COMMANDS = ("pair.selection", "pair.document", "pair.review", "pair.cancel", "pair.apply",
            "pair.showTranscript", "pair.status", "pair.proposal", "pair.markApplied",
            "pair.discard", "pair.continue", "pair.retry", "pair.dismiss", "pair.acceptHunk",
            "pair.rejectHunk", "pair.steer", "pair.proceed")


def invalid(message: str) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(message)


def _obj(command: str, args: tuple[Any, ...], required: bool = True) -> dict[str, Any]:
    if not args:
        if required:
            raise invalid(f"{command} expects one argument object, got none")
        return {}
    if len(args) > 1:
        raise invalid(f"{command} expects one argument object, got {len(args)} arguments")
    if not isinstance(args[0], dict):
        raise invalid(f"{command} expects an object argument, got {type(args[0]).__name__}")
    return args[0]


def _str(command: str, obj: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise invalid(f"{command}: missing '{key}'")
        return None
    if not isinstance(value, str):
        raise invalid(f"{command}: '{key}' must be a string, got {type(value).__name__}")
    return value


def _position(command: str, raw: Any, what: str) -> types.Position:
    if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k), int) and not isinstance(raw.get(k), bool)
            and 0 <= raw[k] < 2**31 for k in ("line", "character")):
        raise invalid(f"{command}: range.{what} must be {{line, character}} with whole "
                      f"numbers >= 0, got {raw!r}")
    return types.Position(raw["line"], raw["character"])


def _document(ls: PairServer, command: str, uri: str) -> Any:
    doc = ls.open_document(uri)
    if doc is None:
        raise invalid(f"{command}: unknown document {uri} (open it in the editor first)")
    return doc


def _range(ls: PairServer, command: str, uri: str, raw: Any) -> tuple[int, int]:
    if not isinstance(raw, dict):
        raise invalid(f"{command}: 'range' must be {{start, end}}, got {raw!r}")
    start = _position(command, raw.get("start"), "start")
    end = _position(command, raw.get("end"), "end")
    if (end.line, end.character) < (start.line, start.character):
        raise invalid(f"{command}: range end is before its start")
    index = ls.command_index(uri)  # the text the client meant (see PairServer.command_document)
    try:
        a = index.offset(start, strict=True)
        b = index.offset(end, strict=True)
    except ValueError as exc:
        raise invalid(f"{command}: range is past the end of the document: {exc}") from None
    return _whole_lines(index, a, b)


def _whole_lines(index: Any, a: int, b: int) -> tuple[int, int]:
    """Widen a selection to whole lines: models edit lines, not fragments."""
    first = index.line_of(a)
    start = index.line_span(first)[0]
    last_line = index.line_of(b)
    if b > a and b == index.line_span(last_line)[0]:
        return start, b  # the selection ends at the start of a line: stop there
    return start, index.line_span(last_line)[1]


def _instruction(command: str, obj: dict[str, Any]) -> str:
    return (_str(command, obj, "instruction") or "").strip()


def _diagnostics(command: str, obj: dict[str, Any]) -> tuple[str, ...]:
    """Other tools' diagnostics the client passes along: `[{range, message, source?}]`."""
    raw = obj.get("diagnostics")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid(f"{command}: 'diagnostics' must be a list of LSP diagnostics")
    out = []
    for d in raw[:50]:
        if not isinstance(d, dict) or not isinstance(d.get("message"), str):
            raise invalid(f"{command}: each diagnostic needs a 'message' string, got {d!r}")
        rng = d.get("range")
        start = rng.get("start") if isinstance(rng, dict) else None
        line = start.get("line") if isinstance(start, dict) else None
        where = f"line {line + 1}: " if isinstance(line, int) and \
            not isinstance(line, bool) else ""
        source = f"[{d['source']}] " if isinstance(d.get("source"), str) else ""
        out.append(f"{where}{source}{d['message']}")
    return tuple(out)


async def _start(ls: PairServer, command: str, uri: str, start: int, end: int | None,
                 mode: str, obj: dict[str, Any]) -> dict[str, Any]:
    try:
        return await ls.sessions.run(uri, start, end, mode=mode,
                                     instruction=_instruction(command, obj),
                                     diagnostics=_diagnostics(command, obj),
                                     request_id=ls.protocol.msg_id)
    except ProviderConfigError as exc:
        ls.show_error(f"Pair: {exc}")
        return {"sessionId": None, "status": "failed", "rounds": 0, "findings": [],
                "summary": "", "reason": str(exc)}


def register(ls: PairServer) -> None:
    @ls.command("pair.selection")
    async def pair_selection(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.selection", args)
        uri = _str("pair.selection", obj, "uri", required=True) or ""
        _document(ls, "pair.selection", uri)
        if "range" not in obj:
            raise invalid("pair.selection: missing 'range' (use pair.document for a whole file)")
        start, end = _range(ls, "pair.selection", uri, obj["range"])
        return await _start(ls, "pair.selection", uri, start, end, "pair", obj)

    @ls.command("pair.document")
    async def pair_document(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.document", args)
        uri = _str("pair.document", obj, "uri", required=True) or ""
        _document(ls, "pair.document", uri)
        return await _start(ls, "pair.document", uri, 0, None, "pair", obj)

    @ls.command("pair.review")
    async def pair_review(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.review", args)
        uri = _str("pair.review", obj, "uri", required=True) or ""
        _document(ls, "pair.review", uri)
        start, end = (_range(ls, "pair.review", uri, obj["range"])
                      if obj.get("range") is not None else (0, None))
        return await _start(ls, "pair.review", uri, start, end, "review", obj)

    @ls.command("pair.cancel")
    def pair_cancel(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.cancel", args, required=False)
        sid = _str("pair.cancel", obj, "sessionId")
        uri = _str("pair.cancel", obj, "uri")
        if sid and ls.sessions.get(sid) is None and sid not in ls.change_runs:
            raise invalid(f"pair.cancel: unknown session {sid}")
        cancelled = ls.sessions.cancel(session_id=sid, uri=uri)
        root = ls.config.workspace_root()
        for run_id, run in list(ls.change_runs.items()):  # a change review or pairing
            if (sid is None or run_id == sid) and \
                    (uri is None or (root is not None and uri == root.as_uri())):
                run.cancel()
                cancelled.append(run_id)
        return {"cancelled": cancelled}

    def _record(command: str, args: tuple[Any, ...], required: bool = True) -> Any:
        obj = _obj(command, args, required=required)
        sid = _str(command, obj, "sessionId", required=required)
        if sid is None:
            record = ls.sessions.latest(_str(command, obj, "uri"))
            if record is None:
                raise invalid(f"{command}: there is no pair session yet")
            return record
        record = ls.sessions.get(sid)
        if record is None:
            raise invalid(f"{command}: unknown session {sid}")
        return record

    @ls.command("pair.apply")
    async def pair_apply(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.apply", args)
        obj = _obj("pair.apply", args)
        if record.running:
            return {"applied": False, "reason": "the session is still running"}
        if record.has_proposal and not record.approved and obj.get("confirmed") is not True \
                and not await ls.sessions.confirm_unapproved(record):
            return {"applied": False, "reason": "not confirmed"}
        applied, reason = await ls.sessions.apply(record)
        if not applied:
            ls.show_error(f"Pair: could not apply: {reason}")
        return {"applied": applied, **({"reason": reason} if reason else {})}

    @ls.command("pair.discard")
    def pair_discard(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.discard", args)
        if record.running:
            record.session.cancel()
        ls.sessions.discard(record)
        return {"discarded": True}

    @ls.command("pair.continue")
    async def pair_continue(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.continue", args)
        rounds = obj.get("rounds", 2)
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= 20:
            raise invalid(f"pair.continue: 'rounds' must be a whole number 1-20, got {rounds!r}")
        sid = _str("pair.continue", obj, "sessionId")
        if sid and ls.sessions.get(sid) is None:  # the server restarted: from the transcript
            try:
                return await ls.sessions.resume(sid, rounds,
                                                _str("pair.continue", obj, "instruction"))
            except ResumeError as exc:
                raise invalid(f"pair.continue: unknown session {sid} ({exc})") from None
        record = _record("pair.continue", args)
        if record.running:
            raise invalid("pair.continue: the session is still running")
        if ls.open_document(record.uri) is None:
            raise invalid(f"pair.continue: open {record.uri} in the editor first")
        instruction = _str("pair.continue", obj, "instruction")
        result = await ls.sessions.continue_session(record, rounds, instruction)
        if result is None:
            raise invalid("pair.continue: the code under this session changed; start a new "
                          "session instead")
        return result

    @ls.command("pair.retry")
    async def pair_retry(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.retry", args)
        if record.running:
            raise invalid("pair.retry: the session is still running")
        if ls.open_document(record.uri) is None:
            raise invalid(f"pair.retry: open {record.uri} in the editor first")
        result = await ls.sessions.retry(record)
        if result is None:
            raise invalid("pair.retry: the document is not open")
        return result

    @ls.command("pair.dismiss")
    def pair_dismiss(ls: PairServer, *args: Any) -> dict[str, Any]:
        obj = _obj("pair.dismiss", args)
        uri = _str("pair.dismiss", obj, "uri", required=True) or ""
        fid = _str("pair.dismiss", obj, "findingId", required=True) or ""
        reason = _str("pair.dismiss", obj, "reason") or ""
        sid = _str("pair.dismiss", obj, "sessionId")
        record = ls.sessions.get(sid) if sid else None
        if record is None:
            owner = next((a.session_id for a in ls.findings.get(uri) if a.finding.id == fid),
                         None)
            record = ls.sessions.get(owner) if owner else None
        changes = getattr(ls, "change_findings", None)  # a change review's finding (changes.py)
        if record is None and changes is not None and changes.dismiss(
                uri, fid, reason, obj.get("remember") is not False, sid):
            return {"dismissed": True}
        if not ls.sessions.dismiss(record, uri, fid, reason):
            raise invalid(f"pair.dismiss: no finding {fid} in {uri}")
        return {"dismissed": True}

    @ls.command("pair.steer")
    def pair_steer(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.steer", args)
        message = (_str("pair.steer", _obj("pair.steer", args), "message", required=True)
                   or "").strip()
        if not message:
            raise invalid("pair.steer: 'message' is empty")
        ls.sessions.steer(record, message)
        return {"ok": True}

    @ls.command("pair.proceed")
    def pair_proceed(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.proceed", args)
        plan = _str("pair.proceed", _obj("pair.proceed", args), "plan")
        if not ls.sessions.proceed(record, plan):
            raise invalid("pair.proceed: the session is not waiting for its plan")
        return {"ok": True}

    @ls.command("pair.markApplied")
    def pair_mark_applied(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.markApplied", args)
        ls.sessions.mark_applied(record)
        return {"ok": True}

    @ls.command("pair.proposal")
    def pair_proposal(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.proposal", args, required=False)
        hunks = ls.sessions.current_hunks(record)
        original = ls.current_text(record.uri) or ""
        live = ls.sessions.running_hunks(record) if hunks is None else None
        if live:  # a running session's candidate so far: "pending" hunks, for a live view
            from pair_lsp.loop.textops import apply_edits

            index = ls.line_index(record.uri)
            return {"sessionId": record.id, "uri": record.uri,
                    "version": ls.document_version(record.uri), "status": "running",
                    "approved": False, "original": original,
                    "proposed": apply_edits(original, live),
                    "hunks": [{"index": i + 1, "status": "pending", "newText": e.new_text,
                               "range": index.range(e.start, e.end)}
                              for i, e in enumerate(live)]}
        if hunks is None:
            raise invalid("pair.proposal: no applicable proposal (none yet, already used, or "
                          "the code changed)")
        from pair_lsp.loop.textops import apply_edits

        index = ls.line_index(record.uri)
        current = dict(hunks)
        out = []
        for i, status in enumerate(record.hunks()):
            edit = current.get(i)
            out.append({"index": i + 1, "status": status,
                        "range": index.range(edit.start, edit.end) if edit else None,
                        "newText": (edit or record.finished.edits[i]).new_text,
                        **({"reason": record.hunk_reasons[i]} if i in record.hunk_reasons
                           else {})})
        return {"sessionId": record.id, "uri": record.uri,
                "version": ls.document_version(record.uri),
                "status": record.finished.status if record.finished else "running",
                "approved": record.approved, "original": original,
                "proposed": apply_edits(original, [e for _, e in hunks]), "hunks": out}

    def _hunk(command: str, args: tuple[Any, ...]) -> tuple[Any, int, dict[str, Any]]:
        record = _record(command, args)
        obj = _obj(command, args)
        hunk = obj.get("hunk")
        total = len(record.hunks())
        if not isinstance(hunk, int) or isinstance(hunk, bool) or not 1 <= hunk <= total:
            raise invalid(f"{command}: 'hunk' must be a hunk number 1-{total}, got {hunk!r}")
        if record.hunks()[hunk - 1] != "open":
            raise invalid(f"{command}: hunk {hunk} is already {record.hunks()[hunk - 1]}")
        return record, hunk - 1, obj

    @ls.command("pair.acceptHunk")
    async def pair_accept_hunk(ls: PairServer, *args: Any) -> dict[str, Any]:
        record, hunk, _ = _hunk("pair.acceptHunk", args)
        applied, reason = await ls.sessions.accept_hunk(record, hunk)
        if not applied:
            ls.show_error(f"Pair: could not apply hunk {hunk + 1}: {reason}")
        return {"applied": applied, **({"reason": reason} if reason else {})}

    @ls.command("pair.rejectHunk")
    def pair_reject_hunk(ls: PairServer, *args: Any) -> dict[str, Any]:
        record, hunk, obj = _hunk("pair.rejectHunk", args)
        reason = (_str("pair.rejectHunk", obj, "reason") or "").strip()
        ls.sessions.reject_hunk(record, hunk, reason[:2000])
        return {"rejected": True}

    @ls.command("pair.showTranscript")
    async def pair_show_transcript(ls: PairServer, *args: Any) -> dict[str, Any]:
        record = _record("pair.showTranscript", args, required=False)
        await ls.transcript_ready(record.id)
        path = ls.transcript_path(record.id)
        if path is None:
            raise invalid("pair.showTranscript: transcripts are disabled "
                          "(pair.transcript.enabled) or this one could not be written")
        from pygls.uris import from_fs_path

        uri = from_fs_path(path) or path
        try:
            await ls.window_show_document_async(types.ShowDocumentParams(uri=uri,
                                                                         take_focus=True))
        except Exception:  # the path is still returned for clients without showDocument
            pass
        return {"path": path, "uri": uri}

    @ls.command("pair.status")
    def pair_status(ls: PairServer, *args: Any) -> dict[str, Any]:
        s = ls.settings
        return {
            "version": __version__,
            "sessions": [{**r.summary(), "round": r.session.round,
                          "maxRounds": r.session.max_rounds, "role": r.session.role}
                         for r in ls.sessions.records.values()],
            "settings": settings_to_dict(s),
            "keys": {"worker": key_status(s.worker), "reviewer": key_status(s.reviewer)},
            "settingsMessages": list(ls.settings_messages),
        }
