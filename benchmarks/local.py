"""Local inference through llmroute's llama.cpp adapter, against llama-cpp-python called directly.

Measured in one process, on the packaged SmolLM2-135M-Instruct Q4_1 (or --model PATH):

* ``short chat``  time to answer a short chat request (4 tokens out, greedy): llama-cpp-python's
                  create_chat_completion, LlamaCpp.complete, and Router.completion over it.
                  All three run on one Llama instance (the router's), interleaved so drift on a
                  shared machine hits them alike; the median and the minimum are reported.
                  Target: llmroute <= 3% over direct.
* ``own cost``    the same request, 7 tokens out: time spent outside llama-cpp-python's
                  ``Llama.create_completion`` and prompt tokenizing (timed around those calls on
                  both sides), i.e.
                  what llmroute adds (request, route, prompt formatting, pool hand-off, answer)
                  against what ``create_chat_completion`` adds (formatting). llama.cpp's own
                  run-to-run spread is far larger than either, so this is the figure that says
                  where the end-to-end difference comes from.
* ``generation``  tokens/s of one 128-token greedy reply; ``prompt`` tokens/s of a ~1,000-token prompt.
* ``threads``     one instance's generation tokens/s at 1, 2... threads.
* ``pool``        N concurrent async requests (64 tokens each) through pools of 1..K instances:
                  aggregate generated tokens/s and per-request latency (p50, p95).

Same llama.cpp settings everywhere (n_ctx, n_threads, n_batch). Prints a Markdown report and,
with --json PATH, writes the raw figures. Run: python benchmarks/local.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import llama_cpp

from llmroute import Model, Router
from llmroute._request import build_request
from llmroute.adapters.llamacpp import LlamaCpp

SHORT = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
STORY = [{"role": "user", "content": "Write a long story about a dragon who learns to fly."}]
LONG_PROMPT = [{"role": "user", "content": "Summarise this text in one sentence.\n" + "The quick brown fox jumps over the lazy dog. " * 100}]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def short_chat(model_path: str, threads: int, n_ctx: int, repeats: int) -> dict[str, Any]:
    # One Llama instance for every side: the router's own. Two instances of the same model in
    # one process differ by up to 2% in create_completion's time (memory placement), which
    # swamped llmroute's own cost when each side had its instance.
    adapter = LlamaCpp(model_path, n_ctx=n_ctx, n_threads=threads)
    router = Router([Model("local", adapter, hosting="local")])
    request = build_request(SHORT, params={"temperature": 0, "max_tokens": 4})
    adapter.check()
    adapter.warmup()
    direct = adapter._pool.slots[0].llama  # the loaded instance (benchmark-only access)
    runs: dict[str, Callable[[], Any]] = {
        "llama-cpp-python direct": lambda: direct.create_chat_completion(SHORT, temperature=0, max_tokens=4),
        "LlamaCpp.complete": lambda: adapter.complete(request),
        "Router.completion": lambda: router.completion(SHORT, temperature=0, max_tokens=4),
    }
    for fn in runs.values():  # warm up: first calls load pages, fill caches
        for _ in range(3):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            samples[name].append(timed(fn))
    answers = {
        "direct": direct.create_chat_completion(SHORT, temperature=0, max_tokens=4)["choices"][0]["message"]["content"],
        "llmroute": router.completion(SHORT, temperature=0, max_tokens=4).content,
    }
    router.close()
    base_med = statistics.median(samples["llama-cpp-python direct"])
    base_min = min(samples["llama-cpp-python direct"])
    return {
        "repeats": repeats,
        "answers": answers,
        "rows": [
            {
                "path": name,
                "median_ms": statistics.median(s) * 1e3,
                "min_ms": min(s) * 1e3,
                "median_overhead_pct": (statistics.median(s) / base_med - 1) * 100,
                "min_overhead_pct": (min(s) / base_min - 1) * 100,
            }
            for name, s in samples.items()
        ],
    }


def own_cost(model_path: str, threads: int, n_ctx: int, repeats: int) -> dict[str, Any]:
    """Milliseconds outside llama.cpp's work (``Llama.create_completion`` and prompt tokenizing):
    llama-cpp-python's chat call vs Router.completion."""
    direct = llama_cpp.Llama(model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
    adapter = LlamaCpp(model_path, n_ctx=n_ctx, n_threads=threads)
    router = Router([Model("local", adapter, hosting="local")])
    router.warmup()
    inner: dict[str, list[float]] = {"direct": [], "llmroute": []}
    # llmroute tokenizes the prompt itself, before create_completion (to check it fits n_ctx);
    # create_chat_completion does it inside. Tokenizing is llama.cpp's work on both sides, so a
    # tokenize call outside create_completion is counted as inside.
    tokenizing: dict[str, float] = {"direct": 0.0, "llmroute": 0.0}

    def clocked(llama: Any, side: str) -> None:
        create, tokenize = llama.create_completion, llama.tokenize
        busy = [False]

        def run(*args: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            busy[0] = True
            try:
                return create(*args, **kw)
            finally:
                busy[0] = False
                inner[side].append(time.perf_counter() - start + tokenizing[side])
                tokenizing[side] = 0.0

        def tokens(*args: Any, **kw: Any) -> Any:
            if busy[0]:
                return tokenize(*args, **kw)
            start = time.perf_counter()
            try:
                return tokenize(*args, **kw)
            finally:
                tokenizing[side] += time.perf_counter() - start

        llama.create_completion = run
        llama.tokenize = tokens

    clocked(direct, "direct")
    clocked(adapter._pool.slots[0].llama, "llmroute")
    calls = {
        "direct": lambda: direct.create_chat_completion(SHORT, temperature=0, max_tokens=7),
        "llmroute": lambda: router.completion(SHORT, temperature=0, max_tokens=7),
    }
    for fn in calls.values():
        for _ in range(3):
            fn()
    outer: dict[str, list[float]] = {side: [] for side in calls}
    for side in inner:
        inner[side].clear()
    for _ in range(repeats):
        for side, fn in calls.items():
            outer[side].append(timed(fn))
    direct.close()
    router.close()
    rows = []
    for side in calls:
        outside = [a - b for a, b in zip(outer[side], inner[side], strict=True)]
        rows.append({
            "path": side,
            "total_median_ms": statistics.median(outer[side]) * 1e3,
            "inside_median_ms": statistics.median(inner[side]) * 1e3,
            "outside_median_ms": statistics.median(outside) * 1e3,
            "outside_min_ms": min(outside) * 1e3,
        })
    return {"repeats": repeats, "rows": rows}


def rates(model_path: str, threads: int, n_ctx: int, repeats: int) -> dict[str, Any]:
    adapter = LlamaCpp(model_path, n_ctx=n_ctx, n_threads=threads)
    adapter.check()
    gen = build_request(STORY, params={"temperature": 0, "max_tokens": 128})
    prompt = build_request(LONG_PROMPT, params={"temperature": 0, "max_tokens": 1})
    gen_rates, prompt_rates = [], []
    adapter.complete(gen)
    for _ in range(repeats):
        start = time.perf_counter()
        out = adapter.complete(gen)
        gen_rates.append(out.usage.completion_tokens / (time.perf_counter() - start))
        # a fresh instance state each time: no prefix reuse, so every prompt token is processed
        adapter._pool.slots[0].llama.reset()
        start = time.perf_counter()
        out = adapter.complete(prompt)
        prompt_rates.append(out.usage.prompt_tokens / (time.perf_counter() - start))
        prompt_tokens = out.usage.prompt_tokens
        adapter._pool.slots[0].llama.reset()
    adapter.close()
    return {
        "generation_tok_s": statistics.median(gen_rates),
        "prompt_tok_s": statistics.median(prompt_rates),
        "prompt_tokens": prompt_tokens,
    }


def thread_sweep(model_path: str, counts: list[int], n_ctx: int, repeats: int) -> list[dict[str, Any]]:
    """Generation tokens/s of one instance at each thread count (oversubscription shows here)."""
    gen = build_request(STORY, params={"temperature": 0, "max_tokens": 64})
    rows = []
    for n in counts:
        adapter = LlamaCpp(model_path, n_ctx=n_ctx, n_threads=n)
        adapter.check()
        adapter.complete(gen)
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = adapter.complete(gen)
            samples.append(out.usage.completion_tokens / (time.perf_counter() - start))
        adapter.close()
        rows.append({"threads": n, "median_tok_s": statistics.median(samples), "min_tok_s": min(samples), "max_tok_s": max(samples)})
    return rows


async def pool_run(adapter: LlamaCpp, requests: int, max_tokens: int) -> dict[str, Any]:
    prompts = [[{"role": "user", "content": f"Write a short story about a dragon named {i}."}] for i in range(requests)]
    reqs = [build_request(p, params={"temperature": 0, "max_tokens": max_tokens}) for p in prompts]

    async def one(r: Any) -> tuple[float, int]:
        start = time.perf_counter()
        out = await adapter.acomplete(r)
        return time.perf_counter() - start, out.usage.completion_tokens

    start = time.perf_counter()
    results = await asyncio.gather(*(one(r) for r in reqs))
    wall = time.perf_counter() - start
    latencies = sorted(r[0] for r in results)
    tokens = sum(r[1] for r in results)
    return {
        "requests": requests,
        "tokens": tokens,
        "wall_s": wall,
        "aggregate_tok_s": tokens / wall,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p95_ms": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] * 1e3,
    }


def pools(model_path: str, sizes: list[int], threads: int | None, n_ctx: int, requests: int, max_tokens: int) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        adapter = LlamaCpp(model_path, pool_size=size, n_ctx=n_ctx, n_threads=threads, max_queue=requests)
        adapter.check()
        asyncio.run(pool_run(adapter, size, 8))  # warm-up
        row = asyncio.run(pool_run(adapter, requests, max_tokens))
        row.update(pool_size=size, threads_per_instance=adapter.threads())
        rows.append(row)
        adapter.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="GGUF file (default: the packaged SmolLM2-135M-Instruct)")
    parser.add_argument("--threads", type=int, default=None, help="threads per instance for the single-instance runs")
    parser.add_argument("--pool-sizes", default="1,2", help="comma-separated pool sizes (default 1,2)")
    parser.add_argument("--pool-threads", type=int, default=None, help="threads per instance in the pool runs (default: the adapter's)")
    parser.add_argument("--thread-counts", default="1,2", help="thread counts for the one-instance sweep (default 1,2)")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()

    model_path = args.model or str(LlamaCpp().model_path)
    threads = args.threads or LlamaCpp(model_path).threads()
    repeats = 10 if args.quick else 40
    started = datetime.now(timezone.utc)
    load_before = os.getloadavg()
    result: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_name()}, {os.cpu_count()} CPUs visible, {platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
        "model": Path(model_path).name,
        "threads": threads,
        "n_ctx": args.n_ctx,
        "load_average_before": load_before,
    }
    # 3x the repeats: a 1-2% difference needs ~120 interleaved calls to stand above this VM's noise
    result["short_chat"] = short_chat(model_path, threads, args.n_ctx, repeats * 3)
    result["own_cost"] = own_cost(model_path, threads, args.n_ctx, repeats)
    result["rates"] = rates(model_path, threads, args.n_ctx, 3 if args.quick else 5)
    result["threads_sweep"] = thread_sweep(
        model_path, [int(n) for n in args.thread_counts.split(",")], args.n_ctx, 3 if args.quick else 5
    )
    sizes = [int(s) for s in args.pool_sizes.split(",")]
    result["pool"] = pools(model_path, sizes, args.pool_threads, args.n_ctx, 8 if args.quick else 16, 64)
    result["load_average_after"] = os.getloadavg()

    print(f"# Local inference ({result['date']})\n")
    print(f"{result['machine']}; Python {result['python']}; llama-cpp-python {result['llama_cpp_python']} "
          f"(GPU offload {'yes' if result['gpu_offload_supported'] else 'no'}); {result['model']}; "
          f"{threads} thread(s); n_ctx {args.n_ctx}; load average {load_before[0]:.1f} before, "
          f"{result['load_average_after'][0]:.1f} after\n")
    print(f"## Short chat request, 4 tokens out, one shared instance ({result['short_chat']['repeats']} interleaved runs each)\n")
    print("| path | median | min | vs direct (median) | vs direct (min) |\n| --- | --- | --- | --- | --- |")
    for row in result["short_chat"]["rows"]:
        print(f"| {row['path']} | {row['median_ms']:.2f} ms | {row['min_ms']:.2f} ms | "
              f"{row['median_overhead_pct']:+.1f}% | {row['min_overhead_pct']:+.1f}% |")
    print(f"\n## Own cost: time outside llama.cpp's work, 7 tokens out ({repeats} interleaved runs)\n")
    print("| path | total (median) | inside llama.cpp (create_completion + tokenize) | outside (median) | outside (min) |\n| --- | --- | --- | --- | --- |")
    for row in result["own_cost"]["rows"]:
        print(f"| {row['path']} | {row['total_median_ms']:.2f} ms | {row['inside_median_ms']:.2f} ms | "
              f"{row['outside_median_ms']:.3f} ms | {row['outside_min_ms']:.3f} ms |")
    r = result["rates"]
    print(f"\n## Rates (one instance)\n\ngeneration {r['generation_tok_s']:.1f} tok/s (128-token reply); "
          f"prompt processing {r['prompt_tok_s']:.0f} tok/s ({r['prompt_tokens']}-token prompt)\n")
    print("## Threads per instance (one instance, 64-token greedy reply)\n")
    print("| threads | median tok/s | min | max |\n| --- | --- | --- | --- |")
    for row in result["threads_sweep"]:
        print(f"| {row['threads']} | {row['median_tok_s']:.1f} | {row['min_tok_s']:.1f} | {row['max_tok_s']:.1f} |")
    print()
    print("## Pool: concurrent async requests, 64 tokens each\n")
    print("| instances | threads each | requests | aggregate tok/s | p50 latency | p95 latency |\n| --- | --- | --- | --- | --- | --- |")
    for row in result["pool"]:
        print(f"| {row['pool_size']} | {row['threads_per_instance']} | {row['requests']} | {row['aggregate_tok_s']:.1f} | "
              f"{row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
