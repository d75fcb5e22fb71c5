"""Shared state across processes on a real redis-server (started here on a free loopback port).

1. 8 processes x 16 threads race one router-wide budget: total recorded spend against the limit.
2. Two routers in two processes share a tenant budget.
3. A breaker opened by failures in one process: is it seen open by another on its next call?
4. Added time per routed call (Cost with a budget + breakers) with Redis on loopback against
   InMemoryStore, in the same run, and Redis round trips (commands) per call from INFO commandstats.

Run: python benchmarks/shared_state.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import redis
import state_workers
from _timing import sample_us
from redis_server import RedisServer

from llmroute import Model, Price, Router
from llmroute.adapters.testing import Function
from llmroute.errors import ProviderUnavailableError
from llmroute.policies import Budget, Cost
from llmroute.state import InMemoryStore, RedisStore

MSG = [{"role": "user", "content": "Summarise the news in two lines."}]


def open_breaker(url: str) -> str:
    """In a fresh process: fail a model until its breaker opens."""
    down = Function(lambda r: (_ for _ in ()).throw(ProviderUnavailableError("down")))
    router = Router([Model("flaky", down, hosting="self_hosted")], breaker={"failure_threshold": 3}, retry={"attempts_per_model": 1}, state_store=RedisStore(url, prefix="brk"))
    for _ in range(3):
        try:
            router.completion(MSG)
        except Exception:
            pass
    return router.breakers.state("flaky") if router.breakers else "none"


# Commands a client sends (one round trip each); the commands a Lua script runs inside the server
# are counted by commandstats too, so only these top-level ones are summed.
_TOP_LEVEL = ("evalsha", "eval", "get", "set", "lrange", "del", "ping", "type", "scan", "script|load")


def commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in _TOP_LEVEL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls = 2 if args.quick else 4
    n = 500 if args.quick else 3000
    ctx = multiprocessing.get_context("spawn")
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        # 1. one budget, 8 x 16 racers
        limit = 0.15
        with ctx.Pool(8) as pool:
            served = pool.starmap(state_workers.race, [(server.url, "race", limit, 16, calls, None)] * 8)
        spent = sum(Cost(budgets=[Budget(limit)], store=RedisStore(server.url, prefix="race")).spent().values())
        print(f"race: 8 processes x 16 threads x {calls} calls; served {sum(served)}; spent ${spent:.6f} of ${limit} "
              f"(overspend ${max(0.0, spent - limit):.6f}; one call ${state_workers.ONE_CALL:.6f})")
        # 2. tenant budget across two routers in two processes
        with ctx.Pool(2) as pool:
            served = pool.starmap(state_workers.race, [(server.url, "tenant", 0.06, 8, calls, "acme")] * 2)
        spent = sum(Cost(budgets=[Budget(0.06, per="tenant")], store=RedisStore(server.url, prefix="tenant")).spent(
            _req("acme")).values())
        print(f"tenant: 2 processes x 8 threads; served {sum(served)}; spent ${spent:.6f} of $0.06 (overspend ${max(0.0, spent - 0.06):.6f})")
        # 3. breaker seen across processes
        with ctx.Pool(1) as pool:
            there = pool.apply(open_breaker, (server.url,))
        here = Router([Model("flaky", Function(lambda r: "ok"), hosting="self_hosted")], state_store=RedisStore(server.url, prefix="brk"))
        try:
            here.completion(MSG)
            seen = "no: the call went through"
        except Exception as exc:
            seen = f"yes ({type(exc).__name__})"
        print(f"breaker: opened in process A ({there}); process B's next call refused: {seen}")
        # 4. added time per routed call
        for label, store in (("in-memory", InMemoryStore()), ("redis", RedisStore(server.url, prefix="lat"))):
            model = Model("mid", Function(lambda r: "ok"), price=Price(1, 2), max_output_tokens=256)
            router = Router([model], [Cost(budgets=[Budget(limit=1e9)])], state_store=store)
            plain = Router([model])  # no budget, no shared breakers' store: the baseline
            before = commands(client)
            med, p99 = sample_us(lambda r=router: r.completion(MSG), n)
            per_call = (commands(client) - before) / (n + min(n // 5, 200))
            base_med, base_p99 = sample_us(lambda p=plain: p.completion(MSG), n)
            print(f"per call, {label}: median {med:.0f} us, p99 {p99:.0f} us; added vs no budget: median {med - base_med:+.0f} us, "
                  f"p99 {p99 - base_p99:+.0f} us; Redis round trips per call {per_call:.2f}")


def _req(tenant: str) -> object:
    from llmroute._request import build_request

    return build_request([{"role": "user", "content": ""}], params={}, tenant=tenant)


if __name__ == "__main__":
    main()
