"""`pair-lsp serve --tcp` and `--socket`: one authenticated client at a time.

Any local process can connect to a loopback port. So, over TCP, the first message must be the
`initialize` request carrying the token from ``--token-file`` in
``initializationOptions.token``; a connection that sends anything else is answered with an
error and closed before its message reaches the server. One client is served at a time: a
connection made while a client is being served is refused the same way, and a refused
connection's end never stops the server. When the served client disconnects, the server stops
(as with stdio). ``--socket PATH`` listens on a Unix-domain socket that only the user can open
(0600); a token is then optional. See docs/security-tcp.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import stat
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pair_lsp.server.transport import PipeReader, read_message, serve_messages

log = logging.getLogger(__name__)
FIRST_MESSAGE_LIMIT = 1 << 20  # bytes a connection may send before it is authenticated
FIRST_MESSAGE_TIMEOUT = 30.0  # seconds
INVALID_REQUEST = -32600


class ServeError(Exception):
    """The server cannot start as asked; the message is one line for the user."""


@dataclass(frozen=True)
class Endpoint:
    host: str = "127.0.0.1"
    port: int = 2087
    path: Path | None = None  # a Unix-domain socket instead of TCP
    token: str | None = None


def endpoint(*, host: str, port: int, socket_path: Path | None,
             token_file: Path | None) -> Endpoint:
    """Check the options (and read or create the token) before anything listens."""
    if socket_path is None and token_file is None:
        raise ServeError("--tcp needs --token-file PATH: any local process can connect to a TCP "
                         "port (or use --socket PATH; see docs/security-tcp.md)")
    token = read_or_create_token(token_file) if token_file is not None else None
    return Endpoint(host=host, port=port, path=socket_path, token=token)


# ------------------------------------------------------------------ the token


def read_or_create_token(path: Path) -> str:
    """The token in ``path``; a new random one (mode 0600) if the file does not exist."""
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return _create_token(path)
    except OSError as exc:
        raise ServeError(f"the token file {path} cannot be read: {exc.strerror} (it must be a "
                         f"file, not a link)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ServeError(f"the token file {path} is not a regular file")
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            raise ServeError(f"the token file {path} must be yours and readable only by you "
                             f"(chmod 600 {path})")
        token = os.read(fd, 4096).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    if len(token) < 16:
        raise ServeError(f"the token file {path} holds no token of 16 characters or more "
                         f"(delete it and a new one is made)")
    return token


def _create_token(path: Path) -> str:
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
        os.chmod(path.parent, 0o700)  # whatever the umask
    token = secrets.token_urlsafe(32)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another server made it just now
        return read_or_create_token(path)
    except OSError as exc:
        raise ServeError(f"the token file {path} cannot be created: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), 0o600)
        f.write(token + "\n")
    print(f"pair-lsp: a new token was written to {path}", file=sys.stderr)
    return token


# ----------------------------------------------------------------- connections


class Gate:
    """Lets one authenticated connection through to the server at a time."""

    def __init__(self, server: Any, token: str | None):
        self.server = server
        self.token = token
        self.serving = False  # a client has been let through (and is still connected)
        self.done = asyncio.Event()
        self.exit_code = 0

    async def connection(self, stream: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        reader = PipeReader(stream)  # a broken or oversized header ends the connection quietly
        served = False
        try:
            data = await self._first_message(reader, writer)
            if data is None:
                return
            problem = self._check(data)  # first: a peer without the token learns nothing
            if problem is None and self.serving:
                problem = "another client is connected to this server"
            if problem:
                self._refuse(writer, data, problem)
                return
            self.serving = served = True
            await self._serve(reader, writer, data)
        except ConnectionError:
            pass
        except SystemExit as exc:  # the exit notification (pygls calls sys.exit)
            self.exit_code = int(exc.code or 0)
        finally:
            writer.close()
            if served:  # the client left: the server's work is done (as with stdio)
                self.done.set()

    async def _first_message(self, reader: PipeReader,
                             writer: asyncio.StreamWriter) -> Any:
        try:
            body = await asyncio.wait_for(read_message(reader, FIRST_MESSAGE_LIMIT),
                                          FIRST_MESSAGE_TIMEOUT)
        except TimeoutError:
            return None
        if body is None:
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            _send(writer, None, -32700, "the message is not JSON")
            return None

    def _check(self, data: Any) -> str | None:
        """Why this first message is not let through (None: it is)."""
        if self.token is None:
            return None
        if not isinstance(data, dict) or data.get("method") != "initialize":
            return "the first message must be initialize, with initializationOptions.token"
        params = data.get("params")
        options = params.get("initializationOptions") if isinstance(params, dict) else None
        token = options.get("token") if isinstance(options, dict) else None
        if not isinstance(token, str):
            return ("this server needs a token: initializationOptions.token, from the server's "
                    "--token-file")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "the token is wrong"
        return None

    def _refuse(self, writer: asyncio.StreamWriter, data: Any, reason: str) -> None:
        msg_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(msg_id, bool) or not isinstance(msg_id, int | str):
            msg_id = None
        log.warning("a connection was refused: %s", reason)
        _send(writer, msg_id, INVALID_REQUEST, f"pair-lsp: {reason}")

    async def _serve(self, reader: PipeReader, writer: asyncio.StreamWriter,
                     first: dict[str, Any]) -> None:
        protocol = self.server.protocol
        protocol.set_writer(writer)
        _drop_token(first)
        protocol.handle_raw(first)
        await serve_messages(reader, protocol, self.server._stop_event)


def _drop_token(message: dict[str, Any]) -> None:
    """The token goes no further (settings, pair.status, logs)."""
    params: Any = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    if isinstance(options, dict) and "token" in options:
        params["initializationOptions"] = {k: v for k, v in options.items() if k != "token"}


def _send(writer: asyncio.StreamWriter, msg_id: Any, code: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id,
                       "error": {"code": code, "message": message}}).encode()
    with contextlib.suppress(ConnectionError, RuntimeError):
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)


# ---------------------------------------------------------------------- serving


def serve(server: Any, where: Endpoint) -> int:
    """Listen until the served client disconnects or sends exit; the exit code."""
    server._stop_event = threading.Event()
    bound: list[Path] = []  # the socket file this server made (removed at the end)
    if where.path is not None:
        _clear_socket_path(where.path)

    async def main() -> int:
        gate = Gate(server, where.token)
        try:
            if where.path is not None:
                listener = await _unix_listener(gate, where.path)
                bound.append(where.path)
            else:
                listener = await asyncio.start_server(gate.connection, where.host, where.port)
        except OSError as exc:
            raise ServeError(f"cannot listen on {where.path or f'{where.host}:{where.port}'}: "
                             f"{exc.strerror or exc}") from None
        server._server = listener
        log.info("listening on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
        try:
            await gate.done.wait()
        finally:
            listener.close()  # not wait_closed(): it would wait for unauthenticated peers
        return gate.exit_code

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        for path in bound:
            with contextlib.suppress(OSError):
                path.unlink()
    return 0


def _clear_socket_path(path: Path) -> None:
    """Make way for the socket: remove a stale one; refuse anything else."""
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ServeError(f"{path} exists and is not a socket")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # a socket left by a server that is gone
            else:
                raise ServeError(f"another server is listening on {path}")
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
        os.chmod(path.parent, 0o700)


async def _unix_listener(gate: Gate, path: Path) -> asyncio.Server:
    old = os.umask(0o177)  # the socket is 0600 from the moment it exists
    try:
        listener = await asyncio.start_unix_server(gate.connection, path=str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return listener
