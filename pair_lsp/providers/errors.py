"""Turn SDK exceptions (anthropic and openai share their shapes) into user-worded ProviderErrors."""

from __future__ import annotations

from typing import Any

from pair_lsp.providers.base import ProviderError
from pair_lsp.secrets import redact


def error_text(body: Any, default: str) -> str:
    """The provider's own words in an error body (``{"error": {"message": ...}}`` or
    ``{"message": ...}``), else ``default``: redacted, on one line, at most 300 characters."""
    message = default
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            message = err["message"]
    return redact(" ".join(str(message).split()))[:300]


def _status_message(exc: BaseException) -> str:
    return error_text(getattr(exc, "body", None), getattr(exc, "message", None) or str(exc))


def map_error(exc: Exception, label: str, timeout: float, *, started: bool) -> ProviderError:
    """A ProviderError for ``exc``. ``started``: the reply had begun streaming."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        hint = {
            401: "the API key was rejected",
            403: "the API key may not use this model",
            404: "unknown model or endpoint (check model and baseUrl)",
            429: "rate limited, and retries ran out",
            529: "the provider is overloaded, and retries ran out",
        }.get(status, "the provider failed, and retries ran out" if status >= 500 else "")
        detail = _status_message(exc)
        text = f"{label}: HTTP {status}" + (f" ({hint})" if hint else "") + f": {detail}"
        return ProviderError(text, retryable=False, status=status)
    if "Timeout" in name:
        return ProviderError(f"{label}: no answer within {timeout:g} s (pair.*.timeout)",
                             retryable=not started)
    if "Connection" in name or "Protocol" in name or "Read" in name or started:
        what = "the connection dropped mid-reply" if started else "could not connect"
        return ProviderError(f"{label}: {what}: {redact(str(exc))[:200]}", retryable=started)
    return ProviderError(f"{label}: {name}: {redact(str(exc))[:200]}")
