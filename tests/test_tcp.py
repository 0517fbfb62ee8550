"""`pair-lsp serve --tcp --token-file` and `--socket` over real connections (issue 15, §1): a
peer without the token, with a wrong token, or arriving while the owner is connected is answered
with an error and closed; it never touches the owner's state, and its disconnect never stops the
server; the owner's session still works afterwards."""

from __future__ import annotations

import contextlib
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.testing.fake_server import FakeModelServer
from tests.conftest import pair_settings
from tests.rawlsp import Closed, Wire, start_server, stop
from tests.scripts import APPROVE, BUGGY, WORKER_R1

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and sockets")]
INVALID_REQUEST = -32600
URI = "file:///tmp/pair-tcp/m.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect(address: Any, family: int = socket.AF_INET, wait: float = 60.0) -> socket.socket:
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(family)
        try:
            sock.connect(address)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def refused(sock: socket.socket, options: Any, reason: str) -> None:
    """``sock`` sends initialize with ``options``; it gets an error naming ``reason``, then the
    server closes the connection."""
    wire = Wire.over_socket(sock)
    answer = wire.initialize(options, msg_id=7)
    assert answer is not None and answer["id"] == 7, answer
    assert answer["error"]["code"] == INVALID_REQUEST and reason in answer["error"]["message"]
    with pytest.raises(Closed):
        while wire.receive(10) is not None:
            pass
    sock.close()


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path, Path]]:
    port = free_port()
    token_file = tmp_path / "state" / "token"
    stderr = tmp_path / "stderr.txt"
    proc = start_server("--tcp", "--port", str(port), "--token-file", str(token_file),
                        stderr=stderr)
    try:
        yield proc, port, token_file, stderr
    finally:
        stop(proc)


def test_the_token_file_is_made_private(
        tcp_server: tuple[subprocess.Popen[bytes], int, Path, Path]) -> None:
    _, port, token_file, stderr = tcp_server
    connect(("127.0.0.1", port)).close()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    token = token_file.read_text().strip()
    assert len(token) >= 32
    assert token not in stderr.read_text()


def test_peers_are_refused_and_the_owner_keeps_working(
        tcp_server: tuple[subprocess.Popen[bytes], int, Path, Path], fake: FakeModelServer,
        tmp_path: Path) -> None:
    proc, port, token_file, stderr = tcp_server
    address = ("127.0.0.1", port)
    # before the owner: a peer that says nothing, and one without the token, leave
    connect(address).close()
    refused(connect(address), {}, "needs a token")
    owner_sock = connect(address)
    owner = Wire.over_socket(owner_sock)
    token = token_file.read_text().strip()
    settings = pair_settings(fake, "openai", "anthropic", tmp_path)
    answer = owner.initialize({**settings, "token": token})
    assert answer is not None and "result" in answer, answer
    owner.open(URI, BUGGY)
    status = owner.request(1, "workspace/executeCommand", {"command": "pair.status"})
    assert status is not None and token not in str(status)

    refused(connect(address), None, "needs a token")
    refused(connect(address), {"token": "x" * len(token)}, "the token is wrong")
    refused(connect(address), {**settings, "token": token}, "another client is connected")
    peer = connect(address)
    Wire.over_socket(peer).send_raw(b"{not json")
    peer.close()
    peer = connect(address)  # a header line longer than the reader's limit
    with contextlib.suppress(OSError):
        peer.sendall(b"Content-Length: " + b"9" * 200_000)
    peer.close()

    # the peers' initialize did not reset the owner's documents, their ends did not stop us
    assert proc.poll() is None
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    answer = owner.request(2, "workspace/executeCommand",
                           {"command": "pair.document", "arguments": [{"uri": URI}]})
    assert answer is not None and answer["result"]["status"] == "approved", answer
    assert owner.request(3, "shutdown") is not None
    owner.notify("exit", None)
    assert proc.wait(30) == 0
    log = stderr.read_text()
    assert token not in log and "Traceback" not in log


def test_the_owner_leaving_stops_the_server(
        tcp_server: tuple[subprocess.Popen[bytes], int, Path, Path]) -> None:
    proc, port, token_file, _ = tcp_server
    owner_sock = connect(("127.0.0.1", port))
    owner = Wire.over_socket(owner_sock)
    assert "result" in owner.initialize({"token": token_file.read_text().strip()})
    owner_sock.close()
    assert proc.wait(30) == 0


def run_serve(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    proc = start_server(*args, stderr=tmp_path / "stderr.txt")
    try:
        code = proc.wait(60)
    finally:
        stop(proc)
    return subprocess.CompletedProcess(args, code, "", (tmp_path / "stderr.txt").read_text())


def test_tcp_without_a_token_file_does_not_start(tmp_path: Path) -> None:
    out = run_serve("--tcp", "--port", str(free_port()), tmp_path=tmp_path)
    assert out.returncode == 1 and "--token-file" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("problem", ["world-readable", "a directory", "a link", "empty"])
def test_a_token_file_others_could_read_is_refused(tmp_path: Path, problem: str) -> None:
    token_file = tmp_path / "token"
    if problem == "a directory":
        token_file.mkdir()
    elif problem == "a link":
        (tmp_path / "real").write_text("t" * 40)
        (tmp_path / "real").chmod(0o600)
        token_file.symlink_to(tmp_path / "real")
    else:
        token_file.write_text("" if problem == "empty" else "t" * 40)
        token_file.chmod(0o644 if problem == "world-readable" else 0o600)
    out = run_serve("--tcp", "--port", str(free_port()), "--token-file", str(token_file),
                    tmp_path=tmp_path)
    assert out.returncode == 1 and str(token_file) in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_unix_socket_only_the_user_can_open(tmp_path: Path) -> None:
    path = tmp_path / "run" / "pair.sock"
    proc = start_server("--socket", str(path), stderr=tmp_path / "stderr.txt")
    try:
        owner_sock = connect(str(path), socket.AF_UNIX)
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        owner = Wire.over_socket(owner_sock)
        assert "result" in owner.initialize({})
        refused(connect(str(path), socket.AF_UNIX), {}, "another client is connected")
        assert "result" in owner.request(1, "workspace/executeCommand",
                                         {"command": "pair.status"})
        owner_sock.close()
        assert proc.wait(30) == 0
        assert not path.exists()
    finally:
        stop(proc)
