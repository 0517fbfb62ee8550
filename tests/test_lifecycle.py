"""What the editor shows is the truth about the session (docs/lsp-surface.md, "The finding
lifecycle"): the latest round's open findings only, ids unique per session, findings about the
proposal on the target, declined ones as hints with the reason, anchors that follow the user's
edits; the approved edit first; one end message per session, in words, with a way forward.
Over real LSP (pytest-lsp), both editors' capabilities, against the fake model server.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.scripts import APPROVE, block, finding, review
from tests.test_server import (
    URI,
    W1,
    W2,
    apply_action,
    change,
    code_actions,
    execute,
    func_range,
    make_client,
    open_doc,
    until,
)


def make_result_client() -> LanguageClient:
    client = make_client()
    client.results: list[Any] = []  # type: ignore[attr-defined]

    @client.feature("pair/result")
    def result(params: Any) -> None:
        client.results.append(params)  # type: ignore[attr-defined]

    return client


async def _init(lsp_client: LanguageClient, request: pytest.FixtureRequest, editor: str,
                **options: Any) -> None:
    fake: FakeModelServer = request.getfixturevalue("fake")
    tmp: Path = request.getfixturevalue("tmp_path")
    lsp_client.fake = fake  # type: ignore[attr-defined]
    lsp_client.editor = editor  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(editor),
        initialization_options={**pair_settings(fake, "openai", "anthropic", tmp), **options}))


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                              client_factory=make_result_client),
    params=["visual-studio-code", "neovim"],
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    await _init(lsp_client, request, request.param, resultNotifications=True,
                clientCommands=["pair.preview", "pair.pairOnSelection"])
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                              client_factory=make_result_client))
async def plain(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    """A client that renders nothing itself (no resultNotifications, no client commands)."""
    await _init(lsp_client, request, "neovim")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                              client_factory=make_result_client))
async def dead_reviewer(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> Any:
    """A plain client whose reviewer's endpoint does not answer."""
    await _init(lsp_client, request, "neovim", reviewer={
        "provider": "anthropic", "model": "r", "baseUrl": DEAD, "maxRetries": 0,
        "timeout": 5.0})
    yield
    await lsp_client.shutdown_session()


DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


def command_of(action: Any) -> tuple[str, list[Any]]:
    """(name, arguments) of an action's command; the test client's converter reads a
    CodeAction with a command as a Command whose `command` is the nested object."""
    cmd = action.command
    if isinstance(cmd, str) and cmd.startswith("{"):
        cmd = ast.literal_eval(cmd)  # the converter kept the nested object's repr
    if isinstance(cmd, dict):
        return cmd["command"], cmd.get("arguments") or []
    if isinstance(cmd, types.Command):
        return cmd.command, cmd.arguments or []
    return str(cmd), list(getattr(action, "arguments", None) or [])


def shown_codes(client: LanguageClient) -> list[str]:
    return sorted(str(d.code) for d in client.diagnostics.get(URI, []))


def first_line(d: types.Diagnostic) -> str:
    return d.message.split("\n")[0]


# -------------------------------------------------------------------- findings


async def test_approval_clears_resolved_findings_and_keeps_declined_as_hints(
        client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1, "I keep the emoji comment.\nDECLINE F2: the emoji is the style here\n"
                      + block("    best = values[0]  # 😀",
                              "    if not values:\n        raise ValueError(\"empty\")\n"
                              "    best = values[0]  # 😀")])
    fake.script("r", [review("revise",
                             finding("F1", "best = values[0]", "empty list raises", 3,
                                     "error"),
                             finding("F2", "# 😀", "drop the emoji", 3, "info")),
                      APPROVE])
    doc_range = func_range(open_doc(client))
    result = await execute(client, "pair.selection", {"uri": URI, "range": doc_range})
    assert result["status"] == "approved"
    await until(lambda: [d.code for d in client.diagnostics.get(URI, [])] == ["F2"])
    (hint,) = client.diagnostics[URI]
    assert hint.severity == types.DiagnosticSeverity.Hint
    assert "Declined by the worker: the emoji is the style here" in hint.message
    # the end is said once, in words
    await until(lambda: len(client.results) == 1)  # type: ignore[attr-defined]
    end = client.results[0]  # type: ignore[attr-defined]
    assert end.message == ("Pair: approved after 2 rounds. 1 finding declined by the "
                              "worker.")
    assert end.actions[0] == "apply"
    assert not [m for m in client.messages  # type: ignore[attr-defined]
                if m.type in (types.MessageType.Error, types.MessageType.Warning)]


