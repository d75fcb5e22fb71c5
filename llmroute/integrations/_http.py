"""An in-process HTTP transport that serves OpenAI's chat-completions wire format from a Router.

Frameworks that already speak the OpenAI API through the ``openai`` client (pydantic-ai's
``OpenAIChatModel``) get a client whose transport is this: the request body goes to
``router.achat.completions.create`` and the answer comes back as the JSON (or SSE stream) OpenAI
would send. No socket is opened; the framework's own message and tool mapping is reused as is.

An llmroute error cannot cross the openai client intact (it would become an HTTP error), so the
transport keeps it in :data:`last_error` for the caller to raise instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

try:  # the HTTP library the installed openai client speaks: httpx2 from openai 3, httpx before
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older openai
    import httpx  # type: ignore[no-redef]

from ..errors import InvalidRequestError, LLMRouteError

if TYPE_CHECKING:
    from .._types import Decision
    from ..router import Router
    from .openai import AsyncChunkStream

__all__ = ["BASE_URL", "Outcome", "RouterTransport", "outcome"]

BASE_URL = "http://llmroute.in-process/v1"  # never resolved: the transport answers in-process


class Outcome:
    """What the transport saw for the calls made in one context: the last error and decision."""

    def __init__(self) -> None:
        self.error: LLMRouteError | None = None
        self.decision: Decision | None = None
        self.attempts: tuple[Any, ...] = ()
        self.cost: float | None = None


outcome: ContextVar[Outcome | None] = ContextVar("llmroute_transport_outcome", default=None)


class _SSE(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncChunkStream, seen: Outcome | None) -> None:
        self._stream = stream
        self._seen = seen

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            if self._seen is not None:
                self._seen.decision = chunk.decision
                self._seen.attempts, self._seen.cost = chunk.attempts, chunk.cost
            yield b"data: " + chunk.model_dump_json(exclude_unset=True).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def aclose(self) -> None:
        await self._stream.close()


class RouterTransport(httpx.AsyncBaseTransport):
    """Answers ``POST .../chat/completions`` from ``router``; anything else is a 404."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error(404, f"llmroute serves chat completions only, not {request.url.path}")
        seen = outcome.get()
        try:
            body = json.loads(await request.aread())
            if not isinstance(body, dict) or "messages" not in body:
                raise InvalidRequestError("messages: the request has none")
            answer = await self._router.achat.completions.create(**body)
        except LLMRouteError as exc:
            if seen is not None:
                seen.error = exc
            return _error(400, str(exc))
        from .openai import AsyncChunkStream

        if isinstance(answer, AsyncChunkStream):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_SSE(answer, seen))
        if seen is not None:
            seen.decision, seen.attempts, seen.cost = answer.decision, answer.attempts, answer.cost
        return httpx.Response(200, json=answer.model_dump(exclude_unset=True))


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "invalid_request_error"}})
