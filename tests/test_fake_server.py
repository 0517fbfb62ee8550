"""The fake model server speaks the real wire formats: the real SDKs, non-streamed and faults."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import anthropic
import openai
import pytest

from pair_lsp.testing.fake_server import FakeModelServer, Reply


async def test_non_streamed_replies_parse_in_every_sdk(fake: FakeModelServer) -> None:
    fake.script("m", ["exactly this text"])
    a = anthropic.AsyncAnthropic(api_key="sk-test", base_url=fake.anthropic_url, max_retries=0)
    msg = await a.messages.create(model="m", max_tokens=50,
                                  messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == "exactly this text" and msg.usage.output_tokens == 5
    o = openai.AsyncOpenAI(api_key="sk-test", base_url=fake.openai_url, max_retries=0)
    resp = await o.responses.create(model="m", input="hi")
    assert resp.output_text == "exactly this text" and resp.usage.input_tokens > 0
    chat = await o.chat.completions.create(model="m",
                                           messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == "exactly this text"
    assert [r.api for r in fake.requests] == ["anthropic", "responses", "chat"]
    assert all(r.headers.get("x-api-key", r.headers.get("authorization")) == "<redacted>"
               for r in fake.requests)


async def test_faults_surface_as_sdk_errors(fake: FakeModelServer) -> None:
    fake.script("overloaded", [Reply(fault="529")])
    fake.script("broken", [Reply(fault="malformed")])
    a = anthropic.AsyncAnthropic(api_key="sk-test", base_url=fake.anthropic_url, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as info:
        await a.messages.create(model="overloaded", max_tokens=5,
                                messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 529
    o = openai.AsyncOpenAI(api_key="sk-test", base_url=fake.openai_url, max_retries=0)
    with pytest.raises(Exception):  # noqa: B017 - any parse failure will do
        await o.chat.completions.create(model="broken",
                                        messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.NotFoundError):
        await o.chat.completions.create(model="nobody", messages=[{"role": "user",
                                                                   "content": "hi"}])


async def test_prompt_cache_is_reported_the_second_time(fake: FakeModelServer) -> None:
    fake.script("m", ["ok"])
    a = anthropic.AsyncAnthropic(api_key="sk-test", base_url=fake.anthropic_url, max_retries=0)
    system = [{"type": "text", "text": "rules " * 200, "cache_control": {"type": "ephemeral"}}]
    first = await a.messages.create(model="m", max_tokens=5, system=system,  # type: ignore[arg-type]
                                    messages=[{"role": "user", "content": "hi"}])
    second = await a.messages.create(model="m", max_tokens=5, system=system,  # type: ignore[arg-type]
                                     messages=[{"role": "user", "content": "hi"}])
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_cli_serves_scripts_and_stops_on_sigterm(tmp_path: object) -> None:
    from pathlib import Path

    scripts = Path(str(tmp_path)) / "s.json"
    scripts.write_text(json.dumps({"m": ["scripted"]}))
    proc = subprocess.Popen([sys.executable, "-m", "pair_lsp", "fake-server", "--scripts",
                             str(scripts)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("fake model server listening on http://127.0.0.1:")
        url = line.split()[-1]
        req = urllib.request.Request(url + "/v1/chat/completions", method="POST",
                                     data=json.dumps({"model": "m", "messages": []}).encode(),
                                     headers={"content-type": "application/json"})
        body = json.load(urllib.request.urlopen(req, timeout=10))
        assert body["choices"][0]["message"]["content"] == "scripted"
        stats = json.load(urllib.request.urlopen(url + "/_fake/stats", timeout=10))
        assert stats["requests"] == 1 and stats["open_requests"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
