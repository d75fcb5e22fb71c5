"""A request deadline that holds while a stream waits between chunks.

An HTTP read timeout restarts with every byte, so a server that sends SSE keep-alive comments
(``: ping``) - which the SDKs skip, so no chunk ever arrives - could hold a stream open long
past its deadline. Async waits are cut with a timeout around each ``__anext__``; a blocking
read cannot be cancelled, so a sync stream arms an :class:`Alarm` that shuts the socket down
when the deadline passes, which ends the read at once.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from ..errors import ProviderTimeoutError

__all__ = ["Alarm", "anext_within", "arm"]

_T = TypeVar("_T")
_REACHED = "request deadline reached while streaming"


async def anext_within(events: AsyncIterator[_T], remaining_s: float | None) -> _T | None:
    """The next item of ``events`` (None at its end), or ProviderTimeoutError after ``remaining_s``.

    The timeout cancels the adapter's pending read, so its own cleanup (closing the response)
    runs before this raises.
    """
    import asyncio

    try:
        if remaining_s is None:
            return await events.__anext__()
        if remaining_s <= 0:
            raise ProviderTimeoutError(_REACHED)
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(remaining_s):
                return await events.__anext__()
        return await asyncio.wait_for(events.__anext__(), remaining_s)  # pragma: no cover - 3.10
    except StopAsyncIteration:
        return None
    except asyncio.TimeoutError:
        raise ProviderTimeoutError(_REACHED) from None


class Alarm:
    """An action run once when its time comes, unless cancelled first. ``cancel`` waits for an
    action already running, so after it returns the action has either run or never will."""

    __slots__ = ("_action", "_lock", "cancelled", "fired")

    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action
        self._lock = threading.Lock()
        self.fired = False
        self.cancelled = False

    def fire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
            try:
                self._action()
            except Exception:  # the stream's own read reports what went wrong
                pass

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True


class _Watchdog:
    """One daemon thread for every armed alarm (a heap by due time), started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> Alarm:
        alarm = Alarm(action)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="llmroute-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return alarm

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _, alarm = self._heap[0]
                if alarm.cancelled:
                    heapq.heappop(self._heap)
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            alarm.fire()  # outside the lock: arming never waits for a socket shutdown


_watchdog = _Watchdog()


def arm(seconds: float, response: Any) -> Alarm:
    """Shut ``response``'s socket down after ``seconds`` (an OpenAI SDK or litellm stream)."""
    return _watchdog.arm(max(seconds, 0.0), lambda: _shut(response))


def _shut(response: Any) -> None:
    """End a blocked read on ``response``'s connection: shutdown wakes a reader, close does not."""
    import socket

    for holder in (response, getattr(response, "completion_stream", None)):
        http = getattr(holder, "response", None)  # the SDK stream's httpx.Response
        extensions = getattr(http, "extensions", None)
        network = extensions.get("network_stream") if isinstance(extensions, dict) else None
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed: the read has ended anyway
                pass
            return
