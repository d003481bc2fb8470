"""Course reminders: one row per (campaign, employee, period), and the shared per-channel send rate."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class ReminderStatus(StrEnum):
    PLANNED = "planned"  # waiting for a send run (and for its quiet hours, its retry time)
    SENDING = "sending"  # handed to a network channel; a crash here means "maybe sent" (at-least-once)
    SENT = "sent"
    FAILED = "failed"  # a permanent error, or the attempts ran out
    SKIPPED = "skipped"  # see `skip_reason`: opted_out, no_channel, nothing_pending


class Reminder(TableModel, table=True):
    """A reminder planned for one employee by one campaign in one period: the frequency cap is its key."""

    __table_args__ = (
        UniqueConstraint("campaign", "employee_id", "period"),
        Index("ix_reminder_queue", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    period: str = Field(max_length=20, description="once, 2026-11-24 (daily) or 2026-W48 (weekly)")
    status: str = Field(default=ReminderStatus.PLANNED.value, max_length=10, description="ReminderStatus")
    due_at: datetime = Field(description="not sent before this (UTC)")
    deferred_until: datetime | None = Field(default=None, description="held back by quiet hours until then")
    next_attempt_at: datetime | None = Field(default=None, description="a transient error: retry from then")
    claimed_by: str | None = Field(default=None, max_length=40, description="the sender holding the lease")
    claimed_at: datetime | None = Field(default=None, description="lease start; an old lease is taken over")
    attempts: int = Field(default=0)
    channel: str | None = Field(default=None, max_length=20, description="where it went (or was tried)")
    lang: str | None = Field(default=None, max_length=5)
    skip_reason: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, max_length=300)
    outbox_id: int | None = Field(default=None, description="its outbox_message row (console queue, status callbacks)")
    provider_message_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    finished_at: datetime | None = Field(default=None, description="sent, failed or skipped")


class ReminderRate(TableModel, table=True):
    """A token bucket per channel, shared by every sender process on the database."""

    __tablename__ = "reminder_rate"

    channel: str = Field(primary_key=True, max_length=20)
    tokens: float = Field(default=0.0)
    stamp: float = Field(default=0.0, description="Unix time of the last refill")
