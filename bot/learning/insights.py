"""What the bot did with the questions, per week, topic and language: answered, abstained, escalated,
"Did this help?" yes/no, the deflection rate and each topic's helpful-rate.

Counted in the database by UTC day (one GROUP BY over `message_outcome`), then summed into weeks
starting on Monday here, so a busy year stays a few thousand rows to add up.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.models import MessageOutcome

QUESTION_OUTCOMES = ("answered", "abstained", "off_topic", "escalated")
NO_TOPIC = "(none)"  # questions not answered from a topic


@dataclass
class InsightRow:
    week: date  # its Monday
    topic: str
    lang: str
    questions: int = 0
    answered: int = 0
    abstained: int = 0  # not understood, or off-topic
    escalated: int = 0
    helpful_yes: int = 0
    helpful_no: int = 0

    @property
    def deflection(self) -> float | None:
        """Questions answered by the bot without a ticket, of those answered or escalated."""
        handled = self.answered + self.escalated
        return self.answered / handled if handled else None

    @property
    def helpful_rate(self) -> float | None:
        rated = self.helpful_yes + self.helpful_no
        return self.helpful_yes / rated if rated else None

    def add(self, other: InsightRow) -> None:
        for name in ("questions", "answered", "abstained", "escalated", "helpful_yes", "helpful_no"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {item.name: getattr(self, item.name) for item in fields(self)}
        data["week"] = self.week.isoformat()
        data["deflection"] = None if self.deflection is None else round(self.deflection, 4)
        data["helpful_rate"] = None if self.helpful_rate is None else round(self.helpful_rate, 4)
        return data


def insight_rows(session: Session, *, since: datetime) -> list[InsightRow]:
    """One row per (week, topic, language) with anything in it, newest week first, then topic and language."""
    outcome = MessageOutcome
    day = func.date(outcome.created_at)
    keys = (day, col(outcome.topic), col(outcome.lang), col(outcome.outcome), col(outcome.feedback))
    query = select(*keys, func.count()).where(col(outcome.created_at) >= since).group_by(*keys)
    rows: dict[tuple[date, str, str], InsightRow] = {}
    for day_value, topic, lang, kind, feedback, count in session.execute(query):
        moment = day_value if isinstance(day_value, date) else date.fromisoformat(str(day_value))
        week = moment - timedelta(days=moment.weekday())
        key = (week, topic or NO_TOPIC, lang)
        row = rows.setdefault(key, InsightRow(week=week, topic=key[1], lang=lang))
        if kind in QUESTION_OUTCOMES:
            row.questions += count
        if kind == "answered":
            row.answered += count
        elif kind in ("abstained", "off_topic"):
            row.abstained += count
        elif kind == "escalated":
            row.escalated += count
        if feedback == "yes":
            row.helpful_yes += count
        elif feedback == "no":
            row.helpful_no += count
    return sorted(rows.values(), key=lambda row: (-row.week.toordinal(), row.topic, row.lang))


def by_week(rows: list[InsightRow]) -> list[InsightRow]:
    """All topics and languages of each week together, oldest first (for the chart)."""
    weeks: dict[date, InsightRow] = {}
    for row in rows:
        weeks.setdefault(row.week, InsightRow(week=row.week, topic="", lang="")).add(row)
    return [weeks[week] for week in sorted(weeks)]


def by_topic(rows: list[InsightRow]) -> list[InsightRow]:
    """Each topic over the whole period, the most asked first."""
    topics: dict[str, InsightRow] = defaultdict(lambda: InsightRow(week=date.min, topic="", lang=""))
    for row in rows:
        topics[row.topic].topic = row.topic
        topics[row.topic].add(row)
    return sorted(topics.values(), key=lambda row: (-row.questions, -row.helpful_yes - row.helpful_no, row.topic))


CSV_COLUMNS = ("week", "topic", "lang", "questions", "answered", "abstained", "escalated", "helpful_yes", "helpful_no",
               "deflection", "helpful_rate")  # fmt: skip


def as_csv(rows: list[InsightRow]) -> str:
    """The rows as CSV (topics are ids, never user text: nothing for a spreadsheet to execute)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.as_json()
        writer.writerow(["" if data[column] is None else data[column] for column in CSV_COLUMNS])
    return out.getvalue()
