"""Ticket life: open, add to, claim, reply, note, resolve, rate; every staff action audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from bot.messages import Attachment
from bot.models import (
    ACTIVE_STATUSES,
    Conversation,
    OutboxMessage,
    Staff,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
    utcnow,
)

RECENT_MESSAGES = 10  # how much of the conversation before escalation a ticket carries
MAX_REPLY_CHARS = 3000  # a phone screen's worth; longer answers belong in a document


class TicketError(ValueError):
    """A staff action that cannot be done, said so that staff know why."""


def sla_hours(category: str, *, default: int, by_category: dict[str, int]) -> int:
    """The promised response time: the topic's own, else its area's ("certificate"), else the default."""
    return by_category.get(category) or by_category.get(category.split(".")[0]) or default


def active_ticket(session: Session, *, conversation: Conversation) -> Ticket | None:
    """The user's ticket that is still being worked on, if any (one at a time)."""
    return session.exec(
        select(Ticket)
        .where(Ticket.conversation_id == conversation.id, col(Ticket.status).in_(ACTIVE_STATUSES))
        .order_by(col(Ticket.id).desc())
    ).first()


def open_ticket(
    session: Session,
    *,
    conversation: Conversation,
    employee_id: int | None,
    category: str,
    reason: str,
    sla: timedelta,
    prefix: str,
    now: datetime | None = None,
) -> Ticket:
    """A new ticket carrying the conversation so far; the user's one open ticket if there already is one."""
    existing = active_ticket(session, conversation=conversation)
    if existing is not None:
        return existing
    now = now or utcnow()
    ticket = Ticket(
        conversation_id=conversation.id,
        employee_id=employee_id,
        channel=conversation.channel,
        lang=conversation.lang or "hi",
        category=category,
        reason=reason,
        created_at=now,
        updated_at=now,
        sla_due_at=now + sla,
    )
    session.add(ticket)
    session.flush()
    ticket.ref = f"{prefix}{ticket.id:06d}"
    for entry in conversation.recent[-RECENT_MESSAGES:]:
        session.add(TicketMessage(ticket_id=ticket.id, author=entry["from"], text=entry["text"], created_at=now))
    _audit(session, ticket, "user", "created", reason)
    return ticket


def add_user_message(session: Session, *, ticket: Ticket, text: str, attachment: Attachment | None = None) -> None:
    """What the user writes while their ticket is open goes to the ticket, not to the FAQ."""
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author="user",
            text=text,
            attachment_kind=attachment.kind if attachment else None,
            attachment_ref=attachment.ref if attachment else None,
        )
    )
    if ticket.status == TicketStatus.WAITING_FOR_USER:
        ticket.status = TicketStatus.ASSIGNED if ticket.assignee_id else TicketStatus.OPEN
    ticket.updated_at = utcnow()


def get_ticket(session: Session, *, ref: str) -> Ticket:
    ticket = session.exec(select(Ticket).where(Ticket.ref == ref.strip().upper())).first()
    if ticket is None:
        raise TicketError(f"no ticket {ref}")
    return ticket


def claim(session: Session, *, ref: str, staff: Staff) -> Ticket:
    """Assign an open ticket to a staff member; of two claiming at once, exactly one wins."""
    ticket = get_ticket(session, ref=ref)
    if ticket.assignee_id == staff.id:
        return ticket
    # One conditional UPDATE decides: whoever changes the row first owns the ticket.
    claimed = session.exec(
        update(Ticket)
        .where(Ticket.id == ticket.id, col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(ACTIVE_STATUSES))
        .values(assignee_id=staff.id, status=TicketStatus.ASSIGNED.value, updated_at=utcnow())
    )
    session.refresh(ticket)
    if claimed.rowcount != 1:
        owner = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
        raise TicketError(
            f"{ticket.ref} is already claimed by {owner.name}" if owner else f"{ticket.ref} is {ticket.status}"
        )
    _audit(session, ticket, staff.name, "claimed")
    return ticket


