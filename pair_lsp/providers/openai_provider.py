"""OpenAI through the `openai` SDK: the Responses API (`openai`) or Chat Completions
(`openai-chat`, for OpenAI-compatible servers: Ollama, llama.cpp, vLLM, LM Studio, LiteLLM).

The reviewer's structured-output form is chosen per backend (`structuredOutput`): `auto` uses
json_schema on OpenAI itself and json_object on other base URLs, and drops to prompt-only JSON
for the rest of the process if a server rejects the form it was sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from pair_lsp.config import RoleConfig
from pair_lsp.providers.base import (
    ModelRequest,
    ProviderError,
    StreamItem,
    TextDelta,
    Usage,
    cut_at_tokens,
)
from pair_lsp.providers.errors import error_text, map_error
from pair_lsp.providers.sdk_client import SdkProvider, fit_kwargs
from pair_lsp.providers.sse import sse_events


class OpenAIProvider(SdkProvider):
    sdk_module = "openai"

    def __init__(self, role: RoleConfig, api_key: str | None):
        super().__init__(role, api_key)
        self.chat = role.provider == "openai-chat"
        self._format = self._initial_format()

    def _initial_format(self) -> str:
        form = self.role.structuredOutput
        if form != "auto":
            return form
        return "json_object" if (self.chat and self.role.baseUrl) else "json_schema"

    def build(self, request: ModelRequest) -> dict[str, Any]:
        max_out = min(request.max_output_tokens, self.role.maxOutputTokens)
        kwargs: dict[str, Any] = {"model": self.role.model, "stream": True}
        temperature = self._temperature(request)
        if temperature is not None:
            kwargs["temperature"] = temperature
        schema = request.json_schema if self._format != "none" else None
        if self.chat:
            kwargs["messages"] = [{"role": "system", "content": request.system}] + [
                {"role": m.role, "content": m.content} for m in request.messages]
            kwargs["max_tokens" if self.role.baseUrl else "max_completion_tokens"] = max_out
            kwargs["stream_options"] = {"include_usage": True}
            if schema and self._format == "json_schema":
                kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "review", "schema": schema, "strict": True}}
            elif schema:
                kwargs["response_format"] = {"type": "json_object"}
        else:
            kwargs["instructions"] = request.system
            kwargs["input"] = [{"role": m.role, "content": m.content} for m in request.messages]
            kwargs["max_output_tokens"] = max_out
            kwargs["store"] = False
            if schema and self._format == "json_schema":
                kwargs["text"] = {"format": {"type": "json_schema", "name": "review",
                                             "schema": schema, "strict": True}}
            elif schema:
                kwargs["text"] = {"format": {"type": "json_object"}}
        return kwargs

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        try:
            async for item in self._stream_once(request):
                yield item
        except ProviderError as exc:
            rejected = exc.status in (400, 422, 500) and request.json_schema \
                and self._format != "none" and self.role.structuredOutput == "auto"
            if not rejected:
                raise
            self._format = "none"  # this backend rejects the structured-output form
            async for item in self._stream_once(request):
                yield item

    async def _stream_once(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        client = self._sdk()
        started = False  # the provider answered: a fault from here on is a broken stream
        usage = Usage()
        cut: str | None = None
        try:
            kwargs = self.build(request)
            limit = kwargs.get("max_output_tokens") or kwargs.get("max_tokens") or \
                kwargs.get("max_completion_tokens") or 0
            if self.chat:
                create = client.chat.completions.create
                stream = await create(**fit_kwargs(create, kwargs))
                started = True
                async with stream:
                    async for event in stream:
                        if event.choices:
                            choice = event.choices[0]
                            if choice.delta.content:
                                yield TextDelta(choice.delta.content)
                            cut = _chat_cut(choice.finish_reason, limit) or cut
                        if event.usage:
                            usage = _chat_usage(event.usage)
            else:
                # raw events: see pair_lsp/providers/sse.py for why not the typed stream
                create = client.responses.with_streaming_response.create
                async with create(**fit_kwargs(client.responses.create, kwargs)) as raw:
                    started = True
                    async for name, data in sse_events(raw.iter_lines()):
                        kind = data.get("type") or name
                        if kind == "response.output_text.delta":
                            delta = data.get("delta")
                            if isinstance(delta, str) and delta:
                                yield TextDelta(delta)
                        elif kind in ("response.completed", "response.incomplete"):
                            usage = _responses_usage(data.get("response"), usage)
                            cut = _responses_cut(data.get("response"), limit)
                        elif kind in ("response.failed", "error"):
                            body = data.get("response") if kind == "response.failed" else data
                            detail = error_text(body, "no detail given")
                            raise ProviderError(f"{self.info.label}: the reply failed: {detail}")
        except ProviderError:
            raise
        except Exception as exc:
            raise map_error(exc, self.info.label, self.role.timeout, started=started) from None
        yield dataclasses.replace(usage, truncated=cut)


def _chat_cut(finish_reason: str | None, limit: int) -> str | None:
    if finish_reason == "length":
        return cut_at_tokens(limit)
    if finish_reason == "content_filter":
        return "by the provider's content filter"
    return None


def _responses_cut(response: Any, limit: int) -> str | None:
    if not isinstance(response, dict) or response.get("status") != "incomplete":
        return None
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if reason == "content_filter":
        return "by the provider's content filter"
    return cut_at_tokens(limit) if reason in (None, "max_output_tokens") else \
        f"({str(reason)[:60]})"


def _chat_usage(u: Any) -> Usage:
    details = getattr(u, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) or 0
    return Usage(u.prompt_tokens or 0, u.completion_tokens or 0, cached)


def _responses_usage(response: Any, default: Usage) -> Usage:
    u = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(u, dict):
        return default
    details = u.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0),
                 int(cached or 0))

