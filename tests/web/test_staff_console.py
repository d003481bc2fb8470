"""The staff console over HTTP: login, CSRF, lockout, queue filters, ticket actions, masking, expiry."""

from __future__ import annotations

import json
import logging
import re
import time
from base64 import b64encode
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner
from markupsafe import escape
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.brain import Brain
from bot.config import Settings
from bot.db import create_db_engine, session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import (
    Conversation,
    Employee,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    utcnow,
)
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name
from bot.web.app import create_app
from bot.web.staff import SECURITY_HEADERS, SESSION_COOKIE, LoginThrottle

SECRET = "a-test-session-secret"
PASSWORD = "correct horse battery"
PHONE = "+919876500001"
EMAIL = "sunita.sahu@cg.gov.in"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_language="hi", staff_session_secret=SECRET)


@pytest.fixture
def app(db_engine: Engine, settings: Settings) -> Starlette:
    """The web app with two staff accounts, desk1 and desk2."""
    with session_scope(db_engine) as session:
        for name in ("desk1", "desk2"):
            add_staff(session, name=name, password=PASSWORD)
    return create_app(settings=settings, db=db_engine)


@pytest.fixture
def client(app: Starlette) -> TestClient:
    return TestClient(app)


@pytest.fixture
def user_ticket(brain: Brain, db_engine: Engine, settings: Settings) -> str:
    """A ticket a verified employee opened in Hindi after typing their email and phone; its ref."""
    with session_scope(db_engine) as session:
        session.add(Employee(name="Sunita Sahu", phone=PHONE, email=EMAIL, designation="ASHA", district="Raipur"))
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    for text in (f"mera email {EMAIL} aur number 98765 00001 hai", "kisi insaan se baat karao"):
        engine.handle(Incoming(channel="console", user_key=PHONE, text=text, verified_phone=PHONE))
    with session_scope(db_engine) as session:
        return session.exec(select(Ticket)).one().ref


def csrf_of(page: str) -> str:
    """The CSRF token of the page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client: TestClient, name: str = "desk1", password: str = PASSWORD):
    """Fill in the login form as a browser would; the response to the POST."""
    token = csrf_of(client.get("/staff/login").text)
    return client.post(
        "/staff/login", data={"csrf_token": token, "name": name, "password": password}, follow_redirects=False
    )


def staff_client(app: Starlette, name: str = "desk1") -> TestClient:
    """A browser of its own, logged in as this staff member."""
    client = TestClient(app)
    assert log_in(client, name).status_code == 303
    return client


def act(client: TestClient, ref: str, action: str, **fields: str):
    """Submit one of the ticket page's forms."""
    token = csrf_of(client.get(f"/staff/tickets/{ref}").text)
    return client.post(f"/staff/tickets/{ref}/{action}", data={"csrf_token": token, **fields}, follow_redirects=False)


def listed_refs(page: str) -> set[str]:
    return set(re.findall(r'href="/staff/tickets/(HD-\d+)"', page))


