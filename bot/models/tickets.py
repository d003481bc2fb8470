"""Helpdesk tickets, their transcripts and audit trails, and the staff who work them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class TicketStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    WAITING_FOR_USER = "waiting_for_user"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.ASSIGNED, TicketStatus.WAITING_FOR_USER)


class Role(StrEnum):
    """What a staff account is for (see bot/access/roles.py for what each may see and do)."""

    STAFF = "staff"  # helpdesk staff: the ticket queue
    NODAL = "nodal"  # a nodal officer: reports and campaigns of their districts/departments
    ADMIN = "admin"  # everything, including the accounts


class Staff(TableModel, table=True):
    """A person who works in the staff console or the Telegram staff group."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    telegram_user_id: int | None = Field(default=None, unique=True)
    active: bool = Field(default=True)
    role: str = Field(default=Role.STAFF.value, max_length=10, description="Role")
    districts: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="a nodal officer's districts"
    )
    departments: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="a nodal officer's departments"
    )
    lang: str = Field(default="en", max_length=5, description="language of topic names in the console")
    created_at: datetime = Field(default_factory=utcnow)


class Ticket(TableModel, table=True):
    """One user's problem handed to the helpdesk."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, max_length=20, unique=True, description="HD-000123")
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    employee_id: int | None = Field(default=None, foreign_key="employee.id", index=True)
    channel: str = Field(max_length=20)
    lang: str = Field(max_length=5)
    category: str = Field(max_length=64, description="the best FAQ topic guess, or 'general'")
    status: str = Field(default=TicketStatus.OPEN.value, max_length=20, index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id")
    reason: str = Field(max_length=30, description="how it opened: asked, not_helped, not_understood")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sla_due_at: datetime
    resolved_at: datetime | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    overdue_flagged_at: datetime | None = Field(default=None, description="staff were told once")
    staff_post_id: int | None = Field(default=None, description="its post in the Telegram staff group")
    staff_seen_line_id: int | None = Field(
        default=None, description="the last transcript line the staff group was shown (in the post or after it)"
    )


class TicketMessage(TableModel, table=True):
    """One line of a ticket's transcript: user, bot, staff reply or internal note, maybe an attachment."""

    __tablename__ = "ticket_message"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    author: str = Field(max_length=10, description="user, bot, staff or note")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    text: str = ""
    attachment_kind: str | None = Field(default=None, max_length=20, description="photo, document, ...")
    attachment_ref: str | None = Field(default=None, max_length=500, description="the channel's file id or URL")
    choice: str | None = Field(default=None, max_length=64, description="the option the user tapped, e.g. intent:human")
    before_ticket: bool = Field(default=False, description="copied from the conversation when the ticket opened")
    created_at: datetime = Field(default_factory=utcnow)


class TicketEvent(TableModel, table=True):
    """The audit trail: who did what to a ticket, and when."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    actor: str = Field(max_length=60, description="a staff name, 'user' or 'system'")
    action: str = Field(max_length=30)
    detail: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class CannedAnswer(TableModel, table=True):
    """A saved staff reply in both languages; the ticket page inserts the one in the user's language."""

    __tablename__ = "canned_answer"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=80, unique=True)
    text_en: str
    text_hi: str
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=60, description="the staff name of the last change")


class AttachmentFile(TableModel, table=True):
    """A file a user sent, fetched once from their channel for the console and kept here, so that any
    worker on any machine can show it without asking Telegram or Twilio again."""

    __tablename__ = "attachment_file"

    ticket_message_id: int = Field(foreign_key="ticket_message.id", primary_key=True)
    content_type: str = Field(max_length=100, description="as recognised from the file's first bytes")
    size_bytes: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow)
