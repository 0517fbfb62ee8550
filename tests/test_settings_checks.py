"""Settings that must be refused with a message, and messages that must stay short."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from pair_lsp.config import ECHO_LIMIT, load_project_file, parse_settings
from tests.test_server import execute, make_client, until

HUGE = "x" * 10_000_000


def test_temperature_must_be_a_number() -> None:
    settings, errors = parse_settings({"worker": {"temperature": "hot"}})
    assert settings.worker.temperature is None
    assert len(errors) == 1 and "pair.worker.temperature" in errors[0]
    settings, errors = parse_settings({"worker": {"temperature": 0.2},
                                       "reviewer": {"temperature": 1}})
    assert not errors and (settings.worker.temperature, settings.reviewer.temperature) == (0.2,
                                                                                          1.0)
    for bad in (True, -1, [0.5]):
        assert parse_settings({"reviewer": {"temperature": bad}})[1]


def test_a_pair_section_must_be_an_object(tmp_path: Path) -> None:
    for layer in ({"pair": "hot"}, {"pair": 5}, "hot", [1]):
        _, errors = parse_settings(layer)
        assert len(errors) == 1 and "Setting 'pair' must be an object" in errors[0], layer
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool]\n"pair-lsp" = 5\n')
    data, errors = load_project_file(path)
    assert data == {} and errors and "[tool.pair-lsp] must be a table" in errors[0]
    path.write_text('tool = 5\n')
    assert load_project_file(path) == ({}, [])


def test_echoed_values_are_capped() -> None:
    for layer in ({"maxRounds": HUGE}, {HUGE: 1}, {"worker": HUGE}, {"cache": HUGE},
                  {"worker": {"provider": HUGE}}, {"reviewer": {"temperature": HUGE}}):
        _, errors = parse_settings(layer)
        assert errors and all(len(e) < ECHO_LIMIT + 200 for e in errors), \
            [len(e) for e in errors]
        assert "characters)" in errors[0]


async def test_server_refuses_and_caps(tmp_path: Path) -> None:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                                client_factory=make_client)
    client = await config.start()
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            initialization_options={"transcript": {"enabled": False}}))
        client.set_configuration("hot", section="pair")  # type: ignore[arg-type]
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={}))
        await until(lambda: any("'pair' must be an object" in m.message
                                for m in client.messages))
        client.set_configuration({"maxRounds": HUGE, "worker": {"temperature": "hot"}},
                                 section="pair")
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={}))
        await until(lambda: any("temperature" in m.message for m in client.messages))
        status = await execute(client, "pair.status")
        assert status["settings"]["worker"]["temperature"] is None
        assert all(len(m.message) < 1000 for m in client.messages)
        assert all(len(m) < 1000 for m in status["settingsMessages"])
    finally:
        await client.shutdown_session()
