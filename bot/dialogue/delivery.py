"""Delivering queued messages (staff replies, rating requests, reminders) on any channel.

A sender claims messages, sends them and reports back. A claim is a lease: if the sender dies
before reporting, the message is claimed again after the lease, so nothing is lost; several senders
(any number of workers) never claim the same message at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, or_, select

from bot import metrics
from bot.db import session_scope
from bot.dialogue.engine import Engine, pending_for, remember
from bot.messages import Reply
from bot.models import Conversation, OutboxMessage, Ticket, saved_id, utcnow

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Outgoing:
    """A queued message rendered for its user, ready for a channel to send."""

    outbox_id: int
    channel: str
    user_key: str
    lang: str
    kind: str
    reply: Reply
    last_inbound_at: datetime | None  # WhatsApp may send free text only within 24 hours of this
    ticket_ref: str | None = None


def claim(engine: Engine, *, channel: str, user_key: str | None = None, limit: int = 50) -> list[Outgoing]:
    """Queued messages for the channel (or one user on it), rendered in each user's language."""
    now = utcnow()
    with session_scope(engine.db) as session:
        query = (
            select(OutboxMessage, Conversation)
            .join(Conversation, col(Conversation.id) == OutboxMessage.conversation_id)
            .where(
                Conversation.channel == channel,
                col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.failed_at).is_(None),
                or_(col(OutboxMessage.claimed_at).is_(None), col(OutboxMessage.claimed_at) < now - LEASE),
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(of=OutboxMessage, skip_locked=True)
        )
        if user_key is not None:
            query = query.where(Conversation.user_key == user_key)
        claimed = []
        for message, conversation in session.exec(query).all():
            lang = conversation.lang or engine.settings.default_language
            ticket = session.get(Ticket, message.ticket_id) if message.ticket_id else None
            message.claimed_at = now
            message.attempts += 1
            claimed.append(
                Outgoing(
                    outbox_id=saved_id(message),
                    channel=channel,
                    user_key=conversation.user_key,
                    lang=lang,
                    kind=message.kind,
                    reply=engine.ticket_replies.notice(lang, message, ticket),
                    last_inbound_at=conversation.last_inbound_at,
                    ticket_ref=ticket.ref if ticket else None,
                )
            )
        return claimed


def finish(
    engine: Engine,
    outbox_id: int,
    *,
    provider_message_id: str | None = None,
    error: str | None = None,
    permanent: bool = False,
) -> None:
    """Record how sending went: delivered, to be retried, or given up for good."""
    with session_scope(engine.db) as session:
        message = session.get_one(OutboxMessage, outbox_id)
        if error is None:
            conversation = session.get_one(Conversation, message.conversation_id)
            lang = conversation.lang or engine.settings.default_language
            metrics.MESSAGES_OUT.labels(conversation.channel, lang).inc()
            message.delivered_at = utcnow()
            message.provider_message_id = provider_message_id
            message.delivery_status = message.delivery_status or "sent"
            # Only now has the user seen it: its options can be answered with a digit.
            ticket = session.get(Ticket, message.ticket_id) if message.ticket_id else None
            reply = engine.ticket_replies.notice(lang, message, ticket)
            if reply.options:
                conversation.pending = {**(pending_for([reply]) or {}), "ticket": message.ticket_id}
            remember(conversation, "bot", reply.text)
            return
        message.last_error = error[:300]
        if permanent or message.attempts >= MAX_ATTEMPTS:
            message.failed_at = utcnow()
        else:
            message.claimed_at = None  # free for the next round


def deliver_now(engine: Engine, *, channel: str, user_key: str) -> list[Reply]:
    """For channels that show messages themselves (the console): claim and mark delivered at once."""
    outgoing = claim(engine, channel=channel, user_key=user_key)
    for item in outgoing:
        finish(engine, item.outbox_id)
    return [item.reply for item in outgoing]


def enqueue(engine: Engine, *, channel: str, user_key: str, replies: list[Reply]) -> None:
    """Replies a channel could not send at once (network trouble, flood control), for the next round."""
    with session_scope(engine.db) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.channel == channel, Conversation.user_key == user_key)
        ).first()
        if conversation is None:
            return
        for reply in replies:
            session.add(
                OutboxMessage(
                    conversation_id=saved_id(conversation),
                    kind="bot_reply",
                    text=reply.text,
                    options=[{"key": option.key, "label": option.label} for option in reply.options],
                )
            )
