"""Did the reminders work? For each campaign, of the people reminded, how many finished a course within
7, 14 and 30 days, beside two groups that were not reminded then.

- `reminded`: people with a reminder of the campaign sent; their day is the (local) day of the first.
- `not_reminded`: people the campaign planned for who got none of its reminders (no channel, a
  shared phone, a STOP, a failure, or still waiting); their day is the day it was planned.
- `before`: the reminded people over the N days *before* their reminder: the same group, unprompted.

A person counts as having completed when a course that was still pending on their day (not completed
before it; mandatory only, for a campaign about mandatory courses) has `completed_on` within N days
from it. Only people whose N days have all passed are counted for N (`people`), so a recent campaign
shows its 7-day figure before its 30-day one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.models import Enrolment, EnrolmentStatus, Reminder, ReminderStatus
from bot.reminders.campaigns import Campaign

WINDOWS = (7, 14, 30)
R = Reminder.__table__.c
E = Enrolment.__table__.c
BATCH = 10_000


@dataclass
class Figure:
    people: int = 0  # whose N days have passed
    completed: int = 0

    def as_dict(self) -> dict[str, Any]:
        rate = round(self.completed / self.people, 4) if self.people else None
        return {"people": self.people, "completed": self.completed, "rate": rate}


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _days(db: Engine, campaign_id: str, zone: ZoneInfo) -> tuple[dict[int, date], dict[int, date]]:
    """The reminded (first send's day) and the not reminded (first plan's day), by employee."""
    reminded: dict[int, date] = {}
    planned: dict[int, date] = {}
    query = select(R.employee_id, R.status, R.finished_at, R.created_at).where(R.campaign == campaign_id)
    with db.connect() as connection:
        for employee_id, status, finished_at, created_at in connection.execute(query):
            if status == ReminderStatus.SENT.value and finished_at is not None:
                day = _local_day(finished_at, zone)
                reminded[employee_id] = min(day, reminded.get(employee_id, day))
            else:
                day = _local_day(created_at, zone)
                planned[employee_id] = min(day, planned.get(employee_id, day))
    return reminded, {employee: day for employee, day in planned.items() if employee not in reminded}


def _completions(db: Engine, employee_ids: Iterable[int], mandatory_only: bool) -> dict[int, list[date | None]]:
    """Each employee's courses' completion days (None: not completed), mandatory ones only if asked."""
    ids = sorted(employee_ids)
    found: dict[int, list[date | None]] = {}
    with db.connect() as connection:
        for start in range(0, len(ids), BATCH):
            query = select(E.employee_id, E.status, E.completed_on).where(E.employee_id.in_(ids[start : start + BATCH]))
            if mandatory_only:
                query = query.where(E.mandatory.is_(True))
            for employee_id, status, completed_on in connection.execute(query):
                if status == EnrolmentStatus.COMPLETED.value and completed_on is None:
                    continue  # finished on an unknown day: it can count neither way
                done = completed_on if status == EnrolmentStatus.COMPLETED.value else None
                found.setdefault(employee_id, []).append(done)
    return found


def _completed_within(courses: list[date | None], start: date, days: int) -> bool:
    """Whether a course pending on `start` was completed from `start` to `start` + days."""
    return any(done is not None and start <= done <= start + timedelta(days=days) for done in courses)


def _figures(people: dict[int, date], courses: dict[int, list[date | None]], today: date, shift: int) -> dict[str, Any]:
    figures = {}
    for days in WINDOWS:
        figure = Figure()
        for employee_id, day in people.items():
            start = day - timedelta(days=days) if shift else day
            if not shift and day + timedelta(days=days) > today:
                continue  # not all of its N days have passed
            figure.people += 1
            pending = [done for done in courses.get(employee_id, []) if done is None or done >= start]
            figure.completed += _completed_within(pending, start, days - 1 if shift else days)
        figures[str(days)] = figure.as_dict()
    return figures


def effectiveness(
    db: Engine, campaigns: list[Campaign], *, today: date, timezone: str = "Asia/Kolkata"
) -> dict[str, dict[str, Any]]:
    """Per campaign: `{"reminded": {"7": {"people","completed","rate"}, "14": ..., "30": ...},
    "not_reminded": {...}, "before": {...}}` (see the module's docstring)."""
    zone = ZoneInfo(timezone)
    result = {}
    for campaign in campaigns:
        reminded, not_reminded = _days(db, campaign.id, ZoneInfo(campaign.timezone) if campaign.timezone else zone)
        courses = _completions(db, [*reminded, *not_reminded], campaign.audience.pending_mandatory)
        result[campaign.id] = {
            "reminded": _figures(reminded, courses, today, shift=0),
            "not_reminded": _figures(not_reminded, courses, today, shift=0),
            "before": _figures(reminded, courses, today, shift=1),
        }
    return result
