"""Worker processes for the shared-state tests and benchmark: each builds its own Router on a
RedisStore and races the others (spawned, so nothing is inherited but the arguments)."""

from __future__ import annotations

import threading

from llmroute import Completion, Model, Price, Router, Usage
from llmroute.adapters.testing import Function
from llmroute.errors import LLMRouteError
from llmroute.policies import Budget, Cost
from llmroute.state import RedisStore

PRICE = Price(1.0, 2.0)  # USD per 1M tokens
USAGE = Usage(1000, 1000)  # every reply: $0.003
ONE_CALL = PRICE.cost(USAGE.prompt_tokens, USAGE.completion_tokens)


def router(url: str, prefix: str, limit: float, per: str = "router") -> Router:
    reply = Function(lambda r: Completion("ok", USAGE))
    model = Model("mid", reply, price=PRICE, max_output_tokens=1000)
    budget = Budget(limit=limit, window="day", per=per)  # type: ignore[arg-type]
    return Router([model], [Cost(budgets=[budget])], state_store=RedisStore(url, prefix=prefix))


def race(url: str, prefix: str, limit: float, threads: int, calls: int, tenant: str | None = None) -> int:
    """Calls served by this process, ``threads`` threads each trying ``calls`` calls."""
    r = router(url, prefix, limit, per="tenant" if tenant else "router")
    served = [0]
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(calls):
            try:
                r.completion([{"role": "user", "content": "x" * 3980}], max_tokens=1000, tenant=tenant)
            except LLMRouteError:
                continue
            with lock:
                served[0] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return served[0]
