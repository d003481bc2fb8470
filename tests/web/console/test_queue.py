"""The queue page: filters, several statuses at once, search by reference or phone, paging, and lines
that say who wrote, from where, what, about which topic and how long is left."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from bot.db import session_scope
from bot.messages import Incoming
from bot.models import Conversation, Ticket, utcnow
from bot.tickets import service
from bot.tickets.staff import staff_by_name
from bot.web.console.queue import PAGE_SIZE
from tests.web.console.helpers import listed_refs, open_tickets, staff_client


def test_queue_filters(app, db_engine):
    refs = open_tickets(db_engine)
    desk1 = staff_client(app)

    def shown(query: str = "") -> set[str]:
        return listed_refs(desk1.get(f"/staff/tickets{query}").text)

    active = {refs["certificate_en"], refs["certificate_hi"], refs["otp_overdue"]}
    assert shown() == active
    assert shown("?status=all") == set(refs.values())
    assert shown("?status=resolved") == {refs["resolved"]}
    assert shown("?status=active&category=certificate") == {refs["certificate_en"], refs["certificate_hi"]}
    assert shown("?status=all&category=certificate.down") == {refs["certificate_en"]}
    assert shown("?status=all&lang=en") == {refs["certificate_en"], refs["resolved"]}
    assert shown("?status=active&lang=hi&category=registration") == {refs["otp_overdue"]}
    assert shown("?status=all&overdue=1") == {refs["otp_overdue"]}
    assert shown("?status=nonsense&lang=xx") == active  # unknown values fall back to the defaults

    page = desk1.get("/staff/?status=all").text
    assert page.count("OVERDUE") == 1
    assert "desk2" in page and "whatsapp" in page and "certificate.not_generated" in page


def test_several_statuses_at_once(app, db_engine):
    refs = open_tickets(db_engine)
    desk1 = staff_client(app)
    page = desk1.get("/staff/tickets?status=assigned&status=resolved").text
    assert listed_refs(page) == {refs["certificate_hi"], refs["resolved"]}
    checked = re.findall(r'name="status" value="(\w+)" checked', page)
    assert checked == ["assigned", "resolved"]  # the form shows what is filtered


def test_search_by_reference_number_or_phone(app, db_engine, user_ticket):
    refs = open_tickets(db_engine)
    desk1 = staff_client(app)

    def found(text: str) -> set[str]:
        return listed_refs(desk1.get("/staff/tickets", params={"q": text, "status": "all"}).text)

    assert found(refs["otp_overdue"].lower()) == {refs["otp_overdue"]}
    assert found(str(int(refs["certificate_en"].removeprefix("HD-")))) == {refs["certificate_en"]}
    for phone in ("98765 00001", "+91 98765-00001", "09876500001"):
        assert found(phone) == {user_ticket}, phone
    assert found("99999 99999") == set()


def test_lines_say_who_wrote_what_about_which_topic_and_how_long_is_left(app, db_engine, user_ticket):
    with session_scope(db_engine) as session:
        ticket = session.exec(select(Ticket)).one()
        ticket.category = "certificate.not_generated"
        ticket.created_at = utcnow() - timedelta(hours=5)
        ticket.sla_due_at = utcnow() + timedelta(hours=19, minutes=30)
    page = staff_client(app).get("/staff/").text
    row = page.split(f'href="/staff/tickets/{user_ticket}"', 1)[1].split("</tr>", 1)[0]
    assert "Sunita Sahu" in row and "Raipur" in row  # the name staff may see, and the district
    assert "9876500001" not in page and "sunita.sahu@" not in page  # contacts are not for the queue
    assert "kisi insaan se baat karao" in row  # the user's own words
    assert "Certificate not received" in row and "certificate.not_generated" in row  # readable, and its id
    assert "5 h" in row and "19 h left" in row


def test_topic_names_follow_the_staff_members_language(app, db_engine, user_ticket, brain):
    with session_scope(db_engine) as session:
        session.exec(select(Ticket)).one().category = "certificate.not_generated"
        staff_by_name(session, name="desk1").lang = "hi"
    hindi_title = brain.knowledge.title("certificate.not_generated", "hi")
    assert hindi_title in staff_client(app).get("/staff/").text
    with session_scope(db_engine) as session:
        session.exec(select(Ticket)).one().category = "general"
    assert "सामान्य सवाल" in staff_client(app).get("/staff/").text


def test_the_first_message_is_the_first_typed_after_the_ticket_opened(app, engine, db_engine, user_ticket):
    phone = "+919876500001"
    engine.handle(Incoming(channel="console", user_key=phone, text="mera certificate 5 din se nahi bana",
                           verified_phone=phone))  # fmt: skip
    page = staff_client(app).get("/staff/").text
    assert "mera certificate 5 din se nahi bana" in page and "kisi insaan se baat karao" not in page


def test_paging(app, db_engine):
    with session_scope(db_engine) as session:
        for number in range(PAGE_SIZE + 3):
            conversation = Conversation(channel="telegram", user_key=f"chat{number}", lang="en", recent=[])
            session.add(conversation)
            session.flush()
            service.open_ticket(session, conversation=conversation, employee_id=None, category="general",
                                reason="asked", sla=timedelta(hours=24), prefix="HD-")  # fmt: skip
    desk1 = staff_client(app)
    first = desk1.get("/staff/tickets?lang=en").text
    assert len(listed_refs(first)) == PAGE_SIZE and "HD-000001" in first
    assert f"{PAGE_SIZE + 3} tickets · page 1 of 2." in first
    next_link = re.search(r'href="(/staff/tickets\?[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "lang=en" in next_link and "page=2" in next_link  # the filters carry over
    second = desk1.get(next_link).text
    assert listed_refs(second) == {f"HD-{number:06d}" for number in range(PAGE_SIZE + 1, PAGE_SIZE + 4)}
    assert 'rel="prev"' in second and 'rel="next"' not in second
