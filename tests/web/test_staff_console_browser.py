"""The staff console in a real headless browser: Debian's Chromium, driven by Playwright, on a phone screen."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import db
from bot.brain import Brain
from bot.config import Settings
from bot.db import session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import OutboxMessage, Ticket, TicketEvent, TicketMessage
from bot.tickets.staff import add_staff
from bot.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
# Debian's own Chromium, never a browser Playwright downloads; quiet and offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE_SCREEN = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"
USER = "+919876500002"
REPLY = "आपका सर्टिफिकेट बन गया है। Please open My Learning > Completed."
NOTE = "Asked the MDO admin to regenerate the certificate."


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium: a skip without it, but a failure under CI, which installs it."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary folder."""
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    db.upgrade(url)
    engine = db.create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_language="hi", staff_session_secret="a-browser-test-secret")


@pytest.fixture
def server(database: Engine, settings: Settings) -> Iterator[str]:
    """The web app served by uvicorn in a background thread on a free localhost port; its base URL."""
    # Binding the socket here (port 0: the system picks a free one) leaves no race for the port.
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(create_app(settings=settings, db=database), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    listening.close()


@pytest.fixture
def ticket_ref(brain: Brain, database: Engine, settings: Settings) -> str:
    """A staff account, and a ticket a user opened by asking for a person in Hindi; its ref."""
    with session_scope(database) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    engine = DialogueEngine(brain=brain, db=database, settings=settings)
    for text in ("certificate nahi mila", "kisi insaan se baat karao"):
        engine.handle(Incoming(channel="console", user_key=USER, text=text, verified_phone=USER))
    with session_scope(database) as session:
        return session.exec(select(Ticket)).one().ref


def submit(page: Page, button: str, confirmation: str) -> None:
    """Press a form's button and wait for the confirmation on the page it leads to."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("status")).to_have_text(confirmation)


def console_problems(message: ConsoleMessage) -> list[str]:
    """Browser errors such as a stylesheet blocked by the CSP or a missing file; not the favicon.

    Browsers ask for /favicon.ico on their own; it is not part of the console.
    """
    if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
        return []
    return [f"{message.text} ({message.location.get('url')})"]


def test_staff_work_a_ticket_on_a_phone(chromium, server, database, ticket_ref, tmp_path):
    with session_scope(database) as session:
        hindi_line = session.exec(select(TicketMessage).where(TicketMessage.author == "bot")).first().text
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE_SCREEN, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.on("console", lambda message: problems.extend(console_problems(message)))
            page.on("pageerror", lambda error: problems.append(str(error)))

            page.goto(f"{server}/staff/")
            expect(page).to_have_url(f"{server}/staff/login")
            page.get_by_label("Name", exact=True).fill("desk1")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            expect(page.get_by_role("heading", name="Ticket queue")).to_be_visible()
            expect(page.get_by_text("Signed in as desk1")).to_be_visible()
            page.get_by_role("link", name=ticket_ref).click()

            expect(page.get_by_role("heading", name=ticket_ref)).to_be_visible()
            expect(page.locator(".facts")).to_contain_text("unlisted number +91******0002")
            expect(page.locator(".line.bot .text").first).to_contain_text(hindi_line.split("\n")[0])
            submit(page, "Claim", f"You claimed {ticket_ref}.")

            page.get_by_label("Reply to the user").fill(REPLY)
            submit(page, "Send reply", f"Reply to {ticket_ref} queued for the user on their channel.")
            expect(page.locator(".line.staff")).to_contain_text(REPLY)

            page.get_by_label("Internal note").fill(NOTE)
            submit(page, "Add note", f"Internal note added to {ticket_ref}.")
            expect(page.locator(".line.note")).to_contain_text("not shown to the user")

            submit(page, "Resolve", f"{ticket_ref} resolved; the user is asked for a rating.")
            expect(page.get_by_role("heading", name=ticket_ref)).to_contain_text("resolved")
            expect(page.get_by_role("button", name="Claim")).to_have_count(0)

            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "wider than a phone"
            assert page.evaluate("getComputedStyle(document.querySelector('.top')).display") == "flex"
            screenshot = tmp_path / "ticket-on-a-phone.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 0

            page.get_by_role("link", name="Back to the queue").click()
            page.get_by_label("Status").select_option("resolved")
            page.get_by_role("button", name="Filter").click()
            expect(page.get_by_role("link", name=ticket_ref)).to_be_visible()
        finally:
            browser.close()
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
