"""Load under faults: 500 concurrent async requests through a server that fails 20% of calls at
random (503), with a healthy fallback, over real HTTP on 127.0.0.1.

Reports the success rate, attempts per request, end-to-end p50/p99 latency against the same load
with no faults, and the time each request spent outside its HTTP attempts (routing, backoff
waits, bookkeeping).

Run: python benchmarks/faults.py [--requests 500] [--fail-rate 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openai_server import Fault, OpenAIServer

from llmroute import Model, Router
from llmroute.adapters import LiteLLM
from llmroute.adapters.litellm import import_litellm

MESSAGES = [{"role": "user", "content": "Summarise: the quick brown fox jumps over the lazy dog"}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(router: Router, n: int) -> dict[str, Any]:
    async def one() -> tuple[bool, int, float, float]:
        started = time.perf_counter()
        try:
            resp = await router.acompletion(MESSAGES, max_tokens=16)
        except Exception:
            return False, 0, time.perf_counter() - started, 0.0
        wall = time.perf_counter() - started
        return True, len(resp.attempts), wall, wall - sum(a.elapsed_s for a in resp.attempts)

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(n)))
    total = time.perf_counter() - started
    ok = [r for r in results if r[0]]
    walls = [r[2] * 1000 for r in ok]
    outside = [r[3] * 1000 for r in ok]
    return {
        "success": len(ok) / n,
        "attempts": statistics.mean(r[1] for r in ok) if ok else 0.0,
        "p50": pct(walls, 0.5) if ok else float("nan"),
        "p99": pct(walls, 0.99) if ok else float("nan"),
        "outside_p50": pct(outside, 0.5) if ok else float("nan"),
        "outside_p99": pct(outside, 0.99) if ok else float("nan"),
        "seconds": total,
    }


def run(n: int, fail_rate: float, seed: int) -> dict[str, Any]:
    with OpenAIServer(fail_rate=fail_rate, rate_fault=Fault("503"), seed=seed) as flaky, OpenAIServer() as healthy:
        router = Router(
            [
                Model("primary", LiteLLM("openai/primary", api_base=flaky.base_url, api_key="sk-bench", timeout=10), hosting="self_hosted"),
                Model("backup", LiteLLM("openai/backup", api_base=healthy.base_url, api_key="sk-bench", timeout=10), hosting="self_hosted"),
            ],
            instrument=False,
        )
        result = asyncio.run(load(router, n))
        result["primary_requests"] = flaky.requests
        result["primary_faults"] = len(flaky.faults_served)
        result["backup_requests"] = healthy.requests
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import_litellm()
    run(20, 0.0, args.seed)  # warm up: first-call imports and connection pools
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.requests} concurrent async requests")
    print("| faults | success | attempts/request | p50 ms | p99 ms | outside attempts p50 / p99 ms | primary: requests / faults | backup requests | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate in (0.0, args.fail_rate):
        r = run(args.requests, rate, args.seed)
        print(
            f"| {rate:.0%} | {r['success']:.1%} | {r['attempts']:.3f} | {r['p50']:.0f} | {r['p99']:.0f} | "
            f"{r['outside_p50']:.1f} / {r['outside_p99']:.1f} | {r['primary_requests']} / {r['primary_faults']} | "
            f"{r['backup_requests']} | {r['seconds']:.1f} |"
        )


if __name__ == "__main__":
    main()
