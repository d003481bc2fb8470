"""The ticket page: the conversation (earlier turns folded, taps shown, newest last, the reply box right
after it), masking, staff actions, canned answers without JavaScript, and resolving honestly."""

from __future__ import annotations

import re

from markupsafe import escape
from sqlmodel import select

from bot.db import session_scope
from bot.messages import Incoming
from bot.models import CannedAnswer, OutboxMessage, Ticket, TicketEvent, TicketMessage
from bot.tickets import service
from tests.web.console.helpers import act, csrf_of, reply_reaches_user, staff_client, staff_id

# --- what the page shows ---------------------------------------------------------------------------


def test_ticket_page_shows_the_conversation_with_contacts_masked(app, db_engine, user_ticket):
    page = staff_client(app).get(f"/staff/tickets/{user_ticket}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = page.text
    assert "Sunita Sahu, +91******0001, s***@cg.gov.in, ASHA, Raipur" in text
    assert "mera email s***@cg.gov.in aur number ******0001 hai" in text
    for unmasked in ("9876500001", "98765 00001", "sunita.sahu@"):
        assert unmasked not in text
    with session_scope(db_engine) as session:
        bot_line = session.exec(select(TicketMessage).where(TicketMessage.author == "bot")).first()
    assert re.search("[\u0900-\u097f]", bot_line.text)  # Hindi reaches the page intact
    assert escape(bot_line.text) in text
    assert "kisi insaan se baat karao" in text
    assert "created (asked)" in text  # the audit trail


def test_unknown_ticket_is_not_found(app):
    assert staff_client(app).get("/staff/tickets/HD-999999").status_code == 404


def test_earlier_turns_are_folded_and_the_reply_box_follows_the_newest_line(app, engine, user_ticket):
    phone = "+919876500001"
    engine.handle(Incoming(channel="console", user_key=phone, text="course ka naam POSH hai", verified_phone=phone))
    page = staff_client(app).get(f"/staff/tickets/{user_ticket}").text
    earlier = page.split('<details class="earlier">', 1)[1].split("</details>", 1)[0]
    assert "Before the ticket opened: 3 messages" in earlier  # the user, the bot, the user asking for a person
    assert "kisi insaan se baat karao" in earlier and "course ka naam POSH hai" not in earlier
    since = page.split('<ol class="transcript since">', 1)[1].split("</ol>", 1)[0]
    assert "course ka naam POSH hai" in since
    # Phone-first order: the conversation, then the reply box, then the note; the audit trail last.
    order = [page.index(marker) for marker in ("course ka naam POSH hai", 'name="reply"', 'name="note"', "Audit trail")]
    assert order == sorted(order)


def test_taps_are_shown_as_the_user_saw_them(app, engine):
    phone = "+919876500003"
    for incoming in (
        Incoming(channel="console", user_key=phone, text="certificate download nahi ho raha"),
        Incoming(channel="console", user_key=phone, choice="no"),
        Incoming(channel="console", user_key=phone, text="1"),  # "Talk to a person", typed as its number
    ):
        engine.handle(incoming)
    page = staff_client(app).get("/staff/tickets/HD-000001").text
    taps = re.findall(r'<li class="line user tap">.*?<p class="text"[^>]*>(.*?)</p>', page, re.S)
    assert taps == ["नहीं", "हेल्पडेस्क से बात करें"]
    assert "User tapped" in page


# --- staff actions --------------------------------------------------------------------------------


def test_claim_reply_note_resolve_change_the_ticket(app, engine, db_engine, user_ticket):
    desk1 = staff_client(app)

    response = act(desk1, user_ticket, "claim")
    assert (response.status_code, response.headers["location"]) == (303, f"/staff/tickets/{user_ticket}")
    assert f"You claimed {user_ticket}." in desk1.get(response.headers["location"]).text

    reply = 'आपका सर्टिफिकेट अब बन गया है। Please check "My Learning" <Completed>.'
    response = act(desk1, user_ticket, "reply", reply=reply)
    page = desk1.get(response.headers["location"]).text
    assert f"Reply to {user_ticket} queued for the user on their channel." in page
    assert escape(reply) in page

    act(desk1, user_ticket, "note", note="Asked the MDO admin to regenerate it.")
    page = desk1.get(f"/staff/tickets/{user_ticket}").text
    assert "Internal note · desk1 · not shown to the user" in page
    assert "Asked the MDO admin to regenerate it." in page

    reply_reaches_user(engine)
    response = act(desk1, user_ticket, "resolve")
    page = desk1.get(response.headers["location"]).text
    assert f"{user_ticket} resolved; the user is asked for a rating." in page
    assert 'name="reply"' not in page and ">Resolve<" not in page  # nothing left to do but notes

    with session_scope(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status == "resolved"
        assert ticket.assignee_id == staff_id(db_engine, "desk1")
        lines = [(line.author, line.text) for line in service.transcript(session, ticket=ticket)]
        assert ("staff", reply) in lines
        assert ("note", "Asked the MDO admin to regenerate it.") in lines
        outbox = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(message.kind, message.text, message.conversation_id) for message in outbox] == [
            ("staff_reply", reply, ticket.conversation_id),
            ("rating_request", "", ticket.conversation_id),
        ]
        events = session.exec(select(TicketEvent).order_by(TicketEvent.id)).all()
        assert [(event.actor, event.action) for event in events] == [
            ("user", "created"),
            ("desk1", "claimed"),
            ("desk1", "replied"),
            ("desk1", "noted"),
            ("desk1", "resolved"),
        ]


def test_a_second_staff_member_cannot_claim_a_claimed_ticket(app, db_engine, user_ticket):
    assert act(staff_client(app, "desk1"), user_ticket, "claim").status_code == 303
    response = act(staff_client(app, "desk2"), user_ticket, "claim")
    assert response.status_code == 422
    assert f"{user_ticket} is already claimed by desk1" in response.text
    with session_scope(db_engine) as session:
        assert session.exec(select(Ticket)).one().assignee_id == staff_id(db_engine, "desk1")
        assert session.exec(select(TicketEvent).where(TicketEvent.actor == "desk2")).all() == []


def test_failed_actions_show_why_and_keep_the_typed_text(app, db_engine, user_ticket):
    desk1 = staff_client(app)
    response = act(desk1, user_ticket, "reply", reply="   ")
    assert response.status_code == 422
    assert "the reply is empty" in response.text

    act(desk1, user_ticket, "resolve", reason="duplicate")
    token = csrf_of(desk1.get(f"/staff/tickets/{user_ticket}").text)
    late = "Sorry for the delay — <b>fixed</b>"
    response = desk1.post(f"/staff/tickets/{user_ticket}/reply", data={"csrf_token": token, "reply": late})
    assert response.status_code == 422
    assert f"{user_ticket} is already resolved" in response.text
    assert "Your reply was not sent:" in response.text and escape(late) in response.text
    with session_scope(db_engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.kind == "staff_reply")).all() == []


