"""The call loop both HTTP adapters share: OpenAI-shaped replies in, llmroute types out.

litellm's ModelResponse and the OpenAI SDK's ChatCompletion have the same attributes, so the
reply parsing, the stream checks and the error handling live once here; each adapter supplies
only how to send (``_send`` / ``_asend``) and what to import first (``_load``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from .._types import Completion, Request, StreamEvent, Usage
from ..errors import ProviderError, ProviderTimeoutError, ProviderUnavailableError
from ..guards.deadlines import Alarm, arm
from ._errors import Secrets, chained, translate

__all__ = ["ChatAdapter"]

# A stream that ends with no SSE events must not pass for an empty answer: we asked for usage,
# so a stream with neither text, tool calls nor usage was cut or malformed, not answered.
_EMPTY_STREAM = "stream ended with no content and no usage (a malformed or cut reply)"


class ChatAdapter:
    """Base of the adapters that speak OpenAI's chat-completions shape."""

    provider: str = "openai"
    server_address: str | None = None
    server_port: int | None = None
    _secrets: Secrets = Secrets(None)

    # -- what a subclass supplies ---------------------------------------------------------
    def _load(self) -> None:
        """Import the backend library and build clients (blocking; idempotent)."""

    def _send(self, request: Request, stream: bool) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _asend(self, request: Request, stream: bool) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------
    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def warmup(self) -> None:
        """Import what the adapter needs and build its clients now, not on the first call."""
        self._load()

    async def awarmup(self) -> None:
        """``warmup`` in a worker thread: an import must never block the event loop."""
        import asyncio

        await asyncio.to_thread(self._load)

    # -- calls ----------------------------------------------------------------------------
    # Errors are raised outside the ``except`` blocks: ``raise ... from None`` would still leave
    # the original error (which may echo the key) in ``__context__``.
    def complete(self, request: Request) -> Completion:
        try:
            return _completion(self._send(request, False))
        except ProviderError:
            raise
        except Exception as exc:
            error = chained(translate(exc, self._secrets), exc, self._secrets)
        raise error

    async def acomplete(self, request: Request) -> Completion:
        try:
            return _completion(await self._asend(request, False))
        except ProviderError:
            raise
        except Exception as exc:
            error = chained(translate(exc, self._secrets), exc, self._secrets)
        raise error

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        empty = True
        response: Any = None
        alarm: Alarm | None = None
        started = time.monotonic()
        try:
            response = self._send(request, True)
            alarm = _deadline(request, response, started)
            for chunk in response:
                event = _event(chunk)
                empty = empty and _empty(event, chunk)
                yield event
        except ProviderError:
            raise
        except Exception as exc:
            error = _stream_timeout() if alarm and alarm.fired else chained(translate(exc, self._secrets), exc, self._secrets)
        else:
            if alarm and alarm.fired:  # the socket was shut down: the body ended early, not the reply
                error = _stream_timeout()
            elif empty:
                raise ProviderUnavailableError(_EMPTY_STREAM)
            else:
                return
        finally:
            if alarm is not None:
                alarm.cancel()  # before the connection can go back to the pool
            _release(response)  # a caller who stops early must not leave the connection open
        raise error

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        empty = True
        response: Any = None
        try:
            response = await self._asend(request, True)
            async for chunk in response:
                event = _event(chunk)
                empty = empty and _empty(event, chunk)
                yield event
        except ProviderError:
            raise
        except Exception as exc:
            error = chained(translate(exc, self._secrets), exc, self._secrets)
        else:
            if empty:
                raise ProviderUnavailableError(_EMPTY_STREAM)
            return
        finally:
            await _arelease(response)
        raise error


def _stream_timeout() -> ProviderTimeoutError:
    return ProviderTimeoutError("request deadline reached while streaming")


def _deadline(request: Request, response: Any, started: float) -> Alarm | None:
    """A request's ``timeout`` bounds a whole stream: keep-alive comments must not extend it."""
    timeout = request.params.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout == float("inf"):
        return None
    return arm(timeout - (time.monotonic() - started), response)


def _release(response: Any) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # the reply is over either way; its own error was raised
            pass


async def _arelease(response: Any) -> None:
    close = getattr(response, "aclose", None) or getattr(response, "close", None)
    if callable(close):
        try:
            result = close()
            if hasattr(result, "__await__"):
                await result
        except Exception:  # as above
            pass


def _completion(raw: Any) -> Completion:
    if not getattr(raw, "choices", None):
        raise ProviderUnavailableError("reply has no choices (malformed)")
    choice = raw.choices[0]
    message = choice.message
    tool_calls = getattr(message, "tool_calls", None)
    usage = getattr(raw, "usage", None)
    return Completion(
        content=message.content,
        usage=Usage(
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        ),
        finish_reason=choice.finish_reason,
        response_id=getattr(raw, "id", None),
        response_model=getattr(raw, "model", None),
        tool_calls=tuple(_plain(t) for t in tool_calls) if tool_calls else None,
        logprobs=_logprobs(getattr(choice, "logprobs", None)),
    )


def _logprobs(raw: Any) -> tuple[float, ...] | None:
    """Token log-probabilities of an OpenAI-shaped choice (``logprobs.content[i].logprob``)."""
    content = getattr(raw, "content", None) if raw is not None and not isinstance(raw, Mapping) else (raw or {}).get("content")
    if not content:
        return None
    values = [item.get("logprob") if isinstance(item, Mapping) else getattr(item, "logprob", None) for item in content]
    return tuple(float(v) for v in values if isinstance(v, (int, float)))


def _event(chunk: Any) -> StreamEvent:
    text = ""
    finish = None
    calls = None
    if chunk.choices:
        choice = chunk.choices[0]
        text = getattr(choice.delta, "content", None) or ""
        finish = choice.finish_reason
        if raw_calls := getattr(choice.delta, "tool_calls", None):
            calls = tuple(_present(_plain(c)) for c in raw_calls)
    usage = getattr(chunk, "usage", None)
    return StreamEvent(
        text=text,
        finish_reason=finish,
        tool_calls=calls,
        usage=Usage(int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)) if usage else None,
        response_id=getattr(chunk, "id", None),
        response_model=getattr(chunk, "model", None),
    )


def _empty(event: StreamEvent, chunk: Any) -> bool:
    if event.text or event.usage is not None:
        return False
    choices = getattr(chunk, "choices", None) or ()
    return not any(getattr(getattr(c, "delta", None), "tool_calls", None) for c in choices)


def _present(delta: Mapping[str, Any]) -> dict[str, Any]:
    """A tool-call delta with only the keys the provider sent (SDK models fill the rest with None)."""
    return {k: _present(v) if isinstance(v, Mapping) else v for k, v in delta.items() if v is not None}


def _plain(obj: Any) -> Mapping[str, Any]:
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else dict(obj)
