"""Test doubles that ship with the library, so users test their routing with no network."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .._types import Completion, Request, StreamEvent, Usage
from ..errors import LLMRouteError, ProviderError
from ..tokens import estimate_tokens

__all__ = ["Function"]

Result = str | Mapping[str, Any] | Completion


class Function:
    """An adapter backed by a function of the Request (sync or async).

    The function returns the reply text, a dict (``{"content": ..., "usage": {...},
    "finish_reason": ...}`` or an OpenAI chat.completion dict), or a Completion. Raising an
    llmroute ProviderError simulates that failure; any other exception becomes a ProviderError.
    ``calls`` counts invocations, so tests can assert what was (not) called.
    """

    def __init__(self, fn: Callable[[Request], Any], *, provider: str = "function") -> None:
        if not callable(fn):
            raise TypeError(f"Function needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.provider = provider
        self.calls = 0

    def __repr__(self) -> str:
        return f"Function({getattr(self.fn, '__name__', type(self.fn).__name__)})"

    def check(self) -> None:
        return None

    def warmup(self) -> None:
        return None  # nothing to import or load

    async def awarmup(self) -> None:
        return None

    def close(self) -> None:
        return None

    def complete(self, request: Request) -> Completion:
        self.calls += 1
        try:
            result = self.fn(request)
            if inspect.isawaitable(result):
                result = _run_sync(result)
        except LLMRouteError:
            raise
        except Exception as exc:
            raise ProviderError(f"function adapter raised {type(exc).__name__}") from exc
        return _to_completion(result, request)

    async def acomplete(self, request: Request) -> Completion:
        self.calls += 1
        try:
            result = self.fn(request)
            if inspect.isawaitable(result):
                result = await result
        except LLMRouteError:
            raise
        except Exception as exc:
            raise ProviderError(f"function adapter raised {type(exc).__name__}") from exc
        return _to_completion(result, request)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        yield from _pieces(self.complete(request))

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        for event in _pieces(await self.acomplete(request)):
            yield event


def _run_sync(awaitable: Any) -> Any:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    raise LLMRouteError("an async Function adapter was called synchronously inside a running event loop; use acompletion()")


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _to_completion(result: Result, request: Request) -> Completion:
    if isinstance(result, Completion):
        return result
    if isinstance(result, str):
        return Completion(
            content=result,
            usage=Usage(request.input_tokens, estimate_tokens(result)),
        )
    if isinstance(result, Mapping):
        if "choices" in result:  # an OpenAI chat.completion dict
            choice = result["choices"][0]
            content = choice.get("message", {}).get("content")
            calls = choice.get("message", {}).get("tool_calls")
            finish = choice.get("finish_reason", "stop")
        else:
            content = result.get("content")
            calls = result.get("tool_calls")
            finish = result.get("finish_reason", "tool_calls" if calls else "stop")
        usage = result.get("usage") or {}
        return Completion(
            content=content,
            usage=Usage(
                int(usage.get("prompt_tokens", request.input_tokens)),
                int(usage.get("completion_tokens", estimate_tokens(content or ""))),
            ),
            finish_reason=finish,
            response_id=result.get("id"),
            response_model=result.get("model"),
            tool_calls=tuple(calls) if calls else None,
        )
    raise ProviderError(f"function adapter returned {type(result).__name__}; expected str, dict or Completion")


def _pieces(completion: Completion) -> Iterator[StreamEvent]:
    """Split a reply into word-sized stream events; the last carries usage and finish reason."""
    text = completion.content or ""
    words = text.split(" ")
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        if piece:
            yield StreamEvent(text=piece, response_id=completion.response_id)
    for i, call in enumerate(completion.tool_calls or ()):  # each call whole, with its index, as one delta
        yield StreamEvent(tool_calls=({"index": i, **call},), response_id=completion.response_id)
    yield StreamEvent(finish_reason=completion.finish_reason, usage=completion.usage)