def test_unknown_action_is_not_found(app, user_ticket):
    assert act(staff_client(app), user_ticket, "delete").status_code == 404


# --- resolving honestly -----------------------------------------------------------------------------


def test_resolving_needs_a_reply_that_reached_the_user_or_a_reason(app, engine, db_engine, user_ticket):
    desk1 = staff_client(app)
    response = act(desk1, user_ticket, "resolve")
    assert response.status_code == 422
    assert f"{user_ticket} has no reply that reached the user yet" in response.text

    act(desk1, user_ticket, "reply", reply="Please send a screenshot of the error.")
    response = act(desk1, user_ticket, "resolve")  # queued is not reached
    assert response.status_code == 422 and "no reply that reached the user yet" in response.text
    with session_scope(db_engine) as session:
        assert session.exec(select(Ticket)).one().status == "waiting_for_user"

    response = act(desk1, user_ticket, "resolve", reason="user_unreachable")
    page = desk1.get(response.headers["location"]).text
    assert f"{user_ticket} resolved (user unreachable); no rating is asked." in page
    assert "resolved (user unreachable)" in page  # the audit trail says why
    with session_scope(db_engine) as session:
        kinds = [message.kind for message in session.exec(select(OutboxMessage))]
    assert kinds == ["staff_reply"]  # nobody is asked to rate help they did not get


def test_an_unknown_reason_is_refused(app, user_ticket):
    response = act(staff_client(app), user_ticket, "resolve", reason="bored")
    assert response.status_code == 422 and escape("no reason 'bored'") in response.text


# --- canned answers on the ticket page ---------------------------------------------------------------


def add_canned(db_engine) -> int:
    with session_scope(db_engine) as session:
        answer = CannedAnswer(title="Certificate regenerated", text_en="Your certificate is ready now.",
                              text_hi="आपका सर्टिफिकेट अब तैयार है।", updated_by="desk2")  # fmt: skip
        session.add(answer)
        session.flush()
        return answer.id


def test_a_canned_answer_goes_into_the_reply_box_in_the_users_language_without_javascript(app, db_engine, user_ticket):
    canned_id = add_canned(db_engine)
    desk1 = staff_client(app)
    page = desk1.get(f"/staff/tickets/{user_ticket}").text
    assert 'data-text="आपका सर्टिफिकेट अब तैयार है।"' in page  # the Hindi user gets the Hindi text
    assert "Your certificate is ready now." not in page

    token = csrf_of(page)
    fields = {"csrf_token": token, "reply": "नमस्ते,", "canned": str(canned_id)}
    response = desk1.post(f"/staff/tickets/{user_ticket}/insert", data=fields)
    assert response.status_code == 200
    box = re.search(r'<textarea id="reply"[^>]*>(.*?)</textarea>', response.text, re.S).group(1)
    assert box == "नमस्ते,\n\nआपका सर्टिफिकेट अब तैयार है।"
    with session_scope(db_engine) as session:  # inserting sends nothing
        assert session.exec(select(OutboxMessage)).all() == []

    with session_scope(db_engine) as session:
        session.exec(select(Ticket)).one().lang = "en"
    response = desk1.post(f"/staff/tickets/{user_ticket}/insert", data={**fields, "reply": ""})
    assert "Your certificate is ready now.</textarea>" in response.text

    response = desk1.post(f"/staff/tickets/{user_ticket}/insert", data={**fields, "canned": "999"})
    assert response.status_code == 422 and "Choose a canned answer first" in response.text
