"""Code actions: apply the approved edit, apply an unapproved proposal, preview, a quick fix per
finding, and "Pair on selection…". Edits are computed at resolve time (codeAction/resolve), so
listing stays cheap, and are re-based onto the current text or withdrawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from pair_lsp.server.core import PairServer
    from pair_lsp.server.sessions import Record

APPLY_APPROVED = "Pair: Apply approved edit"
APPLY_PROPOSAL = "Pair: Apply unapproved proposal"
PREVIEW = "Pair: Preview edit"
PAIR_ON_SELECTION = "Pair on selection…"


def _overlaps(record: Record, index: Any, rng: types.Range) -> bool:
    a = index.offset(rng.start)
    b = index.offset(rng.end)
    return True if record.start <= b and a <= max(record.end, record.start + 1) else False


def list_actions(ls: PairServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    if ls.open_document(uri) is None:
        return []
    index = ls.line_index(uri)
    only = params.context.only
    actions: list[types.CodeAction] = []
    for record in reversed(ls.sessions.for_uri(uri)):
        if not record.has_proposal or record.finished is None:
            continue
        text = ls.current_text(uri)
        # the record's range in the current text: re-based edits tell where it is now
        edits = ls.sessions.current_edits(record)
        if edits is None:
            if ls.supports_disabled_actions():
                actions.append(types.CodeAction(
                    title=APPLY_APPROVED if record.finished.status == "approved"
                    else APPLY_PROPOSAL, kind=types.CodeActionKind.RefactorRewrite,
                    disabled=types.CodeActionDisabled(
                        reason="The code changed since the proposal; run the pair again")))
            continue
        if text != record.document and edits:
            lo, hi = edits[0].start, edits[-1].end
            if not (index.offset(params.range.start) <= hi
                    and lo <= index.offset(params.range.end)):
                continue
        elif not _overlaps(record, index, params.range):
            continue
        approved = record.finished.status == "approved"
        data = {"sessionId": record.id, "uri": uri}
        action = types.CodeAction(
            title=(APPLY_APPROVED if approved else APPLY_PROPOSAL) +
            f" ({record.finished.rounds} round{'s' if record.finished.rounds != 1 else ''})",
            kind=types.CodeActionKind.RefactorRewrite, is_preferred=approved, data=data)
        if not ls.supports_resolve("edit"):
            action = resolve(ls, action)
        actions.append(action)
        if "pair.preview" in ls.client_commands:
            actions.append(types.CodeAction(
                title=PREVIEW, kind=types.CodeActionKind.RefactorRewrite,
                command=types.Command(title=PREVIEW, command="pair.preview",
                                      arguments=[{"sessionId": record.id}])))
        break  # the newest proposal for these lines only
    for diag in params.context.diagnostics:
        if diag.source != "pair" or diag.code is None:
            continue
        span = _line_range(index, diag.range)
        actions.append(types.CodeAction(
            title=f"Pair: Fix {diag.code} — {diag.message.splitlines()[0][:80]}",
            kind=types.CodeActionKind.QuickFix, diagnostics=[diag],
            command=types.Command(title="Pair: fix finding", command="pair.selection", arguments=[{
                "uri": uri, "range": _range_json(span),
                "instruction": f"Fix this review finding: {diag.message}"}])))
    actions.append(types.CodeAction(
        title=PAIR_ON_SELECTION, kind=types.CodeActionKind.Refactor,
        command=types.Command(title=PAIR_ON_SELECTION, command="pair.selection",
                              arguments=[{"uri": uri, "range": _range_json(params.range)}])))
    if only:
        actions = [a for a in actions if a.kind and any(
            a.kind == k or str(a.kind).startswith(str(k) + ".") for k in only)]
    return actions


def resolve(ls: PairServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    record = ls.sessions.get(str(data.get("sessionId", "")))
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
