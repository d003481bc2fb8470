"""How each staff reply is getting to its user, as staff see it, and what they can do about one that is not.

A staff reply's outbox message (`OutboxMessage.ticket_message_id`) carries its state: queued, held
(WhatsApp's 24-hour window is closed and the user has not written back), sent, delivered, read or
failed with the provider's reason. A ticket whose latest reply failed, or has been held for long, is
"not delivered" in the queue. "Try again" queues a failed reply once more; on WhatsApp "send as
template" sends a held or failed reply inside an approved template, which may go outside the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.states import FAILED, HELD, QUEUED, as_shown
from bot.logs import mask_pii
from bot.models import OutboxMessage, Staff, Ticket, TicketEvent, saved_id, utcnow
from bot.tickets.service import TicketError, get_ticket

# Held this long, a reply will probably not be read in time: the user has not written back, and staff
# should try another way (a template, a phone call) rather than wait for the SLA to run out.
LONG_HELD = timedelta(hours=2)
STAFF_REPLY = "staff_reply"


@dataclass(frozen=True)
class Delivery:
    """One staff reply's way to the user."""

    outbox_id: int
    state: str  # as the contract names it: queued, held, sent, delivered, read or failed
    error: str | None  # why it failed (masked: a provider's reason may quote the number)
    queued_at: datetime
    as_template: bool

    def stuck(self, now: datetime) -> bool:
        """Failed, or held for long: staff should act."""
        return self.state == FAILED or (self.state == HELD and now - self.queued_at >= LONG_HELD)


def _delivery(message: OutboxMessage) -> Delivery:
    state = as_shown(message.state)
    error = mask_pii(message.last_error or "failed") if state == FAILED else None
    return Delivery(saved_id(message), state, error, message.created_at, message.template is not None)


def deliveries(session: Session, ticket: Ticket) -> dict[int, Delivery]:
    """The delivery of each staff reply on the ticket, by its transcript line's id."""
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == STAFF_REPLY)
        .order_by(col(OutboxMessage.id))
    )
    return {row.ticket_message_id: _delivery(row) for row in rows if row.ticket_message_id is not None}


def undelivered(session: Session, ticket_ids: Iterable[int], now: datetime | None = None) -> set[int]:
    """Those of the tickets whose latest staff reply failed or has been held for long."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    now = now or utcnow()
    latest: dict[int, OutboxMessage] = {}
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.ticket_id).in_(ids), OutboxMessage.kind == STAFF_REPLY)
        .order_by(col(OutboxMessage.id))
    )
    for row in rows:
        latest[row.ticket_id or 0] = row
    return {ticket_id for ticket_id, row in latest.items() if _delivery(row).stuck(now)}


def reply_template(templates: Mapping[str, str], lang: str, default_language: str) -> str | None:
    """The approved WhatsApp template carrying a staff reply, in the user's language, else the default."""
    return templates.get(lang) or templates.get(default_language)


def try_again(session: Session, *, ref: str, staff: Staff, outbox_id: int) -> Ticket:
    """Queue a failed reply once more, as if new (its retries start over)."""
    ticket = get_ticket(session, ref=ref)
    _requeue(session, ticket, outbox_id, (FAILED,), {})
    _audit(session, ticket, staff, "retried delivery")
    return ticket


def send_as_template(session: Session, *, ref: str, staff: Staff, outbox_id: int, template_sid: str) -> Ticket:
    """Queue a held or failed WhatsApp reply inside the approved template `template_sid` ({{1}} the ticket
    reference, {{2}} the reply): it goes even though the user has not written within 24 hours."""
    ticket = get_ticket(session, ref=ref)
    if ticket.channel != "whatsapp":
        raise TicketError(f"{ticket.ref} is on {ticket.channel}: only WhatsApp replies go as a template")
    message = session.get(OutboxMessage, outbox_id)
    text = message.text if message is not None else ""
    template = {"sid": template_sid, "variables": {"1": ticket.ref or "", "2": text}}
    _requeue(session, ticket, outbox_id, (FAILED, HELD), {"template": template})
    _audit(session, ticket, staff, "sent as template")
    return ticket


def _requeue(
    session: Session, ticket: Ticket, outbox_id: int, states: tuple[str, ...], extra: dict[str, object]
) -> None:
    """One conditional UPDATE: of two staff pressing the button at once, one re-queues, the other is told."""
    changed = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == outbox_id,
            col(OutboxMessage.ticket_id) == ticket.id,
            col(OutboxMessage.kind) == STAFF_REPLY,
            col(OutboxMessage.state).in_(states),
        )
        .values(
            state=QUEUED, attempts=0, next_attempt_at=None, last_error=None, failed_at=None, sent_at=None,
            lease_owner=None, lease_until=None, created_at=utcnow(), **extra,
        )
    ).rowcount  # fmt: skip
    if changed != 1:
        raise TicketError(f"that reply on {ticket.ref} is no longer {' or '.join(states)}: reload the page")
    ticket.updated_at = utcnow()


def _audit(session: Session, ticket: Ticket, staff: Staff, action: str) -> None:
    session.add(TicketEvent(ticket_id=saved_id(ticket), actor=staff.name, action=action))
