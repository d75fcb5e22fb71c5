"""One bookkeeper, one cost function, one state protocol.

The plan books each attempt once; the Response, the audit record and every stateful policy see
that same Attempt. Cost comes from llmroute.pricing everywhere, and "unknown" stays unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from llmroute import Attempt, Decision, Model, NoEligibleModelError, Price, Request, Router, Verdict
from llmroute.adapters import Function
from llmroute.errors import ProviderUnavailableError
from llmroute.observability import AuditRecord
from llmroute.policies import Budget, Cost, StatefulPolicy
from llmroute.pricing import cost_of, litellm_price_map, price_of

MSG = [{"role": "user", "content": "Summarise the meeting notes in two lines."}]


class Ledger:
    """A user's stateful policy: keeps every candidate, logs each hook the router calls."""

    name = "ledger"

    def __init__(self, refuse: int = 0) -> None:
        self.events: list[tuple[str, Any]] = []
        self.refuse = refuse  # how many reservations to refuse before accepting
        self.decided = 0

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        self.decided += 1
        return Verdict.keep_all(candidates, reason="ledger keeps all")

    def reserve(self, request: Request, decision: Decision) -> bool:
        self.events.append(("reserve", request.id))
        if self.refuse:
            self.refuse -= 1
            return False
        return True

    def record(self, request: Request, attempt: Attempt) -> None:
        self.events.append(("record", attempt))

    def release(self, request: Request) -> None:
        self.events.append(("release", request.id))


def _flaky_then_ok() -> tuple[Model, Model]:
    def down(request: Request) -> str:
        raise ProviderUnavailableError("503 from upstream")

    first = Model("first", Function(down), hosting="api", price=Price(1.0, 2.0))
    second = Model("second", Function(lambda r: "fine"), hosting="api", price=Price(3.0, 4.0))
    return first, second


def test_a_user_policy_with_the_three_hooks_is_stateful() -> None:
    assert isinstance(Ledger(), StatefulPolicy)
    assert isinstance(Cost(), StatefulPolicy)


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
def test_hooks_see_the_plans_own_attempts_in_order(mode: str) -> None:
    ledger = Ledger()
    records: list[AuditRecord] = []
    router = Router(list(_flaky_then_ok()), [ledger], retry={"attempts_per_model": 1}, breaker=False, audit=records.append)
    if mode == "sync":
        attempts = router.completion(MSG).attempts
    elif mode == "async":
        attempts = asyncio.run(router.acompletion(MSG)).attempts
    elif mode == "stream":
        attempts = list(router.stream(MSG))[-1].attempts
    else:

        async def collect() -> tuple[Attempt, ...]:
            return [c async for c in router.astream(MSG)][-1].attempts

        attempts = asyncio.run(collect())
    kinds = [kind for kind, _ in ledger.events]
    assert kinds == ["reserve", "record", "record", "release"]
    recorded = tuple(a for kind, a in ledger.events if kind == "record")
    assert recorded == attempts  # the very objects the Response carries
    failed, served = attempts
    assert (failed.model, failed.ok, failed.index, failed.fallback) == ("first", False, 0, False)
    assert (served.model, served.ok, served.index, served.fallback) == ("second", True, 1, True)
    assert served.usage is not None
    assert served.cost == pytest.approx(Price(3.0, 4.0).cost(served.usage.prompt_tokens, served.usage.completion_tokens))
    (record,) = records
    assert record.id == ledger.events[0][1]  # the audit record names the request the hooks saw
    assert [a["cost"] for a in record.attempts] == [a.cost for a in attempts]
    assert record.cost == served.cost


def test_a_dry_run_calls_no_hook() -> None:
    ledger = Ledger()
    Router(list(_flaky_then_ok()), [ledger]).route(MSG)
    assert ledger.events == []


def test_release_runs_once_when_every_attempt_fails_and_when_a_stream_is_dropped() -> None:
    first, _ = _flaky_then_ok()
    ledger = Ledger()
    router = Router([first], [ledger], retry={"attempts_per_model": 1}, breaker=False)
    with pytest.raises(Exception, match="attempts failed"):
        router.completion(MSG)
    assert [k for k, _ in ledger.events] == ["reserve", "record", "release"]

    ledger.events.clear()
    ok = Model("ok", Function(lambda r: "a b c d"), hosting="local")
    router = Router([ok], [ledger])
    stream = router.stream(MSG)
    next(stream)
    stream.close()  # the caller stops early: the attempt is booked (charged), the call ends once
    del stream
    assert [k for k, _ in ledger.events] == ["reserve", "record", "release"]


