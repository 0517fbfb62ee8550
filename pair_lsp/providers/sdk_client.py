"""What the two SDK providers share: the role, the key, a lazily built async client."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from pair_lsp.config import RoleConfig
from pair_lsp.imports import sdk_client_class
from pair_lsp.providers.base import ModelRequest, ProviderInfo


class SdkProvider:
    sdk_module = ""  # "anthropic" | "openai": imported on first use, only what a call needs

    def __init__(self, role: RoleConfig, api_key: str | None):
        self.role = role
        self.info = ProviderInfo(role.provider, role.model, role.baseUrl)
        self._key = api_key
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            self._client = sdk_client_class(self.sdk_module)(
                api_key=self._key or "not-needed", base_url=self.role.baseUrl,
                max_retries=self.role.maxRetries, timeout=self.role.timeout)
        return self._client

    def _temperature(self, request: ModelRequest) -> float | None:
        return self.role.temperature if self.role.temperature is not None \
            else request.temperature

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def fit_kwargs(method: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for an SDK method, with the request fields this SDK version does not take as
    keywords moved into ``extra_body`` (sent as they are). The dependency ranges span SDKs that
    add fields (anthropic 0.70 has no ``output_config``) and drop them (anthropic 2.x has no
    ``temperature``); the API accepts both."""
    known = _parameters(getattr(method, "__func__", method))
    if known is None:
        return kwargs
    extra = {k: v for k, v in kwargs.items() if k not in known}
    if not extra:
        return kwargs
    fitted = {k: v for k, v in kwargs.items() if k in known}
    fitted["extra_body"] = {**kwargs.get("extra_body", {}), **extra}
    return fitted


@functools.cache
def _parameters(function: Callable[..., Any]) -> frozenset[str] | None:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None  # takes anything
    return frozenset(p.name for p in params)
