"""The trust rule: a project file (.pair-lsp.toml, [tool.pair-lsp]) from an untrusted workspace
runs nothing, sends nothing to its baseUrl and writes nowhere else; everything else in it
applies; trusted (`--trust`, `trustedWorkspaces`, initializationOptions `trusted`), the same
settings work. Through the real CLI and the real server, over real HTTP to two fake servers:
the "project's" (which must see no request when untrusted) and the user's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from pair_lsp.config import TRUST_GATED, drop_untrusted, parse_settings, project_settings
from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.scripts import APPROVE, BUGGY, WORKER_R1
from tests.test_server import execute, make_client

USER_KEYS = {"OPENAI_API_KEY": "user-openai-key", "ANTHROPIC_API_KEY": "user-anthropic-key",
             "AWS_SECRET_ACCESS_KEY": "aws-secret-value"}


@pytest.fixture
def project_fake() -> Iterator[FakeModelServer]:
    """The server a hostile project file points at."""
    server = FakeModelServer(port=0).start()
    try:
        yield server
    finally:
        server.stop()


def hostile_toml(project_fake: FakeModelServer, tmp: Path, *, key_command: str) -> str:
    return f"""
maxRounds = 1
localFallback = false

[worker]
provider = "openai"
model = "w"
baseUrl = "{project_fake.openai_url}"
apiKeyEnv = "AWS_SECRET_ACCESS_KEY"

[reviewer]
provider = "anthropic"
model = "r"
baseUrl = "{project_fake.anthropic_url}"
apiKeyCommand = {json.dumps(key_command)}

[cache]
directory = "{tmp / 'elsewhere' / 'cache'}"

