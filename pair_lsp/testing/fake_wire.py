"""Wire formats of the three model APIs the fake server speaks: Anthropic Messages, OpenAI
Responses and OpenAI Chat Completions; whole JSON bodies and SSE event sequences."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Event = tuple[str | None, dict[str, Any]]  # (SSE event name, data)


@dataclass
class Tokens:
    input: int
    output: int
    cached: int = 0
    cache_write: int = 0


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


# ------------------------------------------------------------------ anthropic


def anthropic_usage(t: Tokens) -> dict[str, Any]:
    return {"input_tokens": t.input, "output_tokens": t.output,
            "cache_read_input_tokens": t.cached, "cache_creation_input_tokens": t.cache_write}


def anthropic_message(model: str, text: str, t: Tokens, cut: bool = False) -> dict[str, Any]:
    return {"id": _id("msg"), "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if cut else "end_turn",
            "stop_sequence": None, "usage": anthropic_usage(t)}


def anthropic_stream(model: str, chunks: Iterator[str], t: Tokens,
                     cut: bool = False) -> Iterator[Event]:
    start = anthropic_message(model, "", Tokens(t.input, 1, t.cached, t.cache_write))
    start["content"] = []
    start["stop_reason"] = None
    yield "message_start", {"type": "message_start", "message": start}
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}
    yield "ping", {"type": "ping"}
    for chunk in chunks:
        yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": chunk}}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": "max_tokens" if cut else "end_turn",
                                      "stop_sequence": None},
                            "usage": {"output_tokens": t.output}}
    yield "message_stop", {"type": "message_stop"}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# ------------------------------------------------------------- openai responses


def responses_usage(t: Tokens) -> dict[str, Any]:
    return {"input_tokens": t.input, "input_tokens_details": {"cached_tokens": t.cached},
            "output_tokens": t.output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": t.input + t.output}


def _output_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]
            if status == "completed" else []}


def responses_object(model: str, text: str, t: Tokens | None, status: str = "completed",
                     resp_id: str | None = None, item_id: str | None = None) -> dict[str, Any]:
    """A Responses object; ``status="incomplete"``: cut at the output-token cap."""
    done = status in ("completed", "incomplete")
    return {"id": resp_id or _id("resp"), "object": "response", "created_at": int(time.time()),
            "status": status, "model": model, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if status == "incomplete" else None,
            "instructions": None, "metadata": {}, "parallel_tool_calls": True,
            "temperature": None, "tool_choice": "auto", "tools": [], "top_p": None,
            "output": [_output_item(item_id or _id("msg"), text, "completed")]
            if done else [],
            "usage": responses_usage(t) if t else None}


def responses_stream(model: str, chunks: Iterator[str], t: Tokens,
                     cut: bool = False) -> Iterator[Event]:
    resp_id, item_id = _id("resp"), _id("msg")
    seq = 0

    def ev(name: str, data: dict[str, Any]) -> Event:
        nonlocal seq
        seq += 1
        return name, {"type": name, "sequence_number": seq - 1, **data}

    yield ev("response.created", {"response": responses_object(model, "", None, "in_progress",
                                                               resp_id)})
    yield ev("response.in_progress", {"response": responses_object(model, "", None,
                                                                   "in_progress", resp_id)})
    yield ev("response.output_item.added", {"output_index": 0,
                                            "item": _output_item(item_id, "", "in_progress")})
    yield ev("response.content_part.added", {
        "item_id": item_id, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []}})
    text = ""
    for chunk in chunks:
        text += chunk
        yield ev("response.output_text.delta", {"item_id": item_id, "output_index": 0,
                                                "content_index": 0, "delta": chunk,
                                                "logprobs": []})
    yield ev("response.output_text.done", {"item_id": item_id, "output_index": 0,
                                           "content_index": 0, "text": text, "logprobs": []})
    yield ev("response.content_part.done", {
        "item_id": item_id, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": text, "annotations": []}})
    yield ev("response.output_item.done", {"output_index": 0,
                                           "item": _output_item(item_id, text, "completed")})
    status = "incomplete" if cut else "completed"
    yield ev(f"response.{status}", {"response": responses_object(model, text, t, status,
                                                                resp_id, item_id)})


# ---------------------------------------------------------------- openai chat


def chat_usage(t: Tokens) -> dict[str, Any]:
    return {"prompt_tokens": t.input, "completion_tokens": t.output,
            "total_tokens": t.input + t.output,
            "prompt_tokens_details": {"cached_tokens": t.cached}}


def chat_completion(model: str, text: str, t: Tokens, cut: bool = False) -> dict[str, Any]:
    return {"id": _id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "finish_reason": "length" if cut else "stop",
                                         "logprobs": None,
                                         "message": {"role": "assistant", "content": text}}],
            "usage": chat_usage(t)}


def chat_stream(model: str, chunks: Iterator[str], t: Tokens,
                include_usage: bool, cut: bool = False) -> Iterator[Event]:
    cid, created = _id("chatcmpl"), int(time.time())

    def chunk_obj(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": finish}]}

    yield None, chunk_obj({"role": "assistant", "content": ""}, None)
    for chunk in chunks:
        yield None, chunk_obj({"content": chunk}, None)
    yield None, chunk_obj({}, "length" if cut else "stop")
    if include_usage:
        yield None, {"id": cid, "object": "chat.completion.chunk", "created": created,
                     "model": model, "choices": [], "usage": chat_usage(t)}


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = {429: "rate_limit_exceeded", 404: "model_not_found"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {body}\n\n".encode()
