"""Shared fixtures: the scripted fake model server and settings pointing both roles at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.testing.fake_server import FakeModelServer

# no real key, gateway or role override from the developer's shell leaks into tests
for _var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
             "PAIR_LSP_WORKER", "PAIR_LSP_REVIEWER", "PAIR_LSP_BASE_URL"):
    os.environ.pop(_var, None)

# the provider pairs every engine scenario runs with: each SDK in each role
PROVIDER_PAIRS = [("openai", "anthropic"), ("anthropic", "openai"), ("openai-chat", "openai-chat")]


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    server = FakeModelServer(port=0).start()
    try:
        yield server
    finally:
        server.stop()


def role(fake: FakeModelServer, provider: str, model: str, **extra: Any) -> dict[str, Any]:
    url = fake.anthropic_url if provider == "anthropic" else fake.openai_url
    return {"provider": provider, "model": model, "baseUrl": url, "maxRetries": 2,
            "timeout": 20.0, **extra}


def pair_settings(fake: FakeModelServer, worker: str, reviewer: str, tmp: Path,
                  worker_model: str = "w", reviewer_model: str = "r",
                  **extra: Any) -> dict[str, Any]:
    return {"worker": role(fake, worker, worker_model), "reviewer": role(fake, reviewer,
                                                                         reviewer_model),
            "cache": {"enabled": False, "directory": str(tmp / "cache")},
            "transcript": {"directory": str(tmp / "transcripts")}, **extra}
