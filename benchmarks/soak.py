"""Soak: thousands of mixed sync/async/stream calls through injected faults, over loopback HTTP.

Two OpenAI-compatible servers on 127.0.0.1 (tests/openai_server.py): the primary fails a share
of calls with a rotating fault (503, 500, 429, reset, malformed, cut mid-stream, hang, keep-alive
comments only), the fallback is healthy. The router (native OpenAI adapter, a 1.5 s deadline,
breakers on, a Cost budget that reserves per call) takes completion / acompletion / stream /
astream calls, a share of the streams closed early or dropped unclosed (some inside reference
cycles). It checks:

- every request is accounted for: an answer or a typed llmroute error (lost = anything else,
  or a call still running after 60 s);
- budget reservations all settle (the Cost policy holds nothing at the end);
- thread count and memory (RSS) return to their post-warm-up baseline;
- the primary's breaker, opened by the faults, closes again once the server recovers.

Run: python benchmarks/soak.py [--requests 4000] [--fail-rate 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openai_server import Fault, OpenAIServer

from llmroute import Model, Router
from llmroute.adapters.openai import OpenAI
from llmroute.errors import LLMRouteError
from llmroute.policies import Cost
from llmroute.policies.cost import Budget

MSG = [{"role": "user", "content": "one two three four five six"}]
FAULTS = [Fault("503"), Fault("500"), Fault("429", retry_after=0), Fault("reset"), Fault("malformed"),
          Fault("cut_after"), Fault("hang", hang_s=3), Fault("keepalive", hang_s=3)]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def client_threads() -> int:
    """Threads of this process but the loopback servers' own connection handlers."""
    return sum(1 for t in threading.enumerate() if "process_request" not in t.name)


def one_sync(router: Router, how: str) -> str:
    try:
        if how == "completion":
            router.completion(MSG)
            return "answer"
        stream = router.stream(MSG)
        if how == "stream":
            chunks = list(stream)
            return "answer" if chunks and chunks[-1].usage is not None else "lost"
        next(stream, None)
        if how == "stream-close":
            stream.close()
        elif how == "stream-cycle":
            holder: dict[str, Any] = {"s": stream}
            holder["self"] = holder
        return "answer"  # dropped after the first chunk: the call ended, as asked
    except LLMRouteError as exc:
        return "error:" + type(exc).__name__
    except Exception as exc:  # anything untyped is a request lost
        return "lost:" + type(exc).__name__


async def one_async(router: Router, how: str) -> str:
    try:
        if how == "acompletion":
            await router.acompletion(MSG)
            return "answer"
        stream = router.astream(MSG)
        if how == "astream":
            chunks = [c async for c in stream]
            return "answer" if chunks and chunks[-1].usage is not None else "lost"
        await stream.__anext__()
        if how == "astream-aclose":
            await stream.aclose()
        return "answer"
    except StopAsyncIteration:
        return "lost:empty"
    except LLMRouteError as exc:
        return "error:" + type(exc).__name__
    except Exception as exc:
        return "lost:" + type(exc).__name__


async def async_batch(router: Router, kinds: list[str]) -> list[str]:
    async def bounded(how: str) -> str:
        try:
            return await asyncio.wait_for(one_async(router, how), 60)
        except asyncio.TimeoutError:
            return "lost:hung"

    return await asyncio.gather(*(bounded(k) for k in kinds))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--fail-rate", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--tracemalloc", action="store_true",
                    help="attribute the memory still allocated at the end to files (slower): llmroute's own vs the rest")
    args = ap.parse_args()
    rng = random.Random(17)
    outcomes: Counter[str] = Counter()
    faults = Counter[str]()
    with OpenAIServer(fail_rate=args.fail_rate, seed=17) as bad, OpenAIServer() as good:
        cost = Cost(budgets=[Budget(limit=1e6)])
        router = Router(
            [Model("primary", OpenAI("m", base_url=bad.base_url), hosting="self_hosted", tier="standard"),
             Model("fallback", OpenAI("m", base_url=good.base_url), hosting="self_hosted", tier="standard")],
            [cost],
            retry={"deadline_s": 1.5, "attempts_per_model": 2, "base_delay_s": 0.01, "max_delay_s": 0.05},
            breaker={"failure_threshold": 5, "cooldown_s": 0.3},
            instrument=False,
        )
        # warm-up: clients, closer and deadline threads, the default executor
        bad.fail_rate = 0.0
        for how in ("completion", "stream", "stream-close"):
            one_sync(router, how)
        asyncio.run(async_batch(router, ["acompletion", "astream"]))
        gc.collect()
        time.sleep(0.5)
        threads0, rss0 = client_threads(), rss_mb()
        if args.tracemalloc:
            import tracemalloc

            tracemalloc.start()
            before = tracemalloc.take_snapshot()
        bad.fail_rate = args.fail_rate
        started = time.monotonic()
        sync_kinds = ["completion", "stream", "stream-close", "stream-drop", "stream-cycle"]
        async_kinds = ["acompletion", "astream", "astream-aclose", "astream-drop"]
        done = 0
        with ThreadPoolExecutor(8) as pool:
            while done < args.requests:
                bad.rate_fault = rng.choice(FAULTS)
                kinds = [rng.choice(sync_kinds) for _ in range(args.batch // 2)]
                futures = [pool.submit(one_sync, router, k) for k in kinds]
                outcomes.update(asyncio.run(async_batch(router, [rng.choice(async_kinds) for _ in range(args.batch // 2)])))
                for f in futures:
                    try:
                        outcomes[f.result(timeout=60)] += 1
                    except TimeoutError:
                        outcomes["lost:hung"] += 1
                done += args.batch
        elapsed = time.monotonic() - started
        faults.update(bad.faults_served)
        # recovery: the server heals, the breaker's probe closes the circuit
        bad.fail_rate = 0.0
        time.sleep(1.2)
        for _ in range(20):
            router.completion(MSG, model="primary") if router.breakers and router.breakers.state("primary") != "open" else time.sleep(0.2)
            if router.breakers and router.breakers.state("primary") == "closed":
                break
        breaker = router.breakers.state("primary") if router.breakers else "none"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (cost._held or client_threads() > threads0):
            gc.collect()
            time.sleep(0.2)
        held = len(cost._held)
        threads1, rss1 = client_threads(), rss_mb()
        if args.tracemalloc:
            gc.collect()
            grown = tracemalloc.take_snapshot().compare_to(before, "filename")
            ours = sum(d.size_diff for d in grown if "/llmroute/" in d.traceback[0].filename)
            print(f"still allocated since warm-up: llmroute {ours / 1e6:+.2f} MB, "
                  f"everything {sum(d.size_diff for d in grown) / 1e6:+.2f} MB; largest:")
            for d in grown[:8]:
                print(f"  {d.size_diff / 1e6:+7.2f} MB  {d.traceback[0].filename}")
        router.close()
    total = sum(outcomes.values())
    lost = sum(n for k, n in outcomes.items() if k.startswith("lost"))
    print(f"requests {total} in {elapsed:.0f} s; faults injected {sum(faults.values())}: {dict(faults)}")
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    print(f"requests lost: {lost}; reservations still held: {held}; breaker after recovery: {breaker}")
    print(f"threads {threads0} -> {threads1}; RSS {rss0:.0f} MB -> {rss1:.0f} MB")
    ok = lost == 0 and held == 0 and breaker == "closed" and threads1 <= threads0 and rss1 < rss0 + 100
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
