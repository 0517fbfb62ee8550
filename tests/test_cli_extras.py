"""`pair-lsp doctor`, `serve --tcp`, the response cache's corruption handling, settings checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from pair_lsp.cache import ResponseCache
from pair_lsp.config import CacheConfig, parse_settings
from pair_lsp.providers.base import Message, ModelRequest, ProviderInfo, Usage
from pair_lsp.testing.fake_server import FakeModelServer


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run([sys.executable, "-m", "pair_lsp", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=60, check=False)


def test_doctor_reports_roles_without_keys(fake: FakeModelServer) -> None:
    fake.script("w", ["OK"])
    fake.script("r", ["OK"])
    out = run("doctor", "--json", env={
        "PAIR_LSP_WORKER": "openai:w", "PAIR_LSP_REVIEWER": "anthropic:r",
        "PAIR_LSP_BASE_URL": fake.openai_url, "OPENAI_API_KEY": "sk-doctor-SECRET999"})
    report = json.loads(out.stdout)
    assert report["roles"]["worker"]["answers"] is True
    assert report["roles"]["worker"]["key"] == "yes (OPENAI_API_KEY)"
    assert "SECRET999" not in out.stdout + out.stderr


def test_doctor_names_a_failing_provider() -> None:
    out = run("doctor", env={"PAIR_LSP_WORKER": "openai:w", "PAIR_LSP_REVIEWER": "openai:r",
                             "PAIR_LSP_BASE_URL": "http://127.0.0.1:9/v1"})
    assert out.returncode == 1 and "FAILS" in out.stdout and "Traceback" not in out.stderr


def test_serve_tcp_binds_loopback(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token_file = tmp_path / "token"
    proc = subprocess.Popen([sys.executable, "-m", "pair_lsp", "serve", "--tcp", "--port",
                             str(port), "--token-file", str(token_file)], stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                       "params": {"capabilities": {}, "initializationOptions":
                                                  {"token": token_file.read_text().strip()}}}
                                      ).encode()
                    conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                    data = conn.recv(65536)
                    assert b'"result"' in data and b"pair.selection" in data
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the TCP server never answered")
    finally:
        proc.terminate()
        proc.wait(10)


def _frames(*messages: dict) -> bytes:
    out = b""
    for m in messages:
        body = json.dumps(m).encode()
        out += b"Content-Length: %d\r\n\r\n" % len(body) + body
    return out


def test_serve_stdio_from_a_regular_file(tmp_path: Path) -> None:
    """stdin that the event loop cannot watch (a file, not a pipe) falls back to threads."""
    script = tmp_path / "session.lsp"
    script.write_bytes(_frames(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
         "params": {"command": "pair.status", "arguments": []}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"}))
    with script.open("rb") as stdin:
        out = subprocess.run([sys.executable, "-m", "pair_lsp", "serve"], stdin=stdin,
                             capture_output=True, timeout=60, check=False)
    assert b"pair.selection" in out.stdout and b'"id": 2' in out.stdout  # pair.status answered
    assert out.returncode == 0 and b"Traceback" not in out.stderr


def test_serve_stdio_pipe_ends_cleanly_at_eof() -> None:
    """The loop-driven pipe reader answers, then stops when the client goes away."""
    proc = subprocess.run([sys.executable, "-m", "pair_lsp", "serve"], input=_frames(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        capture_output=True, timeout=60, check=False)
    assert b"pair.selection" in proc.stdout and b"Traceback" not in proc.stderr


class _Fake:
    info = ProviderInfo("openai", "m", None)


def test_corrupt_cache_is_cleared_with_a_warning(tmp_path: Path) -> None:
    import asyncio

    warnings: list[str] = []
    directory = tmp_path / "cache"
    config = CacheConfig(directory=str(directory))
    request = ModelRequest(role="worker", system="s", messages=(Message("user", "u"),))
    cache = ResponseCache(config, warnings.append)
    asyncio.run(cache.put(_Fake(), request, "hello", Usage(1, 2)))  # type: ignore[arg-type]
    cache.close()
    for db in directory.glob("*.db"):
        db.write_bytes(b"this is not a sqlite database" * 100)
    cache = ResponseCache(config, warnings.append)
    assert asyncio.run(cache.get(_Fake(), request)) is None  # type: ignore[arg-type]
    assert warnings and "cleared" in warnings[0]
    asyncio.run(cache.put(_Fake(), request, "again", Usage(1, 2)))  # type: ignore[arg-type]
    hit = asyncio.run(cache.get(_Fake(), request))  # type: ignore[arg-type]
    assert hit is not None and hit[0] == "again"


def test_invalid_settings_name_the_setting_and_keep_defaults() -> None:
    settings, errors = parse_settings({"maxRounds": 0, "worker": {"provider": "nope"},
                                       "cache": {"sizeLimitMb": "big"}, "bogus": 1})
    assert settings.maxRounds == 3 and settings.worker.provider == "openai"
    text = "\n".join(errors)
    for name in ("pair.maxRounds", "pair.worker.provider", "pair.cache.sizeLimitMb",
                 "pair.bogus"):
        assert name in text
