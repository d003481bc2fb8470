"""Users on channels, what the bot remembers of them, and what waits to be delivered to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
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
    # Said STOP here before any phone was vouched for; once one is, `Person` holds the choice.
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
    """One message for a user (or the staff group) that goes out through the outbox, not as a direct
    reply: staff answers, rating requests, reminders, staff-group posts and SLA notices.

    `state` (see `bot.delivery.states`): queued → sending → sent → delivered → read, or held
    (WhatsApp's 24-hour window), failed (with `last_error`), cancelled (a reminder the person opted
    out of before it went). A sender holds a row while `state` is sending: `lease_owner` names it
    (host, pid, token) and `lease_until` is when another sender may take the row over.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        # A claim walks one state's messages in id order and stops at its limit, however long the backlog.
        Index("ix_outbox_message_state_id", "state", "id"),
        # "An earlier unfinished message to the same user?" is asked for every message claimed.
        Index("ix_outbox_message_chat_state", "conversation_id", "state"),
        # A ticket is posted to the staff group once, whichever worker enqueues the post.
        Index(
            "ix_outbox_message_staff_post",
            "ticket_id",
            unique=True,
            sqlite_where=text("kind = 'staff_post'"),
            postgresql_where=text("kind = 'staff_post'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")  # indexed first in ix_outbox_message_chat_state
    kind: str = Field(max_length=20, description="staff_reply, rating_request, reminder, staff_post, ...")
    text: str
    options: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    # The staff reply in the ticket's transcript this message delivers (its state is that reply's delivery).
    ticket_message_id: int | None = Field(default=None, foreign_key="ticket_message.id", index=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True)
    lang: str | None = Field(default=None, max_length=5, description="the language of `text`, if rendered already")
    template: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON), description='WhatsApp outside the window: {"sid", "variables"}'
    )
    state: str = Field(default="queued", max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, description="not tried (held: not re-announced) before")
    lease_owner: str | None = Field(default=None, max_length=80, description="host:pid:token of the sender")
    lease_until: datetime | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=300)
    provider_message_id: str | None = Field(default=None, max_length=64, index=True, description="Twilio SID, ...")
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = Field(default=None, description="handed to the provider")
    failed_at: datetime | None = Field(default=None, description="given up, for the reason in last_error")


class InboundReceipt(TableModel, table=True):
    """Proof that a channel's message was handled: a retried delivery finds its receipt and is ignored."""

    __tablename__ = "inbound_receipt"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=64, description="Telegram update_id, Twilio MessageSid")
    received_at: datetime = Field(default_factory=utcnow)
    # The replies as first sent: a retried delivery gets exactly these again, never new ones.
    reply: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