async def test_exhausted_shows_latest_round_only_with_unique_ids(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1, W2, W2.replace("Guard", "Still guard") + block(
        "    return best", "    return best  # done")])
    # every round reuses the id F1 for a different problem
    fake.script("r", [review("revise", finding("F1", "best = values[0]", "first problem")),
                      review("revise", finding("F1", "for v in values:", "second problem", 6)),
                      review("revise", finding("F1", "return best", "third problem", 9))])
    doc = open_doc(client)
    result = await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc)})
    assert result["status"] == "exhausted"
    assert [f["id"] for f in result["findings"]] == ["F3"]
    await until(lambda: shown_codes(client) == ["F3"])
    assert first_line(client.diagnostics[URI][0]).startswith("third problem")
    await until(lambda: len(client.results) == 1)  # type: ignore[attr-defined]
    assert client.results[0].message == (  # type: ignore[attr-defined]
        "Pair: not approved after 3 rounds — 1 finding open.")
    # two more rounds: the rounds are counted on, the session id is kept
    fake.script("r", [APPROVE])
    more = await execute(client, "pair.continue", {"sessionId": result["sessionId"],
                                                   "rounds": 2})
    assert more["sessionId"] == result["sessionId"] and more["status"] == "approved"
    assert more["rounds"] == 4
    await until(lambda: len(client.results) == 2)  # type: ignore[attr-defined]
    assert client.results[1].message.startswith(  # type: ignore[attr-defined]
        "Pair: approved after 4 rounds")
    await until(lambda: shown_codes(client) == [])


async def test_finding_about_the_proposal_sits_on_the_target(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1])
    fake.script("r", [review("revise", finding(
        "F1", "raise ValueError('nothing in the document says this')", "made-up code", 2))])
    doc = open_doc(client)
    rng = func_range(doc)
    await execute(client, "pair.selection", {"uri": URI, "range": rng})
    await until(lambda: bool(client.diagnostics.get(URI)))
    (d,) = client.diagnostics[URI]
    assert first_line(d) == "made-up code (in the proposed edit)"
    assert d.range.start.line == rng["start"]["line"]
    assert d.range.end.line == rng["end"]["line"] - 1


async def test_line_placed_finding_follows_the_users_edits(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", {"id": "F1", "quote": "", "line": 4,
                                        "severity": "warning", "message": "loop is odd"})])
    doc = open_doc(client)
    rng = func_range(doc)
    await execute(client, "pair.review", {"uri": URI, "range": rng})
    await until(lambda: bool(client.diagnostics.get(URI)))
    before = client.diagnostics[URI][0].range.start.line
    assert before == rng["start"]["line"] + 3
    change(client, doc, types.Range(types.Position(0, 0), types.Position(0, 0)), "# a\n# b\n# c\n")
    await until(lambda: client.diagnostics[URI][0].range.start.line == before + 3)


async def test_dismiss_clears_one_finding(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", finding("F1", "best = 0  # 😀", "starts too low"),
                             finding("F2", "return best", "fine but odd", 9))])
    doc = open_doc(client)
    await execute(client, "pair.review", {"uri": URI})
    await until(lambda: shown_codes(client) == ["F1", "F2"])
    actions = await code_actions(client, doc, func_range(doc))
    titles = [a.title for a in actions]
    assert "Pair: Dismiss F1" in titles and "Pair: Dismiss F2" in titles
    dismiss = next(a for a in actions if a.title == "Pair: Dismiss F2")
    name, args = command_of(dismiss)
    await execute(client, name, *args)
    await until(lambda: shown_codes(client) == ["F1"])


# --------------------------------------------------------------------- actions


async def test_approved_edit_is_first_and_preferred_on_every_target_line(
        client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1])
    fake.script("r", [review("approve", finding("F1", "for v in values:", "a note", 4,
                                                 "info"))])
    doc = open_doc(client)
    rng = func_range(doc)
    await execute(client, "pair.selection", {"uri": URI, "range": rng})
    # the user types above the function: the whole target still offers the re-based edit
    change(client, doc, types.Range(types.Position(0, 0), types.Position(0, 0)), "# x\n\n")
    first = rng["start"]["line"] + 2
    for line in range(first, first + 7):
        point = {"start": {"line": line, "character": 2}, "end": {"line": line, "character": 2}}
        actions = await code_actions(client, doc, point)
        assert actions, f"nothing offered on line {line}"
        top = actions[0]
        assert isinstance(top, types.CodeAction)
        assert top.title.startswith("Pair: Apply approved edit"), (line, top.title)
        assert top.is_preferred
        assert not [a for a in actions if a.title.startswith("Pair: Fix")]
        assert not [a for a in actions if a.title == "Pair on selection…"]  # empty range
    await apply_action(client, doc, actions[0])
    assert "best = values[0]  # 😀" in doc.source and doc.source.startswith("# x\n\n")
    await until(lambda: shown_codes(client) == [])


