"""The Router: one chat model to the caller, many models behind it.

Every rule lives in the pure plan (``_plan``); the methods here are thin loops that execute it,
one blocking and one async, so both behave the same and async never blocks the event loop.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._plan import AttemptPlan, PlanSettings, decide
from ._request import build_request
from ._types import (
    Choice,
    ChunkChoice,
    Completion,
    Decision,
    Delta,
    Model,
    Request,
    Response,
    ResponseMessage,
    StreamChunk,
    Usage,
)
from .errors import ConfigError, LLMRouteError, ProviderTimeoutError, StreamInterruptedError
from .policies.base import Policy, policy_name
from .reliability import BreakerPolicy, CircuitBreakers, RetryPolicy
from .tokens import estimate_tokens
from .tracing import AttemptTrace, CallTrace, Telemetry, traced_astream, traced_stream

_log = logging.getLogger("llmroute")

if TYPE_CHECKING:
    from .state import StateStore

__all__ = ["Router"]

_S = TypeVar("_S", Iterator[StreamChunk], AsyncIterator[StreamChunk])


class Router:
    """Routes each chat request to one of ``models`` as ``policies`` decide.

    ``route`` decides without calling anything; ``completion``, ``acompletion``, ``stream`` and
    ``astream`` decide and then call, falling back down the ranked candidates when a model fails
    (hard constraints re-checked before every attempt). ``model="name"`` pins a model.
    """

    def __init__(
        self,
        models: Sequence[Model],
        policies: Sequence[Policy] = (),
        *,
        default_output_tokens: int = 256,
        fallback: bool = True,
        max_attempts: int | None = None,
        fallback_on_content_filter: bool = False,
        check: bool = True,
        capture_content: bool | None = None,
        audit: Callable[[Any], object] | None = None,
        instrument: bool = True,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        breaker: BreakerPolicy | Mapping[str, Any] | Literal[False] | None = None,
        state_store: StateStore | None = None,
    ) -> None:
        models = tuple(models)
        if not models:
            raise ConfigError("at least one model is required", path="models")
        by_name: dict[str, Model] = {}
        for i, model in enumerate(models):
            if not isinstance(model, Model):
                raise ConfigError(f"must be a llmroute.Model, got {type(model).__name__}", path=f"models[{i}]")
            if model.name in by_name:
                raise ConfigError(f"duplicate model name {model.name!r}", path=f"models[{i}].name")
            by_name[model.name] = model
        named: list[tuple[str, Policy]] = []
        for i, policy in enumerate(policies):
            if not callable(policy):
                raise ConfigError(f"must be callable (request, candidates) -> Verdict, got {type(policy).__name__}", path=f"policies[{i}]")
            named.append((policy_name(policy), policy))
        if max_attempts is not None and max_attempts < 1:
            raise ConfigError(f"must be >= 1, got {max_attempts!r}", path="max_attempts")
        if default_output_tokens < 1:
            raise ConfigError(f"must be >= 1, got {default_output_tokens!r}", path="default_output_tokens")
        self._models = models
        self._by_name = by_name
        self._policies = tuple(named)
        self._settings = PlanSettings(
            default_output_tokens=default_output_tokens,
            fallback=fallback,
            max_attempts=max_attempts,
            fallback_on_content_filter=fallback_on_content_filter,
            retry=RetryPolicy.coerce(retry),
        )
        # One breaker per model, shared by every request of this Router (False: none).
        self._breakers = None if breaker is False else CircuitBreakers(BreakerPolicy.coerce(breaker), state_store)
        # Spans, metrics and audit records; OpenTelemetry itself loads on the first call.
        self._telemetry = Telemetry(
            first_model=models[0].name,
            capture_content=capture_content,
            audit=audit,
            enabled=instrument,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        if check:
            for model in models:
                model.adapter.check()

    @classmethod
    def from_config(cls, source: str | PathLike[str] | Mapping[str, Any]) -> Router:
        """Build a Router from a YAML/JSON file or a dict (see docs/configuration.md)."""
        from .config import load_router

        return load_router(source)

    # -- introspection -------------------------------------------------------------------
    @property
    def models(self) -> tuple[Model, ...]:
        return self._models

    @property
    def policies(self) -> tuple[Policy, ...]:
        return tuple(p for _, p in self._policies)

    @property
    def breakers(self) -> CircuitBreakers | None:
        """The per-model circuit breakers (``state``, ``reset``); None when switched off."""
        return self._breakers

    def __repr__(self) -> str:
        return f"Router(models={[m.name for m in self._models]}, policies={[n for n, _ in self._policies]})"

    # -- deciding ------------------------------------------------------------------------
    def _request(self, messages: Any, kw: dict[str, Any], stream: bool = False) -> Request:
        return build_request(
            messages,
            model=kw.pop("model", None),
            user=kw.pop("user", None),
            tenant=kw.pop("tenant", None),
            tags=kw.pop("tags", ()),
            classification=kw.pop("classification", None),
            metadata=kw.pop("metadata", None),
            stream=stream,
            params=kw,
        )

    def decide(self, request: Request) -> Decision:
        """The Decision for an already built Request."""
        return decide(request, self._models, self._by_name, self._policies, self._settings)

    def route(self, messages: Any, **kw: Any) -> Decision:
        """Decide which model would serve this request, and why. Calls nothing."""
        request = self._request(messages, kw)
        try:
            return self._telemetry.call(request, "route").decide(self.decide)
        finally:
            self._release(request)  # a dry run holds no budget reservation

    # -- policy hooks: what stateful policies (spend, latency) learn after deciding ---------
    def _record(self, request: Request, model: Model, usage: Usage | None, cost: float, elapsed_s: float) -> None:
        """Call ``record(request, model, usage, cost, elapsed_s)`` on each policy that has it."""
        for name, policy in self._policies:
            hook = getattr(policy, "record", None)
            if hook is not None:
                try:
                    hook(request, model, usage, cost, elapsed_s)
                except Exception as exc:  # the call succeeded; a broken hook must not undo that
                    _log.warning("policy %r record() raised %s", name, type(exc).__name__)

    def _release(self, request: Request) -> None:
        """Call ``release(request)`` on each policy that has it: the request ended without a recorded call."""
        for name, policy in self._policies:
            hook = getattr(policy, "release", None)
            if hook is not None:
                try:
                    hook(request)
                except Exception as exc:
                    _log.warning("policy %r release() raised %s", name, type(exc).__name__)

    # -- calling -------------------------------------------------------------------------
    def _start(self, messages: Any, kw: dict[str, Any], stream: bool = False) -> tuple[AttemptPlan, CallTrace]:
        request = self._request(messages, kw, stream)
        call = self._telemetry.call(request)
        try:
            decision = call.decide(self.decide)
            plan = call.plan = AttemptPlan(request, decision, self._by_name, self._settings, breakers=self._breakers)
        except BaseException as exc:  # no model, or every circuit open: end the call's span before failing fast
            call.end(exc)
            self._release(request)
            raise
        return plan, call

    def completion(self, messages: Any, **kw: Any) -> Response:
        """Route and call; returns an OpenAI-shaped Response with ``.decision`` and ``.attempts``."""
        plan, call = self._start(messages, kw)
        with call:
            return self._complete(plan, call)

    def _complete(self, plan: AttemptPlan, call: CallTrace) -> Response:
        while (step := plan.next()) is not None:
            if step.delay_s:
                time.sleep(step.delay_s)
            attempt = call.attempt(step)
            started = time.perf_counter()
            try:
                result = step.model.adapter.complete(plan.request_for(step))
            except LLMRouteError as exc:
                plan.failed(step.model, exc, time.perf_counter() - started)
                attempt.failed(exc)
                continue
            return self._succeeded(plan, step.model, attempt, result, time.perf_counter() - started)
        self._release(plan.request)
        raise plan.exhausted()

    async def acompletion(self, messages: Any, **kw: Any) -> Response:
        """The async twin of :meth:`completion`."""
        plan, call = self._start(messages, kw)
        with call:
            return await self._acomplete(plan, call)

    async def _acomplete(self, plan: AttemptPlan, call: CallTrace) -> Response:
        while (step := plan.next()) is not None:
            if step.delay_s:
                await _sleep(step.delay_s)
            attempt = call.attempt(step)
            started = time.perf_counter()
            try:
                result = await _bounded(step.model.adapter.acomplete(plan.request_for(step)), step.timeout_s)
            except LLMRouteError as exc:
                plan.failed(step.model, exc, time.perf_counter() - started)
                attempt.failed(exc)
                continue
            return self._succeeded(plan, step.model, attempt, result, time.perf_counter() - started)
        self._release(plan.request)
        raise plan.exhausted()

    def _succeeded(self, plan: AttemptPlan, model: Model, attempt: AttemptTrace, result: Completion, elapsed: float) -> Response:
        """Book a successful non-streamed attempt (plan, trace, stateful policies) and shape the Response."""
        plan.succeeded(model, elapsed, result.usage)
        attempt.completed(result)
        response = _response(plan, model, result)
        self._record(plan.request, model, result.usage, response.cost, elapsed)
        return response

    def stream(self, messages: Any, **kw: Any) -> Iterator[StreamChunk]:
        """Route and stream chunks. Bad input raises here, before anything is sent.

        A failure before the first content chunk falls back to the next model; a failure after
        it raises StreamInterruptedError carrying the partial text.
        """
        plan, call = self._start(messages, kw, stream=True)
        return self._settle_when_dropped(traced_stream(call, self._stream(plan, call)), plan, call)

    def _stream(self, plan: AttemptPlan, call: CallTrace) -> Iterator[StreamChunk]:
        chunk_id = _new_id()
        while (step := plan.next()) is not None:
            if step.delay_s:
                time.sleep(step.delay_s)
            acc = _StreamState(plan, step.model, chunk_id, call.attempt(step))
            events = step.model.adapter.stream(plan.request_for(step))
            try:
                for event in events:
                    chunk = acc.add(event)
                    if chunk is not None:
                        yield chunk
            except LLMRouteError as exc:
                acc.fail(exc)
                continue
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
            tail = acc.flush()
            if tail is not None:
                yield tail
            final = acc.finish()
            self._record(plan.request, step.model, final.usage, final.cost or 0.0, time.perf_counter() - acc.started)
            yield final
            return
        self._release(plan.request)
        raise plan.exhausted()

    def astream(self, messages: Any, **kw: Any) -> AsyncIterator[StreamChunk]:
        """The async twin of :meth:`stream`."""
        plan, call = self._start(messages, kw, stream=True)
        return self._settle_when_dropped(traced_astream(call, self._astream(plan, call)), plan, call)

    async def _astream(self, plan: AttemptPlan, call: CallTrace) -> AsyncIterator[StreamChunk]:
        chunk_id = _new_id()
        while (step := plan.next()) is not None:
            if step.delay_s:
                await _sleep(step.delay_s)
            acc = _StreamState(plan, step.model, chunk_id, call.attempt(step))
            events = step.model.adapter.astream(plan.request_for(step))
            try:
                async for event in events:
                    chunk = acc.add(event)
                    if chunk is not None:
                        yield chunk
            except LLMRouteError as exc:
                acc.fail(exc)
                continue
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
            tail = acc.flush()
            if tail is not None:
                yield tail
            final = acc.finish()
            self._record(plan.request, step.model, final.usage, final.cost or 0.0, time.perf_counter() - acc.started)
            yield final
            return
        self._release(plan.request)
        raise plan.exhausted()

    def _settle_when_dropped(self, stream: _S, plan: AttemptPlan, call: CallTrace) -> _S:
        """A stream dropped unfinished (never iterated, or closed early) still ends its trace and
        audit record and gives back its budget reservation, when it is collected."""
        weakref.finalize(stream, self._settle, plan.request, call)
        return stream

    def _settle(self, request: Request, call: CallTrace) -> None:
        call.end(GeneratorExit())  # no-op for a stream that already ended
        self._release(request)  # likewise: a recorded call already released it

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Close every adapter (frees local models' memory, HTTP pools)."""
        for model in self._models:
            model.adapter.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StreamState:
    """What one streamed attempt has delivered so far; shared by both stream loops."""

    def __init__(self, plan: AttemptPlan, model: Model, chunk_id: str, attempt: AttemptTrace) -> None:
        self.plan = plan
        self.attempt = attempt
        self.model = model
        self.chunk_id = chunk_id
        self.started = time.perf_counter()
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        restore = plan.restorer(model)
        self.restoring = _Restoring(restore) if restore is not None else None

    def add(self, event: Any) -> StreamChunk | None:
        self.attempt.saw(event)
        if event.usage is not None:
            self.usage = event.usage
        if event.finish_reason is not None:
            self.finish_reason = event.finish_reason
        remaining = self.plan.remaining_s()
        if remaining is not None and remaining <= 0:  # a stream that trickles on past the deadline
            raise ProviderTimeoutError("request deadline reached while streaming")
        text = event.text if self.restoring is None else self.restoring.feed(event.text)
        return self._chunk(text) if text else None

    def flush(self) -> StreamChunk | None:
        """The text a redaction placeholder held back at the end of the stream, restored."""
        text = self.restoring.flush() if self.restoring is not None else ""
        return self._chunk(text) if text else None

    def _chunk(self, text: str) -> StreamChunk:
        role = "assistant" if not self.parts else None
        self.parts.append(text)
        return StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(content=text, role=role)),),
            decision=self.plan.decision,
        )

    def fail(self, exc: LLMRouteError) -> None:
        self.plan.failed(self.model, exc, time.perf_counter() - self.started)
        self.attempt.failed(exc)
        if self.parts:
            raise StreamInterruptedError(
                f"stream from {self.model.name!r} failed after {len(self.parts)} chunks: {type(exc).__name__}",
                partial="".join(self.parts),
                model=self.model.name,
            ) from exc

    def finish(self) -> StreamChunk:
        usage = self.usage or Usage(self.plan.request.input_tokens, estimate_tokens("".join(self.parts)))
        self.plan.succeeded(self.model, time.perf_counter() - self.started, usage)
        self.attempt.streamed(usage, self.finish_reason, "".join(self.parts))
        return StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(), finish_reason=self.finish_reason or "stop"),),
            decision=self.plan.decision,
            usage=usage,
            cost=self.model.price.cost(usage.prompt_tokens, usage.completion_tokens),
            attempts=tuple(self.plan.attempts),
        )