def session_cookie(data: dict, *, signed_seconds_ago: float = 0) -> str:
    """A session cookie as the console signs it, optionally signed in the past."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - signed_seconds_ago)

    return PastSigner(SECRET).sign(b64encode(json.dumps(data).encode())).decode()


def staff_id(db_engine: Engine, name: str) -> int:
    with session_scope(db_engine) as session:
        return staff_by_name(session, name=name).id


# --- login, sessions, CSRF ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/staff/", "/staff/tickets", "/staff/tickets/HD-000001"])
def test_pages_need_a_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login"


def test_login_leads_back_to_the_page_asked_for_and_logout_ends_it(client, user_ticket):
    client.get(f"/staff/tickets/{user_ticket}", follow_redirects=False)
    response = log_in(client)
    assert response.headers["location"] == f"/staff/tickets/{user_ticket}"
    assert "Signed in as <strong>desk1</strong>" in client.get("/staff/").text

    token = csrf_of(client.get("/staff/").text)
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert "You are logged out." in response.text
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_post_without_a_login_goes_to_the_login_page(client, user_ticket):
    response = client.post(f"/staff/tickets/{user_ticket}/claim", data={"csrf_token": "x"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/login")


@pytest.mark.parametrize("name, password", [("desk1", "wrong password!"), ("nobody", PASSWORD), ("desk1", "")])
def test_wrong_name_or_password_is_refused(client, name, password):
    response = log_in(client, name, password)
    assert response.status_code == 401
    assert "Wrong name or password." in response.text
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_login_without_or_with_a_wrong_csrf_token_is_refused(client):
    fields = {"name": "desk1", "password": PASSWORD}
    response = client.post("/staff/login", data=fields)  # no session, so no token at all
    assert response.status_code == 403
    assert "CSRF check failed" in response.text

    client.get("/staff/login")
    for token in ("", "forged-token", "टोकन"):
        assert client.post("/staff/login", data={**fields, "csrf_token": token}).status_code == 403
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_staff_forms_without_the_sessions_csrf_token_are_refused(app, db_engine, user_ticket):
    desk1 = staff_client(app)
    other_browser = staff_client(app, "desk2")
    foreign_token = csrf_of(other_browser.get("/staff/").text)
    for fields in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign_token}):
        response = desk1.post(f"/staff/tickets/{user_ticket}/reply", data={**fields, "reply": "hello"})
        assert response.status_code == 403
    assert desk1.post("/staff/logout", data={"csrf_token": "forged"}).status_code == 403
    with session_scope(db_engine) as session:
        assert session.exec(select(TicketMessage).where(TicketMessage.author == "staff")).all() == []
        assert session.exec(select(Ticket)).one().status == "open"


def test_five_failures_lock_the_name_for_a_while(client, app):
    for _ in range(5):
        assert log_in(client, "desk1", "wrong password!").status_code == 401
    for name in ("desk1", " DESK1 "):
        response = log_in(client, name, PASSWORD)
        assert response.status_code == 429
        assert "Too many failed logins with this name. Try again in 15 minutes." in response.text
    assert log_in(TestClient(app), "desk2", PASSWORD).status_code == 303  # other names are unaffected


def test_throttle_releases_after_fifteen_minutes_and_forgets_after_a_success():
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    assert all(throttle.attempt("desk1") for _ in range(5))
    assert not throttle.attempt("desk1")
    now[0] += 14 * 60
    assert not throttle.attempt("desk1")
    now[0] += 61
    assert throttle.attempt("desk1")

    throttle.succeeded("desk1")
    assert all(throttle.attempt("desk1") for _ in range(5))
    assert not throttle.attempt("desk1")


@pytest.mark.parametrize(
    "signed_hours_ago, login_hours_ago, still_in",
    [(0, 0, True), (9, 9, False), (0, 9, False)],
    ids=["fresh", "cookie signed 9 h ago", "re-signed cookie of a login 9 h ago"],
)
def test_sessions_end_after_their_lifetime(client, db_engine, signed_hours_ago, login_hours_ago, still_in):
    data = {
        "staff_id": staff_id(db_engine, "desk1"),
        "staff_name": "desk1",
        "login_at": time.time() - login_hours_ago * 3600,
        "csrf": "token",
    }
    client.cookies.set(SESSION_COOKIE, session_cookie(data, signed_seconds_ago=signed_hours_ago * 3600))
    response = client.get("/staff/", follow_redirects=False)
    if still_in:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.headers["location"]) == (303, "/staff/login")


def test_without_a_configured_secret_logins_work_and_a_warning_says_what_it_costs(db_engine, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.web.staff"):
        app = create_app(settings=Settings(_env_file=None, staff_session_secret=None), db=db_engine)
    assert "STAFF_SESSION_SECRET is not set" in caplog.text
    assert app.state.db is db_engine and app.state.settings.staff_session_secret is None
    with session_scope(db_engine) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    assert log_in(TestClient(app)).status_code == 303


def test_a_deactivated_account_is_logged_out(app, db_engine):
    desk1 = staff_client(app)
    with session_scope(db_engine) as session:
        staff_by_name(session, name="desk1").active = False
    assert desk1.get("/staff/", follow_redirects=False).status_code == 303


def test_console_responses_carry_the_security_headers(app, client):
    logged_in = staff_client(app)
    responses = [
        client.get("/staff/login"),
        client.post("/staff/login", data={}),
        logged_in.get("/staff/"),
        logged_in.get("/staff/static/staff.css"),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    assert "httponly; samesite=strict" in responses[0].headers["set-cookie"]
    assert f"Max-Age={8 * 3600}" in responses[0].headers["set-cookie"]


def test_health_check_asks_the_database(client, settings, tmp_path: Path):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"database": "ok"})
    unreachable = create_db_engine(f"sqlite:///{tmp_path}/no/such/folder/helpdesk.db")
    response = TestClient(create_app(settings=settings, db=unreachable)).get("/healthz")
    assert response.status_code == 503


# --- the queue -----------------------------------------------------------------------------------


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
        service.resolve(session, ref=refs["resolved"], staff=desk2)
    return refs


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


# --- a ticket ------------------------------------------------------------------------------------


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


def test_claim_reply_note_resolve_change_the_ticket(app, db_engine, user_ticket):
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

    act(desk1, user_ticket, "resolve")
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
