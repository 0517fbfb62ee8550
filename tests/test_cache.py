"""The response cache is safe to point anywhere: it deletes only its own files, in a directory it
owns, and never unpickles anything (values are JSON text in its own SQLite table)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pair_lsp.cache import DB_NAME, MARKER, CacheRefused, ResponseCache, claim_directory
from pair_lsp.config import CacheConfig
from pair_lsp.providers.base import Message, ModelRequest, ProviderInfo, Usage
from pair_lsp.testing.fake_server import FakeModelServer
from tests.scripts import APPROVE, BUGGY, WORKER_R1


class _Provider:
    info = ProviderInfo("openai", "m", None)


REQUEST = ModelRequest(role="worker", system="s", messages=(Message("user", "u"),))


def put_get(cache: ResponseCache, text: str) -> tuple[str, Usage] | None:
    asyncio.run(cache.put(_Provider(), REQUEST, text, Usage(1, 2)))  # type: ignore[arg-type]
    return asyncio.run(cache.get(_Provider(), REQUEST))  # type: ignore[arg-type]


def cli(*args: str, cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIR_LSP_")}
    env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "xdg-cache"),
               XDG_CONFIG_HOME=str(tmp / "config"))
    return subprocess.run([sys.executable, "-m", "pair_lsp", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120, check=False)


def checkout(tmp: Path) -> Path:
    repo = tmp / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "important.py").write_text("KEEP = 1\n")
    (repo / "app.py").write_text(BUGGY)
    return repo


def settings_file(path: Path, fake: FakeModelServer, cache_dir: str) -> Path:
    path.write_text(f'maxRounds = 1\n'
                    f'[worker]\nprovider = "openai"\nmodel = "w"\nbaseUrl = "{fake.openai_url}"\n'
                    f'[reviewer]\nprovider = "openai"\nmodel = "r"\n'
                    f'baseUrl = "{fake.openai_url}"\n'
                    f'[cache]\ndirectory = "{cache_dir}"\n')
    return path


@pytest.mark.parametrize("how", ["--config", "--trust"])
def test_a_cache_at_the_checkout_never_deletes_it(fake: FakeModelServer, tmp_path: Path,
                                                  how: str) -> None:
    """The reproduction: `cache.directory = "."` and a garbage cache.db deleted the checkout."""
    repo = checkout(tmp_path)
    config = settings_file(repo / ".pair-lsp.toml", fake, ".")
    (repo / "cache.db").write_bytes(b"this is not a sqlite database" * 100)
    fake.script("w", [WORKER_R1])
    fake.script("r", [APPROVE])
    args = ["--config", str(config)] if how == "--config" else ["--trust"]
    out = cli("run", "app.py", *args, cwd=repo, tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (repo / "src" / "important.py").read_text() == "KEEP = 1\n"
    assert (repo / "app.py").read_text() == BUGGY and (repo / "cache.db").exists()
    assert "The response cache is off" in out.stderr and "Traceback" not in out.stderr
    assert not (repo / MARKER).exists() and not (repo / DB_NAME).exists()


def test_a_shipped_pickle_never_runs(fake: FakeModelServer, tmp_path: Path) -> None:
    """A folder the repository ships, holding a diskcache (default pickling Disk) whose entries
    run code when unpickled, must not run it on `pair-lsp run --review-only` — not even with a
    planted ownership marker."""
    import diskcache

    repo = checkout(tmp_path)
    fake.script("r", [APPROVE])
    # learn the keys this run uses, from a scratch cache (whatever its format)
    scratch = tmp_path / "scratch"
    config = settings_file(tmp_path / "scratch.toml", fake, str(scratch))
    out = cli("run", "app.py", "--review-only", "--config", str(config), cwd=repo, tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    if (scratch / DB_NAME).exists():
        with sqlite3.connect(scratch / DB_NAME) as db:
            keys = [k for (k,) in db.execute("SELECT key FROM replies")]
    else:
        with diskcache.Cache(str(scratch)) as old:
            keys = list(old)
    assert keys
    shipped = repo / "shipped-cache"
    marker = tmp_path / "PWNED"
    with diskcache.Cache(str(shipped)) as planted:
        for key in keys:
            planted.set(key, _Exploit(str(marker)))
    (shipped / MARKER).write_text("")
    config = settings_file(tmp_path / "shipped.toml", fake, str(shipped))
    out = cli("run", "app.py", "--review-only", "--config", str(config), cwd=repo, tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not marker.exists(), "the cache unpickled a shipped entry"


class _Exploit:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.marker}",))


def test_clearing_removes_only_the_caches_own_files(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    warnings: list[str] = []
    cache = ResponseCache(CacheConfig(directory=str(directory)), warnings.append)
    assert put_get(cache, "hello") is not None
    cache.close()
    (directory / "notes.txt").write_text("the user's")
    (directory / DB_NAME).write_bytes(b"garbage" * 1000)
    cache = ResponseCache(CacheConfig(directory=str(directory)), warnings.append)
    hit = put_get(cache, "again")
    assert hit is not None and hit[0] == "again"
    assert any("cleared" in w for w in warnings)
    assert (directory / "notes.txt").read_text() == "the user's"


@pytest.mark.parametrize("where", ["home", "workspace", "parent", "foreign", "file"])
def test_a_directory_not_the_caches_is_refused(tmp_path: Path, where: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    workspace = home / "src" / "repo"
    workspace.mkdir(parents=True)
    (workspace / "app.py").write_text("x = 1\n")
    monkeypatch.setenv("HOME", str(home))
    target = {"home": home, "workspace": workspace, "parent": home / "src",
              "foreign": workspace, "file": workspace / "app.py"}[where]
    protected = () if where == "foreign" else (workspace,)
    with pytest.raises(CacheRefused):
        claim_directory(target, protected=protected)
    assert (workspace / "app.py").read_text() == "x = 1\n"
    warnings: list[str] = []
    cache = ResponseCache(CacheConfig(directory=str(target)), warnings.append,
                          workspace=workspace)
    assert put_get(cache, "hello") is None
    assert len(warnings) == 1 and "The response cache is off" in warnings[0]
    assert not (workspace / DB_NAME).exists()


def test_default_directory_and_files_are_private(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = ResponseCache(CacheConfig())
    assert put_get(cache, "hello") is not None
    cache.close()
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    for path in cache.directory.iterdir():
        if path.name.startswith(DB_NAME):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert (cache.directory / MARKER).is_file()


def test_values_are_json_text(tmp_path: Path) -> None:
    cache = ResponseCache(CacheConfig(directory=str(tmp_path / "c")))
    put_get(cache, "reply \ud83d text")  # a lone surrogate from a model is stored safely
    cache.close()
    with sqlite3.connect(tmp_path / "c" / DB_NAME) as db:
        (value,) = db.execute("SELECT value FROM replies").fetchone()
    assert isinstance(value, str) and value.startswith('{"text": "reply \\ud83d text"')


def test_the_size_limit_evicts_the_oldest(tmp_path: Path) -> None:
    cache = ResponseCache(CacheConfig(directory=str(tmp_path / "c"), sizeLimitMb=1))
    for i in range(30):
        request = ModelRequest(role="worker", system=str(i), messages=(Message("user", "u"),))
        asyncio.run(cache.put(_Provider(), request, "x" * 50_000,  # type: ignore[arg-type]
                              Usage(1, 1)))
    cache.close()
    with sqlite3.connect(tmp_path / "c" / DB_NAME) as db:
        (count, total) = db.execute("SELECT COUNT(*), SUM(size) FROM replies").fetchone()
    assert total <= 1024 * 1024 and 10 < count < 30
