"""What the two SDK providers share: the role, the key, a lazily built async client."""

from __future__ import annotations

from typing import Any

from pair_lsp.config import RoleConfig
from pair_lsp.imports import import_heavy
from pair_lsp.providers.base import ModelRequest, ProviderInfo


class SdkProvider:
    sdk_module = ""  # "anthropic" | "openai": imported on first use (fast server start-up)
    client_class = ""  # "AsyncAnthropic" | "AsyncOpenAI"

    def __init__(self, role: RoleConfig, api_key: str | None):
        self.role = role
        self.info = ProviderInfo(role.provider, role.model, role.baseUrl)
        self._key = api_key
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            module = import_heavy(self.sdk_module)
            self._client = getattr(module, self.client_class)(
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
