"""Cost: cheapest first above a quality floor, per-request caps, windowed budgets recorded from
actual usage, fallbacks and pinned models inside the budget, and concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from llmroute import AllAttemptsFailedError, Completion, Model, NoEligibleModelError, Price, Router, Usage
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError, ProviderUnavailableError
from llmroute.policies import Budget, Complexity, Cost
from llmroute.state import InMemoryStore, window_key
from llmroute.tokens import count_tokens

MSG = [{"role": "user", "content": "Summarise the news in two lines."}]


def reply(tokens_in: int = 1000, tokens_out: int = 1000, delay_s: float = 0.0) -> Function:
    def fn(request: Any) -> Completion:
        if delay_s:
            time.sleep(delay_s)
        return Completion("ok", Usage(tokens_in, tokens_out))

    return Function(fn)


def ledger(policy: Cost, scope: str = "spend:router:all", window: str = "day") -> tuple[float, float]:
    """(spent, held) of a budget window in the policy's store."""
    return policy.store.ledgers([window_key(scope, window)[0]])[0]


def catalogue(**adapters: Function) -> list[Model]:
    a = {name: adapters.get(name) or reply() for name in ("premium", "mid", "cheap", "local")}
    return [
        Model("premium", a["premium"], tier="complex", price=Price(10, 30), scores={"quality": 0.9}),
        Model("mid", a["mid"], tier="standard", price=Price(1, 2), scores={"quality": 0.8}),
        Model("cheap", a["cheap"], tier="standard", price=Price(0.1, 0.2), scores={"quality": 0.6}),
        Model("local", a["local"], tier="simple", hosting="local", scores={"quality": 0.5}),
    ]


def test_cheapest_first_above_the_quality_floor() -> None:
    router = Router(catalogue(), [Cost(rank="cheapest")])
    assert router.route(MSG).candidates == ("local", "cheap", "mid", "premium")
    floor = Router(catalogue(), [Cost(quality_floor=0.7, rank="cheapest")])
    decision = floor.route(MSG)
    assert decision.candidates == ("mid", "premium")
    assert "below floor" in decision.dropped["cheap"]
    assert floor.route(MSG, metadata={"min_quality": 0.85}).candidates == ("premium",)


def test_within_tier_keeps_complexity_order_and_sorts_by_price_inside() -> None:
    router = Router(catalogue(), [Complexity(thresholds=(0.0, 1.0)), Cost()])  # everything "standard"
    assert router.route(MSG).candidates == ("cheap", "mid", "premium", "local")


def test_estimate_uses_max_tokens_and_exact_offline_token_count() -> None:
    policy = Cost(count_tokens="tiktoken", output_tokens=100)
    router = Router(catalogue(), [policy])
    decision = router.route(MSG, max_tokens=50)
    exact = 3 + 4 + count_tokens(MSG[0]["content"])
    estimates = decision.verdicts[0].data["estimates"]
    assert estimates["mid"] == pytest.approx(Price(1, 2).cost(exact, 50))
    assert router.route(MSG).verdicts[0].data["estimates"]["mid"] == pytest.approx(Price(1, 2).cost(exact, 100))


def test_per_request_cap_picks_a_cheaper_model_and_binds_pins_and_fallbacks() -> None:
    cheap_down = Function(lambda r: (_ for _ in ()).throw(ProviderUnavailableError("down")))
    models = catalogue(cheap=cheap_down)
    premium = models[0].adapter
    router = Router(models, [Cost(max_cost=0.001, rank="keep")])
    decision = router.route(MSG, max_tokens=200)
    assert decision.model == "mid" and "premium" in decision.dropped
    assert "over per-request cap" in decision.dropped["premium"]
    with pytest.raises(NoEligibleModelError, match="premium"):
        router.route(MSG, model="premium", max_tokens=200)  # a pin does not escape the cap
    # a per-request metadata cap works too
    assert router.route(MSG, max_tokens=200, metadata={"max_cost": 0.00005}).model == "cheap"
    # fallback from the failing cheap model goes to local (free), never to premium
    response = router.completion(MSG, max_tokens=200, metadata={"max_cost": 0.00005})
    assert response.model == "local" and premium.calls == 0  # type: ignore[attr-defined]


