"""What staff see of a ticket: enough to solve it, with the user's phone and email masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.logs import mask_pii
from bot.models import Conversation, Employee, Staff, Ticket, utcnow
from bot.phones import mask_email, mask_phone
from bot.tickets.service import audit_trail, is_overdue, transcript


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def ticket_summary(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The queue line (the contract's JSON fields, plus an overdue flag)."""
    assignee = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    return {
        "ref": ticket.ref,
        "status": ticket.status,
        "category": ticket.category,
        "lang": ticket.lang,
        "channel": ticket.channel,
        "created_at": ticket.created_at.isoformat(),
        "assignee": assignee.name if assignee else None,
        "sla_due": ticket.sla_due_at.isoformat(),
        "overdue": is_overdue(ticket, utcnow()),
    }


def user_label(session: Session, ticket: Ticket) -> str:
    """Who wrote, as much as staff need: the employee's name and masked contacts, or the masked channel id."""
    conversation = session.get(Conversation, ticket.conversation_id)
    employee = session.get(Employee, ticket.employee_id) if ticket.employee_id else None
    if employee is not None:
        parts = [employee.name, mask_phone(employee.phone or "")]
        if employee.email:
            parts.append(mask_email(employee.email))
        parts.extend(value for value in (employee.designation, employee.department, employee.district) if value)
        return ", ".join(parts)
    if conversation is not None and conversation.verified_phone:
        return f"unlisted number {mask_phone(conversation.verified_phone)}"
    return f"unverified {ticket.channel} user"


def ticket_detail(session: Session, ticket: Ticket) -> dict[str, Any]:
    staff_names = {staff.id: staff.name for staff in session.query(Staff).all()}
    return {
        **ticket_summary(session, ticket),
        "user": user_label(session, ticket),
        "reason": ticket.reason,
        "priority": ticket.priority,
        "rating": ticket.rating,
        "created_at": _stamp(ticket.created_at),
        "sla_due": _stamp(ticket.sla_due_at),
        "transcript": [
            {
                "at": _stamp(line.created_at),
                "author": staff_names.get(line.staff_id, line.author)
                if line.author in ("staff", "note")
                else line.author,
                "kind": line.author,
                "text": mask_pii(line.text) if line.author != "bot" else line.text,
                "attachment_kind": line.attachment_kind,
                "attachment_ref": line.attachment_ref,
            }
            for line in transcript(session, ticket=ticket)
        ],
        "audit": [
            {"at": _stamp(event.created_at), "actor": event.actor, "action": event.action, "detail": event.detail}
            for event in audit_trail(session, ticket=ticket)
        ],
    }
