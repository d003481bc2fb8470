"""What a change to the knowledge would do to the labelled queries, before it is saved.

The project's labelled query sets (`tests/data/queries*.jsonl` under the content folder, the ones
`helpdesk eval` reads) are run through the matcher of the knowledge now in force and through one
built with the change; every query whose answer differs is listed, with the accuracy before and
after. A change that makes a query that was answered right go wrong needs an explicit confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.evaluation import LabelledQuery, read_queries
from bot.knowledge import Knowledge
from bot.understanding.matcher import Matcher


@dataclass(frozen=True)
class ChangedAnswer:
    query: LabelledQuery
    before: str | None
    after: str | None

    @property
    def now_wrong(self) -> bool:
        return self.before == self.query.expect != self.after

    @property
    def now_right(self) -> bool:
        return self.before != self.query.expect == self.after


@dataclass(frozen=True)
class Preview:
    total: int
    correct_before: int
    correct_after: int
    changed: list[ChangedAnswer]

    @property
    def accuracy_before(self) -> float:
        return self.correct_before / self.total if self.total else 0.0

    @property
    def accuracy_after(self) -> float:
        return self.correct_after / self.total if self.total else 0.0

    @property
    def now_wrong(self) -> list[ChangedAnswer]:
        """Known queries the change would make wrong: saving needs a confirmation."""
        return [answer for answer in self.changed if answer.now_wrong]

    def summary(self) -> str:
        return (
            f"{self.total} labelled queries: accuracy {self.accuracy_before:.1%} -> {self.accuracy_after:.1%}, "
            f"{len(self.changed)} answers change, {len(self.now_wrong)} known queries become wrong"
        )


def labelled_queries(content_dir: Path) -> list[LabelledQuery]:
    """The project's labelled query sets, in file order (none where the content folder has no tests/data)."""
    return [
        query
        for path in sorted((content_dir / "tests" / "data").glob("queries*.jsonl"))
        for query in read_queries(path)
    ]


def preview(current: Matcher, proposed: Knowledge, queries: list[LabelledQuery]) -> Preview:
    """Every query's answer under the knowledge in force and under the proposed one (about 2 s for 1,500)."""
    after_matcher = Matcher(proposed, current.calibration)
    changed, before_correct, after_correct = [], 0, 0
    for query in queries:
        before = current.understand(query.text).match
        after = after_matcher.understand_afresh(query.text).match
        before_correct += before == query.expect
        after_correct += after == query.expect
        if before != after:
            changed.append(ChangedAnswer(query, before, after))
    return Preview(len(queries), before_correct, after_correct, changed)
