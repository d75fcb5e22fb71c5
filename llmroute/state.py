"""Where policies keep what they remember between requests: spend, latency samples, counters.

One small interface (:class:`StateStore`) with a thread-safe in-memory default, so a shared
store (Redis, for many processes) can back the same policies later without touching them.
Keys are plain strings; values are floats or lists of floats; ``ttl_s`` expires a key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["InMemoryStore", "StateStore", "window_key"]


@runtime_checkable
class StateStore(Protocol):
    """What a policy may ask of shared state; every method is atomic."""

    def get(self, key: str, default: float = 0.0) -> float: ...

    def set(self, key: str, value: float, *, ttl_s: float | None = None) -> None: ...

    def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        """Add ``amount`` and return the new value; ``ttl_s`` applies when the key is created."""
        ...

    def push(self, key: str, value: float, *, keep: int) -> None:
        """Append to a bounded list, dropping the oldest beyond ``keep`` entries."""
        ...

    def values(self, key: str) -> Sequence[float]: ...


def window_key(prefix: str, window: str, now: float | None = None) -> tuple[str, float]:
    """The key of the current ``window`` ("minute", "hour", "day", "month") and seconds until it ends (UTC)."""
    t = time.time() if now is None else now
    if window == "month":
        g = time.gmtime(t)
        year, month = (g.tm_year + 1, 1) if g.tm_mon == 12 else (g.tm_year, g.tm_mon + 1)
        import calendar

        end = calendar.timegm((year, month, 1, 0, 0, 0, 0, 0, 0))
        return f"{prefix}:{g.tm_year:04d}-{g.tm_mon:02d}", end - t
    size = {"minute": 60, "hour": 3600, "day": 86400}.get(window)
    if size is None:
        raise ValueError(f"window must be minute, hour, day or month, got {window!r}")
    index = int(t // size)
    return f"{prefix}:{window}:{index}", (index + 1) * size - t


class InMemoryStore:
    """A :class:`StateStore` in this process's memory, guarded by one lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._numbers: dict[str, tuple[float, float | None]] = {}  # key -> (value, expires_at)
        self._lists: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return f"InMemoryStore(keys={len(self._numbers) + len(self._lists)})"

    def _live(self, key: str) -> tuple[float, float | None] | None:
        item = self._numbers.get(key)
        if item is not None and item[1] is not None and item[1] <= self._clock():
            del self._numbers[key]
            return None
        return item

    def get(self, key: str, default: float = 0.0) -> float:
        with self._lock:
            item = self._live(key)
            return default if item is None else item[0]

    def set(self, key: str, value: float, *, ttl_s: float | None = None) -> None:
        with self._lock:
            self._numbers[key] = (value, None if ttl_s is None else self._clock() + ttl_s)

    def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        with self._lock:
            item = self._live(key)
            if item is None:
                item = (0.0, None if ttl_s is None else self._clock() + ttl_s)
            value = item[0] + amount
            self._numbers[key] = (value, item[1])
            return value

    def push(self, key: str, value: float, *, keep: int) -> None:
        with self._lock:
            items = self._lists.setdefault(key, [])
            items.append(value)
            if len(items) > keep:
                del items[: len(items) - keep]

    def values(self, key: str) -> Sequence[float]:
        with self._lock:
            return tuple(self._lists.get(key, ()))
