"""The embedded local model (SmolLM2-135M, in-process): shape, not quality.

A 135M model's edits and verdicts are noise; what must hold is that every session ends in an
end state with well-formed events, no exception escapes, and files change only when approved.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pair_lsp.config import parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.protocol import REVIEW_SCHEMA, ReviewParseError, parse_review
from pair_lsp.loop.session import PairRequest
from pair_lsp.providers.base import Message, ModelRequest, ProviderConfigError, TextDelta, Usage
from pair_lsp.runner import SessionFactory

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the [local] extra")
pytestmark = [pytest.mark.local_model, pytest.mark.timeout(600)]
EXAMPLE = Path(__file__).parent.parent / "examples" / "buggy.py"
LOCAL = {"provider": "local", "model": "smollm2-135m", "maxOutputTokens": 200}


def local_settings(tmp: Path, **extra: object) -> object:
    settings, errors = parse_settings({"worker": LOCAL, "reviewer": LOCAL, "maxRounds": 2,
                                       "cache": {"enabled": False},
                                       "transcript": {"directory": str(tmp)}, **extra})
    assert errors == []
    return settings


async def collect(provider: object, request: ModelRequest) -> tuple[str, Usage]:
    text, usage = "", Usage()
    async for item in provider.stream(request):  # type: ignore[attr-defined]
        if isinstance(item, TextDelta):
            text += item.text
        else:
            usage = item
    return text, usage


async def test_session_ends_in_an_end_state(tmp_path: Path) -> None:
    factory = SessionFactory(local_settings(tmp_path))  # type: ignore[arg-type]
    text = EXAMPLE.read_text()
    start = text.index("def largest")
    end = text.index("def average")
    session = factory.create(PairRequest(document=text, start=start, end=end, path="buggy.py",
                                         language_id="python", instruction="fix the bug"))
    events = [e async for e in session.run()]
    done = events[-1]
    assert isinstance(done, ev.Finished) and done.status in ev.END_STATES
    for e in events:
        json.dumps(e.to_json())
    assert any(isinstance(e, ev.CallUsage) and e.usage.output_tokens > 0 for e in events)
    if done.new_document is not None:  # whatever it proposed stays inside the target
        assert done.new_document[:start] == text[:start]
    transcript = next(iter(factory.transcripts.values()))
    assert transcript.wait_written(10) and transcript.markdown_path.exists()


async def test_reviewer_reply_is_schema_json_and_cap_holds(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    factory = SessionFactory(settings)  # type: ignore[arg-type]
    provider = factory.provider(settings.reviewer)  # type: ignore[attr-defined]
    text, usage = await collect(provider, ModelRequest(
        role="reviewer", system="Review the code. Reply with JSON.",
        messages=(Message("user", "def f(x):\n    return x / 0\n"),),
        json_schema=REVIEW_SCHEMA, max_output_tokens=120))
    # constrained decoding keeps the reply JSON; the token cap may cut it, and then the
    # engine keeps the verdict and the complete findings (salvage)
    assert 0 < usage.output_tokens <= 120
    try:
        verdict = parse_review(text)
    except ReviewParseError as exc:
        assert usage.output_tokens == 120, f"not cut by the cap, yet unreadable: {text!r}"
        assert exc.salvage is not None, f"a cut reply without a verdict: {text!r}"
        verdict = exc.salvage
    assert verdict.verdict in ("approve", "revise")
    _short, usage = await collect(provider, ModelRequest(
        role="worker", system="Write a long story.", messages=(Message("user", "Go."),),
        max_output_tokens=16))
    assert usage.output_tokens <= 16


async def test_cancel_stops_generation_and_model_is_shared(tmp_path: Path) -> None:
    from pair_lsp.providers import local

    settings = local_settings(tmp_path)
    factory = SessionFactory(settings)  # type: ignore[arg-type]
    worker = factory.provider(settings.worker)  # type: ignore[attr-defined]
    reviewer = factory.provider(settings.reviewer)  # type: ignore[attr-defined]
    request = ModelRequest(role="worker", system="Count to one thousand.",
                           messages=(Message("user", "1, 2, 3,"),), max_output_tokens=150)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    gen = worker.stream(request)
    first = await gen.__anext__()
    assert isinstance(first, TextDelta)
    await gen.aclose()  # cancel mid-generation
    text, _ = await collect(reviewer, ModelRequest(
        role="worker", system="Say hi.", messages=(Message("user", "hi"),),
        max_output_tokens=8))  # the generation lock was released
    tick_task.cancel()
    assert text is not None and ticks > 5  # the event loop kept running throughout
    assert local.load_count == 1


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    from pair_lsp.config import RoleConfig
    from pair_lsp.providers.local import LocalProvider

    provider = LocalProvider(RoleConfig(provider="local", modelPath=str(tmp_path / "no.gguf")))
    with pytest.raises(ProviderConfigError, match="local model file not found"):
        provider.model_path()


def test_cli_offline_no_key(tmp_path: Path) -> None:
    target = tmp_path / "buggy.py"
    target.write_text(EXAMPLE.read_text())
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(XDG_STATE_HOME=str(tmp_path / "s"), XDG_CACHE_HOME=str(tmp_path / "c"))
    (tmp_path / ".pair-lsp.toml").write_text(
        "maxRounds = 1\n[worker]\nmaxOutputTokens = 200\n[reviewer]\nmaxOutputTokens = 200\n")
    out = subprocess.run([sys.executable, "-m", "pair_lsp", "run", str(target), "--lines",
                          "4-10", "--apply", "-m", "fix the bug"], capture_output=True,
                         text=True, env=env, timeout=600, check=False)
    assert out.returncode in (0, 1, 2), out.stderr
    assert "Traceback" not in out.stderr
    assert "using the local model" in out.stderr
    assert "transcript:" in out.stderr
    if out.returncode != 0:
        assert target.read_text() == EXAMPLE.read_text()
