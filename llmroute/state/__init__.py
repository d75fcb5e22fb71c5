"""Where policies keep what they remember between requests: spend, latency samples, breakers.

One interface (:class:`StateStore`) with two implementations: :class:`InMemoryStore` (this
process, the default) and :class:`RedisStore` (``llmroute[redis]``: every process and host that
points at the same Redis and prefix shares budgets, breakers and latency samples).

Every method is one atomic step. Beyond plain numbers and bounded lists, the store knows two
small records whose read-modify-write must be atomic across processes, so each is a single
server-side step in Redis (a Lua script), never get-then-set:

* a **ledger** per budget window: ``spent`` plus *holds*, one per call id, each with its own
  expiry. ``hold`` grows a call's hold only if every window still has room; ``settle`` adds an
  attempt's actual cost and shrinks the hold by as much; ``unhold`` drops it. A hold abandoned by
  a crashed process expires by itself, and one that has expired can never be given back twice,
  so a window can never go negative.
* a **breaker** per model: when it opened, consecutive failures, failure-rate buckets, and the
  single half-open probe claim.

A store that talks over the network says so with ``remote = True``; the router then keeps its
calls off the event loop, and breakers and latency fall back to local memory while it is down
(:class:`LocalFallback`). A store that cannot be reached raises
:class:`~llmroute.errors.StateUnavailableError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ..errors import StateUnavailableError

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "BreakerSettings",
    "InMemoryStore",
    "LocalFallback",
    "Outcome",
    "RedisStore",
    "StateStore",
    "is_remote",
    "window_key",
]

_log = logging.getLogger("llmroute")

Outcome = Literal["ok", "fail", "neutral"]
# (failure_threshold, failure_rate or -1, min_calls, window_s, cooldown_s, buckets)
BreakerSettings = tuple[int, float, int, float, float, int]


@runtime_checkable
class StateStore(Protocol):
    """What a policy may ask of shared state; every method is one atomic step."""

    def get(self, key: str, default: float = 0.0) -> float: ...

    def set(self, key: str, value: float, *, ttl_s: float | None = None) -> None: ...

    def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        """Add ``amount`` and return the new value; ``ttl_s`` applies when the key is created."""
        ...

    def push(self, key: str, value: float, *, keep: int) -> None:
        """Append to a bounded list, dropping the oldest beyond ``keep`` entries."""
        ...

    def values(self, key: str) -> Sequence[float]: ...

    # -- ledgers (budgets) ---------------------------------------------------------------
    def hold(
        self, keys: Sequence[str], limits: Sequence[float], holder: str, amount: float, *, ttl_s: float, keep_s: Sequence[float]
    ) -> int:
        """Grow ``holder``'s hold to ``amount`` in every ledger, only if each keeps spent plus
        holds within its limit. Returns 0 when held, else the 1-based index of the full ledger
        (nothing changed). The hold expires ``ttl_s`` from now; a ledger ``keep_s`` from now."""
        ...

    def settle(self, keys: Sequence[str], holder: str, cost: float, *, keep_s: Sequence[float]) -> None:
        """Add ``cost`` to each ledger's spend and shrink ``holder``'s hold by as much (not below 0)."""
        ...

    def unhold(self, keys: Sequence[str], holder: str) -> None:
        """Drop ``holder``'s hold from each ledger; a no-op for a hold that has expired."""
        ...

    def ledgers(self, keys: Sequence[str]) -> list[tuple[float, float]]:
        """(spent, held) of each ledger, expired holds left out."""
        ...

    # -- breakers -----------------------------------------------------------------------
    def breakers(self, keys: Sequence[str], now: float) -> list[tuple[float, bool]]:
        """(opened_at or 0, whether a live probe is claimed) of each breaker."""
        ...

    def breaker_claim(self, key: str, now: float, cooldown_s: float) -> bool:
        """Whether the caller may call the model: closed, or half-open and it claims the probe."""
        ...

    def breaker_record(self, key: str, outcome: Outcome, now: float, settings: BreakerSettings) -> float:
        """Book one attempt's outcome; returns opened_at afterwards (0: closed)."""
        ...

    def breaker_reset(self, key: str) -> None: ...


