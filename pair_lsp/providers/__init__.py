"""Model providers behind one interface (see base.py); SDKs are imported on first use."""

from pair_lsp.providers.base import (
    Message,
    ModelRequest,
    Provider,
    ProviderConfigError,
    ProviderError,
    ProviderInfo,
    TextDelta,
    Usage,
)

__all__ = ["Message", "ModelRequest", "Provider", "ProviderConfigError", "ProviderError",
           "ProviderInfo", "TextDelta", "Usage"]
