"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[98] / 1e6


def time_each(function: Callable[[str], object], queries: list[str], rounds: int) -> list[int]:
    for query in queries[:50]:
        function(query)  # warm caches, as a running bot would have them
    samples = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter_ns()
            function(query)
            samples.append(time.perf_counter_ns() - start)
    return samples
