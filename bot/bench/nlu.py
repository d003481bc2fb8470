"""Understanding latency per message against a bare rapidfuzz extractOne."""

from __future__ import annotations

from rapidfuzz import process

from bot.bench.common import percentiles, time_each
from bot.brain import Brain


def bench_nlu(brain: Brain, *, rounds: int = 3) -> str:
    """Understanding latency per message over every example in the knowledge base."""
    examples = [text for _, text in brain.knowledge.labelled_examples()]
    # Afresh: every round must pay for the understanding, not find it remembered from the last round.
    ours = time_each(brain.matcher.understand_afresh, examples, rounds)
    bare = time_each(lambda query: process.extractOne(query, examples), examples, rounds)
    ours_p50, ours_p99 = percentiles(ours)
    bare_p50, bare_p99 = percentiles(bare)
    return "\n".join(
        [
            f"messages: {len(examples)} x {rounds} rounds, against {len(examples)} example strings",
            f"{'':30}{'p50 ms':>10}{'p99 ms':>10}",
            f"{'helpdesk understand_afresh()':30}{ours_p50:>10.3f}{ours_p99:>10.3f}",
            f"{'rapidfuzz extractOne (bare)':30}{bare_p50:>10.3f}{bare_p99:>10.3f}",
            f"{'ratio (ours / bare)':30}{ours_p50 / bare_p50:>10.2f}{ours_p99 / bare_p99:>10.2f}",
        ]
    )
