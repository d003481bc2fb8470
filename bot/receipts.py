"""Exactly-once handling of channel deliveries: a unique receipt per (channel, external id)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.models import InboundReceipt


def first_delivery(session: Session, *, channel: str, external_id: str) -> bool:
    """Record the receipt; False when it was already there (a retry, or another worker got it first).

    The database's unique constraint decides, so two workers receiving the same retry at the same
    moment cannot both handle it; the loser's insert fails and it acknowledges without handling.
    """
    try:
        with session.begin_nested():
            session.add(InboundReceipt(channel=channel, external_id=external_id))
    except IntegrityError:
        return False
    return True
