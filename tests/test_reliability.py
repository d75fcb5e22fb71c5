"""Retry classification, backoff, the attempt plan's retries and deadline, and circuit breakers.

Pure and fast: no sleeping, no network; time comes from a fake clock.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from tenacity import wait_fixed

from llmroute import (
    AllAttemptsFailedError,
    ConfigError,
    Constraint,
    Model,
    NoEligibleModelError,
    Request,
    Router,
    Verdict,
)
from llmroute._plan import AttemptPlan, PlanSettings
from llmroute.adapters import Function
from llmroute.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContextWindowExceededError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from llmroute.reliability import (
    BreakerPolicy,
    CircuitBreakers,
    RetryPolicy,
    counts_against_model,
    is_retryable,
)
from llmroute.state import InMemoryStore

MSG = [{"role": "user", "content": "hi"}]


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def models(*names: str, **windows: int) -> list[Model]:
    return [Model(n, Function(str), hosting="self_hosted", context_window=windows.get(n)) for n in names]


def plan(
    names: Sequence[str] = ("a", "b"),
    *,
    retry: RetryPolicy | None = None,
    breakers: CircuitBreakers | None = None,
    clock: Clock | None = None,
    **settings: object,
) -> AttemptPlan:
    ms = models(*names)
    router = Router(ms)
    request = router._request(MSG, {})
    by_name = {m.name: m for m in ms}
    ps = PlanSettings(retry=retry or RetryPolicy(jitter_s=0), **settings)  # type: ignore[arg-type]
    return AttemptPlan(request, router.decide(request), by_name, ps, breakers=breakers, clock=clock or Clock())


# -- classification and backoff ---------------------------------------------------------------


def test_only_transient_errors_are_retryable() -> None:
    for error in (RateLimitError("x"), ProviderTimeoutError("x"), ProviderUnavailableError("x")):
        assert is_retryable(error) and counts_against_model(error)
    for other in (BadRequestError("x"), ContextWindowExceededError("x"), AuthenticationError("x"), ValueError("x")):
        assert not is_retryable(other) and not counts_against_model(other)
    assert is_retryable(BadRequestError("x", retryable=True))  # an adapter may say otherwise


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=0.5, jitter_s=0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    jittered = RetryPolicy(base_delay_s=0.1, max_delay_s=10, jitter_s=0.05)
    waits = [jittered.backoff(2) for _ in range(200)]
    assert all(0.2 <= w <= 0.25 for w in waits) and len(set(waits)) > 1
    assert RetryPolicy(wait=wait_fixed(0.3)).backoff(4) == pytest.approx(0.3)  # any tenacity strategy


def test_delay_honours_retry_after_up_to_a_cap() -> None:
    policy = RetryPolicy(attempts_per_model=3, base_delay_s=0.1, jitter_s=0, max_retry_after_s=5)
    assert policy.delay(1, ProviderUnavailableError("x")) == pytest.approx(0.1)
    assert policy.delay(1, RateLimitError("x", retry_after=2)) == 2
    assert policy.delay(1, RateLimitError("x", retry_after=0)) == pytest.approx(0.1)
    assert policy.delay(1, RateLimitError("x", retry_after=60)) is None  # fall back instead of waiting
    assert policy.delay(3, ProviderUnavailableError("x")) is None  # tries per model spent
    assert policy.delay(1, BadRequestError("x")) is None


@pytest.mark.parametrize(
    ("kw", "path"),
    [
        ({"attempts_per_model": 0}, "retry.attempts_per_model"),
        ({"attempts_per_model": 1.5}, "retry.attempts_per_model"),
        ({"base_delay_s": -1}, "retry.base_delay_s"),
        ({"deadline_s": 0}, "retry.deadline_s"),
        ({"max_retry_after_s": float("inf")}, "retry.max_retry_after_s"),
    ],
)
def test_bad_retry_settings_name_the_field(kw: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        RetryPolicy(**kw)  # type: ignore[arg-type]


def test_router_takes_settings_as_mappings() -> None:
    router = Router(models("a"), retry={"attempts_per_model": 1}, breaker={"failure_threshold": 2})
    assert router._settings.retry.attempts_per_model == 1
    with pytest.raises(ConfigError, match=r"retry\.tries: unknown setting 'tries'"):
        Router(models("a"), retry={"tries": 3})
    with pytest.raises(ConfigError, match=r"breaker\.failure_rate"):
        Router(models("a"), breaker={"failure_rate": 1.5})
    with pytest.raises(ConfigError, match="breaker: must be a BreakerPolicy"):
        Router(models("a"), breaker=3)  # type: ignore[arg-type]


# -- the attempt plan -------------------------------------------------------------------------


def test_retries_the_same_model_then_falls_back() -> None:
    p = plan(retry=RetryPolicy(attempts_per_model=2, base_delay_s=0.1, jitter_s=0))
    step = p.next()
    assert step is not None and (step.model.name, step.delay_s, step.retry) == ("a", 0.0, False)
    p.failed(step, ProviderUnavailableError("503"), 0.01)
    step = p.next()
    assert step is not None and (step.model.name, step.retry) == ("a", True)
    assert step.delay_s == pytest.approx(0.1)
    p.failed(step, ProviderUnavailableError("503"), 0.01)
    step = p.next()
    assert step is not None and (step.model.name, step.delay_s, step.retry) == ("b", 0.0, False)
    p.failed(step, RateLimitError("429", retry_after=99), 0.01)
    assert p.next() is None  # b asked for longer than we wait
    error = p.exhausted()
    assert isinstance(error, AllAttemptsFailedError)
    assert [a.model for a in error.attempts] == ["a", "a", "b"]


def test_non_retryable_errors_are_not_retried() -> None:
    p = plan()
    step = p.next()
    assert step is not None
    p.failed(step, BadRequestError("400"), 0.0)
    assert p.next() is None
    p = plan(("a", "b"))
    step = p.next()
    assert step is not None
    p.failed(step, AuthenticationError("401"), 0.0)
    step = p.next()
    assert step is not None and step.model.name == "b"  # another provider, another key


def test_max_attempts_counts_retries_and_no_fallback_still_retries() -> None:
    p = plan(("a", "b"), retry=RetryPolicy(attempts_per_model=3, jitter_s=0), max_attempts=2)
    names = []
    while (step := p.next()) is not None:
        names.append(step.model.name)
        p.failed(step, ProviderTimeoutError("t"), 0.0)
    assert names == ["a", "a"]
    p = plan(("a", "b"), retry=RetryPolicy(attempts_per_model=2, jitter_s=0), fallback=False)
    names = []
    while (step := p.next()) is not None:
        names.append(step.model.name)
        p.failed(step, ProviderTimeoutError("t"), 0.0)
    assert names == ["a", "a"]


def test_deadline_bounds_waits_and_attempts() -> None:
    clock = Clock()
    p = plan(("a", "b"), retry=RetryPolicy(deadline_s=1.0, base_delay_s=0.5, jitter_s=0), clock=clock)
    step = p.next()
    assert step is not None and step.timeout_s == pytest.approx(1.0)
    assert p.request_for(step).params["timeout"] == pytest.approx(1.0)
    clock.advance(0.7)
    p.failed(step, ProviderTimeoutError("t"), 0.7)
    step = p.next()  # a 0.5 s wait does not fit in the 0.3 s left: go straight to b
    assert step is not None and step.model.name == "b" and step.delay_s == 0
    assert step.timeout_s == pytest.approx(0.3)
    clock.advance(0.3)
    p.failed(step, ProviderTimeoutError("t"), 0.3)
    assert p.next() is None
    assert "deadline of 1 s reached" in str(p.exhausted())


def test_request_for_keeps_a_shorter_request_timeout() -> None:
    ms = models("a")
    router = Router(ms)
    request = router._request(MSG, {"timeout": 0.2})
    p = AttemptPlan(request, router.decide(request), {"a": ms[0]}, PlanSettings(retry=RetryPolicy(deadline_s=5)), clock=Clock())
    step = p.next()
    assert step is not None and p.request_for(step).params["timeout"] == 0.2
    no_deadline = plan()
    step = no_deadline.next()
    assert step is not None and no_deadline.request_for(step) is no_deadline.request


def test_retries_recheck_constraints_and_the_plan_is_bounded() -> None:
    def only_a(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict.keep_all(candidates, constraints=(Constraint("pin", "a only", models=frozenset({"a"})),))

    calls: list[str] = []

    def failing(name: str) -> Function:
        def fn(request: Request) -> str:
            calls.append(name)
            raise ProviderUnavailableError("down")

        return Function(fn)

    router = Router(
        [Model("a", failing("a")), Model("b", failing("b"))],
        [only_a],
        retry=RetryPolicy(attempts_per_model=3, base_delay_s=0, jitter_s=0),
    )
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert calls == ["a", "a", "a"]


def test_context_overflow_is_not_retried_on_the_same_window() -> None:
    ms = models("small", "same", "large", small=8000, same=8000, large=100_000)
    router = Router(ms)
    request = router._request(MSG, {})
    p = AttemptPlan(request, router.decide(request), {m.name: m for m in ms}, PlanSettings(), clock=Clock())
    step = p.next()
    assert step is not None
    p.failed(step, ContextWindowExceededError("long"), 0.0)
    step = p.next()
    assert step is not None and step.model.name == "large"
    assert "not larger" in p.skipped["same"]


# -- circuit breakers -------------------------------------------------------------------------


def breakers(clock: Clock, **kw: object) -> CircuitBreakers:
    policy = BreakerPolicy(**{"failure_threshold": 3, "failure_rate": None, "cooldown_s": 10.0, **kw})  # type: ignore[arg-type]
    return CircuitBreakers(policy, InMemoryStore(clock=clock), clock=clock)


def test_breaker_opens_after_consecutive_failures_and_recovers_through_one_probe() -> None:
    clock = Clock()
    b = breakers(clock)
    for _ in range(2):
        b.record("m", ProviderUnavailableError("x"))
    b.record("m", None)  # a success resets the run
    for _ in range(2):
        b.record("m", ProviderUnavailableError("x"))
    assert b.state("m") == "closed" and b.acquire("m") is None
    b.record("m", ProviderTimeoutError("x"))
    assert b.state("m") == "open"
    assert (b.blocked("m") or "").startswith("circuit open: probe in 10.0 s")
    clock.advance(10)
    assert b.state("m") == "half_open" and b.blocked("m") is None
    assert b.acquire("m") is None  # this caller is the probe
    assert "probe request is in flight" in (b.acquire("m") or "")
    assert "probe request is in flight" in (b.blocked("m") or "")
    b.record("m", ProviderUnavailableError("still down"))  # the probe failed: open again
    assert b.state("m") == "open"
    clock.advance(10)
    assert b.acquire("m") is None
    b.record("m", None)
    assert b.state("m") == "closed" and b.acquire("m") is None and b.acquire("m") is None


def test_breaker_opens_on_failure_rate_in_a_window() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=100, failure_rate=0.5, min_calls=10, window_s=60)
    for i in range(9):
        b.record("m", ProviderUnavailableError("x") if i % 2 else None)
        clock.advance(1)
    assert b.state("m") == "closed"  # 4 of 9: under min_calls anyway
    b.record("m", ProviderUnavailableError("x"))  # 5 of 10
    assert b.state("m") == "open"
    c = breakers(clock, failure_threshold=100, failure_rate=0.5, min_calls=4, window_s=6)
    for _ in range(3):
        c.record("m", ProviderUnavailableError("x"))
        clock.advance(1)
        c.record("m", None)
    clock.advance(20)  # those failures have left the window
    c.record("m", ProviderUnavailableError("x"))
    assert c.state("m") == "closed"


def test_bad_requests_do_not_count_and_release_the_probe() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=1)
    b.record("m", BadRequestError("x"))
    b.record("m", ContextWindowExceededError("x"))
    assert b.state("m") == "closed"
    b.record("m", RateLimitError("x"))
    clock.advance(10)
    assert b.acquire("m") is None
    b.record("m", BadRequestError("x"))  # says nothing of health: let another probe through
    assert b.acquire("m") is None


def test_a_lost_probe_expires() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=1)
    b.record("m", ProviderUnavailableError("x"))
    clock.advance(10)
    assert b.acquire("m") is None  # and this probe's task is cancelled: no outcome recorded
    assert b.acquire("m") is not None
    clock.advance(10)
    assert b.acquire("m") is None


def test_plan_skips_open_models_with_the_reason_in_the_decision() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=1)
    b.record("a", ProviderUnavailableError("x"))
    p = plan(("a", "b"), breakers=b, clock=clock)
    assert p.decision.model == "b" and p.decision.candidates == ("b",)
    assert p.decision.dropped["a"].startswith("circuit open")
    step = p.next()
    assert step is not None and step.model.name == "b"
    b.record("b", ProviderUnavailableError("x"))
    with pytest.raises(CircuitOpenError, match="open circuit") as info:
        plan(("a", "b"), breakers=b, clock=clock)
    assert set(info.value.reasons) == {"a", "b"}
    assert isinstance(info.value, NoEligibleModelError)


def test_a_circuit_that_opens_mid_request_stops_its_retries() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=1)
    p = plan(("a", "b"), breakers=b, clock=clock)
    step = p.next()
    assert step is not None and step.model.name == "a"
    p.failed(step, ProviderUnavailableError("x"), 0.0)  # opens a's circuit
    step = p.next()
    assert step is not None and step.model.name == "b"
    assert p.skipped["a"].startswith("circuit open")


def test_router_fails_fast_when_every_circuit_is_open() -> None:
    calls = 0

    def down(request: Request) -> str:
        nonlocal calls
        calls += 1
        raise ProviderUnavailableError("down")

    router = Router([Model("m", Function(down))], retry={"attempts_per_model": 1}, breaker={"failure_threshold": 2})
    for _ in range(2):
        with pytest.raises(AllAttemptsFailedError):
            router.completion(MSG)
    with pytest.raises(CircuitOpenError):
        router.completion(MSG)
    with pytest.raises(CircuitOpenError):
        router.stream(MSG)  # raised at the call, before iteration
    assert calls == 2
    assert router.breakers is not None and router.breakers.state("m") == "open"
    router.breakers.reset("m")  # an operator knows it is back
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert calls == 3
    assert Router([Model("m", Function(down))], breaker=False).breakers is None


def test_circuits_opened_by_other_requests_after_deciding_fail_fast_too() -> None:
    clock = Clock()
    b = breakers(clock, failure_threshold=1)
    p = plan(("a",), breakers=b, clock=clock)
    b.record("a", ProviderUnavailableError("x"))  # a concurrent request's failure opens it
    assert p.next() is None
    error = p.exhausted()
    assert isinstance(error, CircuitOpenError) and error.reasons["a"].startswith("circuit open")


def test_config_file_settings() -> None:
    from llmroute.config import load_router

    def config(router: dict[str, object]) -> dict[str, object]:
        return {"models": [{"name": "m", "adapter": {"type": "function", "fn": str}}], "router": router}

    router = load_router(config({"retry": {"attempts_per_model": 3, "deadline_s": 10}, "breaker": False}))
    assert router._settings.retry == RetryPolicy(attempts_per_model=3, deadline_s=10)
    assert router.breakers is None
    router = load_router(config({"breaker": {"cooldown_s": 5}}))
    assert router.breakers is not None and router.breakers.policy.cooldown_s == 5
    with pytest.raises(ConfigError, match=r"retry\.base_delay_s"):
        load_router(config({"retry": {"base_delay_s": -1}}))
