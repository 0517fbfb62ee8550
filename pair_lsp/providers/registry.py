"""Build the provider for a role: pick the backend, resolve its key, fall back to local."""

from __future__ import annotations

import importlib.util

from pair_lsp.config import RoleConfig
from pair_lsp.providers.base import Provider, ProviderConfigError
from pair_lsp.secrets import KeyResolutionError, resolve_key

LOCAL_INSTALL_HINT = "pip install 'pair-lsp[local]'"


def local_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def make_provider(role: RoleConfig, *, local_fallback: bool = True) -> Provider:
    """A ready provider for ``role``. Raises ProviderConfigError with a one-line fix."""
    if role.provider == "local":
        return _make_local(role, note=None)
    try:
        key = resolve_key(role)
    except KeyResolutionError as exc:
        raise ProviderConfigError(str(exc)) from None
    needs_key = role.baseUrl is None or role.apiKeyEnv is not None or role.apiKeyCommand
    if key is None and needs_key:
        env = role.default_key_env()
        if local_fallback and local_available():
            # a tiny model rambles: a tight cap ends its runaway generations quickly
            return _make_local(
                RoleConfig(provider="local", model="smollm2-135m", maxOutputTokens=512,
                           timeout=60.0),
                note=f"no key for {role.label} (set {env}); using the local model",
            )
        raise ProviderConfigError(
            f"No API key for {role.label}: set {env} (or pair.{{worker,reviewer}}.apiKeyCommand),"
            f" or install the offline model with {LOCAL_INSTALL_HINT}")
    if role.provider == "anthropic":
        from pair_lsp.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(role, key)
    if role.provider in ("openai", "openai-chat"):
        from pair_lsp.providers.openai_provider import OpenAIProvider

        return OpenAIProvider(role, key)
    raise ProviderConfigError(f"Unknown provider {role.provider!r}")


def _make_local(role: RoleConfig, note: str | None) -> Provider:
    if not local_available():
        raise ProviderConfigError(
            f"The local model needs llama-cpp-python: {LOCAL_INSTALL_HINT}"
            " (or set an API key for a hosted model)")
    from pair_lsp.providers.local import LocalProvider

    provider = LocalProvider(role)
    if note:
        provider.info.notes.append(note)
    return provider
