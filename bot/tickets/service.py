"""Ticket life: open, add to, claim, reply, note, resolve, rate; every staff action audited."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, update
from sqlmodel import Session, col, or_, select

from bot.delivery.states import REACHED
from bot.messages import Attachment
from bot.models import (
    ACTIVE_STATUSES,
    Conversation,
    Employee,
    OutboxMessage,
    Staff,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
    saved_id,
    utcnow,
)
from bot.phones import PhoneError, to_e164

RECENT_MESSAGES = 10  # how much of the conversation before escalation a ticket carries
MAX_REPLY_CHARS = 3000  # a phone screen's worth; longer answers belong in a document
# Why a ticket may be resolved although no reply reached the user (no rating is asked then).
RESOLVE_REASONS = {
    "duplicate": "duplicate",
    "user_unreachable": "user unreachable",
    "solved_elsewhere": "solved elsewhere",
}


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
    history: list[dict[str, Any]] | None = None,
) -> Ticket:
    """A new ticket carrying the conversation so far (or the given part of it: `history`, the
    conversation's `recent` entries); the user's one open ticket if there already is one."""
    existing = active_ticket(session, conversation=conversation)
    if existing is not None:
        return existing
    now = now or utcnow()
    ticket = Ticket(
        conversation_id=saved_id(conversation),
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
    for entry in (conversation.recent if history is None else history)[-RECENT_MESSAGES:]:
        session.add(
            TicketMessage(
                ticket_id=saved_id(ticket),
                author=entry["from"],
                text=entry["text"],
                choice=entry.get("tap"),
                before_ticket=True,
                created_at=_when(entry, now),
            )
        )
    _audit(session, ticket, "user", "created", reason)
    return ticket


def _when(entry: dict[str, Any], default: datetime) -> datetime:
    """When a remembered message was written (entries from before times were kept have no time)."""
    try:
        return datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return default


def add_user_message(session: Session, *, ticket: Ticket, text: str, attachment: Attachment | None = None) -> None:
    """What the user writes while their ticket is open goes to the ticket, not to the FAQ."""
    session.add(
        TicketMessage(
            ticket_id=saved_id(ticket),
            author="user",
            text=text,
            attachment_kind=attachment.kind if attachment else None,
            attachment_ref=attachment.ref if attachment else None,
        )
    )
    if ticket.status == TicketStatus.WAITING_FOR_USER:
        ticket.status = TicketStatus.ASSIGNED if ticket.assignee_id else TicketStatus.OPEN
    ticket.updated_at = utcnow()


def add_bot_note(session: Session, *, ticket: Ticket, text: str) -> None:
    """An internal note from the bot for staff (what it answered, what it guessed); the user never sees it."""
    session.add(TicketMessage(ticket_id=saved_id(ticket), author="note", text=text))


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
        .where(col(Ticket.id) == ticket.id, col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(ACTIVE_STATUSES))
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
    said = TicketMessage(ticket_id=saved_id(ticket), author="staff", staff_id=staff.id, text=text)
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
    session.add(TicketMessage(ticket_id=saved_id(ticket), author="note", staff_id=staff.id, text=text.strip()))
    ticket.updated_at = utcnow()
    _audit(session, ticket, staff.name, "noted")
    return ticket


def reply_reached_user(session: Session, ticket: Ticket) -> bool:
    """Whether a staff reply on this ticket reached the user: its outbox message was sent (and maybe
    delivered or read since); one queued, held for WhatsApp's 24-hour window or failed has not."""
    reached = select(OutboxMessage.id).where(
        OutboxMessage.ticket_id == ticket.id,
        OutboxMessage.kind == "staff_reply",
        col(OutboxMessage.state).in_(REACHED),
    )
    return session.exec(reached.limit(1)).first() is not None


def resolve(session: Session, *, ref: str, staff: Staff, reason: str | None = None) -> Ticket:
    """Mark solved and release the user from ticket mode.

    Without a reason, a reply must have reached the user, who is then asked for a rating. With a
    reason (`RESOLVE_REASONS`: a duplicate, a user who cannot be reached, solved elsewhere) the
    ticket closes without one, and nobody is asked to rate help they did not get.
    """
    if reason is not None and reason not in RESOLVE_REASONS:
        raise TicketError(f"no reason '{reason}': use one of {', '.join(RESOLVE_REASONS)}")
    ticket = _workable(session, ref)
    if reason is None and not reply_reached_user(session, ticket):
        raise TicketError(
            f"{ticket.ref} has no reply that reached the user yet: answer first (and wait until it is sent), "
            f"or resolve with a reason ({', '.join(RESOLVE_REASONS.values())})"
        )
    if ticket.assignee_id is None:
        ticket = claim(session, ref=ref, staff=staff)  # whoever resolves it answers for it
    now = utcnow()
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = ticket.updated_at = now
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation is not None and conversation.active_ticket_id == ticket.id:
        conversation.active_ticket_id = None
    if reason is None:
        session.add(
            OutboxMessage(conversation_id=ticket.conversation_id, kind="rating_request", text="", ticket_id=ticket.id)
        )
    _audit(session, ticket, staff.name, "resolved", RESOLVE_REASONS[reason] if reason else "")
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
    owned = col(Ticket.conversation_id) == conversation.id
    if employee_id is not None:
        owned = or_(owned, col(Ticket.employee_id) == employee_id)
    return list(session.exec(select(Ticket).where(owned).order_by(col(Ticket.id).desc()).limit(5)))


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets staff want to see; empty fields do not filter."""

    statuses: tuple[str, ...] = ()
    category: str = ""  # a topic id or its beginning: "certificate" takes every certificate topic
    lang: str = ""
    overdue_at: datetime | None = None  # active tickets whose SLA ended before this moment
    search: str = ""  # a ticket reference or number, or the user's phone number

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.statuses:
            where.append(col(Ticket.status).in_(self.statuses))
        if self.category:
            where.append(col(Ticket.category).startswith(self.category))
        if self.lang:
            where.append(col(Ticket.lang) == self.lang)
        if self.overdue_at:
            where += [col(Ticket.sla_due_at) < self.overdue_at, col(Ticket.status).in_(ACTIVE_STATUSES)]
        if self.search.strip():
            where.append(_search(self.search.strip()))
        return where


def _search(text: str) -> ColumnElement[bool]:
    """Tickets matching a reference (`HD-000123`), a ticket number (`123`) or the user's phone."""
    matches = [col(Ticket.ref) == text.upper()]
    digits = re.sub(r"\D", "", text)
    if digits and len(digits) < 10:
        matches.append(col(Ticket.id) == int(digits))
    try:
        phone = to_e164(text)
    except PhoneError:
        phone = None
    if phone is not None:
        conversations = select(Conversation.id).where(
            or_(Conversation.verified_phone == phone, Conversation.user_key == phone)
        )
        matches.append(col(Ticket.conversation_id).in_(conversations))
        matches.append(col(Ticket.employee_id).in_(select(Employee.id).where(Employee.phone == phone)))
    return or_(*matches)


def list_tickets(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    category: str | None = None,
    lang: str | None = None,
    overdue_at: datetime | None = None,
    search: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Ticket]:
    """The queue, oldest first, filtered as staff ask."""
    where = TicketFilter(tuple(statuses), category or "", lang or "", overdue_at, search or "")
    return find_tickets(session, where, limit=limit, offset=offset)


def find_tickets(session: Session, where: TicketFilter, *, limit: int, offset: int = 0) -> list[Ticket]:
    """One page of the filtered queue, oldest first."""
    query = select(Ticket).where(*where.conditions()).order_by(col(Ticket.id))
    return list(session.exec(query.offset(offset).limit(limit)))


def count_tickets(session: Session, where: TicketFilter) -> int:
    """How many tickets the filter matches in all."""
    return session.exec(select(func.count()).select_from(Ticket).where(*where.conditions())).one()


def queue_counts(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Active tickets, and how many of them are past their SLA (for the metrics)."""
    now = now or utcnow()
    active = col(Ticket.status).in_(ACTIVE_STATUSES)
    overdue = func.sum(case((col(Ticket.sla_due_at) < now, 1), else_=0))
    total, late = session.exec(select(func.count(), overdue).select_from(Ticket).where(active)).one()
    return total, late or 0


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


def first_messages(session: Session, tickets: Iterable[Ticket]) -> dict[int, TicketMessage]:
    """What each user wrote first about their ticket: the first words typed after it opened, or else
    the last typed just before (taps and bare attachments say little on their own)."""
    ids = [ticket.id for ticket in tickets if ticket.id is not None]
    if not ids:
        return {}
    typed = session.exec(
        select(TicketMessage)
        .where(
            col(TicketMessage.ticket_id).in_(ids),
            TicketMessage.author == "user",
            col(TicketMessage.choice).is_(None),
            TicketMessage.text != "",
        )
        .order_by(col(TicketMessage.id))
    )
    before: dict[int, TicketMessage] = {}
    after: dict[int, TicketMessage] = {}
    for line in typed:
        if line.before_ticket:
            before[line.ticket_id] = line
        else:
            after.setdefault(line.ticket_id, line)
    return {**before, **after}


def audit_trail(session: Session, *, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.id)))
    )


def _audit(session: Session, ticket: Ticket, actor: str, action: str, detail: str = "") -> None:
    session.add(TicketEvent(ticket_id=saved_id(ticket), actor=actor, action=action, detail=detail))
