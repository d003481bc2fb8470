"""Accuracy of the understanding on a labelled file of user queries."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.understanding.matcher import Matcher

LANGS = ("en", "hi", "hi-Latn")


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    lang: str
    expect: str | None


@dataclass
class EvalReport:
    """Correct answers overall, per language and on out-of-scope lines, with every miss."""

    total: int = 0
    correct: int = 0
    by_lang: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    out_of_scope: list[int] = field(default_factory=lambda: [0, 0])
    # In-scope queries answered with the wrong id: [wrong, in-scope total]. Abstaining is a miss,
    # answering wrongly is worse: the user follows the wrong steps.
    wrong_answers: list[int] = field(default_factory=lambda: [0, 0])
    misses: list[tuple[LabelledQuery, str | None, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def lang_accuracy(self, lang: str) -> float:
        correct, total = self.by_lang[lang]
        return correct / total if total else 0.0

    @property
    def abstention(self) -> float | None:
        """The share of out-of-scope queries the bot declined to answer."""
        abstained, total = self.out_of_scope
        return abstained / total if total else None

    @property
    def wrong_rate(self) -> float | None:
        """The share of in-scope queries answered confidently with the wrong id."""
        wrong, total = self.wrong_answers
        return wrong / total if total else None

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "by_lang": {lang: round(self.lang_accuracy(lang), 4) for lang in LANGS if self.by_lang[lang][1]},
            "out_of_scope_abstained": None if self.abstention is None else round(self.abstention, 4),
            "in_scope_wrong": None if self.wrong_rate is None else round(self.wrong_rate, 4),
            "misses": [
                {"text": query.text, "lang": query.lang, "expect": query.expect, "got": got, "score": score}
                for query, got, score in self.misses
            ],
        }


def read_queries(path: Path) -> list[LabelledQuery]:
    """The labelled lines of a JSONL file; a broken line is reported with its number."""
    queries = []
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                queries.append(LabelledQuery(text=data["text"], lang=data["lang"], expect=data["expect"]))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a labelled query ({error})") from error
    return queries


def evaluate(matcher: Matcher, queries: list[LabelledQuery]) -> EvalReport:
    """Run every query through the matcher and count what it got right."""
    report = EvalReport()
    for query in queries:
        understanding = matcher.understand(query.text)
        hit = understanding.match == query.expect
        report.total += 1
        report.correct += hit
        report.by_lang[query.lang][0] += hit
        report.by_lang[query.lang][1] += 1
        if query.expect is None:
            report.out_of_scope[0] += hit
            report.out_of_scope[1] += 1
        else:
            report.wrong_answers[0] += understanding.match is not None and not hit
            report.wrong_answers[1] += 1
        if not hit:
            report.misses.append((query, understanding.match, understanding.score))
    return report