def test_a_refused_reservation_decides_again_then_fails_closed() -> None:
    ledger = Ledger(refuse=1)
    router = Router([Model("m", Function(lambda r: "ok"), hosting="local")], [ledger])
    router.completion(MSG)
    assert ledger.decided == 2  # decided, refused, released, decided again
    assert [k for k, _ in ledger.events][:3] == ["reserve", "release", "reserve"]

    stubborn = Ledger(refuse=99)
    router = Router([Model("m", Function(lambda r: "ok"), hosting="local")], [stubborn])
    with pytest.raises(NoEligibleModelError, match="no room left"):
        router.completion(MSG)
    assert [k for k, _ in stubborn.events].count("release") == 3 + 1  # each refusal, and the end


def test_cost_policy_decides_without_touching_its_store() -> None:
    policy = Cost(budgets=[Budget(1.0)])
    model = Model("m", Function(lambda r: "ok"), price=Price(1.0, 1.0))
    router = Router([model], [policy])
    before = len(policy.store)  # type: ignore[arg-type]
    for _ in range(5):
        router.route(MSG)
    assert len(policy.store) == before == 0  # type: ignore[arg-type]  # deciding is a pure read


def test_unpriced_hosted_model_costs_its_price_map_figure_everywhere() -> None:
    table, _ = litellm_price_map()
    if "gpt-4o-mini" not in table:
        pytest.skip("litellm's bundled price map has no gpt-4o-mini entry")
    per_in, per_out = table["gpt-4o-mini"]
    model = Model("mini", Function(lambda r: "short answer"), hosting="api", metadata={"litellm_model": "openai/gpt-4o-mini"})
    policy = Cost(budgets=[Budget(10.0)])
    router = Router([model], [policy], default_output_tokens=100)
    decision = router.route(MSG, max_tokens=100)
    expected = decision.estimated_input_tokens * per_in + 100 * per_out
    assert decision.estimated_cost == pytest.approx(expected)
    assert decision.verdicts[0].data["estimates"]["mini"] == pytest.approx(expected)  # the policy agrees
    resp = router.completion(MSG, max_tokens=100)
    actual = resp.usage.prompt_tokens * per_in + resp.usage.completion_tokens * per_out
    assert resp.cost == pytest.approx(actual) and resp.attempts[-1].cost == resp.cost
    assert policy.spent()["daily budget $10"] == pytest.approx(actual)  # the budget is charged the same
    assert cost_of(model, 1000, 0) == pytest.approx(1000 * per_in)


def test_unknown_price_is_visible_not_zero() -> None:
    model = Model("mystery", Function(lambda r: "hi"), hosting="api", metadata={"litellm_model": "no-such/model-xyz"})
    assert price_of(model) is None
    router = Router([model])
    decision = router.route(MSG)
    assert decision.estimated_cost is None and "price unknown" in decision.explain()
    resp = router.completion(MSG)
    assert resp.cost is None and resp.attempts[-1].cost is None
    capped = Router([model], [Cost(max_cost=1.0, unknown_price="last")])
    with pytest.raises(NoEligibleModelError, match="price unknown"):
        capped.route(MSG)  # a cost cap fails closed on a model it cannot price
    # local and self-hosted models left at Price() are free by declaration, hosted ones marked free too
    assert price_of(Model("l", Function(lambda r: ""), hosting="local")) == Price()
    assert price_of(Model("f", Function(lambda r: ""), hosting="api", metadata={"free": True})) == Price()


def test_the_routers_output_expectation_reaches_cost_and_fit() -> None:
    from llmroute.policies import Fit

    model = Model("m", Function(lambda r: "ok"), hosting="api", price=Price(1.0, 10.0), context_window=200)
    router = Router([model], [Fit(), Cost()], default_output_tokens=32)
    decision = router.route(MSG)
    (fit, cost) = decision.verdicts
    assert decision.estimated_output_tokens == 32
    assert cost.data["estimates"]["m"] == pytest.approx(decision.estimated_cost)  # one estimate, not two
    assert fit.keep == ("m",)  # ~20 prompt + 32 output fit a 200-token window; 256 would not
    assert Router([model], [Fit()]).route(MSG, max_tokens=32).model == "m"
    with pytest.raises(NoEligibleModelError, match="window 200"):
        Router([model], [Fit()], default_output_tokens=256).route(MSG)
