"""The response cache: an identical model request replays from disk with no HTTP request.

The key (a sha256) covers the provider, its base URL, the model, the full request and the
protocol version; values are JSON text holding the reply and its usage (never a key, a header or
a pickle) in one SQLite table. The cache lives in a directory it owns: one it created (mode
0700, with a marker file) or one holding its marker. It never takes over a folder with other
files in it, nor the workspace, the home directory or a parent of either; clearing a corrupt
cache removes only the cache's own files. SQLite is synchronous, so calls run in a thread;
their warnings are passed on from the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pair_lsp.config import CacheConfig
from pair_lsp.loop.protocol import PROTOCOL_VERSION
from pair_lsp.loop.session import ResponseStore
from pair_lsp.private_files import owned_by_me, private_dir, touch_private
from pair_lsp.providers.base import ModelRequest, Provider, Usage

log = logging.getLogger(__name__)

MARKER = ".pair-lsp-cache"  # written by the cache into a directory it owns
DB_NAME = "replies.db"
OWN_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal")
_SCHEMA = ("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
           "size INTEGER NOT NULL, stored REAL NOT NULL);"
           "CREATE INDEX IF NOT EXISTS replies_stored ON replies (stored);")


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pair-lsp", appauthor=False)) / "responses"


class CacheRefused(Exception):
    """The directory is not the cache's to use; the message says why."""


def claim_directory(directory: Path, *, protected: tuple[Path, ...] = ()) -> Path:
    """Make ``directory`` the cache's own and return it resolved, or raise CacheRefused.

    Created here: mode 0700 plus the marker. Existing: it must hold the marker (or be the
    default directory, or be empty), belong to this user and not be one of ``protected`` (nor
    the home directory) or a parent of one."""
    path = directory.expanduser().resolve()
    for guarded in (Path.home(), *protected):
        guarded = guarded.expanduser().resolve()
        if path == guarded or guarded.is_relative_to(path):
            raise CacheRefused(f"{directory} is {guarded} or a parent of it")
    if path.exists():
        if not path.is_dir():
            raise CacheRefused(f"{directory} is not a directory")
        if not owned_by_me(path):
            raise CacheRefused(f"{directory} belongs to another user")
        if not (path / MARKER).is_file() and path != default_cache_dir().resolve() \
                and any(path.iterdir()):
            raise CacheRefused(f"{directory} is not empty and is not a pair-lsp cache (it has "
                               f"no {MARKER} file); name a new or empty folder")
    private_dir(path, tighten=True)
    if not (path / MARKER).exists():
        (path / MARKER).write_text("a pair-lsp response cache: its files may be deleted\n")
    if any((path / name).is_symlink() for name in OWN_FILES):
        raise CacheRefused(f"{directory} holds a symbolic link named like a cache file")
    return path


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


def _decode(value: str) -> tuple[str, Usage] | None:
    try:
        data = json.loads(value)
        usage = data.get("usage", {})
        text = data["text"]
        if not isinstance(text, str):
            return None
        return text, Usage(int(usage.get("input", 0)), int(usage.get("output", 0)),
                           int(usage.get("cached", 0)))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


class ResponseCache(ResponseStore):
    def __init__(self, config: CacheConfig, warn: Any = None, *,
                 workspace: Path | None = None):
        self.directory = Path(config.directory) if config.directory else default_cache_dir()
        self.size_limit = config.sizeLimitMb * 1024 * 1024
        self._warn = warn or (lambda message: log.warning("%s", message))
        self._protected = (workspace,) if workspace is not None else ()
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._off = False  # refused or broken beyond repair: no reads, no writes
        self._pending: list[str] = []  # warnings from the thread, shown from the loop
        self._size = 0
        self.hits = 0
        self.misses = 0

    # ------------------------------------------------------------------ storage (threads)

    def _open(self) -> sqlite3.Connection | None:
        if self._db is None and not self._off:
            try:
                path = claim_directory(self.directory, protected=self._protected)
            except (CacheRefused, OSError) as exc:
                self._off = True
                self._pending.append(f"The response cache is off: {exc}.")
                return None
            db_file = path / DB_NAME
            touch_private(db_file)  # SQLite gives its -wal and -shm files the same mode
            db = sqlite3.connect(db_file, timeout=10, check_same_thread=False,
                                 isolation_level=None)
            try:
                db.execute("PRAGMA trusted_schema = OFF")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")  # a cache: no fsync per reply
                db.executescript(_SCHEMA)
                self._size = db.execute("SELECT COALESCE(SUM(size), 0) FROM replies"
                                        ).fetchone()[0]
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _clear(self, exc: BaseException) -> None:
        """Remove the cache's own files (only those, only in its own directory)."""
        self._pending.append(f"The response cache at {self.directory} was unreadable ({exc}); "
                             "it has been cleared.")
        self._close_db()
        try:
            path = claim_directory(self.directory, protected=self._protected)
            for name in OWN_FILES:
                (path / name).unlink(missing_ok=True)
        except (CacheRefused, OSError) as err:
            self._off = True
            self._pending.append(f"The response cache is off: {err}.")

    def _guarded(self, action: Any) -> Any:
        with self._lock:
            for attempt in (1, 2):
                try:
                    db = self._open()
                    return None if db is None else action(db)
                except (sqlite3.Error, OSError) as exc:
                    if attempt == 2:
                        self._off = True
                        self._close_db()
                        self._pending.append(f"The response cache is off: {exc}.")
                        return None
                    self._clear(exc)
        return None

    def _get(self, key: str) -> tuple[str, Usage] | None:
        def read(db: sqlite3.Connection) -> tuple[str, Usage] | None:
            row = db.execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
            return _decode(row[0]) if row and isinstance(row[0], str) else None
        result: tuple[str, Usage] | None = self._guarded(read)
        return result

    def _put(self, key: str, text: str, usage: Usage) -> None:
        value = json.dumps({"text": text, "usage": {"input": usage.input_tokens,
                                                    "output": usage.output_tokens,
                                                    "cached": usage.cached_tokens}},
                           ensure_ascii=True)  # ASCII: a lone surrogate cannot break it

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?)",
                       (key, value, len(value), time.time()))
            self._size += len(value)
            if self._size > self.size_limit:
                self._evict(db)
        self._guarded(write)

    def _evict(self, db: sqlite3.Connection) -> None:
        """Drop the oldest replies until the cache is at 90% of its size limit."""
        self._size = db.execute("SELECT COALESCE(SUM(size), 0) FROM replies").fetchone()[0]
        excess = self._size - int(self.size_limit * 0.9)
        if excess <= 0:
            return
        freed = 0
        doomed: list[str] = []
        for key, size in db.execute("SELECT key, size FROM replies ORDER BY stored"):
            if freed >= excess:
                break
            doomed.append(key)
            freed += size
        db.executemany("DELETE FROM replies WHERE key = ?", [(k,) for k in doomed])
        self._size -= freed

    def _close_db(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:  # closing a broken database may fail too
                pass
            self._db = None

    # ------------------------------------------------------------------ the store (loop)

    def _flush_warnings(self) -> None:
        while self._pending:
            self._warn(self._pending.pop(0))

    async def get(self, provider: Provider, request: ModelRequest) -> tuple[str, Usage] | None:
        hit = await asyncio.to_thread(self._get, cache_key(provider, request))
        self._flush_warnings()
        if hit is None:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    async def put(self, provider: Provider, request: ModelRequest, text: str,
                  usage: Usage) -> None:
        await asyncio.to_thread(self._put, cache_key(provider, request), text, usage)
        self._flush_warnings()

    def close(self) -> None:
        with self._lock:
            self._close_db()
