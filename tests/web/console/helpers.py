"""Driving the console over HTTP as a browser would: forms with their CSRF token, logins, tickets."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.channels.console import ConsoleChat
from bot.db import session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.models import Conversation, utcnow
from bot.tickets import service
from bot.tickets.staff import staff_by_name

SECRET = "a-test-session-secret"
PASSWORD = "correct horse battery"
PHONE = "+919876500001"
EMAIL = "sunita.sahu@cg.gov.in"


def csrf_of(page: str) -> str:
    """The CSRF token of the page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def log_in(client: TestClient, name: str = "desk1", password: str = PASSWORD):
    """Fill in the login form as a browser would; the response to the POST."""
    token = csrf_of(client.get("/staff/login").text)
    return client.post(
        "/staff/login", data={"csrf_token": token, "name": name, "password": password}, follow_redirects=False
    )


def staff_client(app: Starlette, name: str = "desk1", **options) -> TestClient:
    """A browser of its own, logged in as this account."""
    client = TestClient(app, **options)
    response = log_in(client, name)
    assert response.status_code == 303, response.text
    return client


def post_form(client: TestClient, page: str, action: str, **fields: str):
    """Submit a form of `page` (a path) to `action` with the page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def act(client: TestClient, ref: str, action: str, **fields: str):
    """Submit one of the ticket page's forms."""
    return post_form(client, f"/staff/tickets/{ref}", f"/staff/tickets/{ref}/{action}", **fields)


def listed_refs(page: str) -> set[str]:
    return set(re.findall(r'href="/staff/tickets/(HD-\d+)"', page))


def staff_id(db_engine: Engine, name: str) -> int:
    with session_scope(db_engine) as session:
        return staff_by_name(session, name=name).id


def reply_reaches_user(engine: DialogueEngine, user_key: str = PHONE) -> None:
    """The user opens their console chat, where queued replies are shown: they reached the user."""
    assert ConsoleChat(engine, phone=user_key).queued()


def open_tickets(db_engine: Engine) -> dict[str, str]:
    """Four tickets: two about certificates (one claimed by desk2), one overdue, one resolved; refs by name."""
    specs = {
        "certificate_en": ("certificate.download", "en", "telegram", 0),
        "certificate_hi": ("certificate.not_generated", "hi", "whatsapp", 0),
        "otp_overdue": ("registration.otp", "hi", "console", 48),
        "resolved": ("profile.designation", "en", "telegram", 0),
    }
    refs = {}
    with session_scope(db_engine) as session:
        for number, (name, (category, lang, channel, hours_ago)) in enumerate(specs.items()):
            conversation = Conversation(channel=channel, user_key=f"user{number}", lang=lang, recent=[])
            session.add(conversation)
            session.flush()
            ticket = service.open_ticket(
                session,
                conversation=conversation,
                employee_id=None,
                category=category,
                reason="asked",
                sla=timedelta(hours=24),
                prefix="HD-",
                now=utcnow() - timedelta(hours=hours_ago),
            )
            refs[name] = ticket.ref
        desk2 = staff_by_name(session, name="desk2")
        service.claim(session, ref=refs["certificate_hi"], staff=desk2)
        service.resolve(session, ref=refs["resolved"], staff=desk2, reason="duplicate")
    return refs
