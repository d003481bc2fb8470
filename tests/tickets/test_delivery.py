"""How each staff reply is getting to the user, as staff see it: states, reasons, "not delivered",
"try again" and "send as template", through the real outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.conversations import lock_conversations
from bot.delivery.items import Failed, Held, Sent
from bot.delivery.outbox import Outbox
from bot.delivery.retry import RetryPolicy
from bot.models import OutboxMessage, Ticket, TicketEvent, utcnow
from bot.tickets import delivery, service
from bot.tickets.presenting import ticket_detail
from bot.tickets.staff import add_staff, staff_by_name

REFUSED = "twilio 63024: invalid message recipient +919876500001"


def open_with_reply(db, channel: str = "whatsapp", user: str = "+919876500001") -> str:
    with Session(db) as session:
        if staff_by_name(session, name="desk1") is None:
            add_staff(session, name="desk1", password="correct horse battery")
        conversation = lock_conversations(session, [(channel, user)])[(channel, user)]
        conversation.recent = [{"from": "user", "text": "certificate nahi aaya"}]
        ticket = service.open_ticket(
            session, conversation=conversation, employee_id=None, category="certificate.not_generated",
            reason="asked", sla=timedelta(hours=24), prefix="HD-",
        )  # fmt: skip
        service.reply(session, ref=ticket.ref, staff=staff_by_name(session, name="desk1"), text="Dobara try karein.")
        session.commit()
        return ticket.ref


def provider_says(engine, channel: str, outcome) -> None:
    """A sender claims the channel's messages and records what the provider made of them."""
    outbox = Outbox(engine.db, engine.brain.texts, retry=RetryPolicy(jitter=0.0))
    items = outbox.claim(channel)
    assert items
    outbox.finish([(item, outcome) for item in items])


def reply_line(db, ref: str) -> dict:
    with Session(db) as session:
        detail = ticket_detail(session, service.get_ticket(session, ref=ref))
    (line,) = [item for item in detail["transcript"] if item["kind"] == "reply"]
    return line


def stuck_tickets(db, *, later: timedelta = timedelta(0)) -> set[str]:
    with Session(db) as session:
        tickets = {ticket.id: ticket.ref for ticket in session.exec(select(Ticket))}
        return {tickets[i] for i in delivery.undelivered(session, tickets, utcnow() + later)}


def test_a_reply_is_queued_then_sent_then_delivered(engine):
    ref = open_with_reply(engine.db)
    assert reply_line(engine.db, ref)["delivery"] == "queued" and "error" not in reply_line(engine.db, ref)
    provider_says(engine, "whatsapp", Sent("SM1"))
    assert reply_line(engine.db, ref)["delivery"] == "sent"
    Outbox(engine.db, engine.brain.texts).report("whatsapp", "SM1", "delivered")
    assert reply_line(engine.db, ref)["delivery"] == "delivered"
    assert stuck_tickets(engine.db, later=timedelta(days=3)) == set()


def test_a_failed_reply_says_why_masked_and_marks_the_ticket(engine):
    ref = open_with_reply(engine.db)
    provider_says(engine, "whatsapp", Failed(REFUSED, permanent=True))
    line = reply_line(engine.db, ref)
    assert line["delivery"] == "failed"
    assert line["error"] == "twilio 63024: invalid message recipient +91******0001"
    assert stuck_tickets(engine.db) == {ref}


def test_a_held_reply_marks_the_ticket_only_once_held_for_long(engine):
    ref = open_with_reply(engine.db)
    provider_says(engine, "whatsapp", Held())
    assert reply_line(engine.db, ref)["delivery"] == "held"
    assert stuck_tickets(engine.db) == set()
    assert stuck_tickets(engine.db, later=delivery.LONG_HELD) == {ref}


def test_a_later_reply_that_went_out_clears_the_mark(engine):
    ref = open_with_reply(engine.db)
    provider_says(engine, "whatsapp", Failed(REFUSED, permanent=True))
    with Session(engine.db) as session:
        service.reply(session, ref=ref, staff=staff_by_name(session, name="desk1"), text="Phir se likh raha hoon.")
        session.commit()
    provider_says(engine, "whatsapp", Sent("SM2"))
    assert stuck_tickets(engine.db) == set()


def outbox_id(db, ref: str) -> int:
    with Session(db) as session:
        ticket = service.get_ticket(session, ref=ref)
        return session.exec(select(OutboxMessage.id).where(OutboxMessage.ticket_id == ticket.id)).one()


def test_try_again_requeues_a_failed_reply_once(engine):
    ref = open_with_reply(engine.db)
    provider_says(engine, "whatsapp", Failed(REFUSED, permanent=True))
    message = outbox_id(engine.db, ref)
    with Session(engine.db) as session:
        delivery.try_again(session, ref=ref, staff=staff_by_name(session, name="desk1"), outbox_id=message)
        session.commit()
        with pytest.raises(service.TicketError, match="no longer failed"):
            delivery.try_again(session, ref=ref, staff=staff_by_name(session, name="desk1"), outbox_id=message)
        actions = session.exec(select(TicketEvent.action)).all()
    assert "retried delivery" in actions
    assert reply_line(engine.db, ref)["delivery"] == "queued" and stuck_tickets(engine.db) == set()
    provider_says(engine, "whatsapp", Sent("SM3"))  # a sender takes it again at once
    assert reply_line(engine.db, ref)["delivery"] == "sent"


def test_a_queued_or_sent_reply_cannot_be_tried_again(engine):
    ref = open_with_reply(engine.db)
    with Session(engine.db) as session, pytest.raises(service.TicketError, match="no longer failed"):
        delivery.try_again(
            session, ref=ref, staff=staff_by_name(session, name="desk1"), outbox_id=outbox_id(engine.db, ref)
        )


def test_a_held_whatsapp_reply_goes_as_the_reply_template(engine):
    ref = open_with_reply(engine.db)
    provider_says(engine, "whatsapp", Held())
    with Session(engine.db) as session:
        delivery.send_as_template(
            session, ref=ref, staff=staff_by_name(session, name="desk1"), outbox_id=outbox_id(engine.db, ref),
            template_sid="HXreply",
        )  # fmt: skip
        session.commit()
    outbox = Outbox(engine.db, engine.brain.texts)
    (item,) = outbox.claim("whatsapp")
    assert item.template == {"sid": "HXreply", "variables": {"1": ref, "2": "Dobara try karein."}}


def test_only_whatsapp_replies_go_as_templates(engine):
    ref = open_with_reply(engine.db, channel="telegram", user="4242")
    provider_says(engine, "telegram", Failed("telegram: Forbidden: bot was blocked by the user", permanent=True))
    with Session(engine.db) as session, pytest.raises(service.TicketError, match="only WhatsApp"):
        delivery.send_as_template(
            session, ref=ref, staff=staff_by_name(session, name="desk1"), outbox_id=outbox_id(engine.db, ref),
            template_sid="HXreply",
        )  # fmt: skip


def test_the_reply_template_is_the_users_language_else_the_default():
    templates = {"en": "HXen", "hi": "HXhi"}
    assert delivery.reply_template(templates, "en", "hi") == "HXen"
    assert delivery.reply_template({"hi": "HXhi"}, "en", "hi") == "HXhi"
    assert delivery.reply_template({}, "en", "hi") is None
