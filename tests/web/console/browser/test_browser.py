"""The staff console in a real headless browser: Debian's Chromium, driven by Playwright, at phone size
(412×900) and desktop size (1366×900). Screenshots are kept in test-artifacts/console/ (or the folder
in TEST_ARTIFACTS_DIR)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.channels.console import ConsoleChat
from bot.db import session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import CannedAnswer, Employee, OutboxMessage, StaffEvent, Ticket, TicketEvent, TicketMessage, utcnow
from bot.tickets.staff import add_staff
from tests.web.console.browser.pages import (
    PASSWORD,
    PHONE,
    SIZES,
    devanagari_font_loaded,
    fits_the_screen,
    log_in,
    open_page,
    submit,
)

USER = "+919876500002"
REPLY = "आपका सर्टिफिकेट बन गया है। Please open My Learning > Completed."
NOTE = "Asked the MDO admin to regenerate the certificate."
CANNED_EN = "Please log out, log in again and open My Learning > Completed."
CANNED_HI = "कृपया लॉग आउट करके दोबारा लॉग इन करें और My Learning > Completed खोलें।"


@pytest.fixture
def ticket_ref(dialogue: DialogueEngine, database: Engine) -> str:
    """A staff account, and a ticket a user opened by asking for a person in Hindi; its ref."""
    with session_scope(database) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    for text in ("certificate nahi mila", "kisi insaan se baat karao"):
        dialogue.handle(Incoming(channel="console", user_key=USER, text=text, verified_phone=USER))
    with session_scope(database) as session:
        return session.exec(select(Ticket)).one().ref


def test_staff_work_a_ticket_on_a_phone(browser, server, database, dialogue, ticket_ref, artifacts):
    with session_scope(database) as session:
        hindi_line = session.exec(select(TicketMessage).where(TicketMessage.author == "bot")).first().text
    problems: list[str] = []
    page = open_page(browser, PHONE, problems)
    log_in(page, server)

    expect(page.get_by_role("heading", name="Ticket queue")).to_be_visible()
    page.get_by_role("link", name=ticket_ref).click()

    expect(page.get_by_role("heading", name=ticket_ref)).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("unlisted number +91******0002")
    expect(page.locator(".line.bot .text").first).to_contain_text(hindi_line.split("\n")[0])
    expect(page.locator(".line.bot").first).to_be_hidden()  # the turns before the ticket are folded
    page.get_by_text("Before the ticket opened").click()
    expect(page.locator(".line.bot").first).to_be_visible()
    submit(page, "Claim", f"You claimed {ticket_ref}.")

    page.get_by_label("Reply to the user").fill(REPLY)
    submit(page, "Send reply", f"Reply to {ticket_ref} queued for the user on their channel.")
    expect(page.locator(".line.staff")).to_contain_text(REPLY)

    page.get_by_label("Internal note").fill(NOTE)
    submit(page, "Add note", f"Internal note added to {ticket_ref}.")
    expect(page.locator(".line.note")).to_contain_text("not shown to the user")

    page.get_by_role("button", name="Resolve", exact=True).click()  # the reply is only queued so far
    expect(page.get_by_role("alert")).to_contain_text(f"{ticket_ref} has no reply that reached the user yet")
    assert ConsoleChat(dialogue, phone=USER).queued()  # the user opens their chat and reads it
    page.goto(f"{server}/staff/tickets/{ticket_ref}")
    submit(page, "Resolve", f"{ticket_ref} resolved; the user is asked for a rating.")
    expect(page.get_by_role("heading", name=ticket_ref)).to_contain_text("resolved")
    expect(page.get_by_role("button", name="Claim")).to_have_count(0)

    assert fits_the_screen(page), "wider than a phone"
    assert page.evaluate("getComputedStyle(document.querySelector('.top')).display") == "flex"
    assert devanagari_font_loaded(page)
    page.screenshot(path=str(artifacts / "ticket-412x900.png"), full_page=True)

    page.get_by_role("link", name="Back to the queue").click()
    for status in ("Open", "Assigned", "Waiting for the user"):
        page.get_by_label(status, exact=True).uncheck()
    page.get_by_label("Resolved", exact=True).check()
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=ticket_ref)).to_be_visible()
    assert problems == []

    with session_scope(database) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status == "resolved"
        outbox = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(message.kind, message.text) for message in outbox] == [("staff_reply", REPLY), ("rating_request", "")]
        events = session.exec(select(TicketEvent).order_by(TicketEvent.id)).all()
        assert [(event.actor, event.action) for event in events][1:] == [
            ("desk1", "claimed"),
            ("desk1", "replied"),
            ("desk1", "noted"),
            ("desk1", "resolved"),
        ]


def busy_queue(dialogue: DialogueEngine, database: Engine) -> None:
    """desk1, and four users with tickets: two employees (one of them overdue), two unknown."""
    with session_scope(database) as session:
        add_staff(session, name="desk1", password=PASSWORD)
        session.add(Employee(name="Sunita Sahu", phone="+919876500001", designation="ASHA", district="Raipur"))
        session.add(Employee(name="Ramesh Yadav", phone="+919876500002", designation="Constable", district="Lucknow"))
    conversations = [
        ("+919876500001", ["certificate nahi mila", "no", "1"]),
        ("+919876500002", ["kisi insaan se baat karao", "मेरा प्रमाणपत्र पाँच दिन से नहीं बना, कोर्स POSH पूरा है"]),
        ("+919876500007", ["otp nahi aa raha", "no", "1"]),
        ("+919876500008", ["talk to a person", "My designation is wrong in my profile"]),
    ]
    for phone, texts in conversations:
        for text in texts:
            choice = text if text == "no" else None
            dialogue.handle(Incoming(channel="console", user_key=phone, text="" if choice else text, choice=choice,
                                     verified_phone=phone))  # fmt: skip
    with session_scope(database) as session:
        late = session.exec(select(Ticket).where(Ticket.ref == "HD-000001")).one()
        late.created_at, late.sla_due_at = utcnow() - timedelta(hours=30), utcnow() - timedelta(hours=6)


@pytest.mark.parametrize("size", SIZES)
def test_the_queue_at_phone_and_desktop_size(browser, server, database, dialogue, artifacts, size):
    busy_queue(dialogue, database)
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server)
    expect(page.get_by_role("heading", name="Ticket queue")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(4)
    first = rows.nth(0)
    expect(first).to_contain_text("Sunita Sahu")
    expect(first).to_contain_text("Raipur")
    expect(first).to_contain_text("certificate nahi mila")
    expect(first).to_contain_text("OVERDUE")
    expect(rows.nth(1)).to_contain_text("मेरा प्रमाणपत्र पाँच दिन से नहीं बना")  # the first words after "a person"
    expect(rows.nth(3)).to_contain_text("unlisted number +91******0008")
    expect(page.get_by_role("link", name="Queue")).to_have_attribute("aria-current", "page")
    assert fits_the_screen(page), f"the queue is wider than the {size} screen"
    assert devanagari_font_loaded(page)
    page.screenshot(path=str(artifacts / f"queue-{SIZES[size]['width']}x{SIZES[size]['height']}.png"), full_page=True)

    page.get_by_label("Reference or phone").fill("98765 00002")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Ramesh Yadav")
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_the_canned_answer_flow(browser, server, database, dialogue, ticket_ref, artifacts, size):
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server)
    page.get_by_role("link", name="Canned answers").click()
    page.get_by_label("Title").fill("Certificate after completion")
    page.get_by_label("English text").fill(CANNED_EN)
    page.get_by_label("Hindi text").fill(CANNED_HI)
    submit(page, "Save canned answer", "Canned answer 'Certificate after completion' saved.")
    expect(page.locator(".canned-list")).to_contain_text(CANNED_HI)

    page.get_by_role("link", name="Queue").click()
    page.get_by_role("link", name=ticket_ref).click()
    reply_box = page.get_by_label("Reply to the user")
    reply_box.fill("नमस्ते,")
    inserted: list[str] = []
    page.on("request", lambda request: inserted.append(request.url) if request.url.endswith("/insert") else None)
    page.get_by_label("Canned answer, in Hindi").select_option(label="Certificate after completion")
    page.get_by_role("button", name="Insert").click()
    expect(reply_box).to_have_value(f"नमस्ते,\n\n{CANNED_HI}")  # the Hindi user gets the Hindi text
    assert inserted == []  # done in the page, no round trip
    assert fits_the_screen(page), f"the ticket page is wider than the {size} screen"
    assert devanagari_font_loaded(page)
    page.screenshot(path=str(artifacts / f"canned-insert-{SIZES[size]['width']}x{SIZES[size]['height']}.png"),
                    full_page=True)  # fmt: skip
    submit(page, "Send reply", f"Reply to {ticket_ref} queued for the user on their channel.")
    expect(page.locator(".line.staff")).to_contain_text(CANNED_HI)

    page.get_by_role("link", name="Canned answers").click()
    page.get_by_role("link", name="Edit Certificate after completion").click()
    page.get_by_label("English text").fill(CANNED_EN + " Write to us if it is still missing.")
    submit(page, "Save changes", "Canned answer 'Certificate after completion' saved.")
    page.get_by_role("link", name="Edit Certificate after completion").click()
    submit(page, "Delete this canned answer", "Canned answer deleted (its texts stay in the history below).")
    expect(page.locator(".audit")).to_contain_text("desk1 deleted")
    page.screenshot(path=str(artifacts / f"canned-list-{SIZES[size]['width']}x{SIZES[size]['height']}.png"),
                    full_page=True)  # fmt: skip
    assert problems == []

    with session_scope(database) as session:
        assert session.exec(select(CannedAnswer)).all() == []
        actions = [event.action for event in session.exec(select(StaffEvent).order_by(StaffEvent.id))]
        assert actions[-3:] == ["canned.created", "canned.updated", "canned.deleted"]


def test_canned_answers_work_without_javascript(browser, server, database, ticket_ref, artifacts):
    with session_scope(database) as session:
        session.add(CannedAnswer(title="Certificate after completion", text_en=CANNED_EN, text_hi=CANNED_HI,
                                 updated_by="desk2"))  # fmt: skip
    problems: list[str] = []
    page = open_page(browser, PHONE, problems, java_script_enabled=False)
    log_in(page, server)
    page.goto(f"{server}/staff/tickets/{ticket_ref}")
    page.get_by_label("Reply to the user").fill("नमस्ते,")
    page.get_by_role("button", name="Insert").click()
    expect(page.get_by_label("Reply to the user")).to_have_value(f"नमस्ते,\n\n{CANNED_HI}")
    expect(page).to_have_url(f"{server}/staff/tickets/{ticket_ref}/insert")
    submit(page, "Send reply", f"Reply to {ticket_ref} queued for the user on their channel.")
    assert problems == []