def is_remote(store: object) -> bool:
    """Whether ``store`` talks over the network (its calls may block and may fail)."""
    return bool(getattr(store, "remote", False))


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


_SWEEP_EVERY_S = 1.0  # expired keys are swept at most this often, on writes


class InMemoryStore:
    """A :class:`StateStore` in this process's memory, guarded by one lock.

    Expired keys are dropped when read and swept on writes (at most once a second), so a
    long-running process does not keep every window it ever saw.
    """

    remote = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._numbers: dict[str, tuple[float, float | None]] = {}  # key -> (value, expires_at)
        self._lists: dict[str, list[float]] = {}
        self._tables: dict[str, tuple[dict[str, Any], float | None]] = {}  # ledgers and breakers
        self._next_sweep = clock() + _SWEEP_EVERY_S

    def __repr__(self) -> str:
        return f"InMemoryStore(keys={len(self)})"

    def __len__(self) -> int:
        return len(self._numbers) + len(self._lists) + len(self._tables)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_S
        for store in (self._numbers, self._tables):
            dead = [k for k, (_, exp) in store.items() if exp is not None and exp <= now]
            for k in dead:
                del store[k]

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
            now = self._clock()
            self._sweep(now)
            self._numbers[key] = (value, None if ttl_s is None else now + ttl_s)

    def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            item = self._live(key)
            if item is None:
                item = (0.0, None if ttl_s is None else now + ttl_s)
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

    # -- tables: a ledger or a breaker, one dict each ------------------------------------
    def _table(self, key: str, now: float, keep_s: float | None = None, *, create: bool = True) -> dict[str, Any]:
        item = self._tables.get(key)
        if item is not None and item[1] is not None and item[1] <= now:
            item = None
        if item is None:
            if not create:
                return {}
            item = ({}, None)
        if keep_s is not None:
            item = (item[0], now + keep_s)
        self._tables[key] = item
        return item[0]

    @staticmethod
    def _holds(table: dict[str, Any], now: float) -> dict[str, tuple[float, float]]:
        holds: dict[str, tuple[float, float]] = table.setdefault("holds", {})  # holder -> (amount, expires_at)
        for holder in [h for h, (_, exp) in holds.items() if exp <= now]:
            del holds[holder]
        return holds

    def hold(
        self, keys: Sequence[str], limits: Sequence[float], holder: str, amount: float, *, ttl_s: float, keep_s: Sequence[float]
    ) -> int:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            tables = [self._table(k, now, keep) for k, keep in zip(keys, keep_s, strict=True)]
            for i, (table, limit) in enumerate(zip(tables, limits, strict=True)):
                holds = self._holds(table, now)
                old = holds.get(holder, (0.0, 0.0))[0]
                held = sum((a for a, _ in holds.values()), 0.0)
                if amount > old and table.get("spent", 0.0) + held - old + amount > limit + 1e-12:
                    return i + 1
            for table in tables:
                holds = table["holds"]
                if amount > holds.get(holder, (0.0, 0.0))[0]:
                    holds[holder] = (amount, now + ttl_s)
            return 0

    def settle(self, keys: Sequence[str], holder: str, cost: float, *, keep_s: Sequence[float]) -> None:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            for key, keep in zip(keys, keep_s, strict=True):
                table = self._table(key, now, keep)
                table["spent"] = table.get("spent", 0.0) + cost
                holds = self._holds(table, now)
                if holder in holds:
                    amount, exp = holds[holder]
                    holds[holder] = (max(0.0, amount - cost), exp)

    def unhold(self, keys: Sequence[str], holder: str) -> None:
        with self._lock:
            now = self._clock()
            for key in keys:
                self._holds(self._table(key, now, create=False), now).pop(holder, None)

    def ledgers(self, keys: Sequence[str]) -> list[tuple[float, float]]:
        with self._lock:
            now = self._clock()
            out = []
            for key in keys:
                table = self._table(key, now, create=False)
                out.append((table.get("spent", 0.0), sum((a for a, _ in self._holds(table, now).values()), 0.0)))
            return out

    # -- breakers -----------------------------------------------------------------------
    def breakers(self, keys: Sequence[str], now: float) -> list[tuple[float, bool]]:
        with self._lock:
            out = []
            for key in keys:
                t = self._table(key, self._clock(), create=False)
                opened = t.get("opened", 0.0)
                out.append((opened, bool(opened) and t.get("probe_for") == opened and t.get("probe_until", 0.0) > now))
            return out

    def breaker_claim(self, key: str, now: float, cooldown_s: float) -> bool:
        with self._lock:
            t = self._table(key, self._clock(), create=False)
            opened = t.get("opened", 0.0)
            if not opened:
                return True
            if now - opened < cooldown_s or (t.get("probe_for") == opened and t.get("probe_until", 0.0) > now):
                return False
            t["probe_for"], t["probe_until"] = opened, now + max(cooldown_s, 1.0)
            return True

    def breaker_record(self, key: str, outcome: Outcome, now: float, settings: BreakerSettings) -> float:
        threshold, rate, min_calls, window_s, cooldown_s, buckets = settings
        with self._lock:
            clock = self._clock()
            self._sweep(clock)
            t = self._table(key, clock, max(window_s * 2, cooldown_s * 2) + 60)
            opened: float = t.get("opened", 0.0)
            if outcome == "neutral":  # says nothing of the model: free the probe it may hold
                t.pop("probe_for", None)
                return opened
            bucket = int(now // (window_s / buckets))
            counts: dict[int, list[float]] = t.setdefault("buckets", {})  # bucket -> [calls, fails]
            for b in [b for b in counts if b <= bucket - buckets]:
                del counts[b]
            if outcome == "ok":
                if opened:
                    t.clear()
                else:
                    t["consecutive"] = 0
                    if rate >= 0:
                        counts.setdefault(bucket, [0.0, 0.0])[0] += 1
                return 0.0
            if opened:  # a failed probe (or a straggler from before the circuit opened)
                if now - opened >= cooldown_s:
                    t["opened"] = now
                    t.pop("probe_for", None)
                return float(t["opened"])
            t["consecutive"] = t.get("consecutive", 0) + 1
            opens = t["consecutive"] >= threshold
            if rate >= 0:
                c = counts.setdefault(bucket, [0.0, 0.0])
                c[0] += 1
                c[1] += 1
                calls = sum(v[0] for v in counts.values())
                fails = sum(v[1] for v in counts.values())
                opens = opens or (calls >= min_calls and fails / calls >= rate)
            if opens:
                t["opened"] = now
            return float(t.get("opened", 0.0))

    def breaker_reset(self, key: str) -> None:
        with self._lock:
            self._tables.pop(key, None)


class LocalFallback:
    """A remote store that falls back to this process's memory while it cannot be reached.

    For state that may be approximate for a while (breakers, latency samples), never for
    budgets. The first failure is logged once; after ``retry_s`` (default: the store's
    ``retry_after_s``) the remote store is tried again, and its return is logged too. Local state gathered meanwhile is not merged back.
    """

    def __init__(self, store: StateStore, *, what: str, retry_s: float | None = None) -> None:
        self.store = store
        self.local = InMemoryStore()
        self.what = what
        self.retry_s = float(getattr(store, "retry_after_s", 1.0)) if retry_s is None else retry_s
        self.remote = is_remote(store)
        self._down_until = 0.0
        self._down = False

    def __repr__(self) -> str:
        return f"LocalFallback({self.store!r})"

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if not callable(method) or name.startswith("_"):
            return method

        def call(*args: Any, **kw: Any) -> Any:
            if self._down and time.monotonic() < self._down_until:
                return getattr(self.local, name)(*args, **kw)
            try:
                result = method(*args, **kw)
            except StateUnavailableError as exc:
                if not self._down:
                    _log.warning("llmroute: state store unavailable (%s); %s use local memory until it returns", exc, self.what)
                self._down, self._down_until = True, time.monotonic() + self.retry_s
                return getattr(self.local, name)(*args, **kw)
            if self._down:
                self._down = False
                _log.warning("llmroute: state store is back; %s share it again", self.what)
            return result

        return call


def __getattr__(name: str) -> Any:
    if name == "RedisStore":  # the redis client loads only when a RedisStore is asked for
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