def test_budget_spend_recorded_from_actual_usage_then_only_free_models() -> None:
    store = InMemoryStore()
    policy = Cost(budgets=[Budget(limit=0.05, window="day")], store=store, rank="keep")
    models = catalogue()
    router = Router(models[1:], [policy])  # mid, cheap, local
    first = router.completion(MSG, max_tokens=100)
    assert first.model == "mid"
    assert policy.spent()["daily budget $0.05"] == pytest.approx(Price(1, 2).cost(1000, 1000))  # actual, not estimate
    for _ in range(20):
        router.completion(MSG, max_tokens=100)
    spent = policy.spent()["daily budget $0.05"]
    assert spent <= 0.05 + Price(1, 2).cost(1000, 1000)
    decision = router.route(MSG, max_tokens=100)
    assert decision.model in ("cheap", "local")
    while policy.spent()["daily budget $0.05"] < 0.05:
        router.completion(MSG, max_tokens=100, model="cheap")
    decision = router.route(MSG, max_tokens=100)
    assert decision.model == "local" and "budget" in decision.dropped["mid"]
    priced_only = Router(models[1:3], [policy])
    with pytest.raises(NoEligibleModelError, match="daily budget"):
        priced_only.completion(MSG, max_tokens=100)


def test_tenant_budgets_are_separate_and_dry_runs_reserve_nothing() -> None:
    policy = Cost(budgets=[Budget(limit=0.0033, per="tenant")], rank="keep")
    router = Router(catalogue()[1:3], [policy])  # mid, cheap
    for _ in range(5):
        router.route(MSG, tenant="acme")  # route() holds no reservation
    assert router.completion(MSG, tenant="acme").model == "mid"
    assert router.route(MSG, tenant="acme").model == "cheap"  # acme spent $0.003 of $0.0033
    assert router.route(MSG, tenant="globex").model == "mid"  # globex has its own window
    assert ledger(policy, "spend:tenant:acme")[1] == pytest.approx(0.0)  # nothing left held


def test_concurrent_requests_overshoot_at_most_one_estimate() -> None:
    limit = 0.02
    policy = Cost(budgets=[Budget(limit=limit, window="minute")], output_tokens=1000, rank="keep")
    mid = reply(1000, 1000, delay_s=0.02)
    router = Router([catalogue(mid=mid)[1]], [policy])  # mid only: each call costs $0.003, as estimated
    errors: list[BaseException] = []

    def worker() -> None:
        for _ in range(5):
            try:
                router.completion([{"role": "user", "content": "x" * 3980}])
            except NoEligibleModelError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = policy.spent()["minutely budget $0.02"]
    one_estimate = Price(1, 2).cost(1000, 1000)
    assert spent <= limit + one_estimate
    assert mid.calls == 6 and len(errors) == 40 - 6  # 6 x $0.003 = $0.018 fits, a 7th would not


def test_failed_requests_release_their_reservation() -> None:
    down = Function(lambda r: (_ for _ in ()).throw(ProviderUnavailableError("down")))
    policy = Cost(budgets=[Budget(limit=1.0)])
    router = Router([Model("api", down, price=Price(1, 1))], [policy], retry={"attempts_per_model": 1})
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert ledger(policy) == (0.0, 0.0)  # nothing spent, nothing held


def test_unknown_prices() -> None:
    fn = reply()
    mystery = Model("mystery-model-xyz", fn, hosting="api")  # no price, not in litellm's map
    known = Model("known", fn, hosting="api", price=Price(1, 1))
    assert Router([mystery, known], [Cost()]).route(MSG).candidates == ("known", "mystery-model-xyz")
    decision = Router([mystery, known], [Cost(unknown_price="drop")]).route(MSG)
    assert decision.candidates == ("known",) and decision.dropped["mystery-model-xyz"].endswith("price unknown")
    assert Router([mystery, known], [Cost(unknown_price="free")]).route(MSG).model == "mystery-model-xyz"
    capped = Router([mystery, known], [Cost(max_cost=1.0)]).route(MSG)
    assert capped.candidates == ("known",)  # an unknown price cannot be shown to fit a cap


