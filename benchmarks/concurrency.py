"""Throughput under concurrency against a loopback OpenAI-compatible server.

The server runs in its own process (``_loopback.py``) and answers every request after a fixed
50 ms. In one client process and one event loop, six sides take turns, interleaved and in a
rotating order, at 1, 16, 64 and 256 requests in flight:

- ``openai``: the bare ``openai.AsyncOpenAI`` client's ``chat.completions.create`` (the baseline);
- ``openai.post``: the same client posting a ready JSON body (``client.post``), as llmroute's
  OpenAI adapter does: no typed transform pass over the body, so the floor for that adapter;
- ``llmroute+OpenAI``: ``Router.acompletion`` over ``llmroute.adapters.OpenAI``;
- ``llmroute+LiteLLM``: ``Router.acompletion`` over ``llmroute.adapters.LiteLLM``;
- ``litellm.acompletion`` and ``litellm.Router``.

For each side and level it reports requests/s, p50/p99 latency added over the bare client, and
the client process's CPU time per request (``time.process_time``, all threads). On a small host
the client's own CPU is the ceiling, so these are mostly a measure of per-request CPU cost.

Run: python benchmarks/concurrency.py [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _loopback

MSG = [{"role": "user", "content": "Classify the sentiment: I love it"}]
LEVELS = (1, 16, 64, 256)
DELAY_S = 0.05
Call = Callable[[], Awaitable[Any]]


def sides(base_url: str) -> dict[str, Call]:
    import litellm
    import openai
    from openai.types.chat import ChatCompletion

    from llmroute import Model, Router
    from llmroute.adapters import LiteLLM, OpenAI

    litellm.suppress_debug_info = True
    bare = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    native = Router([Model("m", OpenAI("m", base_url=base_url, api_key="sk-bench"), hosting="self_hosted")])
    via_litellm = Router([Model("m", LiteLLM("openai/m", api_base=base_url, api_key="sk-bench"), hosting="self_hosted")])
    their_router = litellm.Router(
        model_list=[{"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": base_url, "api_key": "sk-bench"}}],
        num_retries=0,
    )

    async def call_bare() -> Any:
        return await bare.chat.completions.create(model="m", messages=MSG, max_tokens=16)  # type: ignore[arg-type]

    async def call_post() -> Any:  # what the OpenAI adapter sends through: no transform pass
        return await bare.post("/chat/completions", body={"model": "m", "messages": MSG, "max_tokens": 16}, cast_to=ChatCompletion)

    async def call_native() -> Any:
        return await native.acompletion(MSG, max_tokens=16)

    async def call_via_litellm() -> Any:
        return await via_litellm.acompletion(MSG, max_tokens=16)

    async def call_acompletion() -> Any:
        return await litellm.acompletion(
            model="openai/m", messages=MSG, api_base=base_url, api_key="sk-bench", max_tokens=16, num_retries=0, max_retries=0
        )

    async def call_litellm_router() -> Any:
        return await their_router.acompletion(model="m", messages=MSG, max_tokens=16)

    return {
        "openai": call_bare,
        "openai.post": call_post,
        "llmroute+OpenAI": call_native,
        "llmroute+LiteLLM": call_via_litellm,
        "litellm.acompletion": call_acompletion,
        "litellm.Router": call_litellm_router,
    }


async def run_level(call: Call, in_flight: int, total: int) -> tuple[float, float, list[float]]:
    """``total`` requests with ``in_flight`` workers; wall seconds, CPU seconds, latencies."""
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(worker() for _ in range(min(in_flight, 32))))  # warm the connection pool
    latencies.clear()
    remaining = total
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - wall, time.process_time() - cpu, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def main_async(args: argparse.Namespace) -> None:
    base_url, server = _loopback.start(DELAY_S)
    try:
        calls = sides(base_url)
        for call in calls.values():  # imports, first connections, lazy setup: outside the timing
            await call()
        names = list(calls)
        totals = {1: 12, 16: 128, 64: 256, 256: 512} if not args.quick else {1: 6, 16: 64, 64: 128, 256: 256}
        results: dict[tuple[str, int], list[tuple[float, float, list[float]]]] = {}
        for level in LEVELS:
            for r in range(args.rounds):
                order = names[r % len(names):] + names[: r % len(names)]  # rotate who goes first
                for name in order:
                    results.setdefault((name, level), []).append(await run_level(calls[name], level, totals[level]))
        report(results, names)
    finally:
        server.terminate()


def report(results: dict[tuple[str, int], list[tuple[float, float, list[float]]]], names: list[str]) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; date {time.strftime('%Y-%m-%d')}")
    print(f"server: loopback, own process, answers after {DELAY_S * 1000:.0f} ms\n")
    for level in LEVELS:
        rows = {}
        for name in names:
            runs = results[(name, level)]
            wall = sum(r[0] for r in runs)
            cpu = sum(r[1] for r in runs)
            lat = [x for r in runs for x in r[2]]
            rows[name] = (len(lat) / wall, pct(lat, 0.5), pct(lat, 0.99), cpu / len(lat))
        base = rows["openai"]
        print(f"{level} in flight")
        print(f"  {'side':22s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'+p50 ms':>8s} {'+p99 ms':>8s} {'CPU ms/req':>11s}")
        for name, (rps, p50, p99, cpu) in rows.items():
            print(
                f"  {name:22s} {rps:8.1f} {p50 * 1e3:8.1f} {p99 * 1e3:8.1f} {(p50 - base[1]) * 1e3:8.1f} "
                f"{(p99 - base[2]) * 1e3:8.1f} {cpu * 1e3:11.2f}"
            )
        native = rows["llmroute+OpenAI"][0]
        print(
            f"  llmroute+OpenAI vs litellm.acompletion: {native / rows['litellm.acompletion'][0]:.2f}x, "
            f"vs litellm.Router: {native / rows['litellm.Router'][0]:.2f}x, vs bare openai: {native / base[0]:.2f}x; "
            f"over openai.post: +p50 {(rows['llmroute+OpenAI'][1] - rows['openai.post'][1]) * 1e3:.1f} ms, "
            f"+p99 {(rows['llmroute+OpenAI'][2] - rows['openai.post'][2]) * 1e3:.1f} ms, "
            f"CPU +{(rows['llmroute+OpenAI'][3] - rows['openai.post'][3]) * 1e3:.2f} ms/req\n"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per level (default 2)")
    parser.add_argument("--quick", action="store_true", help="fewer requests per round")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
