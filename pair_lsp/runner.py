"""Assemble sessions from settings: providers (pooled per role config), cache, transcript.

The CLI and the language server both start sessions through :class:`SessionFactory`, so the
wiring (fallbacks, cache, transcript location) lives in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pair_lsp.cache import ResponseCache
from pair_lsp.config import RoleConfig, Settings
from pair_lsp.loop.session import PairRequest, ResponseStore, Session, Sink
from pair_lsp.providers.base import Provider
from pair_lsp.providers.registry import make_provider
from pair_lsp.transcript import Transcript, transcript_dir

log = logging.getLogger(__name__)


class SessionFactory:
    def __init__(self, settings: Settings, workspace: Path | None = None,
                 warn: Callable[[str], None] | None = None):
        self.settings = settings
        self.workspace = workspace
        self._warn = warn or (lambda m: log.warning("%s", m))
        self._providers: dict[tuple[RoleConfig, bool], Provider] = {}
        self._cache: ResponseCache | None = None
        self.transcripts: dict[str, Transcript] = {}

    def update(self, settings: Settings) -> None:
        if settings.cache != self.settings.cache and self._cache is not None:
            self._cache.close()
            self._cache = None
        self.settings = settings

    def provider(self, role: RoleConfig) -> Provider:
        """The pooled provider for a role (raises ProviderConfigError with a fix)."""
        key = (role, self.settings.localFallback)
        if key not in self._providers:
            self._providers[key] = make_provider(role, local_fallback=key[1])
        return self._providers[key]

    @property
    def cache(self) -> ResponseStore:
        if not self.settings.cache.enabled:
            return ResponseStore()
        if self._cache is None:
            self._cache = ResponseCache(self.settings.cache, self._warn, workspace=self.workspace)
        return self._cache

    def create(self, request: PairRequest, *, sinks: list[Sink] | None = None,
               max_rounds: int | None = None, session_id: str | None = None) -> Session:
        worker = self.provider(self.settings.worker) if request.mode == "pair" else None
        reviewer = self.provider(self.settings.reviewer)
        session = Session(request, self.settings, worker, reviewer, cache=self.cache,
                          sinks=list(sinks or []), session_id=session_id,
                          max_rounds=max_rounds)
        if self.settings.transcript.enabled:
            transcript = Transcript(transcript_dir(self.settings.transcript, self.workspace),
                                    session.id)
            session.sinks.insert(0, transcript)
            self.transcripts[session.id] = transcript
        return session

    async def aclose(self) -> None:
        for provider in self._providers.values():
            try:
                await provider.aclose()
            except Exception:  # closing is best effort
                pass
        self._providers.clear()
        if self._cache is not None:
            self._cache.close()
            self._cache = None