def test_price_from_litellm_map_when_the_model_has_none() -> None:
    policy = Cost()
    model = Model("gpt-4o-mini", reply(), hosting="api", metadata={"litellm_model": "gpt-4o-mini"})
    price = policy.price(model)
    assert price is not None and price.input > 0 and price.output > price.input


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"budget\.window"):
        Budget(1.0, window="week")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"cost.budgets\[0\]"):
        Cost(budgets=[{"limit": 1, "windw": "day"}])
    with pytest.raises(ConfigError, match=r"cost\.unknown_price"):
        Cost(unknown_price="guess")  # type: ignore[arg-type]
    assert Cost(budgets=[{"limit": 2, "window": "month", "per": "user"}]).budgets[0] == Budget(2, "month", "user")


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_every_call_path_records_spend_and_releases_the_reservation(mode: str) -> None:
    policy = Cost(budgets=[Budget(limit=1.0)])
    router = Router([Model("mid", reply(1000, 1000), price=Price(1, 2))], [policy])
    if mode == "sync":
        router.completion(MSG)
    elif mode == "async":
        await router.acompletion(MSG)
    elif mode == "stream":
        assert list(router.stream(MSG))[-1].cost == pytest.approx(0.003)
    else:
        chunks = [c async for c in router.astream(MSG)]
        assert chunks[-1].cost == pytest.approx(0.003)
    spent, held = ledger(policy)
    assert spent == pytest.approx(0.003) and held == pytest.approx(0.0)


def test_a_broken_record_hook_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "broken"

        def __call__(self, request: Any, candidates: Any) -> Any:
            from llmroute import Verdict

            return Verdict.keep_all(candidates)

        def reserve(self, *args: Any) -> bool:
            return True

        def record(self, *args: Any) -> None:
            raise RuntimeError("boom")

        def release(self, *args: Any) -> None:
            raise RuntimeError("boom too")

    router = Router([Model("mid", reply(), price=Price(1, 2))], [Broken()])
    assert router.completion(MSG).content == "ok"
    assert "policy 'broken' record() raised RuntimeError" in caplog.text
    assert "policy 'broken' release() raised RuntimeError" in caplog.text


# -- exact budgets (issue 14, item 0) ------------------------------------------------------------
def test_a_reply_without_usage_is_charged_a_counted_estimate() -> None:
    silent = Function(lambda r: Completion("word " * 200, Usage()))  # the provider reports no usage
    policy = Cost(budgets=[Budget(limit=0.0028)])
    router = Router([Model("mid", silent, price=Price(1, 2), max_output_tokens=300)], [policy])
    served = 0
    for _ in range(20):
        try:
            response = router.completion(MSG)
        except NoEligibleModelError:
            continue
        served += 1
        assert response.usage.completion_tokens == 250 and response.cost and response.cost > 0  # 1000 chars / 4
    spent, held = ledger(policy)
    assert served == 5 and spent <= 0.0028 and held == 0.0  # $0.000515 each, $0.000615 held: not 20 for free


@pytest.mark.parametrize("how", ["closed", "dropped", "failed"])
def test_a_stream_that_stops_early_is_charged_for_what_was_generated(how: str) -> None:
    from llmroute import StreamEvent

    def events(request: Any) -> Any:
        yield StreamEvent(text="a" * 400)
        yield StreamEvent(text="b" * 400)
        if how == "failed":
            raise ProviderUnavailableError("connection reset")
        yield StreamEvent(finish_reason="stop")  # no usage reported: it would have been counted too

    adapter = Function(lambda r: "unused")
    adapter.stream = events  # type: ignore[method-assign]
    policy = Cost(budgets=[Budget(limit=1.0)])
    router = Router([Model("mid", adapter, price=Price(1, 2))], [policy], retry={"attempts_per_model": 1})
    stream = router.stream(MSG)
    texts = [next(stream).choices[0].delta.content, next(stream).choices[0].delta.content]  # the last text chunk
    assert texts == ["a" * 400, "b" * 400]
    if how == "closed":
        stream.close()
    elif how == "dropped":
        del stream
    else:
        with pytest.raises(Exception, match="failed after 2 chunks"):
            next(stream)
    spent, held = ledger(policy)
    assert spent == pytest.approx(Price(1, 2).cost(Router([Model("x", adapter)]).route(MSG).estimated_input_tokens, 200))
    assert held == 0.0


