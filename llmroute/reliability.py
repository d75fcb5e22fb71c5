"""Reliability rules the attempt plan applies: which errors to retry, how long to wait, and
per-model circuit breakers.

All of it is pure apart from the breakers' state, which lives in a :class:`~llmroute.state.StateStore`
(in-memory by default; a RedisStore shares it between processes). Time comes from an injectable clock,
so tests never sleep. tenacity supplies the wait strategies and loads on the first retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast

from ._validate import number
from .errors import ConfigError, LLMRouteError, ProviderError, RateLimitError

if TYPE_CHECKING:
    from .state import Outcome, StateStore

__all__ = [
    "BreakerPolicy",
    "CircuitBreakers",
    "RetryPolicy",
    "counts_against_model",
    "is_retryable",
]

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]


def is_retryable(error: BaseException) -> bool:
    """Transient errors worth another try of the same model: 429, timeouts, 5xx, connection errors."""
    return isinstance(error, ProviderError) and error.retryable


def counts_against_model(error: BaseException) -> bool:
    """Failures that say the model is unwell (not that the request was bad): they feed its breaker."""
    return is_retryable(error)


def _coerce(cls: Any, owner: str, value: Any) -> Any:
    """An instance of ``cls`` from itself, a settings mapping (config files) or None (the defaults)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a {cls.__name__} or a mapping, got {type(value).__name__}", path=owner)
    known = {f.name for f in fields(cls)}
    for key in value:
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}; known: {sorted(known)}", path=f"{owner}.{key}")
    return cls(**value)


