"""State stores: the same semantics in memory and on a real redis-server (ledgers with holds that
expire by themselves, breaker records, bounded lists), eviction of expired keys in memory, and
RedisStore's bad input, password handling and failure modes."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator

import pytest
import state_workers
from redis_server import RedisServer, free_port

from llmroute import Model, Price, Router, StateUnavailableError
from llmroute.adapters.testing import Function
from llmroute.config import load_router
from llmroute.errors import ConfigError
from llmroute.policies import Budget, Cost, Latency
from llmroute.state import InMemoryStore, RedisStore, StateStore, window_key

MSG = [{"role": "user", "content": "hi"}]
BREAKER = (2, -1.0, 20, 60.0, 10.0, 6)  # opens after 2 consecutive failures; 10 s cooldown


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    server = request.getfixturevalue("redis_server")
    store = RedisStore(server.url, prefix="t")
    yield store
    store.close()


def test_ledger_holds_grow_settle_and_are_given_back_once(store: StateStore) -> None:
    keys, keep = ["a", "b"], [60.0, 60.0]
    assert store.hold(keys, [1.0, 0.5], "r1", 0.3, ttl_s=30, keep_s=keep) == 0
    assert store.hold(keys, [1.0, 0.5], "r2", 0.3, ttl_s=30, keep_s=keep) == 2  # b would hold 0.6 > 0.5
    assert store.ledgers(keys) == [(0.0, pytest.approx(0.3)), (0.0, pytest.approx(0.3))]  # refused: nothing changed
    assert store.hold(keys, [1.0, 0.5], "r1", 0.2, ttl_s=30, keep_s=keep) == 0  # growing to less holds no more
    store.settle(keys, "r1", 0.1, keep_s=keep)
    assert store.ledgers(keys)[0] == (pytest.approx(0.1), pytest.approx(0.2))
    store.unhold(keys, "r1")
    store.unhold(keys, "r1")  # a second give-back is a no-op, never negative
    assert store.ledgers(keys) == [(pytest.approx(0.1), 0.0), (pytest.approx(0.1), 0.0)]


def test_an_abandoned_hold_expires_and_cannot_go_negative(store: StateStore) -> None:
    assert store.hold(["w"], [1.0], "crashed", 0.4, ttl_s=0.05, keep_s=[60.0]) == 0
    time.sleep(0.3)  # past the hold's own expiry (the process that made it never comes back)
    assert store.ledgers(["w"]) == [(0.0, 0.0)]
    store.unhold(["w"], "crashed")  # a late release of the expired hold
    store.settle(["w"], "crashed", 0.2, keep_s=[60.0])  # and a late settle: spend counts, holds do not
    assert store.ledgers(["w"]) == [(pytest.approx(0.2), 0.0)]
    assert store.hold(["w"], [1.0], "next", 0.8, ttl_s=30, keep_s=[60.0]) == 0  # all the room is back


def test_breaker_records_and_the_single_probe(store: StateStore) -> None:
    assert store.breakers(["m"], 1000.0) == [(0.0, False)]
    assert store.breaker_record("m", "fail", 1000.0, BREAKER) == 0.0
    assert store.breaker_record("m", "fail", 1000.0, BREAKER) == 1000.0  # opened
    assert store.breaker_claim("m", 1005.0, 10.0) is False  # cooling down
    assert store.breaker_claim("m", 1011.0, 10.0) is True  # the probe
    assert store.breaker_claim("m", 1011.0, 10.0) is False  # only one
    assert store.breakers(["m"], 1011.0) == [(1000.0, True)]
    store.breaker_record("m", "neutral", 1012.0, BREAKER)  # a bad request frees the probe
    assert store.breaker_claim("m", 1012.0, 10.0) is True
    assert store.breaker_record("m", "fail", 1012.0, BREAKER) == 1012.0  # the probe failed: re-opened
    store.breaker_record("m", "ok", 1030.0, BREAKER)
    assert store.breakers(["m"], 1030.0) == [(0.0, False)]


def test_numbers_and_bounded_lists(store: StateStore) -> None:
    assert store.incr("n", 2.5, ttl_s=30) == 2.5 and store.get("n") == 2.5 and store.get("missing", 7.0) == 7.0
    for v in range(5):
        store.push("l", float(v), keep=3)
    assert list(store.values("l")) == [2.0, 3.0, 4.0]


def test_in_memory_store_evicts_expired_keys() -> None:
    clock = Clock(0.0)
    store = InMemoryStore(clock=clock)
    for second in range(86_400 // 10):  # a simulated day of breaker traffic on one model
        clock.t = second * 10.0
        store.breaker_record("breaker:m", "ok" if second % 3 else "fail", clock.t, (5, 0.5, 20, 60.0, 30.0, 6))
        store.incr(f"probe:{second}", ttl_s=30)
    assert len(store) <= 10  # one breaker record, and the few probe keys not yet expired


def test_in_memory_budget_window_rolls_over() -> None:
    clock = Clock(3600.0 * 24 * 100 + 59.0)  # one second before a minute ends
    policy = Cost(budgets=[Budget(limit=0.004, window="minute")], clock=clock)
    router = Router([Model("mid", Function(lambda r: "x" * 400), price=Price(1, 2), max_output_tokens=1000)], [policy])
    router.completion(MSG, max_tokens=1000)
    assert sum(policy.spent().values()) > 0
    clock.t += 2.0  # the next minute: a new window, nothing spent in it
    assert sum(policy.spent().values()) == 0


# -- Redis: many processes, windows, failure ------------------------------------------------
def test_processes_racing_one_budget_overspend_nothing(redis_server: RedisServer) -> None:
    limit = 0.05
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        served = pool.starmap(state_workers.race, [(redis_server.url, "race", limit, 4, 6, None)] * 4)
    store = RedisStore(redis_server.url, prefix="race")
    policy = Cost(budgets=[Budget(limit=limit)], store=store)
    spent = sum(policy.spent().values())
    assert sum(served) == round(spent / state_workers.ONE_CALL)  # every served call was charged once
    assert spent <= limit  # holds bound each reply's cost, so the processes together never overshoot
    assert sum(served) == 16  # 16 x $0.003 fits in $0.05 with the holds; the 96 - 16 others were refused


def test_two_routers_in_two_processes_share_a_tenant_budget(redis_server: RedisServer) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        served = pool.starmap(state_workers.race, [(redis_server.url, "tenants", 0.03, 2, 10, "acme")] * 2)
    assert sum(served) == 9  # $0.03 / $0.003002 held per call: 9 calls for acme across both processes
    other = state_workers.router(redis_server.url, "tenants", 0.03, per="tenant")
    assert other.completion(MSG, max_tokens=1000, tenant="globex").content == "ok"  # globex has its own window


def test_redis_killed_and_restarted_mid_run(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="llmroute")
    store = RedisStore(redis_server.url, prefix="k", timeout_s=0.2, retry_after_s=0.2)
    cost, latency = Cost(budgets=[Budget(limit=10.0)]), Latency()
    denied = Router([Model("m", Function(lambda r: "ok"), price=Price(1, 1))], [cost, latency], state_store=store)
    allowed_cost = Cost(budgets=[Budget(limit=10.0)], store=store, on_unavailable="allow")
    allowed = Router([Model("m", Function(lambda r: "ok"), price=Price(1, 1))], [allowed_cost], state_store=store)
    assert denied.completion(MSG).content == "ok"

    redis_server.kill()
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(StateUnavailableError, match="budget not checked") as info:
            denied.completion(MSG)  # fails closed, fast: nothing was sent
        assert info.value.setting == "state.url"
    assert allowed.completion(MSG).content == "ok"  # opted in: served unchecked
    assert time.monotonic() - started < 5  # nothing hangs (a generous bound: one timeout per retry window)
    assert caplog.text.count("circuit breakers use local memory") == 1  # said once

    redis_server.start()  # same port, empty (no persistence)
    time.sleep(0.3)  # past retry_after_s
    assert denied.completion(MSG).content == "ok"  # recovered by itself
    assert allowed.completion(MSG).content == "ok"
    assert "state store is back; circuit breakers share it again" in caplog.text
    assert sum(cost.spent().values()) > 0


def test_url_and_password_errors_name_the_setting_and_hide_the_password() -> None:
    with pytest.raises(ConfigError, match=r"state\.url: malformed Redis URL .*scheme"):
        RedisStore("http://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match=r"state\.url: malformed Redis URL .*port") as bad_port:
        RedisStore("redis://:hunter2@127.0.0.1:notaport/0")
    assert "hunter2" not in str(bad_port.value)
    with pytest.raises(ConfigError, match=r"state\.url: cannot reach the Redis server at redis://\*\*\*@127\.0\.0\.1") as down:
        RedisStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    assert "hunter2" not in str(down.value) and down.value.__cause__ is None and down.value.__suppress_context__
    with pytest.raises(ConfigError, match=r"state\.url_env: environment variable NOPE_REDIS_URL is not set"):
        RedisStore(url_env="NOPE_REDIS_URL")
    with pytest.raises(ConfigError, match=r"state\.prefix"):
        RedisStore(prefix="a b", lazy=True)
    lazy = RedisStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0", lazy=True)  # connects on first use
    assert "hunter2" not in repr(lazy)
    with pytest.raises(StateUnavailableError, match="cannot reach") as first_use:
        lazy.get("x")
    assert "hunter2" not in str(first_use.value)


def test_wrong_password_and_prefix_clash(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with RedisServer(password="s3cret-pw") as locked:
        wrong = locked.url.replace("s3cret-pw", "wrong-pw")
        with pytest.raises(ConfigError, match="refused the credentials") as info:
            RedisStore(wrong)
        assert "wrong-pw" not in str(info.value) and "s3cret-pw" not in str(info.value)
        monkeypatch.setenv("MY_REDIS_URL", locked.url)
        store = RedisStore.from_env("MY_REDIS_URL", prefix="app")
        assert "s3cret-pw" not in repr(store) and store.incr("x") == 1.0

    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("other:session:1", "someone else's data")
    with pytest.raises(ConfigError, match=r"state\.prefix: keys under 'other:' already exist"):
        RedisStore(redis_server.url, prefix="other")
    client.set("mine:__llmroute__", "not ours")
    with pytest.raises(ConfigError, match=r"state\.prefix: the key 'mine:__llmroute__' belongs to something else"):
        RedisStore(redis_server.url, prefix="mine")
    RedisStore(redis_server.url, prefix="fresh")
    RedisStore(redis_server.url, prefix="fresh")  # our own marker: fine the second time


def test_workers_starting_together_all_claim_a_fresh_prefix(redis_server: RedisServer) -> None:
    """Workers that start at once on a fresh prefix each check it and write at once: none may
    take another's first keys for a stranger's (the check and the claim are one step)."""
    import threading

    for round_ in range(20):
        prefix = f"together{round_}"
        gate = threading.Barrier(12)
        errors: list[BaseException] = []

        def worker(i: int, prefix: str = prefix, gate: threading.Barrier = gate, errors: list[BaseException] = errors) -> None:
            gate.wait()
            try:
                RedisStore(redis_server.url, prefix=prefix).incr(f"spend:{i}")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, f"round {round_}: {errors[0]!r}"


def test_config_state_reaches_breakers_and_every_stateful_policy(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMROUTE_REDIS_URL", redis_server.url)
    config = {
        "models": [{"name": "m", "hosting": "self_hosted", "adapter": {"type": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}}],
        "policies": [{"type": "cost", "budgets": [{"limit": 100, "per": "tenant", "overrides": {"acme": 500}}]}, {"type": "latency"}],
        "router": {"state": {"type": "redis", "url_env": "LLMROUTE_REDIS_URL", "prefix": "cfg"}},
    }
    router = load_router(config)
    cost, latency = router.policies
    assert isinstance(cost.store, RedisStore) and isinstance(router.breakers.store.store, RedisStore)  # type: ignore[union-attr]
    assert isinstance(latency.store.store, RedisStore)  # type: ignore[attr-defined]
    assert cost.budgets[0].limit_for("acme") == 500 and cost.budgets[0].limit_for("globex") == 100
    with pytest.raises(ConfigError, match=r"router\.state\.url: malformed") as info:
        load_router({**config, "router": {"state": {"type": "redis", "url": "redis://:pw1234@h:x/0"}}})
    assert "pw1234" not in str(info.value)


async def test_async_calls_on_a_redis_store_record_and_release(redis_server: RedisServer) -> None:
    policy = Cost(budgets=[Budget(limit=1.0)])
    model = Model("mid", Function(lambda r: "x" * 40), price=Price(1, 2), max_output_tokens=100)
    router = Router([model], [policy], state_store=RedisStore(redis_server.url, prefix="aio"))
    assert (await router.acompletion(MSG)).cost
    chunks = [c async for c in router.astream(MSG)]
    assert chunks[-1].cost
    spent, held = policy.store.ledgers([window_key("spend:router:all", "day")[0]])[0]
    assert spent == pytest.approx(2 * Price(1, 2).cost(router.route(MSG).estimated_input_tokens, 10))  # counted usage
    assert held == 0.0
