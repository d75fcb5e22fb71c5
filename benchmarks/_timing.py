"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def sample_us(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Median and p99 of single-call times in microseconds, after a short warm-up."""
    for _ in range(min(n // 5, 200)):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]
