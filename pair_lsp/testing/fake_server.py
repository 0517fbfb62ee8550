"""A scripted fake model server: real HTTP on 127.0.0.1, real Anthropic and OpenAI wire formats.

Replies are picked by the request's model name from scripts (each request takes the next reply;
the last repeats). It can add latency and a token rate, and inject faults (``Reply.fault``):
429 with Retry-After, 500/503/529; ``disconnect``: the connection drops mid-stream after
``disconnect_after`` characters of text; ``malformed``: the body (or the first event) is not
JSON; ``malformed_event``: a stream that breaks off with an unterminated JSON event after
``disconnect_after`` characters; ``max_tokens``: the whole text, ended as cut by the output-token
cap (Anthropic ``stop_reason: max_tokens``, Responses ``incomplete``, Chat ``length``);
``slow``; ``stall``: the text stops after ``disconnect_after`` characters, keep-alives follow.
Tests and benchmarks drive the real SDKs against it; `python -m pair_lsp.testing.fake_server`
runs it for demos.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pair_lsp.testing import fake_wire as wire

FAULTS = ("429", "500", "503", "529", "disconnect", "malformed", "malformed_event",
          "max_tokens", "slow", "stall")
_CUT_OFF = ("disconnect", "malformed_event", "stall")  # faults that stop the text early


@dataclass
class Reply:
    text: str = ""
    fault: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    disconnect_after: int = 20

    @classmethod
    def of(cls, raw: Any) -> Reply:
        if isinstance(raw, Reply):
            return raw
        if isinstance(raw, str):
            return cls(text=raw)
        if isinstance(raw, dict):
            return cls(**raw)
        raise TypeError(f"a script reply is a string or an object, got {raw!r}")


ScriptItem = Reply | str | Callable[[dict[str, Any]], Any]


@dataclass
class RecordedRequest:
    api: str
    path: str
    model: str
    stream: bool
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    started: float = 0.0
    finished: float = 0.0
    disconnected: bool = False
    output_text: str = ""

    def summary(self, bodies: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not bodies:
            data.pop("body")
        return data


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def _flatten(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_flatten(c.get("text", "") if isinstance(c, dict) else c)
                       for c in content)
    return ""


class FakeUrls:
    """The base URLs the SDKs take for a fake server at ``url`` (also used by bench/)."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def anthropic_url(self) -> str:
        return self.url

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"


class FakeModelServer(FakeUrls):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0,
                 token_rate: float | None = None):
        self.host = host
        self.port = port
        self.latency = latency
        self.token_rate = token_rate
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[str, list[ScriptItem]] = {}
        self._positions: dict[str, int] = {}
        self._prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._open = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- control

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_requests(self) -> int:
        with self._lock:
            return self._open

    def start(self) -> FakeModelServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="fake-model-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, model: str, replies: list[ScriptItem]) -> None:
        if not replies:
            raise ValueError("a script needs at least one reply")
        with self._lock:
            self._scripts[model] = list(replies)
            self._positions[model] = 0

    def load_scripts(self, data: dict[str, list[Any]]) -> None:
        for model, replies in data.items():
            self.script(model, [Reply.of(r) for r in replies])

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()
            self._positions.clear()
            self._prefixes.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_requests == 0:
                return True
            time.sleep(0.02)
        return self.open_requests == 0

    def model_time(self) -> float:
        return sum(max(0.0, r.finished - r.started) for r in self.requests if r.finished)

    # ----------------------------------------------------------------- internals

    def _next_reply(self, model: str, parsed: dict[str, Any]) -> Reply | None:
        with self._lock:
            replies = self._scripts.get(model)
            if replies is None:
                return None
            pos = self._positions[model]
            self._positions[model] = pos + 1
            item = replies[min(pos, len(replies) - 1)]
        if callable(item) and not isinstance(item, Reply):
            item = item(parsed)
        return Reply.of(item)

    def _track(self, delta: int) -> None:
        with self._lock:
            self._open += delta

    def _cache_tokens(self, api: str, prefix: str, total_in: int) -> tuple[int, int]:
        """(cached, written) tokens for a cacheable prefix, as the real APIs report them."""
        if not prefix:
            return 0, 0
        tokens = _tokens(prefix)
        with self._lock:
            seen = prefix in self._prefixes
            if api == "anthropic" or tokens >= 1024:
                self._prefixes.add(prefix)
        if api != "anthropic" and tokens < 1024:
            return 0, 0
        tokens = min(tokens, total_in)
        return (tokens, 0) if seen else (0, tokens if api == "anthropic" else 0)


