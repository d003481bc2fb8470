"""Course reminders: one row per (campaign, employee, period), and the shared per-channel send rate."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class ReminderStatus(StrEnum):
    PLANNED = "planned"  # waiting for a send run (and for its quiet hours)
    QUEUED = "queued"  # rendered into the outbox (`outbox_id`), which sends it
    SENT = "sent"  # its outbox message was handed to the provider
    FAILED = "failed"  # its outbox message failed for good (`last_error`)
    SKIPPED = "skipped"  # see `skip_reason`: opted_out, no_channel, shared_phone, nothing_pending


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
    channel: str | None = Field(default=None, max_length=20, description="where it went (or was tried)")
    lang: str | None = Field(default=None, max_length=5)
    skip_reason: str | None = Field(default=None, max_length=20)
    queued_at: datetime | None = Field(default=None, description="rendered into the outbox (the daily cap's clock)")
    combined_into: int | None = Field(
        default=None, index=True, description="the reminder whose message carried this one (same person, same day)"
    )
    last_error: str | None = Field(default=None, max_length=300, description="why its message failed")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = Field(default=None, description="sent, failed or skipped")


class SendRate(TableModel, table=True):
    """A token bucket per channel, shared by every process sending from the outbox on this database."""

    __tablename__ = "send_rate"

    channel: str = Field(primary_key=True, max_length=20)
    tokens: float = Field(default=0.0)
    stamp: float = Field(default=0.0, description="Unix time of the last refill")


class StoredCampaign(TableModel, table=True):
    """A campaign made in the staff console, as the campaigns file would write it (`definition`, checked
    by `bot.reminders.campaigns.Campaign` when saved and when read); the file's campaigns stay in the file."""

    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=64)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=60)
    updated_by: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
