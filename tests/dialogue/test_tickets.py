"""The whole life of a ticket through the engine: open, claim, reply, the user sees it, resolve, rating."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.brain import Brain
from bot.channels.console import ConsoleChat
from bot.dialogue import Engine
from bot.messages import Attachment, Incoming
from bot.models import Conversation, Employee, OutboxMessage, Ticket, TicketEvent, TicketMessage
from bot.receipts import forget_replies
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name
from bot.understanding.matcher import Calibration, Matcher

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
        "more": "it shows an error when i open it",
        "added": "Added to your request HD-000001",
        "reply_frame": "Helpdesk reply to HD-000001:\nYour certificate is generated now.",
        "rating": "Your helpdesk request HD-000001 has been marked resolved",
        "stars": "4 - Very good",
        "thanks": "Thank you for your rating!",
    },
    "hi": {
        "ask": "kisi insaan se baat karao",
        "opened": "आपका सवाल हेल्पडेस्क को भेज दिया गया है। आपका टिकट नंबर HD-000001 है।",
        "more": "kholte hi error dikhata hai",
        "added": "आपकी बात टिकट HD-000001 में जोड़ दी गई है।",
        "reply_frame": "HD-000001 पर हेल्पडेस्क का जवाब:\nYour certificate is generated now.",
        "rating": "आपका हेल्पडेस्क टिकट HD-000001 हल कर दिया गया है।",
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


UNCLEAR = {
    "en": ("how do i download my certificate", "my thing is broken since monday", "the other thing too"),
    "hi": ("certificate kaise download kare", "कल से मेरा वो काम नहीं चल रहा", "और दूसरा भी"),
}


@pytest.mark.parametrize("lang", UNCLEAR)
def test_a_ticket_opened_for_not_understanding_carries_the_users_words_not_the_last_topic(engine, db_engine, lang):
    answered, first, second = UNCLEAR[lang]
    say(engine, answered)  # answered: the conversation's last topic is certificate.download
    say(engine, first)
    assert "HD-000001" in say(engine, second)
    with Session(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert (ticket.category, ticket.reason) == ("unclassified", "not_understood")
        lines = session.exec(select(TicketMessage).where(TicketMessage.author == "user").order_by(TicketMessage.id))
        assert [line.text for line in lines] == [first, second]  # the subject is the user's own words


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_the_bots_guess_is_a_note_for_staff_never_the_category(brain, db_engine, settings, lang):
    # A matcher that is never sure: every message abstains, with its best candidates as guesses.
    doubtful = Brain(brain.knowledge, Matcher(brain.knowledge, Calibration(threshold=1.01)), brain.texts)
    engine = Engine(brain=doubtful, db=db_engine, settings=settings)
    question = {"en": "otp not coming", "hi": "ओटीपी नहीं आ रहा"}[lang]
    say(engine, question)
    say(engine, question)
    with Session(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        note = session.exec(select(TicketMessage).where(TicketMessage.author == "note")).one()
    assert ticket.category == "unclassified"
    assert note.text == "Not understood. The bot's unconfirmed guess: OTP not received (registration.otp_not_received)."


TICKET_MODE = {
    "en": ("talk to a person", "otp not coming", "Check that you entered the same mobile number",
           "I have also added your message to your ticket HD-000001.", "the screen shows error 500",
           "Added to your request HD-000001"),
    "hi": ("kisi insaan se baat karao", "otp nahi aa raha", "ओटीपी नहीं आ रहा तो ये करके देखें",
           "आपकी यह बात आपके टिकट HD-000001 में भी जोड़ दी गई है।", "screen pe error 500 aata hai",
           "आपकी बात टिकट HD-000001 में जोड़ दी गई है।"),
}  # fmt: skip


@pytest.mark.parametrize("lang", TICKET_MODE)
def test_an_open_ticket_still_gets_faq_answers_and_keeps_everything(engine, db_engine, lang):
    ask, question, answer, also_added, detail, added = TICKET_MODE[lang]
    assert "HD-000001" in say(engine, ask)
    shown = say(engine, question)
    assert answer in shown and also_added in shown
    assert {"en": "is already with the helpdesk", "hi": "पहले से हेल्पडेस्क के पास है"}[lang] in say(
        engine, {"en": "no", "hi": "nahi"}[lang]
    )  # "Did this help?" - no: the ticket they have is the way on
    assert added in say(engine, detail)  # not a question the FAQ answers: to the ticket only
    with Session(db_engine) as session:
        lines = session.exec(select(TicketMessage).order_by(TicketMessage.id)).all()
        kinds = [(line.author, line.text) for line in lines][-3:]
    assert kinds == [
        ("user", question),
        ("note", "The bot answered this from the FAQ: OTP not received (registration.otp_not_received)."),
        ("user", detail),
    ]


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


def test_a_ticket_carries_the_taps_and_times_of_the_turns_before_it(engine, db_engine):
    say(engine, "certificate nahi aaya")
    say(engine, choice="no")  # a tap on Telegram
    say(engine, "1")  # "Talk to a person", typed as its number (WhatsApp, console)
    with Session(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        lines = session.exec(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert all(line.before_ticket for line in lines)
    assert [(line.author, line.choice, line.text) for line in lines if line.author == "user"] == [
        ("user", None, "certificate nahi aaya"),
        ("user", "no", "नहीं"),
        ("user", "escalate", "हेल्पडेस्क से बात करें"),
    ]
    assert all(line.created_at <= ticket.created_at for line in lines)
    assert ticket.reason == "not_helped"
