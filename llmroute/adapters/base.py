"""The adapter protocol: one backend, four ways to call it, and ``close``.

Adapters look like httpx transports. They own the wire format and translate every backend
error into llmroute's error tree at their edge, so the router never sees a provider's types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from .._types import Completion, Request, StreamEvent

__all__ = ["Adapter", "SyncAdapter"]


@runtime_checkable
class Adapter(Protocol):
    """What the router needs of a backend.

    ``provider`` names the backend for traces (``gen_ai.provider.name``). ``check`` is called
    when the Router is built, so a missing model file or dependency fails there, not mid-request.

    Optional: ``warmup()`` imports what the adapter needs, builds its clients and loads local
    models up front (idempotent), and ``async awarmup()`` does the same without blocking the
    event loop; callers look them up with ``getattr``, so adapters without them still qualify.
    """

    provider: str

    def check(self) -> None: ...

    def complete(self, request: Request) -> Completion: ...

    async def acomplete(self, request: Request) -> Completion: ...

    def stream(self, request: Request) -> Iterator[StreamEvent]: ...

    def astream(self, request: Request) -> AsyncIterator[StreamEvent]: ...

    def close(self) -> None: ...


class SyncAdapter:
    """Base for adapters whose backend is blocking: async twins run it in a worker thread."""

    provider: str = "unknown"

    def check(self) -> None:
        return None

    def warmup(self) -> None:
        """Load what the first call would (idempotent); override when there is something."""
        return None

    async def awarmup(self) -> None:
        """``warmup`` in a worker thread: imports and model loads must not block the event loop."""
        import asyncio

        await asyncio.to_thread(self.warmup)

    def complete(self, request: Request) -> Completion:  # pragma: no cover - abstract
        raise NotImplementedError

    def stream(self, request: Request) -> Iterator[StreamEvent]:  # pragma: no cover - abstract
        raise NotImplementedError

    async def acomplete(self, request: Request) -> Completion:
        import asyncio

        return await asyncio.to_thread(self.complete, request)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        import asyncio

        iterator = self.stream(request)
        done = object()
        while True:
            event = await asyncio.to_thread(next, iterator, done)
            if event is done:
                return
            yield event  # type: ignore[misc]

    def close(self) -> None:
        return None
