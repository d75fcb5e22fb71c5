"""What ``Router.stream`` and ``Router.astream`` return: chunk iterators the caller can close.

A stream that ends, or that the caller closes (``close()``, ``with``, ``aclose()``, ``async
with``), closes its provider stream there and then, in the caller's own context. A stream
dropped unclosed is closed when its last reference goes, which in CPython is the ``del`` itself.

The one case left to the garbage collector would be a stream dropped inside a reference cycle:
the collector finalises it at whatever line happened to allocate, possibly inside an HTTP
connection pool's lock that closing the stream needs itself (a deadlock: httpcore's pool lock
is not re-entrant). So the sync generator is held by the stream's finalizer, never left to the
collector, and a finalizer that runs *during* a collection hands the close to one closer
thread instead of running it there. Async generators need no such care: asyncio's own
finaliser hook schedules their ``aclose()`` on their loop. The finalizer otherwise only settles
the call's bookkeeping (trace, audit, held budget) once.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from types import TracebackType
from typing import Any

from .._types import StreamChunk

__all__ = ["AsyncChunkStream", "ChunkStream"]

_log = logging.getLogger("llmroute")
_state = threading.local()  # .collecting: this thread is inside a garbage collection


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    _state.collecting = phase == "start"


gc.callbacks.append(_on_gc)


class _Closer:
    """One daemon thread that closes what a garbage collection found abandoned."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()  # put() is safe in finalizers
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread from ordinary code: starting it inside a collection could deadlock too."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="llmroute-stream-closer", daemon=True)
                    self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception as exc:  # an abandoned stream failing to close must not end the closer
                _log.warning("closing an abandoned stream raised %s", type(exc).__name__)


_closer = _Closer()


def _run_now_or_later(job: Callable[[], None]) -> None:
    """Run ``job`` here, unless this thread is inside a garbage collection: then on the closer."""
    if getattr(_state, "collecting", False):
        _closer.submit(job)
    else:
        job()


def _close_sync(gen: Generator[StreamChunk, None, None], end: Callable[[BaseException], None]) -> None:
    try:
        gen.close()
    finally:
        end(GeneratorExit())


def _dropped_sync(gen: Generator[StreamChunk, None, None], end: Callable[[BaseException], None]) -> None:
    _run_now_or_later(lambda: _close_sync(gen, end))


def _dropped_async(end: Callable[[BaseException], None]) -> None:
    _run_now_or_later(lambda: end(GeneratorExit()))


class ChunkStream:
    """The chunks of one routed call. Iterate it; ``close()`` it (or use ``with``) to stop early.

    ``close()`` closes the provider's stream (its HTTP connection, its llama.cpp slot) before it
    returns, and ends the call's bookkeeping. Closing twice, or after the end, does nothing.
    """

    __slots__ = ("__weakref__", "_end", "_finalizer", "_gen")

    def __init__(self, gen: Generator[StreamChunk, None, None], end: Callable[[BaseException], None]) -> None:
        self._gen = gen
        self._end = end
        _closer.start()
        self._finalizer = weakref.finalize(self, _dropped_sync, gen, end)

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> StreamChunk:
        try:
            return next(self._gen)
        except BaseException:
            self._finalizer.detach()  # ended (or failed): the generator has closed itself
            raise

    def close(self) -> None:
        """Stop now: close the provider stream and end the call."""
        if self._finalizer.detach() is not None:
            _close_sync(self._gen, self._end)

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<llmroute.ChunkStream {'open' if self._finalizer.alive else 'closed'}>"


class AsyncChunkStream:
    """The async twin of :class:`ChunkStream`: ``async for``, ``await aclose()``, ``async with``."""

    __slots__ = ("__weakref__", "_agen", "_end", "_finalizer")

    def __init__(self, agen: AsyncGenerator[StreamChunk, None], end: Callable[[BaseException], None]) -> None:
        self._agen = agen
        self._end = end
        _closer.start()
        # Only the bookkeeping: a dropped async generator is closed on its loop by asyncio's hook.
        self._finalizer = weakref.finalize(self, _dropped_async, end)

    def __aiter__(self) -> AsyncChunkStream:
        return self

    async def __anext__(self) -> StreamChunk:
        try:
            return await self._agen.__anext__()
        except BaseException:
            self._finalizer.detach()
            raise

    async def aclose(self) -> None:
        """Stop now: close the provider stream (awaited) and end the call."""
        if self._finalizer.detach() is not None:
            try:
                await self._agen.aclose()
            finally:
                self._end(GeneratorExit())

    async def __aenter__(self) -> AsyncChunkStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<llmroute.AsyncChunkStream {'open' if self._finalizer.alive else 'closed'}>"
