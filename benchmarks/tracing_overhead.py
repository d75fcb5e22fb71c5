"""What tracing costs per call: router.completion with and without the instrumentation.

Four routers over the same Function adapter, timed in interleaved batches in one process:

* ``bare``    the router's own loop with every instrumentation call taken out (the baseline)
* ``off``     Router(instrument=False): the calls are made, to do-nothing stand-ins
* ``no-sdk``  Router(): instrumentation on, no SDK configured (the API's no-op provider)
* ``sdk``     Router(tracer_provider=..., meter_provider=...): the SDK recording every span and
              metric to in-memory sinks (what a traced application pays, for reference)

The figure that matters is ``no-sdk - bare``; the target is <= 2 us per call. On a busy machine
the end-to-end difference drowns in noise (a call is ~50 us), so the script also times the
instrumentation calls alone, exactly as completion() makes them, with no SDK (min of repeats).
Run: python benchmarks/tracing_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from llmroute import Model, Price, Response, Router
from llmroute._plan import AttemptPlan
from llmroute._types import Choice, ResponseMessage
from llmroute.adapters import Function

MESSAGES = [{"role": "user", "content": "Classify the sentiment: I love it"}]


class Bare(Router):
    """completion() as the router runs it, minus the instrumentation calls (success path only)."""

    def completion(self, messages: Any, **kw: Any) -> Response:
        request = self._request(messages, kw)
        extra = {"breakers": self._breakers} if hasattr(self, "_breakers") else {}
        plan = AttemptPlan(request, self.decide(request), self._by_name, self._settings, **extra)
        while (step := plan.next()) is not None:
            started = time.perf_counter()
            result = step.model.adapter.complete(plan.request_for(step))
            attempt = plan.succeeded(step, time.perf_counter() - started, result.usage)
            message = ResponseMessage(content=plan.restore(step.model, result.content), tool_calls=result.tool_calls)
            return Response(
                id=result.response_id or "chatcmpl-bare",
                model=step.model.name,
                choices=(Choice(message, finish_reason=result.finish_reason),),
                usage=result.usage,
                decision=plan.decision,
                attempts=tuple(plan.attempts),
                cost=attempt.cost,
            )
        raise plan.exhausted()


def batch_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def isolated_us(router: Router, n: int) -> float:
    """The calls completion() makes into llmroute.observability for one successful call, timed alone."""
    import timeit

    from llmroute._plan import Step
    from llmroute._types import Attempt
    from llmroute.observability.facts import CallSummary

    telemetry = router._telemetry
    request = router._request(MESSAGES, {})
    decision = router.decide(request)
    result = router.models[0].adapter.complete(request)
    step = Step(router.models[0])
    attempt = Attempt("m", None, 0.0, result.usage, cost=0.0)

    def one() -> None:
        trace = telemetry.call(request)
        trace.decided(decision)
        span = trace.attempt(step)
        span.ended(attempt, output=result.content, finish_reason=result.finish_reason)
        if not trace.quiet:
            trace.end(CallSummary(request, "chat", 0.0, 0.0, decision, (attempt,), result.content))

    return min(timeit.repeat(one, number=n, repeat=7)) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    n, batches = (500, 6) if args.quick else (4000, 31)

    def router(cls: type[Router] = Router, **kw: Any) -> Router:
        adapter = Function(lambda r: {"content": "positive", "usage": {"prompt_tokens": 12, "completion_tokens": 1}})
        return cls([Model("m", adapter, price=Price(0.15, 0.6))], **kw)

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])

    routers = {
        "bare": router(Bare),
        "off": router(instrument=False),
        "no-sdk": router(),
        "sdk": router(tracer_provider=tp, meter_provider=mp),
    }
    calls = {name: (lambda r=r: r.completion(MESSAGES)) for name, r in routers.items()}
    for fn in calls.values():  # warm up: first-call imports, caches
        for _ in range(300):
            fn()
    exporter.clear()
    results: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(batches):
        for name, fn in calls.items():
            results[name].append(batch_us(fn, n))
        exporter.clear()  # keep memory flat
    med = {name: statistics.median(v) for name, v in results.items()}
    # The overhead per batch pair, then its median: robust to drift over the run.
    diffs = [b - a for a, b in zip(results["bare"], results["no-sdk"], strict=True)]
    off_diffs = [b - a for a, b in zip(results["bare"], results["off"], strict=True)]
    sdk_diffs = [b - a for a, b in zip(results["bare"], results["sdk"], strict=True)]

    isolated = isolated_us(routers["no-sdk"], 20000 if not args.quick else 2000)

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# tracing overhead  ({stamp}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {batches} batches x {n} calls)")
    print(f"router.completion, bare loop (baseline): {med['bare']:8.2f} us/call (median of batch means)")
    print(f"router.completion, instrument=False     : {med['off']:8.2f} us/call")
    print(f"router.completion, on, no SDK           : {med['no-sdk']:8.2f} us/call")
    print(f"router.completion, on, SDK in-memory    : {med['sdk']:8.2f} us/call")
    print(f"overhead with no SDK (median of paired differences): {statistics.median(diffs):6.2f} us/call  (target <= 2)")
    print(f"overhead with instrument=False                      : {statistics.median(off_diffs):6.2f} us/call")
    print(f"overhead with the SDK recording                      : {statistics.median(sdk_diffs):6.2f} us/call")
    print(f"instrumentation calls alone, no SDK (min of 7 repeats): {isolated:6.3f} us/call")
    q = statistics.quantiles(diffs, n=4)
    print(f"no-SDK overhead quartiles: {q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f} us")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
