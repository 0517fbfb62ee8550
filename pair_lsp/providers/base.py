"""The one interface every model provider implements.

Providers know nothing of the pair loop: they take a :class:`ModelRequest` and stream back
:class:`TextDelta` chunks followed by exactly one :class:`Usage`. Faults surface as
:class:`ProviderError` with a message fit to show a user (no keys, no tracebacks).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["worker", "reviewer"]


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ModelRequest:
    """Everything a provider needs for one call. Also the cache key's payload."""

    role: Role
    system: str  # the stable, cacheable prefix (instructions + protocol)
    messages: tuple[Message, ...]
    json_schema: dict[str, Any] | None = None  # set for the reviewer: constrain the reply
    max_output_tokens: int = 4096
    temperature: float | None = 0.0
    # a GBNF grammar the reply must follow (pair_lsp.loop.grammar), set only for a provider
    # that decodes under one (``constrained = True``: the local model); others never get it
    grammar: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "role": self.role,
            "system": self.system,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "json_schema": self.json_schema,
            "max_output_tokens": self.max_output_tokens,
            "temperature": self.temperature,
        }
        if self.grammar is not None:  # absent otherwise: hosted requests' cache keys stay
            data["grammar"] = self.grammar
        return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (JSON allows ``"\\ud83d"`` alone) replaced by U+FFFD, so
    that it can always be encoded as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


@dataclass(frozen=True)
class TextDelta:
    """A piece of model text, sanitised at the provider boundary (see :func:`clean_text`)."""

    text: str

    def __post_init__(self) -> None:
        clean = clean_text(self.text)
        if clean is not self.text:
            object.__setattr__(self, "text", clean)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens read from the provider's prompt cache
    cache_write_tokens: int = 0
    # why the reply stopped before the model finished it, worded to follow "the reply was cut"
    # ("at its 512-token limit", "at the 60 s time limit"); None: it ended normally
    truncated: str | None = None

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


StreamItem = TextDelta | Usage


def cut_at_tokens(limit: int) -> str:
    """:attr:`Usage.truncated` for a reply stopped by its output-token cap."""
    return f"at its {limit}-token limit"


def cut_at_time(seconds: float) -> str:
    """:attr:`Usage.truncated` for a reply stopped by a wall-clock cap."""
    return f"at the {seconds:g} s time limit"


class ProviderError(Exception):
    """A provider fault, worded for the user. ``retryable`` says a fresh call may succeed."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class ProviderConfigError(ProviderError):
    """Misconfiguration: unknown provider, missing key, missing optional extra."""


@dataclass
class ProviderInfo:
    name: str  # "anthropic", "openai", "openai-chat", "local"
    model: str
    base_url: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "local fallback: no key for anthropic"

    @property
    def label(self) -> str:
        return f"{self.name}:{self.model}"


class Provider(Protocol):
    info: ProviderInfo

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """Yield TextDelta chunks, then one Usage. Cancelling the consumer aborts the call."""
        ...

    async def aclose(self) -> None: ...