async def test_pair_on_selection_only_on_a_selection_for_clients_that_ask(
        client: LanguageClient, plain: LanguageClient) -> None:
    for c, offered in ((client, True), (plain, False)):
        doc = open_doc(c)
        rng = func_range(doc)
        titles = [a.title for a in await code_actions(c, doc, rng)]
        assert ("Pair on selection…" in titles) is offered
        empty = {"start": rng["start"], "end": rng["start"]}
        assert "Pair on selection…" not in [a.title for a in await code_actions(c, doc, empty)]
        action = next((a for a in await code_actions(c, doc, rng)
                       if a.title == "Pair on selection…"), None)
        if action is not None:
            # the client asks for the instruction first
            assert command_of(action)[0] == "pair.pairOnSelection"


async def test_unapproved_apply_needs_confirmation(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1, W2])
    r1 = review("revise", finding("F1", "best = values[0]", "empty list raises"))
    fake.script("r", [r1, r1])
    doc = open_doc(client)
    result = await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc),
                                                      "instruction": "x"})
    assert result["status"] == "exhausted"
    actions = await code_actions(client, doc, func_range(doc))
    top = actions[0]
    assert top.title.startswith("Pair: Apply unapproved edit…")
    assert command_of(top)[0] == "pair.apply" and not getattr(top, "is_preferred", False)
    client.answers.append("Cancel")  # type: ignore[attr-defined]
    out = await execute(client, "pair.apply", {"sessionId": result["sessionId"]})
    assert out == {"applied": False, "reason": "not confirmed"}
    asked = client.message_requests[-1]  # type: ignore[attr-defined]
    assert "did not approve" in asked.message and "1 finding open" in asked.message
    assert not client.applied_edits  # type: ignore[attr-defined]
    out = await execute(client, "pair.apply", {"sessionId": result["sessionId"],
                                               "confirmed": True})
    assert out == {"applied": True}
    assert len(client.message_requests) == 1  # type: ignore[attr-defined]


# -------------------------------------------------------------------- messages


async def test_command_actions_resolve_without_false_errors(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", finding("F1", "best = 0  # 😀", "starts too low"))])
    doc = open_doc(client)
    await execute(client, "pair.review", {"uri": URI})
    for action in await code_actions(client, doc, func_range(doc)):
        if isinstance(action, types.CodeAction):
            await client.code_action_resolve_async(action)
    await until(lambda: True)
    assert not [m for m in client.messages  # type: ignore[attr-defined]
                if m.type == types.MessageType.Error]


async def test_review_words(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", finding("F1", "best = 0  # 😀", "starts too low"),
                             finding("F2", "return best", "odd", 9))])
    open_doc(client)
    await execute(client, "pair.review", {"uri": URI})
    await until(lambda: len(client.results) == 1)  # type: ignore[attr-defined]
    assert client.results[0].message == "Pair: review found 2 findings."  # type: ignore[attr-defined]
    ends = [p.message for ps in client.progress_reports.values() for p in ps
            if getattr(p, "kind", "") == "end"]
    assert ends == ["review found 2 findings."]
    reports = [p.message for ps in client.progress_reports.values() for p in ps
               if getattr(p, "kind", "") in ("begin", "report")]
    assert not [m for m in reports if m and "Round" in m]  # a review has no rounds


async def test_reviewer_failure_is_said_once_names_the_url_and_keeps_the_edit(
        dead_reviewer: LanguageClient) -> None:
    client = dead_reviewer
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("w", [W1])
    doc = open_doc(client)
    result = await execute(client, "pair.selection", {"uri": URI, "range": func_range(doc)})
    assert result["status"] == "failed"
    await until(lambda: bool(client.messages))  # type: ignore[attr-defined]
    await until(lambda: True)
    errors = [m.message for m in client.messages  # type: ignore[attr-defined]
              if m.type == types.MessageType.Error]
    assert len(errors) == 1, errors
    assert DEAD in errors[0] and errors[0].startswith("Pair: the reviewer")
    if result["hasProposal"]:  # the worker's finished edit is kept (unapproved)
        assert "kept as an unapproved proposal" in errors[0]


async def test_sessions_from_code_actions_say_how_they_ended(client: LanguageClient) -> None:
    fake: FakeModelServer = client.fake  # type: ignore[attr-defined]
    fake.script("r", [review("revise", finding("F1", "best = 0  # 😀", "starts too low"))])
    doc = open_doc(client)
    await execute(client, "pair.review", {"uri": URI})
    fix = next(a for a in await code_actions(client, doc, func_range(doc))
               if a.title.startswith("Pair: Fix F1"))
    fake.script("w", [W1])
    fake.script("r", [APPROVE])
    name, args = command_of(fix)
    await execute(client, name, *args)
    await until(lambda: len(client.results) == 2)  # type: ignore[attr-defined]
    assert client.results[1].message.startswith("Pair: approved after 1 round")  # type: ignore[attr-defined]

