"""What staff see of a ticket: enough to solve it, with the user's phone and email masked.

Times are the deployment's local time (`TIMEZONE`) without microseconds: ISO 8601 with the offset in
JSON, `2026-11-24 16:05 IST` for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from bot.logs import mask_pii
from bot.models import Conversation, Employee, Staff, Ticket, TicketEvent, TicketMessage, utcnow
from bot.phones import mask_email, mask_phone
from bot.tickets.delivery import Delivery, deliveries
from bot.tickets.service import audit_trail, is_overdue, transcript

# The contract's transcript kinds, by TicketMessage.author.
KINDS = {"user": "user", "bot": "bot", "staff": "reply", "note": "note"}


def local_iso(moment: datetime, zone: tzinfo) -> str:
    """`2026-11-24T16:05:12+05:30`: for machines, in the deployment's time zone."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def local_stamp(moment: datetime | None, zone: tzinfo) -> str:
    """`2026-11-24 16:05 IST`: for people."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def ticket_summary(session: Session, ticket: Ticket, zone: tzinfo = UTC) -> dict[str, Any]:
    """The queue line (the contract's JSON fields, plus an overdue flag)."""
    assignee = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    return {
        "ref": ticket.ref,
        "status": ticket.status,
        "category": ticket.category,
        "lang": ticket.lang,
        "channel": ticket.channel,
        "created_at": local_iso(ticket.created_at, zone),
        "assignee": assignee.name if assignee else None,
        "sla_due": local_iso(ticket.sla_due_at, zone),
        "overdue": is_overdue(ticket, utcnow()),
    }


@dataclass(frozen=True)
class TicketUser:
    """Who wrote, as far as staff may know: the employee's name and masked contacts, or the channel."""

    name: str  # the employee's name, or a description such as "unverified telegram user"
    contacts: tuple[str, ...] = ()  # masked phone and email
    details: tuple[str, ...] = ()  # designation, department, district
    district: str | None = None

    @property
    def label(self) -> str:
        return ", ".join((self.name, *self.contacts, *self.details))


def ticket_user(employee: Employee | None, conversation: Conversation | None, channel: str) -> TicketUser:
    if employee is not None:
        contacts = [mask_phone(employee.phone or "")]
        if employee.email:
            contacts.append(mask_email(employee.email))
        details = (value for value in (employee.designation, employee.department, employee.district) if value)
        return TicketUser(employee.name, tuple(contacts), tuple(details), employee.district)
    if conversation is not None and conversation.verified_phone:
        return TicketUser(f"unlisted number {mask_phone(conversation.verified_phone)}")
    return TicketUser(f"unverified {channel} user")


def user_of(session: Session, ticket: Ticket) -> TicketUser:
    employee = session.get(Employee, ticket.employee_id) if ticket.employee_id else None
    return ticket_user(employee, session.get(Conversation, ticket.conversation_id), ticket.channel)


def user_label(session: Session, ticket: Ticket) -> str:
    """Who wrote, as much as staff need: the employee's name and masked contacts, or the masked channel id."""
    return user_of(session, ticket).label


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Staff names by id, for replies and notes."""
    if not ids:
        return {}
    found = session.exec(select(Staff).where(col(Staff.id).in_(ids)))
    return {staff.id: staff.name for staff in found if staff.id is not None}


def shown_text(line: TicketMessage) -> str:
    """A transcript line as staff may read it: what people typed is masked, the bot's own words are not."""
    return line.text if line.author == "bot" else mask_pii(line.text)


def _line(line: TicketMessage, names: dict[int, str], zone: tzinfo, sent: dict[int, Delivery]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": KINDS.get(line.author, line.author),
        "text": shown_text(line),
        "at": local_iso(line.created_at, zone),
        "before_ticket": line.before_ticket,
    }
    if line.staff_id:
        item["staff"] = names.get(line.staff_id)
    if line.choice:
        item["tap"] = line.choice
    if line.attachment_kind:
        item["attachment"] = {"kind": line.attachment_kind, "ref": line.attachment_ref}
    delivery = sent.get(line.id or 0)
    if delivery is not None:
        item["delivery"] = delivery.state
        if delivery.error is not None:
            item["error"] = delivery.error
    return item


def _event(event: TicketEvent, zone: tzinfo) -> dict[str, Any]:
    text = f"{event.actor} {event.action}" + (f" ({event.detail})" if event.detail else "")
    return {"kind": "event", "text": text, "at": local_iso(event.created_at, zone), "before_ticket": False}


def ticket_detail(session: Session, ticket: Ticket, zone: tzinfo = UTC) -> dict[str, Any]:
    """The whole ticket for `tickets show`: the transcript with the audit events in time order."""
    lines = transcript(session, ticket=ticket)
    events = audit_trail(session, ticket=ticket)
    names = staff_names(session, {line.staff_id for line in lines if line.staff_id})
    sent = deliveries(session, ticket)
    timeline = [(line.created_at, 0, line.id, _line(line, names, zone, sent)) for line in lines]
    timeline += [(event.created_at, 1, event.id, _event(event, zone)) for event in events]
    return {
        **ticket_summary(session, ticket, zone),
        "user": user_label(session, ticket),
        "reason": ticket.reason,
        "rating": ticket.rating,
        "transcript": [item for *_, item in sorted(timeline, key=lambda entry: entry[:3])],
        "audit": [_audit_entry(event, zone) for event in events],
    }


def _audit_entry(event: TicketEvent, zone: tzinfo) -> dict[str, Any]:
    return {
        "at": local_iso(event.created_at, zone),
        "actor": event.actor,
        "action": event.action,
        "detail": event.detail,
    }
