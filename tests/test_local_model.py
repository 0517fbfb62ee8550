"""The embedded local model (SmolLM2-135M, in-process): shape, not quality.

A 135M model's edits and verdicts are noise; what must hold is that every session ends in an
end state with well-formed events, no exception escapes, and files change only when approved.
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pair_lsp.config import RoleConfig, parse_settings
from pair_lsp.loop import events as ev
from pair_lsp.loop.grammar import review_grammar, unique_runs, worker_grammar
from pair_lsp.loop.matching import apply_blocks
from pair_lsp.loop.prompts import REVIEWER_SYSTEM_CONSTRAINED, WORKER_SYSTEM_CONSTRAINED
from pair_lsp.loop.protocol import (
    REVIEW_SCHEMA,
    ReviewParseError,
    parse_review,
    parse_worker_reply,
)
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


# ------------------------------------------------------------ grammar-constrained decoding

TARGET = ("def largest(values):\n"
          "    best = 0\n"
          "    for v in values:\n"
          "        if v > best:\n"
          "            best = v\n"
          "    return best\n")
PATIENT = RoleConfig(provider="local", model="smollm2-135m", maxOutputTokens=512,
                     timeout=900.0)  # a busy CI machine must not cut these replies by time


def block(search: str, replace: str, note: str = "Start from the first value.") -> str:
    return (f"{note}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE")


def accepts(grammar: str, text: str, *, complete: bool = True) -> bool:
    """llama.cpp's own grammar sampler, fed ``text`` token by token (then the end-of-text
    token when ``complete``): False as soon as it masks a token out."""
    from pair_lsp.providers.local import _load, default_model_path

    llm = _load(default_model_path(), PATIENT.contextSize)
    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode(), b"root")
    assert sampler, "llama.cpp refused the grammar"
    tokens = llm.tokenize(text.encode(), add_bos=False, special=False)
    if complete:
        tokens.append(llm.token_eos())
    try:
        for token in tokens:
            data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
            candidates = llama_cpp.llama_token_data_array(data, 1, -1, False)
            llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
            if data[0].logit == float("-inf"):
                return False
            if token != llm.token_eos():
                llama_cpp.llama_sampler_accept(sampler, token)
        return True
    finally:
        llama_cpp.llama_sampler_free(sampler)


def test_worker_grammar_quotes_only_the_targets_lines() -> None:
    grammar = worker_grammar(TARGET)
    assert grammar is not None
    assert accepts(grammar, block("    best = 0\n", "    best = values[0]\n"))
    assert accepts(grammar, block("    best = 0\n    for v in values:\n",
                                  "    best = values[0]\n    for v in values[1:]:\n", note=""
                                  ).lstrip("\n"))
    # two blocks, in the target's order
    assert accepts(grammar, block("    best = 0\n", "    best = None\n") + "\n" +
                   block("        if v > best:\n", "        if best is None or v > best:\n",
                         note="").lstrip("\n"))
    # a SEARCH line that is not in the target cannot be produced
    assert not accepts(grammar, block("    best = -1\n", "    best = values[0]\n"),
                       complete=False)
    assert not accepts(grammar, block("    best = 0  \n", "    best = values[0]\n"),
                       complete=False)
    # nor lines of the target that are not consecutive, nor a block before an earlier one
    assert not accepts(grammar, block("    best = 0\n        if v > best:\n", "x\n"),
                       complete=False)
    assert not accepts(grammar, block("        if v > best:\n", "x\n") + "\n" +
                       block("    best = 0\n", "y\n", note="").lstrip("\n"), complete=False)
    # no code fence in REPLACE, nothing after the end marker, no reply without a block
    assert not accepts(grammar, block("    best = 0\n", "```python\n"), complete=False)
    assert not accepts(grammar, block("    best = 0\n", "    best = values[0]\n") + "\nDone.",
                       complete=False)
    assert not accepts(grammar, "Nothing to change.\n")


def test_worker_grammar_only_offers_searches_that_match_once() -> None:
    target = "x = 1\ny = 2\nx = 1\nz = 3\n\n"
    assert unique_runs(target) == {0: 2, 1: 1, 2: 2, 3: 1}
    grammar = worker_grammar(target)
    assert grammar is not None
    assert not accepts(grammar, block("x = 1\n", "x = 0\n"), complete=False)  # twice in it
    assert accepts(grammar, block("x = 1\ny = 2\n", "x = 0\ny = 2\n"))
    assert accepts(grammar, block("x = 1\nz = 3\n", "x = 0\nz = 3\n"))
    assert worker_grammar("") is None and worker_grammar("\n \n") is None
    for target in ('s = "a\\\\b"\n\tt = \'"\'\n', "naïve = '→'\n"):  # escapes, tabs, UTF-8
        grammar = worker_grammar(target)
        assert grammar is not None
        first = target.split("\n")[0] + "\n"
        assert accepts(grammar, block(first, first))


def test_review_grammar_forces_a_verdict_quoting_the_candidate() -> None:
    grammar = review_grammar(TARGET)
    finding = ('{"id":"F1","quote":"best = 0","line":2,"severity":"error","message":'
               '"0 beats every negative number.","suggestion":"Start from values[0]."}')
    good = f'{{"verdict":"revise","findings":[{finding}],"summary":"Wrong for negatives."}}'
    assert accepts(grammar, good)
    assert parse_review(good).findings[0].quote == "best = 0"
    assert accepts(grammar, '{"verdict":"approve","findings":[],"summary":"Fine."}')
    # a revise needs a finding; a quote not in the candidate, or on another line, is refused
    assert not accepts(grammar, '{"verdict":"revise","findings":[],"summary":"x"}',
                       complete=False)
    assert not accepts(grammar, good.replace('"best = 0"', '"best = 1"'), complete=False)
    assert not accepts(grammar, good.replace('"line":2', '"line":3'), complete=False)
    assert not accepts(grammar, good + " ", complete=False)
    assert not accepts(grammar, good.replace('"F1"', '"F2"'), complete=False)  # F1, F2, ...
    two = good.replace(finding, finding + "," + finding.replace('"F1"', '"F2"'))
    assert accepts(grammar, two) and [f.id for f in parse_review(two).findings] == ["F1", "F2"]


def test_hosted_requests_carry_no_grammar() -> None:
    request = ModelRequest(role="worker", system="s", messages=(Message("user", "u"),))
    assert "grammar" not in request.to_json()  # hosted cache keys are unchanged
    from pair_lsp.providers.openai_provider import OpenAIProvider

    assert not getattr(OpenAIProvider, "constrained", False)


async def test_generation_under_the_worker_grammar_quotes_the_target() -> None:
    from pair_lsp.providers.local import LocalProvider

    provider = LocalProvider(PATIENT)
    text, usage = await collect(provider, ModelRequest(
        role="worker", system=WORKER_SYSTEM_CONSTRAINED,
        messages=(Message("user", "Instruction: fix the bug for lists of negative numbers"
                          f"\n\nTARGET:\n```python\n{TARGET}```"),),
        max_output_tokens=512, temperature=None, grammar=worker_grammar(TARGET)))
    # every line the model put in a SEARCH part is a line of the target (a cut reply too)
    quoted, in_search = [], False
    for line in text.split("\n"):
        if line in ("<<<<<<< SEARCH", "======="):
            in_search = line == "<<<<<<< SEARCH"
        elif in_search:
            quoted.append(line)
    assert quoted and set(quoted) <= set(TARGET.split("\n")), text
    if usage.truncated is None:  # a whole reply: blocks that all match the target exactly
        reply = parse_worker_reply(text)
        assert reply.blocks and not reply.problems, text
        assert text.rstrip().endswith(">>>>>>> REPLACE"), text
        result = apply_blocks(TARGET, reply.blocks)
        assert not result.failures, (result.failures, text)
    else:
        assert usage.output_tokens == 512, usage


async def test_generation_under_the_review_grammar_parses_as_a_verdict() -> None:
    from pair_lsp.providers.local import LocalProvider

    candidate = TARGET.replace("best = 0", "best = values[0]")
    provider = LocalProvider(PATIENT)
    text, usage = await collect(provider, ModelRequest(
        role="reviewer", system=REVIEWER_SYSTEM_CONSTRAINED,
        messages=(Message("user", "Instruction given to the worker: fix the bug for lists of "
                          f"negative numbers\n\nCANDIDATE:\n```python\n{candidate}```"),),
        json_schema=REVIEW_SCHEMA, max_output_tokens=512, temperature=None,
        grammar=review_grammar(candidate)))
    assert usage.truncated is None, f"cut {usage.truncated}: {text!r}"
    verdict = parse_review(text)  # no salvage, no repair
    assert verdict.verdict in ("approve", "revise")
    for f in verdict.findings:
        assert f.quote and f.quote in candidate and f.line is not None
        assert candidate.split("\n")[f.line - 1].strip() == f.quote


async def test_a_cut_reply_under_the_grammar_is_reported_as_cut(tmp_path: Path) -> None:
    from pair_lsp.providers.local import LocalProvider

    provider = LocalProvider(PATIENT)
    text, usage = await collect(provider, ModelRequest(
        role="worker", system=WORKER_SYSTEM_CONSTRAINED,
        messages=(Message("user", f"Fix this:\n{TARGET}"),), max_output_tokens=12,
        grammar=worker_grammar(TARGET)))
    assert usage.output_tokens == 12 and usage.truncated == "at its 12-token limit", text
    # in a session: said on screen (a Notice), never approved, and nothing applied
    settings = local_settings(tmp_path, matchRetries=0, maxRounds=1)
    settings = dataclasses.replace(settings, worker=dataclasses.replace(  # type: ignore
        PATIENT, maxOutputTokens=24), reviewer=PATIENT)
    factory = SessionFactory(settings)  # type: ignore[arg-type]
    session = factory.create(PairRequest(document=TARGET, path="t.py", language_id="python",
                                         instruction="fix the bug for negative numbers"))
    events = [e async for e in session.run()]
    notices = [e.message for e in events if isinstance(e, ev.Notice)]
    assert "the worker's reply was cut at its 24-token limit" in notices, notices
    done = events[-1]
    assert isinstance(done, ev.Finished) and done.status != "approved", done


async def test_a_reply_cut_before_its_first_word_says_so(tmp_path: Path) -> None:
    settings = local_settings(tmp_path, maxRounds=1)
    hasty = dataclasses.replace(PATIENT, timeout=0.001)  # below any parsed setting: a busy CPU
    settings = dataclasses.replace(settings, worker=hasty, reviewer=hasty)  # type: ignore
    factory = SessionFactory(settings)  # type: ignore[arg-type]
    session = factory.create(PairRequest(document=TARGET, path="t.py", language_id="python",
                                         instruction="fix the bug"))
    done = await session.result()
    assert done.status == "failed", done
    assert "returned an empty reply (it was cut at the 0.001 s time limit)" in done.reason, done
