"""Latency: targets from metadata or a realtime tag, observed moving percentiles, no-network first."""

from __future__ import annotations

import time
from typing import Any

import pytest

from llmroute import Model, NoEligibleModelError, Router
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError
from llmroute.policies import Latency
from llmroute.state import InMemoryStore

MSG = [{"role": "user", "content": "quick answer please"}]


def sleeper(seconds: float) -> Function:
    def fn(request: Any) -> str:
        time.sleep(seconds)
        return "ok"

    return Function(fn)


def test_no_target_keeps_everyone_in_order() -> None:
    router = Router([Model("api", Function(lambda r: "a")), Model("local", Function(lambda r: "l"), hosting="local")], [Latency()])
    assert router.route(MSG).candidates == ("api", "local")


def test_realtime_tag_keeps_the_request_local_by_defaults() -> None:
    models = [
        Model("api", Function(lambda r: "a")),
        Model("gpu-box", Function(lambda r: "s"), hosting="self_hosted"),
        Model("local", Function(lambda r: "l"), hosting="local"),
    ]
    router = Router(models, [Latency()])
    decision = router.route(MSG, tags=["realtime"])
    assert decision.candidates == ("local",)
    assert "target 100 ms" in decision.dropped["api"] and "api default" in decision.dropped["api"]
    relaxed = router.route(MSG, metadata={"latency_budget_ms": 500})
    assert relaxed.candidates == ("local", "gpu-box")  # no-network first


def test_declared_latency_and_strict_mode() -> None:
    models = [Model("api", Function(lambda r: "a"), metadata={"latency_ms": 40}), Model("slow", Function(lambda r: "s"), hosting="local", metadata={"latency_ms": 900})]
    router = Router(models, [Latency()])
    assert router.route(MSG, metadata={"latency_budget_ms": 50}).candidates == ("api",)
    assert router.route(MSG, metadata={"latency_budget_ms": 10}).candidates == ("api",)  # the fastest stays
    with pytest.raises(NoEligibleModelError, match="expected 40 ms"):
        Router(models, [Latency(strict=True)]).route(MSG, metadata={"latency_budget_ms": 10})


def test_observed_latency_from_real_calls_overrides_defaults() -> None:
    store = InMemoryStore()
    policy = Latency(min_samples=3, window=10, store=store)
    slow_local = Model("local", sleeper(0.06), hosting="local")  # declared nothing; default 50 ms
    fast_api = Model("api", sleeper(0.0), metadata={"latency_ms": 5000})
    router = Router([slow_local, fast_api], [policy])
    assert router.route(MSG, tags=["realtime"]).model == "local"  # before observations: defaults
    for _ in range(3):
        router.completion(MSG, model="local")
        router.completion(MSG, model="api")
    ms, source = policy.expected_ms(slow_local)
    assert ms >= 55 and "p90 of 3 calls" == source
    api_ms, _ = policy.expected_ms(fast_api)
    assert api_ms < 20
    decision = router.route(MSG, metadata={"latency_budget_ms": 40})
    assert decision.candidates == ("api",) and "p90 of 3 calls" in decision.dropped["local"]


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="percentile"):
        Latency(percentile=0)
    with pytest.raises(ConfigError, match="defaults_ms"):
        Latency(defaults_ms={"cloud": 1})
    assert Latency(defaults_ms={"local": 1}).defaults_ms == {"local": 1, "self_hosted": 300.0, "api": 800.0}