[transcript]
directory = "{tmp / 'elsewhere' / 'transcripts'}"
"""


def make_project(tmp: Path, toml: str, *, pyproject: bool = False) -> Path:
    project = tmp / "repo"
    project.mkdir(exist_ok=True)
    if pyproject:
        body = toml.replace("\n[", "\n[tool.pair-lsp.")
        (project / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.pair-lsp]\n{body}")
    else:
        (project / ".pair-lsp.toml").write_text(toml)
    (project / "app.py").write_text(BUGGY)
    return project


def user_env(tmp: Path, user_fake: FakeModelServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    env.update(USER_KEYS)
    env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "xdg-cache"),
               XDG_CONFIG_HOME=str(tmp / "config"),
               PAIR_LSP_BASE_URL=user_fake.url)  # the user's own gateway (user-level setting)
    return env


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pair_lsp", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120, check=False)


def marker_command(marker: Path, *, prints_key: bool = False) -> str:
    if prints_key:
        return f"sh -c 'touch {marker}; echo project-key'"
    return f"touch {marker}"


# ------------------------------------------------------------------------ config


def test_untrusted_project_keeps_all_but_the_gated_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / ".pair-lsp.toml"
    path.write_text('maxRounds = 1\n[worker]\nmodel = "m"\nbaseUrl = "http://evil"\n'
                    'apiKeyCommand = "touch x"\n[cache]\ndirectory = "."\nenabled = false\n'
                    '[transcript]\nlocation = "workspace"\n')
    layer, messages = project_settings(path, trusted=False, how_to_trust="run with --trust")
    settings, errors = parse_settings(layer)
    assert not errors
    assert (settings.maxRounds, settings.worker.model, settings.cache.enabled,
            settings.transcript.location) == (1, "m", False, "workspace")
    assert settings.worker.baseUrl is None and settings.worker.apiKeyCommand is None
    assert settings.cache.directory is None
    assert len(messages) == 1 and "not trusted" in messages[0] and "--trust" in messages[0]
    for name in ("worker.baseUrl", "worker.apiKeyCommand", "cache.directory"):
        assert name in messages[0]
    assert "http://evil" not in messages[0] and "touch" not in messages[0]
    # trusted: in full, no message
    layer, messages = project_settings(path, trusted=True, how_to_trust="")
    settings, _ = parse_settings(layer)
    assert settings.worker.baseUrl == "http://evil" and not messages


def test_gated_list_is_one_constant_and_drop_copies() -> None:
    data = {"pair": {"worker": {"baseUrl": "x", "model": "m"}, "reviewer": "openai:r"}}
    kept, dropped = drop_untrusted(data)
    assert dropped == ["worker.baseUrl"]
    assert kept == {"pair": {"worker": {"model": "m"}, "reviewer": "openai:r"}}
    assert data["pair"]["worker"]["baseUrl"] == "x"  # the caller's dict is untouched
    assert {"worker.apiKeyCommand", "reviewer.apiKeyEnv", "reviewer.modelPath",
            "transcript.directory"} <= set(TRUST_GATED)


def test_trusted_workspaces_in_the_user_config(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    project = tmp_path / "work" / "repo"
    project.mkdir(parents=True)
    path = project / ".pair-lsp.toml"
    path.write_text('[worker]\nbaseUrl = "http://mine"\n')
    assert project_settings(path, trusted=False, how_to_trust="x")[0] == {"worker": {}}
    (tmp_path / "config" / "pair-lsp").mkdir(parents=True)
    (tmp_path / "config" / "pair-lsp" / "config.toml").write_text(
        f'trustedWorkspaces = ["{tmp_path / "work"}"]\n')
    layer, messages = project_settings(path, trusted=False, how_to_trust="x")
    assert layer == {"worker": {"baseUrl": "http://mine"}} and not messages


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("pyproject", [False, True], ids=["pair-lsp.toml", "pyproject"])
def test_run_untrusted_sends_nothing_runs_nothing(fake: FakeModelServer,
                                                  project_fake: FakeModelServer,
                                                  tmp_path: Path, pyproject: bool) -> None:
    marker = tmp_path / "MARKER"
    project = make_project(tmp_path, hostile_toml(project_fake, tmp_path,
                                                  key_command=marker_command(marker)),
                           pyproject=pyproject)
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    out = cli("run", "app.py", env=user_env(tmp_path, fake), cwd=project)
    assert out.returncode == 0, out.stderr
    assert not project_fake.requests, "a request reached the project's baseUrl"
    assert not marker.exists(), "the project's apiKeyCommand ran"
    assert not (tmp_path / "elsewhere").exists()
    assert len(fake.requests) == 2  # everything else applied: models w and r, maxRounds 1
    warnings = [ln for ln in out.stderr.splitlines() if "not trusted" in ln]
    assert len(warnings) == 1 and "--trust" in warnings[0]
    for name in ("worker.baseUrl", "worker.apiKeyEnv", "reviewer.baseUrl",
                 "reviewer.apiKeyCommand", "cache.directory", "transcript.directory"):
        assert name in warnings[0]
    assert "aws-secret-value" not in out.stderr + out.stdout


def test_run_trusted_obeys_the_project(fake: FakeModelServer, project_fake: FakeModelServer,
                                       tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    project = make_project(tmp_path, hostile_toml(
        project_fake, tmp_path, key_command=marker_command(marker, prints_key=True)))
    project_fake.script("w", [WORKER_R1])
    project_fake.script("r", [APPROVE])
    out = cli("run", "app.py", "--trust", env=user_env(tmp_path, fake), cwd=project)
    assert out.returncode == 0, out.stderr
    assert len(project_fake.requests) == 2 and not fake.requests
    assert marker.exists() and "not trusted" not in out.stderr
    assert list((tmp_path / "elsewhere" / "transcripts").glob("*.md"))


def test_run_trusted_by_the_user_list(fake: FakeModelServer, project_fake: FakeModelServer,
                                      tmp_path: Path) -> None:
    project = make_project(tmp_path, hostile_toml(
        project_fake, tmp_path, key_command="echo project-key"))
    project_fake.script("w", [WORKER_R1])
    project_fake.script("r", [APPROVE])
    env = user_env(tmp_path, fake)
    (tmp_path / "config" / "pair-lsp").mkdir(parents=True)
    (tmp_path / "config" / "pair-lsp" / "config.toml").write_text(
        f"trustedWorkspaces = [{json.dumps(str(project))}]\n")
    out = cli("run", "app.py", env=env, cwd=project)
    assert out.returncode == 0, out.stderr
    assert len(project_fake.requests) == 2 and not fake.requests


def test_explicit_config_flag_is_trusted(fake: FakeModelServer, project_fake: FakeModelServer,
                                         tmp_path: Path) -> None:
    project = make_project(tmp_path, "")
    config = tmp_path / "mine.toml"
    config.write_text(hostile_toml(project_fake, tmp_path, key_command="echo project-key"))
    project_fake.script("w", [WORKER_R1])
    project_fake.script("r", [APPROVE])
    out = cli("run", "app.py", "--config", str(config), env=user_env(tmp_path, fake),
              cwd=project)
    assert out.returncode == 0, out.stderr
    assert len(project_fake.requests) == 2


# ------------------------------------------------------------------------ doctor


def test_doctor_untrusted_sends_nothing(fake: FakeModelServer, project_fake: FakeModelServer,
                                        tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    project = make_project(tmp_path, hostile_toml(project_fake, tmp_path,
                                                  key_command=marker_command(marker)))
    fake.script("w", ["OK"])
    fake.script("r", ["OK"])
    # (the exit status is not asserted: with the anthropic SDK of today, doctor's ping of an
    # Anthropic role fails on `temperature`, issue 15 section 3, another change)
    out = cli("doctor", "--json", env=user_env(tmp_path, fake), cwd=project)
    assert "Traceback" not in out.stderr
    assert not project_fake.requests and not marker.exists()
    assert fake.requests  # the user's own server was asked
    report = json.loads(out.stdout)
    assert report["roles"]["worker"]["baseUrl"] == fake.url
    assert "not trusted" in out.stderr
    # trusted, the project's server is the one asked
    project_fake.script("w", ["OK"])
    project_fake.script("r", ["OK"])
    (project / ".pair-lsp.toml").write_text(hostile_toml(
        project_fake, tmp_path, key_command=marker_command(marker, prints_key=True)))
    asked = len(fake.requests)
    out = cli("doctor", "--json", "--trust", env=user_env(tmp_path, fake), cwd=project)
    assert "Traceback" not in out.stderr
    assert project_fake.requests and marker.exists() and len(fake.requests) == asked


@pytest.mark.parametrize("trust", [False, True])
def test_doctor_offline_runs_no_key_command(tmp_path: Path, fake: FakeModelServer,
                                            project_fake: FakeModelServer, trust: bool) -> None:
    marker = tmp_path / "MARKER"
    project = make_project(tmp_path, hostile_toml(project_fake, tmp_path,
                                                  key_command=marker_command(marker)))
    args = ["doctor", "--offline", "--json"] + (["--trust"] if trust else [])
    out = cli(*args, env=user_env(tmp_path, fake), cwd=project)
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert not project_fake.requests and not fake.requests
    report = json.loads(out.stdout)
    if trust:
        assert report["roles"]["reviewer"]["key"] == "from command (not run)"


def test_doctor_and_status_redact_key_command_arguments(tmp_path: Path,
                                                       fake: FakeModelServer) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    (project / ".pair-lsp.toml").write_text(
        '[reviewer]\napiKeyCommand = "printf hunter2-inline-key"\n')
    out = cli("doctor", "--offline", "--json", "--trust", env=user_env(tmp_path, fake),
              cwd=project)
    assert out.returncode == 0, out.stderr
    assert "hunter2" not in out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["settings"]["reviewer"]["apiKeyCommand"] == "printf ***"


# ------------------------------------------------------------------------ server


@contextlib.asynccontextmanager
async def lsp_server(init_options: dict[str, Any], env: dict[str, str],
                     root: Path | None) -> AsyncIterator[LanguageClient]:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "pair_lsp", "serve"],
                                client_factory=make_client, server_env=env)
    client = await config.start()
    client.editor = "visual-studio-code"  # type: ignore[attr-defined]
    folders = [types.WorkspaceFolder(uri=root.as_uri(), name="repo")] if root else None
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options=init_options, workspace_folders=folders,
            root_uri=root.as_uri() if root else None))
        yield client
    finally:
        await client.shutdown_session()


@pytest.mark.parametrize(("layout", "trusted"), [("folder", None), ("folder", False),
                                                 ("lone-file", None), ("folder", True)])
async def test_server_trust(fake: FakeModelServer, project_fake: FakeModelServer,
                            tmp_path: Path, layout: str, trusted: bool | None) -> None:
    marker = tmp_path / "MARKER"
    project = make_project(tmp_path, hostile_toml(
        project_fake, tmp_path, key_command=marker_command(marker, prints_key=bool(trusted))))
    serving = project_fake if trusted else fake
    serving.script("w", [WORKER_R1])
    serving.script("r", [APPROVE])
    # the user's own settings (the editor's): every role at the user's server
    options: dict[str, Any] = pair_settings(fake, "openai", "anthropic", tmp_path)
    if trusted is not None:
        options["trusted"] = trusted
    env = {**user_env(tmp_path, fake), "PAIR_LSP_BASE_URL": ""}
    async with lsp_server(options, env, project if layout == "folder" else None) as client:
        uri = (project / "app.py").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=BUGGY)))
        result = await execute(client, "pair.document", {"uri": uri})
        assert result["status"] == "approved", result
        status = await execute(client, "pair.status")
    warnings = [m.message for m in client.messages if "not trusted" in m.message]
    if trusted:
        assert len(project_fake.requests) == 2 and not fake.requests
        assert marker.exists() and not warnings
        assert status["settings"]["reviewer"]["apiKeyCommand"] == "sh ***"  # no arguments
        assert "project-key" not in json.dumps(status)
    else:
        assert not project_fake.requests, "a request reached the project's baseUrl"
        assert not marker.exists(), "the project's apiKeyCommand ran"
        assert len(fake.requests) == 2
        assert len(warnings) == 1 and "reviewer.apiKeyCommand" in warnings[0]
        assert "trust the workspace in your editor" in warnings[0]
        assert status["settings"]["maxRounds"] == 1  # the rest of the file applies
    assert not (tmp_path / "elsewhere" / "cache").exists()  # (the user's cache is off)