class _Restoring:
    """Restores redaction placeholders in streamed text, holding back a tail that may be the
    first half of a placeholder split across chunks."""

    HOLD = 64  # longest placeholder held back; a longer "[..." tail is plain text

    def __init__(self, restore: Callable[[str | None], str | None]) -> None:
        self.restore = restore
        self.pending = ""

    def feed(self, text: str) -> str:
        text = self.pending + text
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut <= self.HOLD:
            text, self.pending = text[:cut], text[cut:]
        else:
            self.pending = ""
        return self.restore(text) or ""

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return self.restore(text) or ""


def _new_id() -> str:
    return f"chatcmpl-{os.urandom(12).hex()}"


async def _bounded(call: Awaitable[Completion], timeout_s: float | None) -> Completion:
    """Await one attempt, cancelled when the request's deadline passes (adapters that cannot time out included)."""
    if timeout_s is None:
        return await call
    import asyncio

    try:
        return await asyncio.wait_for(call, max(timeout_s, 0.001))
    except asyncio.TimeoutError:
        raise ProviderTimeoutError(f"request deadline reached after {timeout_s:.3f} s") from None


async def _sleep(seconds: float) -> None:
    import asyncio  # only async callers pay for importing asyncio

    await asyncio.sleep(seconds)


def _response(plan: AttemptPlan, model: Model, result: Completion) -> Response:
    return Response(
        id=result.response_id or _new_id(),
        model=model.name,
        choices=(
            Choice(
                ResponseMessage(content=plan.restore(model, result.content), tool_calls=result.tool_calls),
                finish_reason=result.finish_reason,
            ),
        ),
        usage=result.usage,
        decision=plan.decision,
        attempts=tuple(plan.attempts),
        cost=model.price.cost(result.usage.prompt_tokens, result.usage.completion_tokens),
    )


