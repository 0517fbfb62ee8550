"""Anthropic Messages API through the `anthropic` SDK: streamed, prompt-cached, schema-bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pair_lsp.providers.base import (
    ModelRequest,
    ProviderError,
    StreamItem,
    TextDelta,
    Usage,
    cut_at_tokens,
)
from pair_lsp.providers.errors import map_error
from pair_lsp.providers.sdk_client import SdkProvider, fit_kwargs

_CACHE = {"type": "ephemeral"}


class AnthropicProvider(SdkProvider):
    sdk_module = "anthropic"

    def build(self, request: ModelRequest) -> dict[str, Any]:
        """The SDK keyword arguments for ``request`` (system + first message cached)."""
        messages: list[dict[str, Any]] = []
        for i, m in enumerate(request.messages):
            block: dict[str, Any] = {"type": "text", "text": m.content}
            if i == 0:
                block["cache_control"] = _CACHE  # the task: stable across rounds
            messages.append({"role": m.role, "content": [block]})
        kwargs: dict[str, Any] = {
            "model": self.role.model,
            "max_tokens": min(request.max_output_tokens, self.role.maxOutputTokens),
            "system": [{"type": "text", "text": request.system, "cache_control": _CACHE}],
            "messages": messages,
        }
        temperature = self._temperature(request)
        if temperature is not None:
            kwargs["temperature"] = temperature
        if request.json_schema and self.role.structuredOutput in ("auto", "json_schema"):
            kwargs["output_config"] = {"format": {"type": "json_schema",
                                                  "schema": request.json_schema}}
        return kwargs

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        client = self._sdk()
        started = False  # the provider answered: a fault from here on is a broken stream
        kwargs = self.build(request)
        try:
            manager = client.messages.stream(**fit_kwargs(client.messages.stream, kwargs))
            async with manager as stream:
                started = True
                async for event in stream:
                    if event.type == "text" and event.text:
                        yield TextDelta(event.text)
                final = await stream.get_final_message()
        except ProviderError:
            raise
        except Exception as exc:
            raise map_error(exc, self.info.label, self.role.timeout, started=started) from None
        u = final.usage
        cached = getattr(u, "cache_read_input_tokens", None) or 0
        written = getattr(u, "cache_creation_input_tokens", None) or 0
        yield Usage(input_tokens=(u.input_tokens or 0) + cached + written,
                    output_tokens=u.output_tokens or 0, cached_tokens=cached,
                    cache_write_tokens=written,
                    truncated=_cut(final.stop_reason, kwargs["max_tokens"]))


def _cut(stop_reason: str | None, max_tokens: int) -> str | None:
    """Why a reply with ``stop_reason`` was cut short, if it was."""
    if stop_reason == "max_tokens":
        return cut_at_tokens(max_tokens)
    if stop_reason == "refusal":
        return "by the model's refusal"
    if stop_reason == "model_context_window_exceeded":
        return "at the model's context window"
    return None
