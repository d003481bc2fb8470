"""`helpdesk bench gaps` runs end to end on a small load and says what it measured."""

from __future__ import annotations

import re

from bot.bench.gaps import bench_gaps
from bot.brain import Brain


def test_the_bench_measures_recording_grouping_and_a_new_entry(brain: Brain) -> None:
    report = bench_gaps(brain, questions=500, rounds=2, poll_seconds=15)
    assert re.search(r"recording \(SQLite, batches of 32\): deciding an unanswered message [\d.]+ ms", report)
    assert re.search(r"grouping 500 questions \([\d,]+ different texts\): [\d.]+ s in memory", report)
    assert "every worker answers with it within KNOWLEDGE_POLL_SECONDS (15 s) +" in report
