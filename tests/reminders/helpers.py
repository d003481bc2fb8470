"""Shared set-up for the reminder tests: seeded sample data and a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, select

from bot.config import PROJECT_ROOT
from bot.i18n import Texts
from bot.models import Conversation, Person, Reminder
from bot.reminders import load_campaigns
from bot.seed import seed_database

TODAY = date(2026, 11, 24)
NOON = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata
NIGHT = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)  # 23:00 in Kolkata
SUNITA, RAMESH, SUBHASHREE, LAXMI = "+919876500001", "+919876500002", "+919876500003", "+919876500004"


def texts() -> Texts:
    return Texts(PROJECT_ROOT / "locales")


def seeded(db, employees: int = 60) -> None:
    with Session(db) as session:
        seed_database(session, employees=employees, today=TODAY)
        session.commit()


def campaigns():
    return load_campaigns()


def statuses(db) -> dict[str, int]:
    with Session(db) as session:
        counts: dict[str, int] = {}
        for reminder in session.exec(select(Reminder)).all():
            counts[reminder.status] = counts.get(reminder.status, 0) + 1
        return counts


def link(db, channel: str, user_key: str, phone: str, **values) -> int:
    with Session(db) as session:
        conversation = Conversation(channel=channel, user_key=user_key, verified_phone=phone, **values)
        session.add(conversation)
        session.commit()
        return conversation.id


def opt_out(db, phone: str) -> None:
    """The person with this phone said STOP (on whichever channel)."""
    with Session(db) as session:
        session.merge(Person(phone=phone, reminders_opted_out=True))
        session.commit()
