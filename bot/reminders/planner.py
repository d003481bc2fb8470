"""Planning: the reminders each campaign owes this period, materialised as rows keyed by
(campaign, employee, period), so planning twice in a period plans nothing new."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, literal, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.db import dialect_insert
from bot.models import (
    Conversation,
    Employee,
    Enrolment,
    EnrolmentStatus,
    Reminder,
    ReminderStatus,
    utcnow,
)
from bot.progress import progress_reporter
from bot.reminders.campaigns import Campaign

logger = logging.getLogger(__name__)
BATCH_SIZE = 20_000  # employee ids per INSERT ... SELECT


@dataclass
class PlanSummary:
    """What a plan run did: new reminder rows per campaign (0 when the period was planned already)."""

    planned: dict[str, int] = field(default_factory=dict)
    periods: dict[str, str] = field(default_factory=dict)
    not_running: list[str] = field(default_factory=list)  # campaigns outside their schedule now

    @property
    def total(self) -> int:
        return sum(self.planned.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "planned": self.total,
            "by_campaign": self.planned,
            "periods": self.periods,
            "not_running": self.not_running,
        }


def audience_conditions(campaign: Campaign, *, now: datetime, today: date) -> list[ColumnElement[bool]]:
    """SQL conditions on Employee for the campaign's audience."""
    audience = campaign.audience
    conditions: list[ColumnElement[bool]] = []

    def any_of(column: str | None, values: Iterable[str]) -> ColumnElement[bool]:
        return func.lower(column).in_([value.lower() for value in values])

    if audience.designations:
        conditions.append(
            or_(any_of(Employee.designation, audience.designations), any_of(Employee.group, audience.designations))
        )
    if audience.departments:
        conditions.append(any_of(Employee.department, audience.departments))
    if audience.districts:
        conditions.append(any_of(Employee.district, audience.districts))
    pending = [col(Enrolment.employee_id) == Employee.id, col(Enrolment.status) != EnrolmentStatus.COMPLETED.value]
    if audience.pending_mandatory:
        pending.append(col(Enrolment.mandatory).is_(True))
        conditions.append(exists().where(*pending))
    if audience.batch_ends_within_days is not None:
        last_day = today + timedelta(days=audience.batch_ends_within_days)
        conditions.append(
            exists().where(*pending, col(Enrolment.batch_end_date) >= today, col(Enrolment.batch_end_date) <= last_day)
        )
    if audience.inactive_days is not None:
        cutoff = now - timedelta(days=audience.inactive_days)
        conditions.append(
            ~exists().where(col(Enrolment.employee_id) == Employee.id, col(Enrolment.updated_at) >= cutoff)
        )
        conditions.append(
            ~exists().where(col(Conversation.verified_phone) == Employee.phone, col(Conversation.updated_at) >= cutoff)
        )
    return conditions


def plan(
    db: Engine,
    *,
    campaigns: list[Campaign],
    now: datetime | None = None,
    timezone: str = "Asia/Kolkata",
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> PlanSummary:
    """Insert the due reminders of every running campaign (INSERT ... SELECT ... ON CONFLICT DO NOTHING,
    in batches of employee ids, each its own transaction: an interrupted plan is finished by planning again)."""
    now = now or utcnow()
    summary = PlanSummary()
    insert = dialect_insert(db)
    with db.connect() as connection:
        low, high = connection.execute(select(func.min(col(Employee.id)), func.max(col(Employee.id)))).one()
    for campaign in campaigns:
        today = now.astimezone(ZoneInfo(campaign.timezone or timezone)).date()
        period = campaign.period(today)
        if period is None:
            summary.not_running.append(campaign.id)
            continue
        summary.periods[campaign.id] = period
        summary.planned[campaign.id] = 0
        if low is None or high is None:  # no employees at all
            continue
        conditions = audience_conditions(campaign, now=now, today=today)
        columns = ["campaign", "employee_id", "period", "status", "due_at", "created_at"]
        with progress_reporter(f"planning {campaign.id}") as report:
            start = low
            while start <= high:
                end = start + batch_size
                chosen = select(
                    literal(campaign.id),
                    col(Employee.id),
                    literal(period),
                    literal(ReminderStatus.PLANNED.value),
                    literal(now, Reminder.__table__.c.due_at.type),
                    literal(now, Reminder.__table__.c.created_at.type),
                ).where(col(Employee.id) >= start, col(Employee.id) < end, *conditions)
                statement = (
                    insert(Reminder)
                    .from_select(columns, chosen)
                    .on_conflict_do_nothing(index_elements=["campaign", "employee_id", "period"])
                    .returning(Reminder.__table__.c.id)
                )
                with db.begin() as connection:  # RETURNING: psycopg's rowcount is not reliable for INSERT ... SELECT
                    summary.planned[campaign.id] += len(connection.execute(statement).all())
                start = end
                report(min(start, high + 1) - low, high + 1 - low) if progress else None
        logger.info("plan %s period %s: %d new reminders", campaign.id, period, summary.planned[campaign.id])
    return summary
