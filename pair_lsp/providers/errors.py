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


# faults of our own code, never of the stream: not worth a second call
_BUGS = (TypeError, AttributeError, KeyError, IndexError, NameError, AssertionError)


def map_error(exc: Exception, label: str, timeout: float, *, started: bool) -> ProviderError:
    """A ProviderError for ``exc``.

    ``started``: the provider had answered (a 2xx response) and the reply was streaming. The
    SDKs retry only before that point; a fault after it (a dropped connection, a malformed
    event, a stall, an error event) breaks the stream of an idempotent request, so it is
    ``retryable``: the session calls again, bounded by the role's maxRetries.
    """
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not (started and status < 400):
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
    detail = redact(" ".join(str(exc).split()))[:200]
    if "Timeout" in name:
        return ProviderError(f"{label}: no answer within {timeout:g} s (pair.*.timeout)",
                             retryable=started)
    if started and not isinstance(exc, _BUGS):
        if isinstance(status, int):  # an error event inside a 2xx stream
            return ProviderError(f"{label}: the reply broke off: {_status_message(exc)}",
                                 retryable=True)
        if isinstance(exc, ValueError):  # json.JSONDecodeError and kin
            return ProviderError(f"{label}: a malformed stream event ({name}: {detail})",
                                 retryable=True)
        return ProviderError(f"{label}: the connection dropped mid-reply: {detail}",
                             retryable=True)
    if "Connection" in name or "Protocol" in name or "Read" in name:
        return ProviderError(f"{label}: could not connect: {detail}")
    return ProviderError(f"{label}: {name}: {detail}")