def _parse(api: str, body: dict[str, Any]) -> tuple[str, list[dict[str, str]], str]:
    """(system text, messages, cacheable prefix) of a request in any of the three APIs."""
    if api == "anthropic":
        system_raw = body.get("system", "")
        system = _flatten(system_raw)
        prefix = ""
        if isinstance(system_raw, list):
            marked = [i for i, b in enumerate(system_raw)
                      if isinstance(b, dict) and b.get("cache_control")]
            if marked:
                prefix = _flatten(system_raw[:marked[-1] + 1])
        messages = [{"role": m.get("role", ""), "content": _flatten(m.get("content", ""))}
                    for m in body.get("messages", [])]
        for m_raw, m in zip(body.get("messages", []), messages, strict=False):
            content = m_raw.get("content")
            if isinstance(content, list) and any(isinstance(b, dict) and b.get("cache_control")
                                                 for b in content):
                prefix = system + "".join(x["content"] for x in messages[:messages.index(m) + 1])
        return system, messages, prefix
    if api == "responses":
        system = _flatten(body.get("instructions") or "")
        raw = body.get("input", [])
        if isinstance(raw, str):
            raw = [{"role": "user", "content": raw}]
        messages = [{"role": m.get("role", ""), "content": _flatten(m.get("content", ""))}
                    for m in raw if isinstance(m, dict)]
        return system, messages, system
    messages = [{"role": m.get("role", ""), "content": _flatten(m.get("content", ""))}
                for m in body.get("messages", [])]
    system = "".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    rest = [m for m in messages if m["role"] not in ("system", "developer")]
    return system, rest, system


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # like real API servers: no Nagle delay on small SSE writes (it would add ~40 ms of
        # delayed-ACK stall per reply, billed to the client instead of the "model")
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---------------------------------------------------------------- routing

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/_fake/stats":
            self._json(200, {"open_requests": self.fake.open_requests,
                             "requests": len(self.fake.requests),
                             "model_time": self.fake.model_time()})
        elif path == "/_fake/requests":
            bodies = "bodies=1" in self.path
            self._json(200, [r.summary(bodies) for r in self.fake.requests])
        else:
            self._json(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "request body is not JSON"}})
            return
        if path == "/_fake/scripts":
            self.fake.load_scripts(body)
            self._json(200, {"ok": True})
            return
        if path == "/_fake/reset":
            self.fake.reset()
            self._json(200, {"ok": True})
            return
        api = {"/v1/messages": "anthropic", "/messages": "anthropic",
               "/v1/responses": "responses", "/responses": "responses",
               "/v1/chat/completions": "chat", "/chat/completions": "chat"}.get(path)
        if api is None:
            self._json(404, {"error": {"message": f"no route {path}"}})
            return
        self._model_call(api, path, body)

    # ----------------------------------------------------------------- model

    def _model_call(self, api: str, path: str, body: dict[str, Any]) -> None:
        fake = self.fake
        model = str(body.get("model", ""))
        headers = {k.lower(): ("<redacted>" if k.lower() in ("authorization", "x-api-key",
                                                             "api-key") else v)
                   for k, v in self.headers.items()}
        record = RecordedRequest(api, path, model, bool(body.get("stream")), body, headers,
                                 started=time.monotonic())
        with fake._lock:
            fake.requests.append(record)
        fake._track(+1)
        try:
            self._answer(api, record, body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            record.disconnected = True
            self.close_connection = True
        finally:
            record.finished = time.monotonic()
            fake._track(-1)

    def _answer(self, api: str, record: RecordedRequest, body: dict[str, Any]) -> None:
        fake = self.fake
        system, messages, prefix = _parse(api, body)
        parsed = {"api": api, "model": record.model, "system": system, "messages": messages,
                  "stream": record.stream, "body": body}
        reply = fake._next_reply(record.model, parsed)
        if reply is None:
            self._error(api, record, 404, f"fake server has no script for model {record.model}")
            return
        if fake.latency or reply.delay:
            time.sleep(fake.latency + reply.delay)
        if reply.fault in ("429", "500", "503", "529"):
            extra = {"retry-after": f"{reply.retry_after:g}"} if reply.retry_after is not None \
                else {}
            self._error(api, record, int(reply.fault), f"injected fault {reply.fault}", extra)
            return
        total_in = _tokens(system + "".join(m["content"] for m in messages))
        cached, written = fake._cache_tokens(api, prefix, total_in)
        text = reply.text
        record.output_text = text
        tokens = wire.Tokens(total_in - (cached + written if api == "anthropic" else 0),
                             _tokens(text), cached, written)
        if reply.fault == "malformed":
            self._send_head(200, "text/event-stream" if record.stream else "application/json",
                            None if record.stream else 18)
            self.wfile.write(b"data: {not json at all\n\n" if record.stream
                             else b'{"broken": json!!')
            self.wfile.flush()
            self.close_connection = True
            record.status = 200
            return
        if not record.stream:
            self._whole(api, record, text, tokens, reply)
            return
        self._stream(api, record, text, tokens, reply, body)

    def _whole(self, api: str, record: RecordedRequest, text: str, tokens: wire.Tokens,
               reply: Reply) -> None:
        if self.fake.token_rate:
            time.sleep(tokens.output / self.fake.token_rate)
        if api == "responses":
            obj = wire.responses_object(record.model, text, tokens,
                                        "incomplete" if reply.fault == "max_tokens"
                                        else "completed")
        else:
            obj = {"anthropic": wire.anthropic_message, "chat": wire.chat_completion}[api](
                record.model, text, tokens, reply.fault == "max_tokens")
        data = json.dumps(obj).encode()
        record.status = 200
        if reply.fault in ("disconnect", "malformed_event"):
            self._send_head(200, "application/json", len(data))
            self.wfile.write(data[:max(1, min(len(data) - 1, reply.disconnect_after))])
            self.wfile.flush()
            self._abort()
            return
        self._send_head(200, "application/json", len(data))
        self.wfile.write(data)

    def _chunks(self, text: str, reply: Reply) -> Iterator[str]:
        size = 4 if self.fake.token_rate else 64
        limit = len(text) if reply.fault not in _CUT_OFF \
            else min(len(text), reply.disconnect_after)
        for i in range(0, limit, size):
            piece = text[i:min(i + size, limit)]
            if self.fake.token_rate:
                time.sleep(_tokens(piece) / self.fake.token_rate)
            yield piece

    def _stream(self, api: str, record: RecordedRequest, text: str, tokens: wire.Tokens,
                reply: Reply, body: dict[str, Any]) -> None:
        self._send_head(200, "text/event-stream", None)
        record.status = 200
        chunks = self._chunks(text, reply)
        capped = reply.fault == "max_tokens"
        if api == "anthropic":
            events = wire.anthropic_stream(record.model, chunks, tokens, capped)
        elif api == "responses":
            events = wire.responses_stream(record.model, chunks, tokens, capped)
        else:
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            events = wire.chat_stream(record.model, chunks, tokens, include, capped)
        cut = reply.fault in _CUT_OFF
        sent_text = 0
        for name, data in events:
            if cut and sent_text >= min(len(text), reply.disconnect_after) and \
                    _is_terminal(name, data):
                break
            self._chunk(wire.sse(name, data))
            sent_text += len(_delta_text(data))
        if reply.fault == "malformed_event":
            name = {"anthropic": "content_block_delta", "responses": "response.output_text.delta",
                    "chat": None}[api]
            self._chunk(wire.sse(name, '{"type": "' + (name or "chunk") + '", "delta": "unter'))
        if reply.fault in ("disconnect", "malformed_event"):
            self._abort()
            return
        if reply.fault == "stall":
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                time.sleep(0.05)
                self._chunk(b": keep-alive\n\n")
            self._abort()
            return
        if api == "chat":
            self._chunk(wire.sse(None, "[DONE]"))
        self._chunk(b"")  # end of the chunked body

    # ---------------------------------------------------------------- output

    def _send_head(self, status: int, ctype: str, length: int | None,
                   extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        if length is None:
            self.send_header("transfer-encoding", "chunked")
            self.send_header("cache-control", "no-cache")
        else:
            self.send_header("content-length", str(length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self._send_head(status, "application/json", len(data), extra)
        self.wfile.write(data)

    def _error(self, api: str, record: RecordedRequest, status: int, message: str,
               extra: dict[str, str] | None = None) -> None:
        record.status = status
        obj = wire.anthropic_error(status, message) if api == "anthropic" else \
            wire.openai_error(status, message)
        self._json(status, obj, extra)


def _delta_text(data: dict[str, Any]) -> str:
    delta = data.get("delta")
    if isinstance(delta, dict):
        return str(delta.get("text") or delta.get("content") or "")
    if isinstance(delta, str):
        return delta
    choices = data.get("choices")
    if isinstance(choices, list) and choices:
        return str((choices[0].get("delta") or {}).get("content") or "")
    return ""


def _is_terminal(name: str | None, data: dict[str, Any]) -> bool:
    return not _delta_text(data) and name not in ("message_start", "content_block_start",
                                                   "ping", "response.created",
                                                   "response.in_progress",
                                                   "response.output_item.added",
                                                   "response.content_part.added")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pair-lsp fake-server", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--scripts", type=Path, help="JSON: {model: [reply, ...]}")
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--token-rate", type=float, default=None)
    args = p.parse_args(argv)
    server = FakeModelServer(args.host, args.port, latency=args.latency,
                             token_rate=args.token_rate)
    if args.scripts:
        try:
            server.load_scripts(json.loads(args.scripts.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            print(f"fake-server: error: cannot load {args.scripts}: {exc}", file=sys.stderr)
            return 1
    server.start()
    print(f"fake model server listening on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
