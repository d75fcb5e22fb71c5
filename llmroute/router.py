"""The Router: one chat model to the caller, many models behind it.

One call, start to end::

    request  = build_request(...)          # validated, before anything is sent
    decision = decide(...)                 # _plan: every policy, then the hard constraints (pure)
    reserve(...)                           # stateful policies hold what the call may use
    call     = _Call(plan, trace, ...)     # this module: the call's one bookkeeping path
    loop:  step = plan.next()  ->  adapter.complete/stream  ->  call.answered / call.failed
    call.end(...)                          # trace + audit from a CallSummary, holds released

Every rule lives in the pure plan (``_plan``); the methods here are thin loops that execute it,
one blocking and one async, so both behave the same and async never blocks the event loop.
The plan books each attempt once and returns the :class:`Attempt`; :class:`_Call` hands that
same object to the trace and to the stateful policies.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
    Sequence,
)
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal

from ._plan import AttemptPlan, PlanSettings, Step, decide
from ._request import build_request
from ._stateful import attempt_hold, bind_store, counted_usage, in_thread, uses_remote
from ._types import (
    Attempt,
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
    StreamEvent,
    Usage,
)
from .errors import (
    ConfigError,
    LLMRouteError,
    NoEligibleModelError,
    PolicyError,
    ProviderTimeoutError,
    StreamInterruptedError,
)
from .guards.deadlines import anext_within
from .guards.streams import AsyncChunkStream, ChunkStream
from .observability.facts import CallSummary, Operation
from .observability.spans import AttemptSpan, CallTrace, Telemetry
from .policies.base import Policy, StatefulPolicy, is_stateful, policy_name
from .reliability import BreakerPolicy, CircuitBreakers, RetryPolicy

_log = logging.getLogger("llmroute")

if TYPE_CHECKING:
    from .cascade import Cascade
    from .eval.dataset import Example
    from .eval.feedback import Feedback, FeedbackSink
    from .integrations.openai import AsyncChat, Chat
    from .policies.privacy.redaction import StreamRestorer
    from .state import StateStore

__all__ = ["Router"]

# Longer requests decide off the event loop (async calls): scanning this much text takes ~2 ms
_LONG_TEXT = 20_000
_RESERVE_TRIES = 3  # decide again this often when concurrent requests took a reservation's room


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
        feedback: Feedback | FeedbackSink | str | os.PathLike[str] | bool | None = None,
        cascade: Cascade | None = None,
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
            if model.hosting != "api":  # a private label must match where the route goes
                from .adapters._hosting import check_hosting

                check_hosting(model, f"models[{i}]")
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
        if cascade is not None:
            from .cascade import Cascade

            if not isinstance(cascade, Cascade):
                raise ConfigError(f"must be a llmroute.Cascade, got {type(cascade).__name__}", path="cascade")
            if not fallback:
                raise ConfigError("a cascade escalates down the candidates; fallback=False would stop it", path="cascade")
        self._cascade = cascade
        self._models = models
        self._by_name = by_name
        self._policies = tuple(named)
        # Policies with state (budgets, latency samples) get the reserve/record/release hooks.
        self._stateful: tuple[tuple[str, StatefulPolicy], ...] = tuple(
            (name, policy) for name, policy in named if is_stateful(policy)  # type: ignore[misc]
        )
        self._settings = PlanSettings(
            default_output_tokens=default_output_tokens,
            fallback=fallback,
            max_attempts=max_attempts,
            fallback_on_content_filter=fallback_on_content_filter,
            retry=RetryPolicy.coerce(retry),
        )
        # One breaker per model, shared by every request of this Router (False: none).
        self._breakers = None if breaker is False else CircuitBreakers(BreakerPolicy.coerce(breaker), state_store)
        # One store for all: stateful policies without a store of their own take the router's.
        bind_store(self._stateful, state_store)
        self._offload = uses_remote(self._stateful, self._breakers)  # async: store I/O off the loop
        # Async calls also decide in a worker thread when deciding may take milliseconds: a policy
        # that says so (an NER recogniser) or a long request (the privacy scan is linear in its text).
        self._blocking = any(getattr(policy, "blocking", False) for _, policy in named)
        # Spans, metrics and audit records; OpenTelemetry itself loads on the first call.
        self._telemetry = Telemetry(
            first_model=models[0].name,
            capture_content=capture_content,
            audit=audit,
            enabled=instrument,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        # Learning from production (router.feedback): answered requests are kept only when asked for.
        self._feedback: Feedback | None = None
        if feedback is not None and feedback is not False:
            from .eval.feedback import Feedback

            self._feedback = Feedback.coerce(feedback)
        if check:
            for model in models:
                model.adapter.check()

    @classmethod
    def from_config(cls, source: str | PathLike[str] | Mapping[str, Any], *, allow_imports: Sequence[str] | None = None) -> Router:
        """Build a Router from a YAML/JSON file or a dict (see docs/configuration.md);
        ``allow_imports`` lists the module prefixes its ``module:attr`` types may import."""
        from .config import load_router

        return load_router(source, allow_imports=allow_imports)

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
            default_output_tokens=self._settings.default_output_tokens,
        )

    def decide(self, request: Request) -> Decision:
        """The Decision for an already built Request (a cascade's: its candidates in the cascade's order)."""
        decision = decide(request, self._models, self._by_name, self._policies, self._settings)
        return decision if self._cascade is None else self._cascade.order(request, decision, self._by_name, self._settings)

    def route(self, messages: Any, **kw: Any) -> Decision:
        """Decide which model would serve this request, and why. Calls nothing, holds nothing."""
        request = self._request(messages, kw)
        trace = self._telemetry.call(request, "route")
        if trace.quiet:  # nothing listens: no summary to build
            return self.decide(request)
        started = _Clock()
        try:
            decision = self.decide(request)
        except BaseException as exc:
            trace.end(started.summary(request, "route", None, error=exc))
            raise
        trace.decided(decision)
        trace.end(started.summary(request, "route", decision))
        return decision

    # -- calling -------------------------------------------------------------------------
    def _off_loop(self, request: Request) -> bool:
        """Whether an async call decides in a worker thread rather than on the event loop."""
        return self._offload or self._blocking or (bool(self._policies) and len(request.text) > _LONG_TEXT)

    def _start(self, messages: Any, kw: dict[str, Any], stream: bool = False) -> _Call:
        """Validate, decide, hold what the call may use, and open its bookkeeping."""
        return self._begin(self._request(messages, kw, stream))

    def _begin(self, request: Request) -> _Call:
        trace = self._telemetry.call(request)
        clock = _Clock()
        plan: AttemptPlan | None = None
        try:
            for _ in range(_RESERVE_TRIES):
                decision = self.decide(request)
                hold = attempt_hold(self._stateful, request)
                plan = AttemptPlan(request, decision, self._by_name, self._settings, breakers=self._breakers, hold=hold)
                if not self._stateful or self._reserve(request, plan.decision):
                    break
            else:
                raise NoEligibleModelError(
                    "no room left for this request: concurrent requests took what its budget allowed",
                    reasons={n: "reservation refused" for n in plan.decision.candidates} if plan else {},
                )
        except BaseException as exc:  # no model, every circuit open, no room: end the call here
            if self._stateful:
                self._release(request)
            trace.end(clock.summary(request, "chat", plan.decision if plan else None, error=exc))
            raise
        trace.decided(plan.decision)
        return _Call(self, plan, trace, clock)

    def _reserve(self, request: Request, decision: Decision) -> bool:
        for name, policy in self._stateful:
            try:
                ok = policy.reserve(request, decision)
            except LLMRouteError:
                self._release(request)
                raise
            except Exception as exc:
                self._release(request)
                raise PolicyError(f"policy {name!r} reserve() raised {type(exc).__name__}: {exc}") from exc
            if not ok:
                self._release(request)
                return False
        return True

    def _release(self, request: Request) -> None:
        for name, policy in self._stateful:
            try:
                policy.release(request)
            except Exception as exc:  # giving back must not fail the call
                _log.warning("policy %r release() raised %s", name, type(exc).__name__)

    def completion(self, messages: Any, **kw: Any) -> Response:
        """Route and call; returns an OpenAI-shaped Response with ``.decision`` and ``.attempts``."""
        call = self._start(messages, kw)
        with call:
            return self._complete(call) if self._cascade is None else self._cascade.complete(call)

    def _complete(self, call: _Call) -> Response:
        while (step := call.next()) is not None:
            if step.delay_s:
                time.sleep(step.delay_s)
            request = call.begin(step)
            try:
                result = step.model.adapter.complete(request)
            except LLMRouteError as exc:
                call.failed(exc)
                continue
            return call.answered(result)
        raise call.exhausted()

    async def acompletion(self, messages: Any, **kw: Any) -> Response:
        """The async twin of :meth:`completion`. With a remote state store, its steps run in
        worker threads, so the event loop never waits on it; deciding runs there too when a
        policy is ``blocking`` (an NER recogniser) or the request holds over 20,000 characters."""
        io = self._offload
        request = self._request(messages, kw)
        call = await in_thread(self._off_loop(request), self._begin, request)
        try:
            response = await (self._acomplete(call) if self._cascade is None else self._cascade.acomplete(call))
        except BaseException as exc:
            await in_thread(io, call.end, exc)
            raise
        await in_thread(io, call.end, None)
        return response

    async def _acomplete(self, call: _Call) -> Response:
        io = self._offload
        while (step := await in_thread(io, call.next)) is not None:
            if step.delay_s:
                await _sleep(step.delay_s)
            request = call.begin(step)
            try:
                result = await _bounded(step.model.adapter.acomplete(request), step.timeout_s)
            except LLMRouteError as exc:
                await in_thread(io, call.failed, exc)
                continue
            return await in_thread(io, call.answered, result)
        raise call.exhausted()

    def stream(self, messages: Any, **kw: Any) -> ChunkStream:
        """Route and stream chunks. Bad input raises here, before anything is sent.

        A failure before the first content chunk falls back to the next model; a failure after
        it raises StreamInterruptedError carrying the partial text. ``close()`` the stream (or
        use ``with``) to stop early: the provider stream is closed before ``close()`` returns.
        """
        call = self._start(messages, kw, stream=True)
        stream = self._stream(call) if self._cascade is None else self._cascade.stream(self, call)
        return ChunkStream(stream, call.end)

    def _stream(self, call: _Call, first: Step | None = None) -> Generator[StreamChunk, None, None]:
        with call:  # ends the call when the stream ends, fails or is closed
            chunk_id = _new_id()
            while (step := first or call.next()) is not None:
                first = None  # a cascade's last step, already taken from the plan
                if step.delay_s:
                    time.sleep(step.delay_s)
                acc = _StreamState(call, step, chunk_id)
                events = step.model.adapter.stream(acc.request)
                try:
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
                    yield from acc.finish()
                except BaseException:  # closed or dropped by the caller: charge what was generated
                    acc.stopped()
                    raise
                return
            raise call.exhausted()

    def astream(self, messages: Any, **kw: Any) -> AsyncChunkStream:
        """The async twin of :meth:`stream`; ``await s.aclose()`` or ``async with`` stops early.
        Bad input raises here; with a remote state store, a ``blocking`` policy or a request over
        20,000 characters, deciding and holding happen on first iteration, in a worker thread (a
        cascade decides here, on the caller's thread)."""
        request = self._request(messages, kw, stream=True)
        if self._off_loop(request) and self._cascade is None:
            return AsyncChunkStream(self._astream(None, request=request), _nothing_begun)
        call = self._begin(request)
        stream = self._astream(call) if self._cascade is None else self._cascade.astream(self, call)
        return AsyncChunkStream(stream, call.end)

    async def _astream(
        self, call: _Call | None, first: Step | None = None, *, request: Request | None = None
    ) -> AsyncGenerator[StreamChunk, None]:
        io = self._offload
        if call is None:
            assert request is not None
            call = await in_thread(True, self._begin, request)
        try:
            chunk_id = _new_id()
            while (step := first or await in_thread(io, call.next)) is not None:
                first = None  # a cascade's last step, already taken from the plan
                if step.delay_s:
                    await _sleep(step.delay_s)
                acc = _StreamState(call, step, chunk_id)
                events = step.model.adapter.astream(acc.request)
                try:
                    try:
                        # the deadline bounds each wait, so keep-alive comments cannot stretch it
                        while (event := await anext_within(events, call.plan.remaining_s())) is not None:
                            chunk = acc.add(event)
                            if chunk is not None:
                                yield chunk
                    except LLMRouteError as exc:
                        await in_thread(io, acc.fail, exc)
                        continue
                    finally:
                        aclose = getattr(events, "aclose", None)
                        if aclose is not None:
                            await aclose()
                    for chunk in await in_thread(io, acc.finish):
                        yield chunk
                except BaseException:  # closed, dropped or cancelled: charge what was generated
                    await in_thread(io, acc.stopped)
                    raise
                await in_thread(io, call.end, None)
                return
            raise call.exhausted()
        except BaseException as exc:
            await in_thread(io, call.end, exc)
            raise

    # -- the openai client's shape (llmroute.integrations.openai) ------------------------
    @property
    def chat(self) -> Chat:
        """``router.chat.completions.create(model="auto" | name, messages=..., stream=...)``, as
        ``openai.OpenAI()``; returns the openai package's objects plus decision, attempts, cost."""
        from .integrations.openai import Chat

        return Chat(self)

    @property
    def achat(self) -> AsyncChat:
        """The async twin of :attr:`chat`: ``await router.achat.completions.create(...)``."""
        from .integrations.openai import AsyncChat

        return AsyncChat(self)

    # -- learning from production --------------------------------------------------------
    def feedback(self, response: Response | StreamChunk | str, quality: float, **kw: Any) -> Example | None:
        """Rate an answered request (quality in [0, 1]) by its Response, last StreamChunk or
        ``request_id``; see :meth:`llmroute.eval.feedback.Feedback.record` (``metadata=``, ``sink=``)."""
        if self._feedback is None:
            raise ConfigError("feedback is off: build the Router with feedback=FeedbackLog(path) (or a .jsonl path, or True)", path="feedback")
        return self._feedback.record(response, quality, **kw)

    # -- lifecycle -----------------------------------------------------------------------
    def warmup(self) -> dict[str, float]:
        """Do now what each model's first call would: import the client libraries, build HTTP
        clients, load local models (every idle llama.cpp instance). No request is sent.

        Returns seconds per model (an adapter shared by several models is warmed once, under the
        first name). Every model is tried; then the first failure is raised, the others noted on
        it: a model that cannot load is a configuration error better found at start-up.
        """
        return self._warmed([(name, self._timed(adapter.warmup)) for name, adapter in self._adapters()])

    async def awarmup(self) -> dict[str, float]:
        """:meth:`warmup` for async code: the adapters warm concurrently, each in a worker thread,
        so no import or model load runs on the event loop."""
        import asyncio

        async def one(adapter: Any) -> float | BaseException:
            started = time.perf_counter()
            try:
                awarm = getattr(adapter, "awarmup", None)
                await (awarm() if callable(awarm) else asyncio.to_thread(adapter.warmup))
            except Exception as exc:
                return exc
            return time.perf_counter() - started

        pairs = self._adapters()
        results = await asyncio.gather(*(one(adapter) for _, adapter in pairs))
        return self._warmed(list(zip((name for name, _ in pairs), results, strict=True)))

    def _adapters(self) -> list[tuple[str, Any]]:
        seen: dict[int, tuple[str, Any]] = {}
        for model in self._models:
            if callable(getattr(model.adapter, "warmup", None)):
                seen.setdefault(id(model.adapter), (model.name, model.adapter))
        return list(seen.values())

    @staticmethod
    def _timed(warm: Callable[[], object]) -> float | BaseException:
        started = time.perf_counter()
        try:
            warm()
        except Exception as exc:
            return exc
        return time.perf_counter() - started

    @staticmethod
    def _warmed(results: list[tuple[str, float | BaseException]]) -> dict[str, float]:
        failed = [(name, r) for name, r in results if isinstance(r, BaseException)]
        if failed:
            first = failed[0][1]
            note = getattr(first, "add_note", None)  # Python 3.11+
            for name, exc in failed[1:]:
                if note is not None:
                    note(f"warming {name!r} failed too: {type(exc).__name__}: {exc}")
            raise first
        return {name: r for name, r in results if not isinstance(r, BaseException)}

    def close(self) -> None:
        """Close every adapter (frees local models' memory, HTTP pools)."""
        for model in self._models:
            model.adapter.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Clock:
    """When a call started, in both clocks a summary needs."""

    __slots__ = ("perf", "wall")

    def __init__(self) -> None:
        self.wall = time.time()
        self.perf = time.perf_counter()

    def summary(
        self,
        request: Request,
        operation: Operation,
        decision: Decision | None,
        attempts: tuple[Attempt, ...] = (),
        output: str | None = None,
        error: BaseException | None = None,
    ) -> CallSummary:
        return CallSummary(request, operation, self.wall, time.perf_counter() - self.perf, decision, attempts, output, error)


class _Call:
    """One routed call's single bookkeeping path.

    The plan books each attempt (``plan.succeeded``/``plan.failed``) and returns the Attempt;
    this hands that one object to the attempt's span and to the stateful policies, and ends the
    call exactly once: trace and audit from a :class:`CallSummary`, then every hold released.
    """

    def __init__(self, router: Router, plan: AttemptPlan, trace: CallTrace, clock: _Clock) -> None:
        self.plan = plan
        self.request = plan.request
        self.trace = trace
        self.clock = clock
        self._router = router
        self._step: Step | None = None
        self._span: AttemptSpan | None = None
        self._started = 0.0
        self._output: str | None = None
        self._ended = False
        # a cascade's changes to each step's request (log-probabilities, the rejected answer)
        self.shape: Callable[[Step, Request], Request] | None = None

    # -- one attempt -----------------------------------------------------------------------
    def next(self) -> Step | None:
        return self.plan.next()

    def begin(self, step: Step) -> Request:
        """Start ``step``'s attempt; returns the request to send (redacted where required)."""
        self._step, self._span, self._started = step, self.trace.attempt(step), time.perf_counter()
        request = self.plan.request_for(step)
        return request if self.shape is None else self.shape(step, request)

    def saw(self, event: StreamEvent) -> None:
        assert self._span is not None
        self._span.saw(event)

    def failed(self, exc: LLMRouteError, usage: Usage | None = None) -> Attempt:
        step, span = self._current()
        attempt = self.plan.failed(step, exc, time.perf_counter() - self._started, usage)
        span.ended(attempt)
        if self._router._stateful:
            self._learn(attempt)
        return attempt

    def succeeded(
        self,
        usage: Usage,
        output: str | None,
        finish_reason: str | None,
        response_id: str | None = None,
        response_model: str | None = None,
    ) -> Attempt:
        step, span = self._step, self._span
        assert step is not None and span is not None
        usage = counted_usage(usage, self.request, output)  # a reply without usage is counted, not free
        attempt = self.plan.succeeded(step, time.perf_counter() - self._started, usage)
        self._output = output
        span.ended(attempt, output=output, finish_reason=finish_reason, response_id=response_id, response_model=response_model)
        if self._router._stateful:
            self._learn(attempt)
        if self._router._feedback is not None:
            self._router._feedback.remember(self.request, self.plan.decision, attempt)
        return attempt

    def answered(self, result: Completion) -> Response:
        """Book a non-streamed answer and shape the Response."""
        assert self._step is not None
        model = self._step.model
        content = self.plan.restore(model, result.content)
        usage = counted_usage(result.usage, self.request, content, result.tool_calls)
        attempt = self.succeeded(usage, content, result.finish_reason, result.response_id, result.response_model)
        return Response(
            id=result.response_id or _new_id(),
            model=model.name,
            choices=(Choice(ResponseMessage(content=content, tool_calls=result.tool_calls), finish_reason=result.finish_reason),),
            usage=attempt.usage or usage,
            decision=self.plan.decision,
            attempts=tuple(self.plan.attempts),
            cost=attempt.cost,
            request_id=self.request.id,
        )

    def exhausted(self) -> LLMRouteError:
        return self.plan.exhausted()

    def serve(self, output: str | None) -> None:
        """The answer the call returns, when it is not the last one booked (a cascade's)."""
        self._output = output

    def _current(self) -> tuple[Step, AttemptSpan]:
        assert self._step is not None and self._span is not None
        return self._step, self._span

    def _learn(self, attempt: Attempt) -> None:
        for name, policy in self._router._stateful:
            try:
                policy.record(self.request, attempt)
            except Exception as exc:  # the attempt is booked; a broken hook must not undo that
                _log.warning("policy %r record() raised %s", name, type(exc).__name__)

    # -- the end -----------------------------------------------------------------------------
    def __enter__(self) -> _Call:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.end(exc)

    def end(self, exc: BaseException | None) -> None:
        """End the call once, however it ended (answered, failed, closed, dropped)."""
        if self._ended:
            return
        self._ended = True
        if not self.trace.quiet:
            attempts = tuple(self.plan.attempts)
            self.trace.end(self.clock.summary(self.request, "chat", self.plan.decision, attempts, self._output, exc))
        if self._router._stateful:
            self._router._release(self.request)


class _StreamState:
    """What one streamed attempt has delivered so far; shared by both stream loops."""

    def __init__(self, call: _Call, step: Step, chunk_id: str) -> None:
        self.call = call
        self.plan = call.plan
        self.model = step.model
        self.chunk_id = chunk_id
        self.request = call.begin(step)
        self.parts: list[str] = []
        self.calls: list[Mapping[str, Any]] = []  # tool-call deltas, counted when usage is missing
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.booked = False
        restore = self.plan.restorer(step.model)
        self.restoring: StreamRestorer | None = None
        if restore is not None:  # only a redacted attempt needs it: privacy loads on first use
            from .policies.privacy.redaction import StreamRestorer

            self.restoring = StreamRestorer(restore)

    def add(self, event: StreamEvent) -> StreamChunk | None:
        self.call.saw(event)
        if event.usage is not None:
            self.usage = event.usage
        if event.finish_reason is not None:
            self.finish_reason = event.finish_reason
        remaining = self.plan.remaining_s()
        if remaining is not None and remaining <= 0:  # a stream that trickles on past the deadline
            raise ProviderTimeoutError("request deadline reached while streaming")
        text = event.text if self.restoring is None else self.restoring.feed(event.text)
        if event.tool_calls:  # passed on as sent: like a reply's tool calls, never restored
            self.calls.extend(event.tool_calls)
            return self._chunk(text, event.tool_calls)
        return self._chunk(text) if text else None

    def _chunk(self, text: str, calls: tuple[Mapping[str, Any], ...] | None = None) -> StreamChunk:
        role = "assistant" if not self.parts else None
        self.parts.append(text)
        return StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(content=text or None if calls else text, role=role, tool_calls=calls)),),
            decision=self.plan.decision,
            request_id=self.call.request.id,
        )

    def generated(self) -> Usage | None:
        """What this attempt has used so far: the provider's figures, else counted; None when
        nothing was generated (the provider charged nothing we can see)."""
        if not self.parts and self.usage is None:
            return None
        return counted_usage(self.usage, self.plan.request, "".join(self.parts), self.calls)

    def fail(self, exc: LLMRouteError) -> None:
        self.booked = True
        self.call.failed(exc, self.generated())
        if self.parts:
            raise StreamInterruptedError(
                f"stream from {self.model.name!r} failed after {len(self.parts)} chunks: {type(exc).__name__}",
                partial="".join(self.parts),
                model=self.model.name,
            ) from exc

    def stopped(self) -> None:
        """The caller closed or dropped the stream mid-attempt: book it, charged for what was generated."""
        if self.booked:
            return
        self.booked = True
        partial = "".join(self.parts)
        error = StreamInterruptedError(
            f"stream from {self.model.name!r} closed by the caller", partial=partial, model=self.model.name, cancelled=True
        )
        self.call.failed(error, self.generated())

    def finish(self) -> list[StreamChunk]:
        """Book the attempt; the chunks still to send: text a redaction placeholder held back,
        then the final chunk with usage and cost."""
        tail = self.restoring.flush() if self.restoring is not None else ""
        chunks = [self._chunk(tail)] if tail else []
        text = "".join(self.parts)
        self.booked = True
        attempt = self.call.succeeded(counted_usage(self.usage, self.plan.request, text, self.calls), text, self.finish_reason)
        usage = attempt.usage
        chunks.append(StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(), finish_reason=self.finish_reason or "stop"),),
            decision=self.plan.decision,
            usage=usage,
            cost=attempt.cost,
            attempts=tuple(self.plan.attempts),
            request_id=self.call.request.id,
        ))
        return chunks


def _nothing_begun(exc: BaseException) -> None:
    """Settling a lazily begun stream (remote store) dropped before its first read: no call began."""
    return None


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
