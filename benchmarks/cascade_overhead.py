"""Cascade overhead per step beyond the models' own time (target <= 100 us per step).

    python benchmarks/cascade_overhead.py [--n 3000]

Three models on the Function test double (answers at once), interleaved in one process:
- a 3-step cascade (Agreement rejects the first answer, rejects the second, the third is served)
- the same three adapters called directly, one after another (the models' own time)
- a plain routed call (no cascade) for reference: the router's per-call cost
Overhead per step = (cascade call - direct calls) / 3, medians of interleaved samples.
"""

from __future__ import annotations

import argparse
import statistics
import time

from llmroute import Model, Price, Router
from llmroute._request import build_request
from llmroute.adapters import Function
from llmroute.cascade import Agreement, Cascade

MSG = [{"role": "user", "content": "Which planet is largest? Answer in one word."}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    n = ap.parse_args().n
    adapters = [Function(lambda r, t=t: {"content": t, "usage": {"prompt_tokens": 12, "completion_tokens": 1}}) for t in ("A", "B", "C")]
    models = [Model(f"m{i}", a, price=Price(i + 1, i + 1)) for i, a in enumerate(adapters)]
    cascade = Router(models, cascade=Cascade(Agreement()))
    plain = Router(models)
    request = build_request(MSG, params={})

    def direct() -> None:
        for a in adapters:
            a.complete(request)

    fns = {"cascade": lambda: cascade.completion(MSG), "direct": direct, "plain": lambda: plain.completion(MSG)}
    assert cascade.completion(MSG).cascade.served == "m2" and len(cascade.completion(MSG).attempts) == 3
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(200):
        for fn in fns.values():
            fn()
    for _ in range(n):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    per_step = (med["cascade"] - med["direct"]) / 3
    print(f"n={n} interleaved; medians (us): cascade 3 steps {med['cascade']:.1f}, three direct adapter calls {med['direct']:.1f}, plain routed call {med['plain']:.1f}")
    print(f"cascade overhead per step: {per_step:.1f} us (target <= 100 us)")


if __name__ == "__main__":
    main()