def reply(session: Session, *, ref: str, staff: Staff, text: str) -> Ticket:
    """A staff answer, queued for the user on their channel; claims the ticket if nobody has."""
    text = text.strip()
    if not text:
        raise TicketError("the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise TicketError(f"the reply has {len(text)} characters; keep it under {MAX_REPLY_CHARS}")
    ticket = _workable(session, ref)
    if ticket.assignee_id is None:
        ticket = claim(session, ref=ref, staff=staff)
    said = TicketMessage(ticket_id=ticket.id, author="staff", staff_id=staff.id, text=text)
    session.add(said)
    session.flush()  # its id: the outbox message delivering it names it, so staff can see how it went
    session.add(
        OutboxMessage(
            conversation_id=ticket.conversation_id,
            kind="staff_reply",
            text=text,
            ticket_id=ticket.id,
            ticket_message_id=said.id,
        )
    )
    ticket.status = TicketStatus.WAITING_FOR_USER
    ticket.updated_at = utcnow()
    _audit(session, ticket, staff.name, "replied")
    return ticket


def add_note(session: Session, *, ref: str, staff: Staff, text: str) -> Ticket:
    """An internal note for other staff; the user never sees it."""
    if not text.strip():
        raise TicketError("the note is empty")
    ticket = get_ticket(session, ref=ref)
    session.add(TicketMessage(ticket_id=ticket.id, author="note", staff_id=staff.id, text=text.strip()))
    ticket.updated_at = utcnow()
    _audit(session, ticket, staff.name, "noted")
    return ticket


def resolve(session: Session, *, ref: str, staff: Staff) -> Ticket:
    """Mark solved, release the user from ticket mode and ask them for a rating."""
    ticket = _workable(session, ref)
    if ticket.assignee_id is None:
        ticket = claim(session, ref=ref, staff=staff)  # whoever resolves it answers for it
    now = utcnow()
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = ticket.updated_at = now
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation.active_ticket_id == ticket.id:
        conversation.active_ticket_id = None
    session.add(
        OutboxMessage(conversation_id=ticket.conversation_id, kind="rating_request", text="", ticket_id=ticket.id)
    )
    _audit(session, ticket, staff.name, "resolved")
    return ticket


def rate(session: Session, *, ticket: Ticket, rating: int) -> None:
    """The user's 1-5 rating closes the ticket."""
    if not 1 <= rating <= 5:
        raise TicketError("a rating is 1 to 5")
    ticket.rating = rating
    ticket.status = TicketStatus.CLOSED
    ticket.updated_at = utcnow()
    _audit(session, ticket, "user", "rated", str(rating))


def _workable(session: Session, ref: str) -> Ticket:
    ticket = get_ticket(session, ref=ref)
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(f"{ticket.ref} is already {ticket.status}")
    return ticket


def tickets_of(session: Session, *, conversation: Conversation, employee_id: int | None) -> list[Ticket]:
    """The user's own tickets: from this chat, or from their verified employee record on any channel."""
    owned = Ticket.conversation_id == conversation.id
    if employee_id is not None:
        owned = or_(owned, Ticket.employee_id == employee_id)
    return list(session.exec(select(Ticket).where(owned).order_by(col(Ticket.id).desc()).limit(5)))


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    category: str | None = None,
    lang: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 200,
) -> list[Ticket]:
    """The queue, oldest first, filtered as staff ask."""
    query = select(Ticket).order_by(col(Ticket.id))
    if status:
        query = query.where(Ticket.status == status)
    if category:
        query = query.where(col(Ticket.category).startswith(category))
    if lang:
        query = query.where(Ticket.lang == lang)
    if overdue_at:
        query = query.where(Ticket.sla_due_at < overdue_at, col(Ticket.status).in_(ACTIVE_STATUSES))
    return list(session.exec(query.limit(limit)))


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    return ticket.status in ACTIVE_STATUSES and ticket.sla_due_at < now


def flag_overdue(session: Session, *, now: datetime | None = None) -> list[Ticket]:
    """Active tickets past their SLA that staff were not yet told about; marks them told."""
    now = now or utcnow()
    due = session.exec(
        select(Ticket)
        .where(
            Ticket.sla_due_at < now, col(Ticket.status).in_(ACTIVE_STATUSES), col(Ticket.overdue_flagged_at).is_(None)
        )
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in due:
        ticket.overdue_flagged_at = now
        _audit(session, ticket, "system", "overdue")
    return list(due)


def transcript(session: Session, *, ticket: Ticket) -> list[TicketMessage]:
    return list(
        session.exec(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id).order_by(col(TicketMessage.id)))
    )


def audit_trail(session: Session, *, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.id)))
    )


def _audit(session: Session, ticket: Ticket, actor: str, action: str, detail: str = "") -> None:
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action=action, detail=detail))
