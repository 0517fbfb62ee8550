"""The language server's connection: message framing, and stdio read on the event loop.

pygls' default stdio reader hands every header line and every body to a worker thread
(``run_in_executor``), so each incoming message pays three or four thread round trips before a
handler runs (about 1 ms per request on a busy 2-core machine, measured in bench/). Here stdin
is an asyncio pipe instead: messages are parsed on the loop as their bytes arrive. Writes keep
pygls' synchronous writer (one write per message; nothing else writes to stdout).

Where stdin cannot be watched by the loop (a regular file, Windows), pygls' own reader is used.

Messages are framed here (``Content-Length`` headers) and their bodies handed to the protocol
as bytes: decoding, checking and answering malformed messages is protocol.py's (pygls' own loop
decodes inside ``json.loads`` and drops a message whose structuring fails, unanswered).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any, BinaryIO

from pygls.io_ import StdoutWriter

log = logging.getLogger(__name__)
MAX_HEADER_LINES = 32  # a header block longer than this is not LSP: resynchronise


class PipeReader:
    """pygls' AsyncReader interface over an asyncio StreamReader; b"" at end of input."""

    def __init__(self, stream: asyncio.StreamReader):
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


async def read_message(reader: Any, limit: int | None = None) -> bytes | None:
    """The next message body; None at the end of input (or past ``limit`` bytes).

    Header lines other than Content-Length are skipped; a header block without a length is
    dropped and the next one is read (as pygls does)."""
    while True:
        length: int | None = None
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readline()
            if not line:
                return None
            if not line.strip():
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        else:
            log.warning("a header block without an end was skipped")
            continue
        if length is None:
            continue
        if limit is not None and length > limit:
            log.warning("a message of %d bytes is over the limit (%d)", length, limit)
            return None
        body: bytes = await reader.readexactly(length) if length else b""
        if len(body) < length:
            return None
        return body


async def serve_messages(reader: Any, protocol: Any, stop: threading.Event) -> None:
    """Read messages and hand them to ``protocol.receive`` until the input ends or ``stop``."""
    while not stop.is_set():
        body = await read_message(reader)
        if body is None:
            return
        try:
            protocol.receive(body)
        except Exception:  # a bug: log it, keep serving
            log.exception("a message could not be handled")


async def _pipe_reader(stdin: BinaryIO) -> PipeReader | None:
    if sys.platform == "win32":
        return None
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=2**26)  # a header line never comes near this
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
    except (ValueError, OSError, NotImplementedError) as exc:
        log.debug("stdin is not a pipe the loop can watch (%s); using threads", exc)
        return None
    return PipeReader(stream)


def start_stdio(server: Any, stdin: BinaryIO | None = None,
                stdout: BinaryIO | None = None) -> None:
    """Serve LSP over stdio until exit; falls back to pygls' start_io when it must."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer

    async def main() -> None:
        reader: Any = await _pipe_reader(stdin)
        if reader is None:
            from pygls.io_ import StdinAsyncReader

            reader = StdinAsyncReader(stdin, server.thread_pool)
        await serve_messages(reader, server.protocol, server._stop_event)

    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))
    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
