"""A raw JSON-RPC client for tests that must send what no LSP library would: malformed
messages, requests after shutdown, connections without a token. Over a subprocess's stdio or a
socket; blocking, with deadlines (no test waits forever on an unanswered request)."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ANSWER_WAIT = 30.0  # seconds: generous for a 2-core machine shared with others


class Closed(Exception):
    """The other side closed the connection."""


class Wire:
    def __init__(self, fileno: int, write: Any, read: Any):
        self._fileno = fileno
        self._write = write
        self._read = read
        self._buf = b""
        self.notifications: list[dict[str, Any]] = []
        self.unmatched: list[dict[str, Any]] = []  # answers to ids nobody waited for

    @classmethod
    def over_process(cls, proc: subprocess.Popen[bytes]) -> Wire:
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def write(data: bytes) -> None:
            stdin.write(data)
            stdin.flush()

        return cls(stdout.fileno(), write, lambda: os.read(stdout.fileno(), 65536))

    @classmethod
    def over_socket(cls, sock: socket.socket) -> Wire:
        return cls(sock.fileno(), sock.sendall, lambda: sock.recv(65536))

    # ----------------------------------------------------------------- sending

    def send_raw(self, body: bytes) -> None:
        self._write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send_raw_frames(self, data: bytes) -> None:
        """Already framed messages, in one write (the server reads them together)."""
        self._write(data)

    def send(self, message: Any) -> None:
        self.send_raw(json.dumps(message).encode())

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    # --------------------------------------------------------------- receiving

    def receive(self, wait: float = ANSWER_WAIT) -> dict[str, Any] | None:
        """The next message; None if none comes in ``wait`` seconds. Raises Closed at EOF."""
        deadline = time.monotonic() + wait
        while True:
            if b"\r\n\r\n" in self._buf:
                head, rest = self._buf.split(b"\r\n\r\n", 1)
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                if len(rest) >= length:
                    self._buf = rest[length:]
                    return json.loads(rest[:length])  # type: ignore[no-any-return]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fileno], [], [], left)
            if not ready:
                return None
            try:
                data = self._read()
            except ConnectionError:
                data = b""
            if not data:
                raise Closed
            self._buf += data

    def answer(self, msg_id: Any, wait: float = ANSWER_WAIT) -> dict[str, Any] | None:
        """The answer to request ``msg_id``; the server's own requests are answered on the
        way (workspace/configuration with nothing set), its notifications kept."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is None:
                return None
            if "method" not in message and message.get("id") == msg_id:
                return message
            if "method" in message and "id" in message:
                items = (message.get("params") or {}).get("items") or []
                result = [None] * len(items) if message["method"] == \
                    "workspace/configuration" else None
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            elif "method" in message:
                self.notifications.append(message)
            else:
                self.unmatched.append(message)
        return None

    def request(self, msg_id: Any, method: str, params: Any = None, **extra: Any) -> Any:
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.answer(msg_id)

    def initialize(self, options: Any = None, msg_id: Any = "init",
                   capabilities: Any = None) -> Any:
        answer = self.request(msg_id, "initialize", {
            "processId": None, "rootUri": None, "capabilities": capabilities or {},
            "initializationOptions": options})
        if answer is not None and "result" in answer:
            self.notify("initialized", {})
        return answer

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": version, "text": text}})


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pair_lsp", "serve", *args]


def start_server(*args: str, stderr: Path) -> subprocess.Popen[bytes]:
    """`pair-lsp serve ARGS` with this checkout first on the path; stderr to a file (a pipe
    nobody reads would fill up and stall the server)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen(server_command(*args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr.open("wb"), env=env)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
