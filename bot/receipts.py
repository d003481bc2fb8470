"""Exactly-once handling of channel deliveries: a unique receipt per (channel, external id)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.models import InboundReceipt

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def first_delivery(session: Session, *, channel: str, external_id: str) -> bool:
    """Record the receipt; False when it was already there (a retry, or another worker got it first).

    The database's unique constraint decides, so two workers receiving the same retry at the same
    moment cannot both handle it: the second insert waits for the first transaction, then does
    nothing. One statement, no savepoint, because this runs for every message.
    """
    insert = _INSERTS[session.get_bind().dialect.name]
    statement = (
        insert(InboundReceipt)
        .values(channel=channel, external_id=external_id)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(InboundReceipt.id)
    )
    return session.exec(statement).first() is not None
