"""The response cache: an identical model request replays from disk with no HTTP request.

The key covers the provider, its base URL, the model, the full request and the protocol
version; values hold the reply text and its usage (never a key or a header). diskcache is
synchronous (SQLite), so calls run in a thread. A corrupt cache is cleared with a warning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from pair_lsp.config import CacheConfig
from pair_lsp.loop.protocol import PROTOCOL_VERSION
from pair_lsp.loop.session import ResponseStore
from pair_lsp.providers.base import ModelRequest, Provider, Usage

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pair-lsp", appauthor=False)) / "responses"


_NOT_OUTPUT = ("apiKeyEnv", "apiKeyCommand", "timeout", "maxRetries")


def cache_key(provider: Provider, request: ModelRequest) -> str:
    role = getattr(provider, "role", None)  # the provider's own settings shape its replies
    shaping = ({f.name: getattr(role, f.name) for f in dataclasses.fields(role)
                if f.name not in _NOT_OUTPUT} if dataclasses.is_dataclass(role) else {})
    payload = {
        "protocol": PROTOCOL_VERSION,
        "provider": provider.info.name,
        "base_url": provider.info.base_url,
        "model": provider.info.model,
        "role": shaping,
        "request": request.to_json(),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


class ResponseCache(ResponseStore):
    def __init__(self, config: CacheConfig, warn: Any = None):
        self.directory = Path(config.directory) if config.directory else default_cache_dir()
        self.size_limit = config.sizeLimitMb * 1024 * 1024
        self._warn = warn or (lambda message: log.warning("%s", message))
        self._cache: Any = None
        self.hits = 0
        self.misses = 0

    def _open(self) -> Any:
        if self._cache is None:
            import diskcache

            try:
                self._cache = diskcache.Cache(str(self.directory), size_limit=self.size_limit)
            except (sqlite3.DatabaseError, OSError) as exc:
                self._reset(exc)
                self._cache = diskcache.Cache(str(self.directory), size_limit=self.size_limit)
        return self._cache

    def _reset(self, exc: BaseException) -> None:
        self._warn(f"The response cache at {self.directory} was unreadable ({exc}); "
                   "it has been cleared.")
        if self._cache is not None:
            try:
                self._cache.close()
            except Exception:  # closing a broken cache may fail too
                pass
            self._cache = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def _get(self, key: str) -> tuple[str, Usage] | None:
        try:
            value = self._open().get(key)
        except (sqlite3.DatabaseError, OSError, ValueError, EOFError) as exc:
            self._reset(exc)
            return None
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            return None
        u = value.get("usage", {})
        return value["text"], Usage(int(u.get("input", 0)), int(u.get("output", 0)),
                                    int(u.get("cached", 0)))

    def _put(self, key: str, text: str, usage: Usage) -> None:
        value = {"text": text, "usage": {"input": usage.input_tokens,
                                         "output": usage.output_tokens,
                                         "cached": usage.cached_tokens}}
        try:
            self._open().set(key, value)
        except (sqlite3.DatabaseError, OSError) as exc:
            self._reset(exc)

    async def get(self, provider: Provider, request: ModelRequest) -> tuple[str, Usage] | None:
        hit = await asyncio.to_thread(self._get, cache_key(provider, request))
        if hit is None:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    async def put(self, provider: Provider, request: ModelRequest, text: str,
                  usage: Usage) -> None:
        await asyncio.to_thread(self._put, cache_key(provider, request), text, usage)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None
