"""People as the channels know them: by the phone number a channel vouched for."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class Person(TableModel, table=True):
    """One person's preferences, whichever channel they write from (WhatsApp, Telegram, the console).

    Keyed by the E.164 phone that a channel vouched for, the same key that links them to employee
    records: a STOP on one channel stops reminders on all, and a later START on any undoes it.
    """

    phone: str = Field(primary_key=True, max_length=16, description="E.164, as a channel vouched for it")
    reminders_opted_out: bool = Field(default=False)
    lang: str | None = Field(default=None, max_length=5, description="the language the person chose")
    updated_at: datetime = Field(default_factory=utcnow)