def test_usage_far_above_the_estimate_cannot_overshoot_the_budget() -> None:
    limit = 0.02
    big = reply(1000, 5 * 256, delay_s=0.01)  # five times the expected 256 output tokens
    policy = Cost(budgets=[Budget(limit=limit, window="minute")], rank="keep")
    router = Router([Model("mid", big, price=Price(1, 2), max_output_tokens=5 * 256)], [policy])

    def worker() -> None:
        for _ in range(5):
            try:
                router.completion([{"role": "user", "content": "x" * 3980}])
            except NoEligibleModelError:
                pass

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent, held = ledger(policy, window="minute")
    assert spent <= limit and held == 0.0  # held up to max_output_tokens, settled on actual
    assert big.calls == 5  # $0.00356 each, $0.003562 held: five fit in $0.02


def test_a_fallback_never_escapes_the_budget_its_first_choice_was_held_to() -> None:
    policy = Cost(budgets=[Budget(limit=0.01)], rank="cheapest")

    def cheap_fails(request: Any) -> Any:
        # while this call is in flight, a concurrent request takes most of the room
        policy.store.hold([window_key("spend:router:all", "day")[0]], [0.01], "other", 0.008, ttl_s=60, keep_s=[90000.0])
        raise ProviderUnavailableError("down")

    dear = reply()
    models = [
        Model("cheap", Function(cheap_fails), price=Price(0.1, 0.2), max_output_tokens=1000),
        Model("dear", dear, price=Price(2, 4), max_output_tokens=1000),  # holds $0.006
    ]
    router = Router(models, [policy], retry={"attempts_per_model": 1})
    with pytest.raises(AllAttemptsFailedError, match=r"all 1 attempts failed \(cheap\)"):
        router.completion(MSG)
    assert dear.calls == 0  # type: ignore[attr-defined]  # skipped: "cost: no room left for this attempt"
    assert "dear" in router.route(MSG).dropped  # and a new decision sees the room is gone
    assert ledger(policy)[1] == pytest.approx(0.008)  # only the other request's hold remains


def test_budgets_per_model_and_provider_with_overrides() -> None:
    policy = Cost(
        budgets=[
            Budget(limit=0.004, per="model", overrides={"cheap": 0.0}),
            Budget(limit=1.0, per="provider", overrides={"acme-ai": 0.0}),
        ],
        rank="cheapest",
    )
    models = [
        Model("cheap", reply(), price=Price(0.1, 0.2), max_output_tokens=1000),
        Model("mid", reply(), price=Price(1, 2), max_output_tokens=1000),
        Model("other", reply(), price=Price(0.5, 1), max_output_tokens=1000, metadata={"provider": "acme-ai"}),
    ]
    router = Router(models, [policy])
    decision = router.route(MSG, max_tokens=1000)
    assert decision.model == "mid"
    assert "for model cheap" in decision.dropped["cheap"] and "for provider acme-ai" in decision.dropped["other"]
    router.completion(MSG, max_tokens=1000)  # mid spends $0.003 of its own $0.004
    with pytest.raises(NoEligibleModelError, match=r"daily budget \$0.004 for model mid"):
        router.completion(MSG, max_tokens=1000)
    assert policy.spent(model=models[1]) == {"daily budget $0.004 for model mid": pytest.approx(0.003), "daily budget $1 for provider function": pytest.approx(0.003)}
    with pytest.raises(ConfigError, match=r"cost.budgets\[0\].overrides.acme"):
        Cost(budgets=[{"limit": 1, "per": "tenant", "overrides": {"acme": -5}}])
    with pytest.raises(ConfigError, match=r"budget.per: must be one of"):
        Budget(1, per="team")  # type: ignore[arg-type]
