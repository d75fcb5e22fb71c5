"""The llama.cpp adapter's pool: its instances (slots), the queue of requests waiting for one, and
the stopping control of one generation.

One llama.cpp context serves one request at a time. A request takes a free slot, or queues as a
waiter (at most ``max_queue`` of them, FIFO) and is handed the next slot given back; past the
queue it gets OverloadedError. The pool is safe across threads and event loops: waiters are
woken by a callback, outside the lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ...errors import OverloadedError, ProviderUnavailableError

__all__ = ["Control", "Pool", "Slot", "Waiter", "delivered"]


class Slot:
    """One Llama instance (loaded on first use), held by one request at a time."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.llama: Any = None

    def close(self) -> None:
        llama, self.llama = self.llama, None
        if llama is not None:
            close = getattr(llama, "close", None)
            if callable(close):
                close()


class Waiter:
    """A request queued for a slot; ``notify`` is called (outside the lock) once it has one."""

    __slots__ = ("notify", "slot")

    def __init__(self, notify: Callable[[], None]) -> None:
        self.notify = notify
        self.slot: Slot | None = None


class Pool:
    """``size`` slots and a FIFO of at most ``max_queue`` waiters; safe across threads and loops."""

    def __init__(self, size: int, max_queue: int) -> None:
        self.size = size
        self.max_queue = max_queue
        self.slots = tuple(Slot(i) for i in range(size))
        self._free: deque[Slot] = deque(self.slots)
        self._waiters: deque[Waiter] = deque()
        self._lock = threading.Lock()
        self.closed = False

    @property
    def queued(self) -> int:
        return len(self._waiters)

    @property
    def busy(self) -> int:
        return self.size - len(self._free)

    def take(self, notify: Callable[[], None]) -> Slot | Waiter:
        """A free slot now, or a queued waiter; OverloadedError when the queue is full."""
        with self._lock:
            if self.closed:
                raise ProviderUnavailableError("the llama.cpp adapter is closed", retryable=False)
            if self._free:
                return self._free.popleft()
            if len(self._waiters) >= self.max_queue:
                raise OverloadedError(
                    f"local model overloaded: all {self.size} llama.cpp instances are busy and "
                    f"{len(self._waiters)} requests are queued (max_queue={self.max_queue})"
                )
            waiter = Waiter(notify)
            self._waiters.append(waiter)
            return waiter

    def try_take(self) -> Slot | None:
        """A free slot now, or None (never queues)."""
        with self._lock:
            if self.closed:
                raise ProviderUnavailableError("the llama.cpp adapter is closed", retryable=False)
            return self._free.popleft() if self._free else None

    def give_back(self, slot: Slot) -> None:
        """Hand ``slot`` to the first waiter, or return it to the free list."""
        waiter = None
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.slot = slot
            elif not self.closed:
                self._free.append(slot)
        if waiter is not None:
            waiter.notify()
        elif self.closed:
            slot.close()

    def abandon(self, waiter: Waiter) -> None:
        """The waiter gave up: leave the queue, or pass on the slot it was given meanwhile."""
        with self._lock:
            try:
                self._waiters.remove(waiter)
                return
            except ValueError:
                pass
        if waiter.slot is not None:
            slot, waiter.slot = waiter.slot, None
            self.give_back(slot)

    def close(self) -> None:
        """Refuse new requests, wake waiters (they fail), free idle slots; busy ones on return."""
        with self._lock:
            self.closed = True
            waiters = list(self._waiters)
            self._waiters.clear()
            idle = list(self._free)
            self._free.clear()
        for waiter in waiters:
            waiter.notify()  # slot stays None: the waiter raises
        for slot in idle:
            slot.close()


class Control:
    """Stopping criterion of one generation: cancelled, or past its deadline. Counts samples."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.sampled = 0
        self.timed_out = False
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        self.sampled += 1
        if self._cancelled.is_set():
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        return False

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


def delivered(waiter: Waiter) -> Slot:
    """The slot a woken waiter was handed; ProviderUnavailableError when the pool closed instead."""
    if waiter.slot is None:
        raise ProviderUnavailableError("the llama.cpp adapter was closed while this request waited", retryable=False)
    return waiter.slot
