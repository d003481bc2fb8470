"""Exactly-once handling of channel deliveries: a unique receipt per (channel, external id)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col

from bot.db import dialect_insert
from bot.models import InboundReceipt


def first_deliveries(session: Session, receipts: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record the (channel, external id) receipts; those that were new, not a retry nor another worker's.

    The database's unique constraint decides, so two workers receiving the same retry at the same
    moment cannot both handle it: the second insert waits for the first transaction, then does
    nothing. One statement for any number of receipts, inserted in one order so that two
    transactions waiting on each other's receipts cannot deadlock.
    """
    rows = sorted(set(receipts))
    if not rows:
        return set()
    insert = dialect_insert(session.get_bind())
    statement = (
        insert(InboundReceipt)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(col(InboundReceipt.channel), col(InboundReceipt.external_id))
    )
    # Parameter sets rather than a literal VALUES list: SQLAlchemy sends them as one multi-row INSERT
    # and compiles the statement once for all batch sizes.
    parameters = [{"channel": channel, "external_id": external_id} for channel, external_id in rows]
    return {(channel, external_id) for channel, external_id in session.connection().execute(statement, parameters)}


def first_delivery(session: Session, *, channel: str, external_id: str) -> bool:
    """Record one receipt; False when it was already there."""
    return bool(first_deliveries(session, [(channel, external_id)]))
