"""Users on channels, what the bot remembers of them, and what waits to be delivered to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class Conversation(TableModel, table=True):
    """One person on one channel, and what the bot remembers between their messages."""

    __table_args__ = (UniqueConstraint("channel", "user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    user_key: str = Field(max_length=64, description="chat id or phone, as the channel names the user")
    lang: str | None = Field(default=None, max_length=5, description="language replies are written in")
    lang_chosen: bool = Field(default=False, description="the user picked the language explicitly")
    pending: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON), description="the question the bot is waiting on"
    )
    last_topic: str | None = Field(default=None, max_length=64)
    unclear_streak: int = Field(default=0, description="messages in a row the bot did not understand")
    reminders_opted_out: bool = Field(default=False)
    verified_phone: str | None = Field(
        default=None, max_length=16, index=True, description="E.164, only as the channel vouched for it"
    )
    recent: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="the last few messages both ways"
    )
    # No foreign key: tickets already point at their conversation, and a cycle of constraints
    # would make both tables harder to create and to clean up.
    active_ticket_id: int | None = Field(default=None, description="open ticket that takes the user's messages")
    last_inbound_at: datetime | None = Field(
        default=None, description="when the user last wrote (WhatsApp's 24 h window)"
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(TableModel, table=True):
    """A message for a user that the bot did not send as a direct reply: staff answers, rating requests."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    kind: str = Field(max_length=20, description="staff_reply, rating_request, ...")
    text: str
    options: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = Field(default=None, index=True, description="handed to the channel")
    claimed_at: datetime | None = Field(default=None, description="a sender took it; stale claims are retried")
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=300)
    failed_at: datetime | None = Field(default=None, description="given up: a permanent error")
    provider_message_id: str | None = Field(default=None, max_length=64, index=True, description="Twilio SID, ...")
    delivery_status: str | None = Field(default=None, max_length=20, description="sent, delivered, read (callbacks)")


class InboundReceipt(TableModel, table=True):
    """Proof that a channel's message was handled: a retried delivery finds its receipt and is ignored."""

    __tablename__ = "inbound_receipt"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=64, description="Telegram update_id, Twilio MessageSid")
    received_at: datetime = Field(default_factory=utcnow)
