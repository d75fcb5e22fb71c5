"""llmroute's own cost: import time, per-call overhead, and route() latency.

Per-call overhead is measured against calling the same adapter directly, and compared in the
same process with LiteLLM's Router doing the same job on the same mock (litellm's
``mock_response``, so no network and no server: only the routing layers differ).

Run: python benchmarks/overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from _timing import sample_us

from llmroute import Model, Price, Request, Router, Verdict
from llmroute._request import build_request
from llmroute.adapters import Function, LiteLLM

MESSAGES = [{"role": "user", "content": "Classify the sentiment: I love it"}]


def import_ms(runs: int) -> float:
    code = "import time; t = time.perf_counter(); import llmroute; print((time.perf_counter() - t) * 1000)"
    values = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)]
    return statistics.median(values)


def paired_overhead_us(direct: Callable[[], Any], routed: Callable[[], Any], batch: int, rounds: int) -> tuple[float, float, float]:
    """Median per-call time of ``direct`` and ``routed``, and the median of their paired difference.

    Batches alternate, so drifts in machine load hit both sides alike.
    """
    for _ in range(batch):
        direct()
        routed()
    d_runs, r_runs, diffs = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            direct()
        mid = time.perf_counter()
        for _ in range(batch):
            routed()
        end = time.perf_counter()
        d, r = (mid - start) / batch * 1e6, (end - mid) / batch * 1e6
        d_runs.append(d)
        r_runs.append(r)
        diffs.append(r - d)
    return statistics.median(d_runs), statistics.median(r_runs), statistics.median(diffs)


def overhead(n: int) -> dict[str, tuple[float, float, float]]:
    import litellm

    out: dict[str, tuple[float, float, float]] = {}
    # 1. Function adapter: the router's whole cost over a call that costs almost nothing.
    fn = Function(lambda r: "ok")
    request = build_request(MESSAGES, params={})
    router = Router([Model("m", fn)])
    out["llmroute, Function adapter"] = paired_overhead_us(lambda: fn.complete(request), lambda: router.completion(MESSAGES), 500, max(n // 500, 10))

    # 2. litellm with mock_response: the same backend call under both routers.
    adapter = LiteLLM("openai/gpt-4o-mini", api_key="sk-bench", mock_response="ok")
    ours = Router([Model("gpt-4o-mini", adapter, price=Price(0.15, 0.60))])
    theirs = litellm.Router(
        model_list=[{"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-bench", "mock_response": "ok"}}],
        num_retries=0,
    )
    rounds = max(n // 400, 10)
    out["llmroute, litellm mock"] = paired_overhead_us(lambda: adapter.complete(request), lambda: ours.completion(MESSAGES), 20, rounds)
    out["litellm.Router, litellm mock"] = paired_overhead_us(
        lambda: litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, api_key="sk-bench", mock_response="ok"),
        lambda: theirs.completion(model="gpt-4o-mini", messages=MESSAGES),
        20,
        rounds,
    )
    return out


def stand_in_policies() -> list[Callable[[Request, Sequence[Model]], Verdict]]:
    """Three protocol-only policies, used when the built-in ones are not available."""

    def hosting(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict.filter(candidates, lambda m: None if m.hosting != "api" or request.classification != "restricted" else "restricted")

    def by_tier(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict.ranked(candidates, key=lambda m: m.tier != "standard")

    def cheapest(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict.ranked(candidates, key=lambda m: m.price.output)

    return [hosting, by_tier, cheapest]


def builtin_policies() -> list[Any] | None:
    try:
        from llmroute.policies import Complexity, Cost, Privacy  # type: ignore[attr-defined]
    except ImportError:
        return None
    return [Privacy(), Complexity(), Cost()]


def route_latency(n: int) -> dict[str, tuple[float, float]]:
    tiers = ["simple", "standard", "complex"]
    hostings = ["local", "self_hosted", "api", "api"]
    models = [
        Model(f"m{i}", Function(str), hosting=hostings[i % 4], tier=tiers[i % 3], price=Price(0.1 * i, 0.4 * i), context_window=128_000)  # type: ignore[arg-type]
        for i in range(20)
    ]
    words = "Explain step by step how the proof works, then compare it with the alternative approach. "
    short = [{"role": "user", "content": (words * 3)[:200]}]  # ~50 tokens
    long = [{"role": "user", "content": (words * 100)[:8000]}]  # ~2,000 tokens
    out: dict[str, tuple[float, float]] = {}
    sets = [("stand-in", stand_in_policies())]
    real = builtin_policies()
    if real is not None:
        sets.append(("Privacy+Complexity+Cost", real))
    for label, policies in sets:
        router = Router(models, policies)
        for tokens, messages in (("50", short), ("2000", long)):
            out[f"{label}, {tokens} tokens"] = sample_us(lambda r=router, m=messages: r.route(m), n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    n = 2000 if args.quick else 20000
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d')}")
    print(f"\nimport llmroute: {import_ms(5 if args.quick else 15):.1f} ms (median of fresh interpreters)")

    o = overhead(n)
    print("\nper-call time, us (median per call direct | routed | median paired difference = overhead)")
    for k, (d, r, diff) in o.items():
        print(f"  {k:32s} {d:10.1f} {r:10.1f} {diff:10.1f}")
    ours = o["llmroute, Function adapter"][2]
    theirs = o["litellm.Router, litellm mock"][2]
    print(f"\nratio litellm.Router overhead / llmroute overhead (Function-measured): {theirs / ours:.0f}x")

    print("\nroute() with 20 models, 3 policies (us): median, p99")
    for k, (med, p99) in route_latency(n).items():
        print(f"  {k:42s} {med:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
