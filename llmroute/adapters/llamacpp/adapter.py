"""The llama.cpp adapter: a GGUF model run in this process by llama-cpp-python (extra ``local``).

Requests are translated and checked before they wait; then each takes an instance from the pool
(:mod:`.pool`), and generation runs in a worker thread (llama-cpp-python releases the GIL), so
async calls never block the event loop. A slot goes back to the pool only once its llama call
has returned; a cancelled or abandoned request stops its generation at the next token.

llama_cpp is imported on first use, never by ``import llmroute``.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from ..._types import Completion, Request, StreamEvent, Usage
from ...errors import (
    BadRequestError,
    ConfigError,
    ContextWindowExceededError,
    MissingDependencyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from .model_file import INSTALL_HINT, check_gguf, default_model_path
from .pool import Control, Pool, Slot, Waiter, delivered

__all__ = ["LlamaCpp"]

# llama-cpp-python's own chat defaults (create_chat_completion), so results match its docs.
SAMPLING_DEFAULTS: Mapping[str, Any] = {
    "temperature": 0.2,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
}
# Backend-specific sampling knobs a request may pass in ``extra_body``.
EXTRA_BODY_KEYS = frozenset(
    {"top_k", "min_p", "typical_p", "repeat_penalty", "tfs_z", "mirostat_mode", "mirostat_tau", "mirostat_eta"}
)

_llama_cpp: Any = None
_LOAD_LOCK = threading.Lock()  # llama-cpp-python swaps process-wide stdout/stderr while loading
_LIVE: weakref.WeakSet[LlamaCpp] = weakref.WeakSet()  # closed at exit: llama.cpp logs if freed late


def _import_llama_cpp() -> Any:
    """Import llama_cpp, or say which extra installs it."""
    global _llama_cpp
    if _llama_cpp is None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingDependencyError(
                f"the LlamaCpp adapter needs llama-cpp-python: {INSTALL_HINT}"
            ) from exc
        _llama_cpp = llama_cpp
        atexit.register(_close_all)
    return _llama_cpp


def _close_all() -> None:
    for adapter in list(_LIVE):
        adapter.close()


@dataclass
class _Call:
    """A request translated for llama.cpp, checked before it waits for a slot."""

    messages: list[dict[str, Any]]
    kwargs: dict[str, Any]
    user_stop: list[str]
    json_format: Mapping[str, Any] | None
    control: Control
    timeout: float | None
    stream: bool = False
    prompt_tokens: int = 0


@lru_cache(maxsize=64)
def _grammar(llama_cpp_module: Any, schema_json: str | None) -> Any:
    """A cached llama.cpp grammar for JSON output (any JSON object, or one JSON schema)."""
    grammar_cls = llama_cpp_module.llama_grammar.LlamaGrammar
    if schema_json is None:
        return grammar_cls.from_string(llama_cpp_module.llama_grammar.JSON_GBNF, verbose=False)
    return grammar_cls.from_json_schema(schema_json, verbose=False)


class LlamaCpp:
    """A GGUF chat model run in-process by llama.cpp.

    ``model_path=None`` uses the packaged SmolLM2-135M-Instruct (extra ``local``). The chat
    template stored in the GGUF formats the messages (``chat_template`` overrides it).
    ``n_gpu_layers=None`` offloads every layer when llama.cpp was built with GPU support, else
    runs on the CPU. ``pool_size`` instances serve requests concurrently; up to ``max_queue``
    more wait, and past that a call raises OverloadedError. ``load="eager"`` loads every
    instance when the Router is built; ``"lazy"`` loads each on first use. ``defaults`` are
    call parameters (``temperature``, ``max_tokens``, ``repeat_penalty``...) a request's own
    parameters override. ``close()`` frees the models' memory. ``logprobs=True`` lets a
    request ask for its answer's token log-probabilities (``logprobs=True``, as OpenAI's API;
    a cascade's confidence check reads them); it keeps logits for every position, which costs
    ``n_ctx x vocabulary`` floats of memory per instance (about 100 MB for SmolLM2 at n_ctx 512).
    """

    provider = "llama.cpp"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_gpu_layers: int | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        pool_size: int = 1,
        max_queue: int = 64,
        load: Literal["eager", "lazy"] = "eager",
        chat_template: str | None = None,
        defaults: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        seed: int | None = None,
        logprobs: bool = False,
        **llama_kwargs: Any,
    ) -> None:
        for name, value, low in (("pool_size", pool_size, 1), ("max_queue", max_queue, 0), ("n_ctx", n_ctx, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"must be an integer >= {low}, got {value!r}", path=name)
        if load not in ("eager", "lazy"):
            raise ConfigError(f"must be 'eager' or 'lazy', got {load!r}", path="load")
        if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
            raise ConfigError(f"must be a positive integer, got {n_threads!r}", path="n_threads")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"must be > 0 seconds, got {timeout!r}", path="timeout")
        unknown = set(defaults or {}) - set(SAMPLING_DEFAULTS) - EXTRA_BODY_KEYS - {
            "max_tokens", "stop", "seed", "presence_penalty", "frequency_penalty",
        }  # fmt: skip
        if unknown:
            raise ConfigError(f"unknown call parameters {sorted(unknown)}", path="defaults")
        self._model_path = None if model_path is None else Path(model_path)
        self.n_gpu_layers = n_gpu_layers
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self.load = load
        self.chat_template = chat_template
        self.defaults: dict[str, Any] = {**SAMPLING_DEFAULTS, **(defaults or {})}
        self.timeout = timeout
        self.seed = seed
        self.logprobs = bool(logprobs)
        self.llama_kwargs = llama_kwargs
        self._pool = Pool(pool_size, max_queue)
        self._checked = False
        self._check_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._formatter: Any = None

    def __repr__(self) -> str:
        where = str(self._model_path) if self._model_path else "default SmolLM2-135M-Instruct"
        return f"LlamaCpp({where!r}, pool_size={self.pool_size}, load={self.load!r})"

    # -- introspection -------------------------------------------------------------------
    @property
    def pool_size(self) -> int:
        return self._pool.size

    @property
    def max_queue(self) -> int:
        return self._pool.max_queue

    @property
    def model_path(self) -> Path:
        """The GGUF file (the packaged default when none was given)."""
        if self._model_path is None:
            self._model_path = default_model_path()
        return self._model_path

    @property
    def loaded(self) -> int:
        """How many instances are in memory now."""
        return sum(1 for s in self._pool.slots if s.llama is not None)

    @property
    def busy(self) -> int:
        """Instances serving a request now."""
        return self._pool.busy

    @property
    def queued(self) -> int:
        """Requests waiting for an instance now."""
        return self._pool.queued

    def gpu_layers(self) -> int:
        """The n_gpu_layers passed to llama.cpp: the configured value, else all (-1) when it can offload."""
        if self.n_gpu_layers is not None:
            return self.n_gpu_layers
        return -1 if _import_llama_cpp().llama_supports_gpu_offload() else 0

    def threads(self) -> int:
        """Threads per instance: configured, else llama-cpp-python's default (half the usable
        CPUs, about the physical cores) shared among the pool. llama.cpp's threads spin at
        barriers, so oversubscribing cores slows every instance down sharply."""
        if self.n_threads is not None:
            return self.n_threads
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cpus // 2 // self.pool_size)

    # -- lifecycle -----------------------------------------------------------------------
    def check(self) -> None:
        """Fail now, naming the path, if llama_cpp is missing or the model file cannot load."""
        with self._check_lock:
            if not self._checked:
                _import_llama_cpp()
                check_gguf(self.model_path)
                self._checked = True
            if self.load == "eager":
                for slot in self._pool.slots:
                    if slot.llama is None and not self._pool.closed:
                        self._load(slot, as_config_error=True)

    implied_hosting = "local"  # in this process: see adapters/_hosting.py

    def warmup(self) -> None:
        """Import llama_cpp and load every idle instance of the pool now, not on the first calls.

        Instances busy with a request are left alone (they are loaded already, or loading)."""
        self.check()
        held: list[Slot] = []
        try:
            for _ in range(self._pool.size):
                slot = self._pool.try_take()
                if slot is None:
                    break
                held.append(slot)
                if slot.llama is None:
                    self._load(slot, as_config_error=True)
        finally:
            for slot in held:
                self._pool.give_back(slot)

    async def awarmup(self) -> None:
        """``warmup`` in a worker thread: a model load must never block the event loop."""
        import asyncio

        await asyncio.to_thread(self.warmup)

    def close(self) -> None:
        """Free every instance's memory; instances still generating are freed when they finish."""
        self._pool.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    def __enter__(self) -> LlamaCpp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self, slot: Slot, *, as_config_error: bool = False) -> Any:
        llama_cpp = _import_llama_cpp()
        kwargs: dict[str, Any] = {
            "n_gpu_layers": self.gpu_layers(),
            "n_ctx": self.n_ctx,
            "n_batch": self.n_batch,
            "verbose": False,
            **self.llama_kwargs,
        }
        kwargs.setdefault("n_threads", self.threads())
        kwargs.setdefault("n_threads_batch", kwargs["n_threads"])
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.logprobs:
            kwargs["logits_all"] = True  # llama.cpp computes log-probabilities from every position's logits
        try:
            with _LOAD_LOCK:
                llama = llama_cpp.Llama(str(self.model_path), **kwargs)
        except Exception as exc:
            message = f"llama.cpp could not load model file {str(self.model_path)!r}: {type(exc).__name__}: {exc}"
            if as_config_error:
                raise ConfigError(message, path="model_path") from exc
            raise ProviderUnavailableError(message, retryable=False) from exc
        if self._formatter is None:
            self._formatter = self._make_formatter(llama_cpp, llama)
        slot.llama = llama
        _LIVE.add(self)
        return llama

    def _make_formatter(self, llama_cpp: Any, llama: Any) -> Any:
        template = self.chat_template or llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(
                f"model file {str(self.model_path)!r} has no chat template; pass chat_template='...' (Jinja)",
                path="chat_template",
            )
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        text = llama._model.token_get_text  # the same strings llama-cpp-python passes its template
        return llama_cpp.llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=text(eos_id) if eos_id != -1 else "",
            bos_token=text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    def _submit(self, slot: Slot, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn`` in a worker thread; ``slot`` goes back to the pool once it has returned."""
        try:
            work = self._pool_executor().submit(fn, *args)
        except BaseException as exc:
            self._pool.give_back(slot)
            if isinstance(exc, RuntimeError):  # the executor was shut down by close()
                raise ProviderUnavailableError("the llama.cpp adapter is closed", retryable=False) from None
            raise
        work.add_done_callback(lambda _: self._pool.give_back(slot))
        return work

    def _pool_executor(self) -> ThreadPoolExecutor:
        # One worker per slot: only slot holders submit, so work never queues here.
        with self._check_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="llmroute-llama")
            return self._executor

    # -- request translation (before anything waits) -------------------------------------
    def _prepare(self, request: Request, *, stream: bool) -> _Call:
        params = dict(request.params)
        if params.get("tools") or params.get("functions"):
            raise ProviderError("the llama.cpp adapter does not support tools", retryable=False)
        merged: dict[str, Any] = dict(self.defaults)
        if params.get("logprobs") or params.get("top_logprobs"):
            if not self.logprobs:
                raise ProviderError("this llama.cpp adapter does not return logprobs: build it with logprobs=True", retryable=False)
            if not stream:  # token log-probabilities of a whole answer (a cascade's confidence check)
                merged["logprobs"] = int(params.get("top_logprobs") or 0)
        extra = dict(params.pop("extra_body", None) or {})
        stray = set(extra) - EXTRA_BODY_KEYS
        if stray:
            raise BadRequestError(f"extra_body: unknown llama.cpp parameters {sorted(stray)}; known: {sorted(EXTRA_BODY_KEYS)}")
        for key in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
            if params.get(key) is not None:
                merged[key] = params[key]
        max_tokens = request.max_tokens
        if max_tokens is not None:
            merged["max_tokens"] = max_tokens
        merged.setdefault("max_tokens", None)  # as OpenAI: up to the context's end (llama's own default is 16)
        merged.update(extra)
        stop = params.get("stop", merged.pop("stop", None))
        user_stop = [stop] if isinstance(stop, str) else list(stop or [])
        if params.get("logit_bias"):
            try:
                merged["logit_bias"] = {int(k): float(v) for k, v in params["logit_bias"].items()}
            except (TypeError, ValueError):
                raise BadRequestError("logit_bias: keys must be token ids, values numbers") from None
        json_format = _json_format(params.get("response_format"))
        # A request's timeout (a deadline's time left, say) may shorten the adapter's, never lengthen it.
        limits = [t for t in (params.get("timeout"), self.timeout) if t is not None]
        timeout = min(limits) if limits else None
        deadline = time.monotonic() + timeout if timeout else None
        return _Call(
            messages=_messages(request),
            kwargs=merged,
            user_stop=user_stop,
            json_format=json_format,
            control=Control(deadline),
            timeout=timeout,
            stream=stream,
        )

    # -- slots ---------------------------------------------------------------------------
    def _acquire(self, call: _Call) -> Slot:
        event = threading.Event()
        got = self._pool.take(event.set)
        if isinstance(got, Slot):
            return got
        _collect_abandoned()
        if not event.wait(call.control.remaining()):
            self._pool.abandon(got)
            raise ProviderTimeoutError(f"timed out after {call.timeout}s waiting for a free llama.cpp instance")
        return delivered(got)

    async def _aacquire(self, call: _Call) -> Slot:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        mine: list[Waiter] = []

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop is gone: nobody will take the slot
                for waiter in mine:
                    self._pool.abandon(waiter)

        got = self._pool.take(wake)
        if isinstance(got, Slot):
            return got
        waiter = got
        mine.append(waiter)
        _collect_abandoned()
        try:
            await asyncio.wait_for(future, call.control.remaining())
        except asyncio.TimeoutError:
            self._pool.abandon(waiter)
            raise ProviderTimeoutError(
                f"timed out after {call.timeout}s waiting for a free llama.cpp instance"
            ) from None
        except BaseException:
            self._pool.abandon(waiter)
            raise
        return delivered(waiter)

    # -- running llama.cpp (in the slot holder's thread) ----------------------------------
    def _start(self, slot: Slot, call: _Call) -> Any:
        """Load the slot if needed, format and tokenize the prompt, start create_completion."""
        llama = slot.llama if slot.llama is not None else self._load(slot)
        llama_cpp = _import_llama_cpp()
        try:
            formatted = self._formatter(messages=call.messages)
        except Exception as exc:
            raise BadRequestError(f"the model's chat template rejected the messages: {type(exc).__name__}: {exc}") from None
        prompt = llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        call.prompt_tokens = len(prompt)
        if len(prompt) >= llama.n_ctx():
            raise ContextWindowExceededError(
                f"prompt of {len(prompt)} tokens does not fit the context of {llama.n_ctx()} (n_ctx)"
            )
        template_stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        criteria = llama_cpp.StoppingCriteriaList([call.control])
        if formatted.stopping_criteria is not None:
            criteria.extend(formatted.stopping_criteria)
        grammar = None
        if call.json_format is not None:
            schema = call.json_format.get("schema")
            try:
                grammar = _grammar(llama_cpp, json.dumps(schema, sort_keys=True) if schema else None)
            except Exception as exc:
                raise BadRequestError(f"response_format: llama.cpp cannot follow this JSON schema: {exc}") from None
        try:
            return llama.create_completion(
                prompt=prompt,
                stop=call.user_stop + template_stop,
                stopping_criteria=criteria,
                grammar=grammar,
                stream=call.stream,
                model=self.model_path.stem,
                **call.kwargs,
            )
        except ValueError as exc:
            raise BadRequestError(f"llama.cpp rejected the request: {exc}") from None

    def _run_complete(self, slot: Slot, call: _Call) -> Completion:
        try:
            raw = self._start(slot, call)
        except ProviderError:
            raise
        except Exception as exc:
            raise _translate(exc) from exc
        self._raise_if_stopped(call)
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        return Completion(
            content=choice.get("text") or "",
            usage=Usage(int(usage.get("prompt_tokens", call.prompt_tokens)), int(usage.get("completion_tokens", 0))),
            finish_reason=choice.get("finish_reason") or "stop",
            response_id=raw.get("id"),
            response_model=raw.get("model"),
            logprobs=_token_logprobs(choice.get("logprobs")),
        )

    def _iter_stream(self, slot: Slot, call: _Call) -> Generator[StreamEvent, None, None]:
        try:
            chunks = self._start(slot, call)
        except ProviderError:
            raise
        except Exception as exc:
            raise _translate(exc) from exc
        response_id = f"chatcmpl-{uuid.uuid4().hex}"
        finish: str | None = None
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                text = choice.get("text") or ""
                if text:
                    yield StreamEvent(text=text, response_id=response_id, response_model=self.model_path.stem)
        except ProviderError:
            raise
        except Exception as exc:
            raise _translate(exc) from exc
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()  # stops generation when the caller left early
        self._raise_if_stopped(call)
        finish = finish or "stop"
        # llama-cpp-python consults the criteria once more after the loop; an end-of-turn token
        # is sampled but not part of the reply (as in its non-streamed usage).
        completion = call.control.sampled - 1 - (1 if finish == "stop" else 0)
        yield StreamEvent(
            finish_reason=finish,
            usage=Usage(call.prompt_tokens, max(0, completion)),
            response_id=response_id,
            response_model=self.model_path.stem,
        )

    def _raise_if_stopped(self, call: _Call) -> None:
        if call.control.timed_out:
            raise ProviderTimeoutError(f"generation timed out after {call.timeout}s")
        if call.control.cancelled:
            raise ProviderError("generation cancelled", retryable=False)

    # -- the adapter protocol ------------------------------------------------------------
    def complete(self, request: Request) -> Completion:
        if not self._checked:
            self.check()
        call = self._prepare(request, stream=False)
        slot = self._acquire(call)
        try:
            return self._run_complete(slot, call)
        finally:
            self._pool.give_back(slot)

    async def acomplete(self, request: Request) -> Completion:
        if not self._checked:
            await asyncio.to_thread(self.check)  # may load the model: not on the event loop
        call = self._prepare(request, stream=False)
        slot = await self._aacquire(call)
        # The slot is reusable only once the llama call has returned (or never started).
        work: Future[Completion] = self._submit(slot, self._run_complete, slot, call)
        try:
            return await asyncio.wrap_future(work)
        except asyncio.CancelledError:
            call.control.cancel()  # stop generating at the next token
            raise

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        if not self._checked:
            self.check()
        call = self._prepare(request, stream=True)
        slot = self._acquire(call)
        try:
            yield from self._iter_stream(slot, call)
        finally:
            self._pool.give_back(slot)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        if not self._checked:
            await asyncio.to_thread(self.check)
        call = self._prepare(request, stream=True)
        slot = await self._aacquire(call)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamEvent | BaseException | None] = asyncio.Queue()

        def put(item: StreamEvent | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            events = self._iter_stream(slot, call)
            try:
                for event in events:
                    if call.control.cancelled:
                        return
                    put(event)
            except BaseException as exc:
                if not call.control.cancelled:
                    put(exc)
                return
            finally:
                events.close()
            put(None)

        work = self._submit(slot, _quiet(produce))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            call.control.cancel()  # a consumer that left early stops generation at the next token
            work.cancel()


def _collect_abandoned() -> None:
    """Before waiting for a slot, let the collector find streams dropped inside reference
    cycles: the stream closer gives their slots back (see llmroute.guards.streams)."""
    import gc

    gc.collect()


def _quiet(fn: Callable[[], None]) -> Callable[[], None]:
    """Run ``fn``; a closed event loop only means nobody is listening any more."""

    def run() -> None:
        try:
            fn()
        except RuntimeError:
            pass

    return run


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _token_logprobs(raw: Any) -> tuple[float, ...] | None:
    """The generated tokens' log-probabilities from llama-cpp-python's completion ``logprobs``."""
    values = (raw or {}).get("token_logprobs") if isinstance(raw, Mapping) else None
    return tuple(float(v) for v in values if v is not None) if values else None


def _translate(exc: Exception) -> ProviderError:
    text = str(exc)
    if "exceed context window" in text:
        return ContextWindowExceededError(f"context window exceeded: {text}")
    return ProviderUnavailableError(f"llama.cpp failed ({type(exc).__name__}): {text[:300]}", retryable=False)


def _json_format(value: Any) -> Mapping[str, Any] | None:
    """{'schema': ...} or {} for JSON output; None for text. OpenAI's two JSON shapes accepted."""
    if value is None:
        return None
    kind = value.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        schema = value.get("schema")  # llama-cpp-python's own extension
        return {"schema": schema} if schema else {}
    if kind == "json_schema":
        spec = value.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise BadRequestError("response_format.json_schema.schema: must be a JSON schema object")
        return {"schema": schema}
    raise BadRequestError(f"response_format.type: must be 'text', 'json_object' or 'json_schema', got {kind!r}")


def _messages(request: Request) -> list[dict[str, Any]]:
    """Plain role/content dicts for the chat template; text parts joined, images refused."""
    out: list[dict[str, Any]] = []
    for i, message in enumerate(request.messages):
        role = message.get("role")
        if role in ("tool", "function") or message.get("tool_calls"):
            raise ProviderError("the llama.cpp adapter does not support tool messages", retryable=False)
        content = message.get("content")
        if isinstance(content, Sequence) and not isinstance(content, str):
            texts = []
            for part in content:
                if part.get("type") != "text":
                    raise ProviderError(
                        f"messages[{i}]: the llama.cpp adapter takes text only, got a {part.get('type')!r} part",
                        retryable=False,
                    )
                texts.append(part["text"])
            content = "\n".join(texts)
        out.append({"role": "system" if role == "developer" else role, "content": content or ""})
    return out
