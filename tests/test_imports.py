"""The SDKs are loaded with only what a call needs (pair_lsp/imports.py), and still work in
full for code that uses them the usual way. Each check runs in a fresh interpreter: the test
process may have imported the SDKs already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pair_lsp.testing.fake_server import FakeModelServer

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    from pair_lsp.config import RoleConfig
    from pair_lsp.providers.base import Message, ModelRequest, TextDelta
    from pair_lsp.providers.registry import make_provider

    async def call(provider, url, model):
        p = make_provider(RoleConfig(provider=provider, model=model, baseUrl=url))
        text = ""
        async for item in p.stream(ModelRequest(role="worker", system="s",
                                                messages=(Message("user", "hi"),))):
            if isinstance(item, TextDelta):
                text += item.text
        await p.aclose()
        return text

    async def main():
        return [await call("openai", sys.argv[1], "w"), await call("anthropic", sys.argv[2], "r"),
                await call("openai-chat", sys.argv[1], "w")]

    texts = asyncio.run(main())
    loaded = sorted(sys.modules)
    import anthropic, openai  # the usual way, after the lean loading
    usual = [anthropic.AsyncAnthropic.__name__, anthropic.APIStatusError.__name__,
             anthropic.types.Message.__name__, openai.AsyncOpenAI.__name__,
             openai.types.responses.Response.__name__, openai.__version__ != ""]
    print(json.dumps({"texts": texts, "loaded": loaded, "usual": usual}))
""")


@pytest.mark.timeout(120)
def test_a_call_loads_only_what_it_needs_and_the_sdk_still_works_in_full(
        fake: FakeModelServer) -> None:
    fake.script("w", ["from the worker"])
    fake.script("r", ["from the reviewer"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, fake.openai_url, fake.anthropic_url],
                         capture_output=True, text=True, env=env, timeout=110, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["texts"] == ["from the worker", "from the reviewer", "from the worker"]
    loaded = set(got["loaded"])
    # parts of the SDKs that a streamed call never touches: not loaded
    for unused in ("anthropic.lib.vertex", "anthropic.lib.bedrock", "anthropic.resources.beta",
                   "anthropic.resources.organization", "openai.types.eval_create_params",
                   "openai.lib.azure", "openai.types.graders"):
        assert unused not in loaded, unused
    assert len([m for m in loaded if m.startswith(("anthropic", "openai"))]) < 2500
    assert got["usual"] == ["AsyncAnthropic", "APIStatusError", "Message", "AsyncOpenAI",
                            "Response", True]
