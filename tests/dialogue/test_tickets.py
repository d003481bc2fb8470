"""The whole life of a ticket through the engine: open, claim, reply, the user sees it, resolve, rating."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.dialogue import Engine
from bot.messages import Attachment, Incoming
from bot.models import Conversation, Employee, OutboxMessage, Ticket, TicketEvent, TicketMessage
from bot.receipts import forget_replies
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name

PHONE = "+919876500002"


def say(engine: Engine, text: str = "", *, user: str = PHONE, choice: str | None = None, attachments=()) -> str:
    replies = engine.handle(
        Incoming(
            channel="console", user_key=user, text=text, choice=choice, verified_phone=user, attachments=attachments
        )
    )
    return "\n".join(
        [reply.text for reply in replies] + [option.label for reply in replies for option in reply.options]
    )


def staff(db_engine, name: str = "desk1") -> str:
    with Session(db_engine) as session:
        add_staff(session, name=name, password="correct horse battery")
        session.commit()
    return name


def act(db_engine, action, ref: str, name: str, **values):
    with Session(db_engine) as session:
        action(session, ref=ref, staff=staff_by_name(session, name=name), **values)
        session.commit()


LIFE = {
    "en": {
        "ask": "I want to talk to a person",
        "opened": "I have passed your question to the helpdesk. Your reference is HD-000001",
        "more": "my certificate is not generated for 5 days",
        "added": "Added to your request HD-000001",
        "reply_frame": "Helpdesk reply to HD-000001:\nYour certificate is generated now.",
        "rating": "Your helpdesk request HD-000001 has been marked resolved",
        "stars": "4 - Very good",
        "thanks": "Thank you for your rating!",
    },
    "hi": {
        "ask": "kisi insaan se baat karao",
        "opened": "आपका सवाल हेल्पडेस्क को भेज दिया गया है। आपका संदर्भ नंबर HD-000001 है।",
        "more": "mera certificate 5 din se nahi bana",
        "added": "आपकी बात अनुरोध HD-000001 में जोड़ दी गई है।",
        "reply_frame": "HD-000001 पर हेल्पडेस्क का जवाब:\nYour certificate is generated now.",
        "rating": "आपका हेल्पडेस्क अनुरोध HD-000001 हल कर दिया गया है।",
        "stars": "4 - बहुत अच्छा",
        "thanks": "रेटिंग देने के लिए धन्यवाद!",
    },
}


@pytest.mark.parametrize("lang", LIFE)
def test_the_whole_life_of_a_ticket(engine, db_engine, lang):
    words = LIFE[lang]
    with Session(db_engine) as session:
        session.add(Employee(name="Ramesh Yadav", phone=PHONE, email="ramesh@up.gov.in"))
        session.commit()
    say(engine, "certificate nahi aaya" if lang == "hi" else "certificate not received")
    assert words["opened"] in say(engine, words["ask"])
    assert words["added"] in say(engine, words["more"])
    screenshot = Attachment(kind="photo", ref="AgACAgUAAxkBAAIB")
    assert words["added"] in say(engine, attachments=(screenshot,))

    desk1 = staff(db_engine)
    act(db_engine, service.claim, "HD-000001", desk1)
    act(db_engine, service.reply, "HD-000001", desk1, text="Your certificate is generated now.")
    delivered = ConsoleChat(engine, phone=PHONE).queued()
    assert words["reply_frame"] in delivered[0].text
    assert ConsoleChat(engine, phone=PHONE).queued() == []  # delivered once

    act(db_engine, service.resolve, "HD-000001", desk1)
    rating = ConsoleChat(engine, phone=PHONE).queued()[0]
    assert words["rating"] in rating.text and rating.options[3].label == words["stars"]
    assert words["thanks"] in say(engine, "4")

    with Session(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert (ticket.status, ticket.rating, ticket.lang) == ("closed", 4, lang)
        assert ticket.category == "certificate.not_generated" and ticket.employee_id is not None
        lines = session.exec(select(TicketMessage).order_by(TicketMessage.id)).all()
        assert [line.author for line in lines][-4:] == ["user", "user", "user", "staff"]
        assert lines[-2].attachment_ref == "AgACAgUAAxkBAAIB"
        actions = [(event.actor, event.action) for event in session.exec(select(TicketEvent).order_by(TicketEvent.id))]
        assert actions == [
            ("user", "created"),
            ("desk1", "claimed"),
            ("desk1", "replied"),
            ("desk1", "resolved"),
            ("user", "rated"),
        ]


def test_one_open_ticket_at_a_time_and_menu_leaves_ticket_mode(engine, db_engine):
    say(engine, "talk to a person")
    assert "Added to your request HD-000001" in say(engine, "talk to a person")  # in ticket mode
    assert "Type your question in your own words" in say(engine, "menu")
    assert "Forgot password" in say(engine, "reset password")  # the FAQ answers again
    assert "already with the helpdesk" in say(engine, "talk to a person")
    with Session(db_engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1


def test_two_messages_not_understood_open_a_ticket(engine, db_engine):
    assert "Sorry, I did not understand" in say(engine, "xqzt blorf wibble")
    shown = say(engine, "wibble blorf again xqzt")
    assert "I could not understand that twice" in shown and "HD-000001" in shown
    with Session(db_engine) as session:
        assert session.exec(select(Ticket.reason)).one() == "not_understood"


def test_no_after_an_answer_then_yes_opens_a_ticket(engine, db_engine):
    say(engine, "otp not received")
    assert "Would you like to ask a helpdesk person?" in say(engine, "no")
    assert "HD-000001" in say(engine, "yes")
    with Session(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert (ticket.reason, ticket.category) == ("not_helped", "registration.otp_not_received")
        transcript = [line.text for line in session.exec(select(TicketMessage).order_by(TicketMessage.id))]
        assert transcript[0] == "otp not received"  # the conversation before escalation travels along


def test_ticket_status_shows_only_the_users_own_tickets(engine, db_engine):
    say(engine, "talk to a person", user="+919876500011")
    say(engine, "talk to a person", user="+919876500012")
    shown = say(engine, "menu", user="+919876500012") and say(
        engine, "what happened to my complaint", user="+919876500012"
    )
    assert "HD-000002 — waiting for a helpdesk person" in shown and "HD-000001" not in shown
    assert "You have no helpdesk requests" in say(engine, "ticket status", user="+919876500013")


def test_sla_per_category_is_promised(brain, db_engine, settings):
    settings.ticket_sla_hours_by_category = {"certificate": 48}
    engine = Engine(brain=brain, db=db_engine, settings=settings)
    say(engine, "certificate not received")
    assert "usually within 48 hours" in say(engine, "talk to a person")


def test_an_attachment_without_a_ticket_gets_a_polite_explanation(engine):
    shown = say(engine, attachments=(Attachment(kind="voice", ref="voice-1"),))
    assert "मैं फ़ोटो, वॉइस मैसेज या फ़ाइल नहीं पढ़ सकता" in shown


def test_the_same_delivery_twice_is_handled_once(engine, db_engine):
    incoming = Incoming(channel="whatsapp", user_key=PHONE, text="talk to a person", external_id="SM123")
    first = engine.handle(incoming)
    assert first and "HD-000001" in first[0].text
    assert engine.handle(incoming) == first  # the retry gets the same reply: no second ticket
    forget_replies(db_engine, ("whatsapp", "SM123"))  # the channel confirmed the reply went out
    assert engine.handle(incoming) == []
    with Session(db_engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        assert session.exec(select(Conversation)).one().recent[0]["text"] == "talk to a person"
        assert session.exec(select(OutboxMessage)).all() == []


def test_stop_opts_out_of_reminders_even_while_a_ticket_is_open(engine, db_engine):
    say(engine, "talk to a person")
    assert "will not get course reminders" in say(engine, "STOP")
    with Session(db_engine) as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.reminders_opted_out and conversation.active_ticket_id is not None