@dataclass(frozen=True)
class RetryPolicy:
    """How often to retry one model on a transient error, how long to wait, and when to give up.

    ``attempts_per_model`` counts the first try (1 = never retry the same model; fallbacks still
    happen). The wait before retry *n* is exponential with jitter (tenacity's
    ``wait_exponential_jitter``; pass any tenacity wait strategy as ``wait``). A ``Retry-After``
    up to ``max_retry_after_s`` is honoured; a longer one moves on to the next model instead of
    waiting. ``deadline_s`` bounds the whole request, waits and fallbacks included.
    """

    attempts_per_model: int = 2
    base_delay_s: float = 0.1
    max_delay_s: float = 2.0
    jitter_s: float = 0.1
    max_retry_after_s: float = 5.0
    deadline_s: float | None = None
    wait: Callable[[Any], float] | None = None

    def __post_init__(self) -> None:
        number(self.attempts_per_model, "retry.attempts_per_model", minimum=1, integer=True)
        for name in ("base_delay_s", "max_delay_s", "jitter_s", "max_retry_after_s"):
            number(getattr(self, name), f"retry.{name}", minimum=0)
        number(self.deadline_s, "retry.deadline_s", minimum=0, exclusive_minimum=True, allow_none=True)
        if self.wait is not None and not callable(self.wait):
            raise ConfigError(f"must be a tenacity wait strategy, got {type(self.wait).__name__}", path="retry.wait")

    @classmethod
    def coerce(cls, value: RetryPolicy | Mapping[str, Any] | None) -> RetryPolicy:
        """A RetryPolicy from itself, a settings mapping (config files) or None (the defaults)."""
        return _coerce(cls, "retry", value)  # type: ignore[no-any-return]

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) when the provider gave no hint."""
        from tenacity import RetryCallState, wait_exponential_jitter

        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = retry
        wait = self.wait or wait_exponential_jitter(
            multiplier=self.base_delay_s, max=self.max_delay_s, jitter=self.jitter_s
        )
        return max(0.0, float(wait(state)))

    def delay(self, tries: int, error: LLMRouteError) -> float | None:
        """The wait before trying the same model again after ``tries`` tries ended in ``error``,
        or None when that model should not be tried again for this request."""
        if not is_retryable(error) or tries >= self.attempts_per_model:
            return None
        wait = self.backoff(tries)
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None  # the provider asked for longer than we wait: fall back instead
            wait = max(wait, error.retry_after)
        return wait


@dataclass(frozen=True)
class BreakerPolicy:
    """When a model's circuit opens, and how it recovers.

    It opens after ``failure_threshold`` consecutive failures, or when at least ``min_calls``
    calls in the last ``window_s`` seconds failed at ``failure_rate`` or more. After
    ``cooldown_s`` one probe request is let through: success closes it, failure re-opens it.
    Only failures that say the model is unwell count (see :func:`counts_against_model`).
    """

    failure_threshold: int = 5
    failure_rate: float | None = 0.5
    min_calls: int = 20
    window_s: float = 60.0
    cooldown_s: float = 30.0

    def __post_init__(self) -> None:
        number(self.failure_threshold, "breaker.failure_threshold", minimum=1, integer=True)
        number(self.min_calls, "breaker.min_calls", minimum=1, integer=True)
        number(self.window_s, "breaker.window_s", minimum=0, exclusive_minimum=True)
        number(self.cooldown_s, "breaker.cooldown_s", minimum=0)
        number(self.failure_rate, "breaker.failure_rate", minimum=0, exclusive_minimum=True, maximum=1, allow_none=True)

    @classmethod
    def coerce(cls, value: BreakerPolicy | Mapping[str, Any] | None) -> BreakerPolicy:
        return _coerce(cls, "breaker", value)  # type: ignore[no-any-return]


_BUCKETS = 6  # the failure-rate window is kept as this many time buckets of counts


class CircuitBreakers:
    """One circuit breaker per model name, its state in a StateStore.

    ``blocked`` looks without changing anything (for deciding; ``blocked_many`` reads every
    candidate in one store step); ``acquire`` is called right before an attempt and, when the
    cooldown is over, claims the single probe atomically, so concurrent requests (in any process
    sharing the store) do not all hammer a recovering model. Every transition is one atomic store
    step (:meth:`~llmroute.state.StateStore.breaker_record`). A remote store that is down is
    replaced by local memory until it returns (:class:`~llmroute.state.LocalFallback`).
    """

    def __init__(self, policy: BreakerPolicy | None = None, store: StateStore | None = None, *, clock: Clock = time.time, prefix: str = "breaker") -> None:
        from .state import InMemoryStore, LocalFallback, is_remote

        if store is None:
            store = InMemoryStore()
        elif is_remote(store):
            store = cast("StateStore", LocalFallback(store, what="circuit breakers"))
        self.policy = policy or BreakerPolicy()
        self.store = store
        self._clock = clock
        self._prefix = prefix
        p = self.policy
        self._settings = (p.failure_threshold, -1.0 if p.failure_rate is None else p.failure_rate, p.min_calls, p.window_s, p.cooldown_s, _BUCKETS)

    def __repr__(self) -> str:
        return f"CircuitBreakers({self.policy!r})"

    def _key(self, model: str) -> str:
        return f"{self._prefix}:{model}"

    def state(self, model: str) -> BreakerState:
        opened = self.store.breakers([self._key(model)], self._clock())[0][0]
        if not opened:
            return "closed"
        return "half_open" if self._clock() - opened >= self.policy.cooldown_s else "open"

    def blocked(self, model: str) -> str | None:
        """Why ``model`` may not be called now, or None when it may."""
        return self.blocked_many([model]).get(model)

    def blocked_many(self, models: Sequence[str]) -> dict[str, str]:
        """Why each of ``models`` that may not be called now may not; one store step for all."""
        now = self._clock()
        out: dict[str, str] = {}
        for model, (opened, probing) in zip(models, self.store.breakers([self._key(m) for m in models], now), strict=True):
            if not opened:
                continue
            waited = now - opened
            if waited < self.policy.cooldown_s:
                out[model] = f"circuit open: probe in {self.policy.cooldown_s - waited:.1f} s"
            elif probing:
                out[model] = "circuit half-open: a probe request is in flight"
        return out

    def acquire(self, model: str) -> str | None:
        """Like :meth:`blocked`, but claims the probe of a half-open circuit for this caller.

        The claim expires after a cooldown, so a cancelled probe cannot wedge the model.
        """
        now = self._clock()
        if self.store.breaker_claim(self._key(model), now, self.policy.cooldown_s):
            return None
        return self.blocked(model) or "circuit half-open: a probe request is in flight"

    def record(self, model: str, error: LLMRouteError | None) -> None:
        """The outcome of one attempt: None for success."""
        outcome: Outcome = "ok" if error is None else ("fail" if counts_against_model(error) else "neutral")
        self.store.breaker_record(self._key(model), outcome, self._clock(), self._settings)

    def reset(self, model: str) -> None:
        """Close the circuit by hand (an operator knows the model is back)."""
        self.store.breaker_reset(self._key(model))
