"""Code actions, in the order the user should meet them:

1. the approved edit (preferred) on every line of its session's target, re-based to the current
   text or shown disabled when withdrawn; an unapproved proposal instead asks before applying;
2. "Preview edit" for clients that render one;
3. per pair finding: "Fix" (a new paid session; not where an approved edit already fixes the
   lines) and "Dismiss";
4. "Pair on selection…" on a non-empty selection, for clients that ask for the instruction.

Edits are computed at resolve time (codeAction/resolve), so listing stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from pair_lsp.server.core import PairServer
    from pair_lsp.server.sessions import Record

APPLY_APPROVED = "Pair: Apply approved edit"
APPLY_PROPOSAL = "Pair: Apply unapproved edit…"
PREVIEW = "Pair: Preview edit"
PAIR_ON_SELECTION = "Pair on selection…"
PAIR_ON_SELECTION_COMMAND = "pair.pairOnSelection"  # client side: asks for the instruction


def cut(text: str, limit: int = 60) -> str:
    """The first line of ``text``, cut at a word boundary with "…" when longer than limit."""
    line = (text.strip().splitlines() or [""])[0].strip()
    if len(line) <= limit:
        return line
    head = line[:limit + 1].rsplit(" ", 1)[0] if " " in line[:limit + 1] else line[:limit]
    return head.rstrip(" ,;:.—-") + "…"


def _offsets(index: Any, rng: types.Range) -> tuple[int, int]:
    a = index.offset(rng.start)
    b = index.offset(rng.end)
    return (a, b) if a <= b else (b, a)


def _rounds(record: Record) -> str:
    n = record.rounds
    return f"{n} round{'s' if n != 1 else ''}"


def _proposal_actions(ls: PairServer, uri: str, a: int, b: int) -> tuple[list[types.CodeAction],
                                                                         bool]:
    """The newest proposal covering [a, b]; True when it is an approved, applicable edit."""
    for record in reversed(ls.sessions.for_uri(uri)):
        if not record.has_proposal or record.finished is None:
            continue
        lo, hi = record.span
        if not (lo <= b and a <= max(hi, lo + 1)):
            continue
        approved = record.approved
        if ls.sessions.current_edits(record) is None:
            if not ls.supports_disabled_actions():
                return [], False
            return [types.CodeAction(
                title=APPLY_APPROVED if approved else APPLY_PROPOSAL,
                kind=types.CodeActionKind.RefactorRewrite,
                disabled=types.CodeActionDisabled(
                    reason="The code changed since the proposal; run the pair again"))], False
        out: list[types.CodeAction] = []
        data = {"sessionId": record.id, "uri": uri}
        if approved:
            action = types.CodeAction(
                title=f"{APPLY_APPROVED} ({_rounds(record)})",
                kind=types.CodeActionKind.RefactorRewrite, is_preferred=True, data=data)
            out.append(action if ls.supports_resolve("edit") else resolve(ls, action))
        else:
            open_count = len(record.open_findings())
            note = f"{open_count} finding{'s' if open_count != 1 else ''} open" \
                if open_count else "not approved"
            out.append(types.CodeAction(
                title=f"{APPLY_PROPOSAL} ({note})", kind=types.CodeActionKind.RefactorRewrite,
                command=types.Command(title=APPLY_PROPOSAL, command="pair.apply",
                                      arguments=[{"sessionId": record.id}])))
        if "pair.preview" in ls.client_commands:
            out.append(types.CodeAction(
                title=PREVIEW, kind=types.CodeActionKind.RefactorRewrite,
                command=types.Command(title=PREVIEW, command="pair.preview",
                                      arguments=[{"sessionId": record.id}])))
        return out, approved
    return [], False


def list_actions(ls: PairServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    if ls.open_document(uri) is None:
        return []
    index = ls.line_index(uri)
    a, b = _offsets(index, params.range)
    actions, approved_here = _proposal_actions(ls, uri, a, b)
    for diag in params.context.diagnostics:
        if diag.source != "pair" or not isinstance(diag.code, str) or not diag.code:
            continue
        data = diag.data if isinstance(diag.data, dict) else {}
        if not approved_here:  # an approved edit on these lines is the fix already
            span = _line_range(index, diag.range)
            actions.append(types.CodeAction(
                title=f"Pair: Fix {diag.code} — {cut(diag.message)}",
                kind=types.CodeActionKind.QuickFix, diagnostics=[diag],
                command=types.Command(title="Pair: fix finding", command="pair.selection",
                                      arguments=[{"uri": uri, "range": _range_json(span),
                                                  "instruction": "Fix this review finding: "
                                                  + diag.message.split("\n— ")[0]}])))
        dismiss: dict[str, Any] = {"uri": uri, "findingId": diag.code}
        if isinstance(data.get("sessionId"), str):
            dismiss["sessionId"] = data["sessionId"]
        actions.append(types.CodeAction(
            title=f"Pair: Dismiss {diag.code}", kind=types.CodeActionKind.QuickFix,
            diagnostics=[diag],
            command=types.Command(title=f"Pair: Dismiss {diag.code}", command="pair.dismiss",
                                  arguments=[dismiss])))
    if b > a and PAIR_ON_SELECTION_COMMAND in ls.client_commands:
        actions.append(types.CodeAction(
            title=PAIR_ON_SELECTION, kind=types.CodeActionKind.Refactor,
            command=types.Command(title=PAIR_ON_SELECTION, command=PAIR_ON_SELECTION_COMMAND,
                                  arguments=[{"uri": uri,
                                              "range": _range_json(params.range)}])))
    only = params.context.only
    if only:
        actions = [x for x in actions if x.kind and any(
            x.kind == k or str(x.kind).startswith(str(k) + ".") for k in only)]
    return actions


def resolve(ls: PairServer, action: types.CodeAction) -> types.CodeAction:
    """Fill in the approved edit. Actions that carry a command need nothing."""
    data = action.data if isinstance(action.data, dict) else {}
    sid = data.get("sessionId")
    if not isinstance(sid, str) or action.edit is not None:
        return action
    record = ls.sessions.get(sid)
    if record is None:
        ls.show_error("Pair: that proposal is gone (the server restarted or it was discarded)")
        return action
    edits = ls.sessions.current_edits(record)
    if edits is None:
        ls.show_error("Pair: the code changed since the proposal and it no longer matches; "
                      "the edit was withdrawn")
        return action
    action.edit = ls.workspace_edit(record.uri, edits)
    action.command = types.Command(title="Pair: mark applied", command="pair.markApplied",
                                   arguments=[{"sessionId": record.id}])
    return action


def _line_range(index: Any, rng: types.Range) -> types.Range:
    """The diagnostic's lines, whole: the worker fixes lines, not fragments."""
    start = types.Position(rng.start.line, 0)
    end_line = rng.end.line + 1
    if end_line >= index.line_count:
        return types.Range(start, index.position(len(index.text)))
    return types.Range(start, types.Position(end_line, 0))


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {"start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character}}
