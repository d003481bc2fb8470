"""Exactly-once handling of channel deliveries: a unique receipt per (channel, external id), which
keeps the replies the message was answered with, so a retried delivery gets exactly those again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, tuple_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db import dialect_insert
from bot.messages import Reply, reply_from_json, reply_to_json
from bot.models import InboundReceipt

Receipt = tuple[str, str]  # (channel, external id)


def first_deliveries(session: Session, receipts: Iterable[Receipt]) -> set[Receipt]:
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


def keep_replies(session: Session, answered: Sequence[tuple[Receipt, Sequence[Reply]]]) -> None:
    """Store the replies each new message was answered with, in the transaction that handled it."""
    if answered:
        parameters = [
            {"ch": channel, "eid": external_id, "rp": [reply_to_json(reply) for reply in replies]}
            for (channel, external_id), replies in answered
        ]
        session.connection().execute(_KEEP, parameters)


def kept_replies(session: Session, receipts: Iterable[Receipt]) -> dict[Receipt, list[Reply]]:
    """The replies stored for these receipts (none for a message whose replies went out and were forgotten)."""
    wanted = sorted(set(receipts))
    if not wanted:
        return {}
    query = select(InboundReceipt.channel, InboundReceipt.external_id, InboundReceipt.reply).where(
        tuple_(col(InboundReceipt.channel), col(InboundReceipt.external_id)).in_(wanted)
    )
    return {
        (channel, external_id): [reply_from_json(data) for data in stored or []]
        for channel, external_id, stored in session.exec(query)
    }


def forget_replies(db: Engine, receipt: Receipt) -> None:
    """The channel confirmed the replies went out: a later copy of the message gets nothing again."""
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(_FORGET, {"ch": receipt[0], "eid": receipt[1]})


_WHERE = (col(InboundReceipt.channel) == bindparam("ch"), col(InboundReceipt.external_id) == bindparam("eid"))
_KEEP = update(InboundReceipt).where(*_WHERE).values(reply=bindparam("rp"))
_FORGET = update(InboundReceipt).where(*_WHERE).values(reply=None)
