"""The first routed call in a fresh process: OpenAI adapter against LiteLLM adapter.

A loopback OpenAI-compatible server (``_loopback.py``, own process, answering at once) serves
both. For each side a fresh interpreter imports llmroute, builds a one-model Router and times
its first ``completion`` (and, in another fresh interpreter, its first ``acompletion``): that
first call pays the lazy import of the SDK, the client's construction and the first
connection. Sides alternate; the median of ``--runs`` interpreters each is reported.

Run: python benchmarks/first_call.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _loopback

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import asyncio, sys, time
t0 = time.perf_counter()
import llmroute
from llmroute import Model, Router
from llmroute.adapters import LiteLLM, OpenAI
side, mode, base_url = sys.argv[1:4]
adapter = OpenAI("m", base_url=base_url, api_key="sk-bench") if side == "OpenAI" else LiteLLM("openai/m", api_base=base_url, api_key="sk-bench")
router = Router([Model("m", adapter, hosting="self_hosted")])
t1 = time.perf_counter()
msg = [{"role": "user", "content": "hi"}]
if mode == "sync":
    content = router.completion(msg).content
else:
    content = asyncio.run(router.acompletion(msg)).content
t2 = time.perf_counter()
assert content == "a short reply", content
print(f"{t1 - t0:.4f} {t2 - t1:.4f}")
"""


def one(side: str, mode: str, base_url: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, side, mode, base_url], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    setup, first = out.stdout.split()[-2:]
    return float(setup), float(first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base_url, server = _loopback.start(0.0)
    try:
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for mode in ("sync", "async"):
                for side in ("OpenAI", "LiteLLM"):
                    times.setdefault((side, mode), []).append(one(side, mode, base_url))
    finally:
        server.terminate()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; date {time.strftime('%Y-%m-%d')}")
    print(f"median of {args.runs} fresh interpreters per side; seconds\n")
    print(f"  {'side':8s} {'mode':6s} {'import+build':>13s} {'first call':>11s}")
    first: dict[tuple[str, str], float] = {}
    for (side, mode), runs in times.items():
        setup = statistics.median(r[0] for r in runs)
        first[(side, mode)] = statistics.median(r[1] for r in runs)
        print(f"  {side:8s} {mode:6s} {setup:13.3f} {first[(side, mode)]:11.3f}")
    for mode in ("sync", "async"):
        print(f"first {mode} call: OpenAI adapter {first[('LiteLLM', mode)] / first[('OpenAI', mode)]:.1f}x faster than LiteLLM adapter")


if __name__ == "__main__":
    main()
