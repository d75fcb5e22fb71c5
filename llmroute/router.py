"""The Router: one chat model to the caller, many models behind it.

Every rule lives in the pure plan (``_plan``); the methods here are thin loops that execute it,
one blocking and one async, so both behave the same and async never blocks the event loop.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from os import PathLike
from typing import Any

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
from .errors import ConfigError, LLMRouteError, StreamInterruptedError
from .policies.base import Policy, policy_name
from .tokens import estimate_tokens

__all__ = ["Router"]


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
        return self.decide(self._request(messages, kw))

    # -- calling -------------------------------------------------------------------------
    def _start(self, messages: Any, kw: dict[str, Any], stream: bool = False) -> AttemptPlan:
        request = self._request(messages, kw, stream)
        return AttemptPlan(request, self.decide(request), self._by_name, self._settings)

    def completion(self, messages: Any, **kw: Any) -> Response:
        """Route and call; returns an OpenAI-shaped Response with ``.decision`` and ``.attempts``."""
        plan = self._start(messages, kw)
        while (step := plan.next()) is not None:
            if step.delay_s:
                time.sleep(step.delay_s)
            started = time.perf_counter()
            try:
                result = step.model.adapter.complete(plan.request)
            except LLMRouteError as exc:
                plan.failed(step.model, exc, time.perf_counter() - started)
                continue
            plan.succeeded(step.model, time.perf_counter() - started, result.usage)
            return _response(plan, step.model, result)
        raise plan.exhausted()

    async def acompletion(self, messages: Any, **kw: Any) -> Response:
        """The async twin of :meth:`completion`."""
        plan = self._start(messages, kw)
        while (step := plan.next()) is not None:
            if step.delay_s:
                await _sleep(step.delay_s)
            started = time.perf_counter()
            try:
                result = await step.model.adapter.acomplete(plan.request)
            except LLMRouteError as exc:
                plan.failed(step.model, exc, time.perf_counter() - started)
                continue
            plan.succeeded(step.model, time.perf_counter() - started, result.usage)
            return _response(plan, step.model, result)
        raise plan.exhausted()

    def stream(self, messages: Any, **kw: Any) -> Iterator[StreamChunk]:
        """Route and stream chunks. Bad input raises here, before anything is sent.

        A failure before the first content chunk falls back to the next model; a failure after
        it raises StreamInterruptedError carrying the partial text.
        """
        return self._stream(self._start(messages, kw, stream=True))

    def _stream(self, plan: AttemptPlan) -> Iterator[StreamChunk]:
        chunk_id = _new_id()
        while (step := plan.next()) is not None:
            if step.delay_s:
                time.sleep(step.delay_s)
            acc = _StreamState(plan, step.model, chunk_id)
            events = step.model.adapter.stream(plan.request)
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
            yield acc.finish()
            return
        raise plan.exhausted()

    def astream(self, messages: Any, **kw: Any) -> AsyncIterator[StreamChunk]:
        """The async twin of :meth:`stream`."""
        return self._astream(self._start(messages, kw, stream=True))

    async def _astream(self, plan: AttemptPlan) -> AsyncIterator[StreamChunk]:
        chunk_id = _new_id()
        while (step := plan.next()) is not None:
            if step.delay_s:
                await _sleep(step.delay_s)
            acc = _StreamState(plan, step.model, chunk_id)
            events = step.model.adapter.astream(plan.request)
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
            yield acc.finish()
            return
        raise plan.exhausted()

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

    def __init__(self, plan: AttemptPlan, model: Model, chunk_id: str) -> None:
        self.plan = plan
        self.model = model
        self.chunk_id = chunk_id
        self.started = time.perf_counter()
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.finish_reason: str | None = None

    def add(self, event: Any) -> StreamChunk | None:
        if event.usage is not None:
            self.usage = event.usage
        if event.finish_reason is not None:
            self.finish_reason = event.finish_reason
        if not event.text:
            return None
        role = "assistant" if not self.parts else None
        self.parts.append(event.text)
        return StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(content=event.text, role=role)),),
            decision=self.plan.decision,
        )

    def fail(self, exc: LLMRouteError) -> None:
        self.plan.failed(self.model, exc, time.perf_counter() - self.started)
        if self.parts:
            raise StreamInterruptedError(
                f"stream from {self.model.name!r} failed after {len(self.parts)} chunks: {type(exc).__name__}",
                partial="".join(self.parts),
                model=self.model.name,
            ) from exc

    def finish(self) -> StreamChunk:
        usage = self.usage or Usage(self.plan.request.input_tokens, estimate_tokens("".join(self.parts)))
        self.plan.succeeded(self.model, time.perf_counter() - self.started, usage)
        return StreamChunk(
            id=self.chunk_id,
            model=self.model.name,
            choices=(ChunkChoice(Delta(), finish_reason=self.finish_reason or "stop"),),
            decision=self.plan.decision,
            usage=usage,
            cost=self.model.price.cost(usage.prompt_tokens, usage.completion_tokens),
            attempts=tuple(self.plan.attempts),
        )


def _new_id() -> str:
    return f"chatcmpl-{os.urandom(12).hex()}"


async def _sleep(seconds: float) -> None:
    import asyncio  # only async callers pay for importing asyncio

    await asyncio.sleep(seconds)


def _response(plan: AttemptPlan, model: Model, result: Completion) -> Response:
    return Response(
        id=result.response_id or _new_id(),
        model=model.name,
        choices=(
            Choice(
                ResponseMessage(content=result.content, tool_calls=result.tool_calls),
                finish_reason=result.finish_reason,
            ),
        ),
        usage=result.usage,
        decision=plan.decision,
        attempts=tuple(plan.attempts),
        cost=model.price.cost(result.usage.prompt_tokens, result.usage.completion_tokens),
    )


