"""Benchmarks: figures printed beside the ceiling the stack itself sets."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from rapidfuzz import process

from bot.brain import Brain
from bot.knowledge import WRITING_FORMS


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[98] / 1e6


def _time_each(function: Callable[[str], object], queries: list[str], rounds: int) -> list[int]:
    for query in queries[:50]:
        function(query)  # warm caches, as a running bot would have them
    samples = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter_ns()
            function(query)
            samples.append(time.perf_counter_ns() - start)
    return samples


def bench_nlu(brain: Brain, *, rounds: int = 3) -> str:
    """Understanding latency per message over every example in the knowledge base."""
    knowledge = brain.knowledge
    examples = [
        text
        for entry in (*knowledge.faqs.values(), *knowledge.intents.values())
        for form in WRITING_FORMS
        for text in entry.examples[form]
    ]
    ours = _time_each(brain.matcher.understand, examples, rounds)
    bare = _time_each(lambda query: process.extractOne(query, examples), examples, rounds)
    ours_p50, ours_p99 = _percentiles(ours)
    bare_p50, bare_p99 = _percentiles(bare)
    return "\n".join(
        [
            f"messages: {len(examples)} x {rounds} rounds, against {len(examples)} example strings",
            f"{'':28}{'p50 ms':>10}{'p99 ms':>10}",
            f"{'helpdesk understand()':28}{ours_p50:>10.3f}{ours_p99:>10.3f}",
            f"{'rapidfuzz extractOne (bare)':28}{bare_p50:>10.3f}{bare_p99:>10.3f}",
            f"{'ratio (ours / bare)':28}{ours_p50 / bare_p50:>10.2f}{ours_p99 / bare_p99:>10.2f}",
        ]
    )
