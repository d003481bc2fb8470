"""Getting into the console, and staying out: logins, server-side sessions, CSRF, the throttle, roles."""

from __future__ import annotations

import json
import logging
import time
from base64 import b64encode
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner
from sqlalchemy import update
from sqlmodel import select
from starlette.testclient import TestClient

from bot.access import throttle
from bot.config import Settings
from bot.db import session_scope
from bot.models import StaffSession, Ticket, TicketMessage, utcnow
from bot.tickets.staff import add_staff, set_active, set_password, staff_by_name
from bot.web.app import create_app
from bot.web.console.app import SECURITY_HEADERS, SESSION_COOKIE
from tests.web.console.helpers import PASSWORD, SECRET, csrf_of, log_in, staff_client, staff_id

PUBLIC_HTTPS = "https://helpdesk.example.gov.in"


def session_cookie(data: dict, *, signed_seconds_ago: float = 0) -> str:
    """A session cookie as the console signs it, optionally signed in the past."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - signed_seconds_ago)

    return PastSigner(SECRET).sign(b64encode(json.dumps(data).encode())).decode()


def at_address(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000))


# --- login, logout, CSRF -------------------------------------------------------------------------


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


def test_without_a_configured_secret_logins_work_and_a_warning_says_what_it_costs(db_engine, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.web.console.app"):
        app = create_app(settings=Settings(_env_file=None, staff_session_secret=None), db=db_engine)
    assert "STAFF_SESSION_SECRET is not set" in caplog.text
    assert app.state.db is db_engine and app.state.settings.staff_session_secret is None
    with session_scope(db_engine) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    assert log_in(TestClient(app)).status_code == 303


# --- sessions on the server -----------------------------------------------------------------------


def test_a_copied_cookie_is_dead_after_logout(app, db_engine):
    desk1 = staff_client(app)
    thief = TestClient(app)
    thief.cookies.set(SESSION_COOKIE, desk1.cookies[SESSION_COOKIE])
    assert thief.get("/staff/", follow_redirects=False).status_code == 200  # a copy works while logged in

    token = csrf_of(desk1.get("/staff/").text)
    assert desk1.post("/staff/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    response = thief.get("/staff/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/login")
    with session_scope(db_engine) as session:
        [login] = session.exec(select(StaffSession)).all()
        assert login.end_reason == "logout" and login.ended_at is not None
        assert len(login.token_hash) == 64 and login.token_hash not in desk1.cookies[SESSION_COOKIE]


def test_a_disabled_account_is_logged_out_at_once_and_cannot_log_in(app, db_engine):
    desk1 = staff_client(app)
    assert desk1.get("/staff/", follow_redirects=False).status_code == 200
    with session_scope(db_engine) as session:
        assert set_active(session, name="desk1", active=False)[1] == 1
    assert desk1.get("/staff/", follow_redirects=False).status_code == 303
    assert log_in(TestClient(app)).status_code == 401

    with session_scope(db_engine) as session:
        set_active(session, name="desk1", active=True)
    assert desk1.get("/staff/", follow_redirects=False).status_code == 303  # the ended login stays ended
    assert log_in(TestClient(app)).status_code == 303


def test_a_deactivated_account_is_logged_out(app, db_engine):
    desk1 = staff_client(app)
    with session_scope(db_engine) as session:
        staff_by_name(session, name="desk1").active = False
    assert desk1.get("/staff/", follow_redirects=False).status_code == 303


def test_a_new_password_ends_every_login_of_the_account(app, db_engine):
    phone, laptop, other = staff_client(app), staff_client(app), staff_client(app, "desk2")
    with session_scope(db_engine) as session:
        assert set_password(session, name="desk1", password="a brand new passphrase") == 2
    assert phone.get("/staff/", follow_redirects=False).status_code == 303
    assert laptop.get("/staff/", follow_redirects=False).status_code == 303
    assert other.get("/staff/", follow_redirects=False).status_code == 200
    assert log_in(TestClient(app)).status_code == 401
    assert log_in(TestClient(app), password="a brand new passphrase").status_code == 303


def test_sessions_end_after_their_lifetime_on_the_server(app, db_engine):
    desk1 = staff_client(app)
    with session_scope(db_engine) as session:
        session.exec(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = desk1.get("/staff/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/login")


@pytest.mark.parametrize("signed_hours_ago", [0, 9])
def test_a_forged_cookie_without_a_login_on_the_server_opens_nothing(client, db_engine, signed_hours_ago):
    """A cookie signed with the right key (say the key leaked) still needs a live login's token."""
    data = {"staff_id": staff_id(db_engine, "desk1"), "token": "made-up", "login_at": time.time(), "csrf": "t"}
    client.cookies.set(SESSION_COOKIE, session_cookie(data, signed_seconds_ago=signed_hours_ago * 3600))
    response = client.get("/staff/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/login")


# --- cookie flags and headers ----------------------------------------------------------------------


def test_console_responses_carry_the_security_headers(app, client):
    logged_in = staff_client(app)
    responses = [
        client.get("/staff/login"),
        client.post("/staff/login", data={}),
        logged_in.get("/staff/"),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert "strict-transport-security" not in response.headers  # plain http: no HSTS
    set_cookie = responses[0].headers["set-cookie"]
    assert "httponly; samesite=strict" in set_cookie and "secure" not in set_cookie.lower()
    assert f"Max-Age={8 * 3600}" in set_cookie

    static = logged_in.get("/staff/static/console.css")
    for name, value in SECURITY_HEADERS.items():
        if name != "Cache-Control":
            assert static.headers[name] == value
    # Static files carry their content's fingerprint in their links, so slow networks fetch them once.
    assert static.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "?v=" in logged_in.get("/staff/").text


@pytest.mark.parametrize(
    "public_base_url, cookie_secure, secure",
    [
        (PUBLIC_HTTPS, None, True),
        ("http://10.0.0.5:8000", None, False),
        (None, True, True),
        (PUBLIC_HTTPS, False, False),
    ],
    ids=["https public url", "http public url", "setting says secure", "setting says not"],
)
def test_the_cookie_is_secure_and_hsts_sent_behind_https(db_engine, accounts, public_base_url, cookie_secure, secure):
    settings = Settings(
        _env_file=None, staff_session_secret=SECRET, public_base_url=public_base_url, staff_cookie_secure=cookie_secure
    )
    app = create_app(settings=settings, db=db_engine)
    browser = TestClient(app, base_url="https://testserver")  # a Secure cookie only comes back over https
    response = log_in(browser)
    assert response.status_code == 303
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert ("; secure" in set_cookie) is secure
    assert ("strict-transport-security" in response.headers) is secure
    if secure:
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert browser.get("/staff/", follow_redirects=False).status_code == 200


# --- the login throttle -----------------------------------------------------------------------------


class Clock:
    """The throttle's clock, moved by the test instead of waited for."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(throttle, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_failures_slow_the_name_from_that_address_progressively(app, monkeypatch):
    clock = Clock(monkeypatch)
    browser = at_address(app, "10.0.0.5")
    for _ in range(throttle.FREE_FAILURES_PER_NAME):
        assert log_in(browser, "desk1", "wrong password!").status_code == 401
    refused = log_in(browser, "desk1", PASSWORD)  # even the right password waits its turn
    assert refused.status_code == 429
    assert "Too many failed logins. Wait 1 second, then try again." in refused.text
    assert refused.headers["retry-after"] == "1"

    waits = [1]
    for _ in range(4):
        clock.advance(waits[-1])
        assert log_in(browser, "desk1", "wrong password!").status_code == 401
        response = log_in(browser, "desk1", "wrong password!")
        assert response.status_code == 429
        waits.append(int(response.headers["retry-after"]))
    assert waits == [1, 2, 4, 8, 16]  # each failure doubles the wait

    clock.advance(16)
    assert log_in(browser, "desk1", PASSWORD).status_code == 303
    assert log_in(at_address(app, "10.0.0.5"), "desk1", "wrong password!").status_code == 401  # the count was wiped


def test_a_stranger_cannot_lock_a_staff_member_out(app, monkeypatch):
    Clock(monkeypatch)
    stranger = at_address(app, "203.0.113.66")
    for _ in range(12):
        log_in(stranger, "desk1", "guessing!!")
    assert log_in(stranger, "desk1", "guessing!!").status_code == 429
    assert log_in(at_address(app, "10.0.0.5"), "desk1", PASSWORD).status_code == 303  # desk1's own office
    assert log_in(at_address(app, "198.51.100.7"), "desk2", PASSWORD).status_code == 303


def test_guessing_across_many_names_from_one_address_is_slowed(app, monkeypatch):
    clock = Clock(monkeypatch)
    guesser = at_address(app, "203.0.113.66")
    for number in range(throttle.FREE_FAILURES_PER_ADDRESS):
        assert log_in(guesser, f"name{number}", "guessing!!").status_code == 401
    refused = log_in(guesser, "yet-another-name", "guessing!!")
    assert refused.status_code == 429
    assert log_in(at_address(app, "10.0.0.5"), "desk1", PASSWORD).status_code == 303  # elsewhere: unaffected

    waits = [int(refused.headers["retry-after"])]
    for number in range(8):
        clock.advance(waits[-1])
        assert log_in(guesser, f"more{number}", "guessing!!").status_code == 401
        waits.append(int(log_in(guesser, "again", "guessing!!").headers["retry-after"]))
    # Colleagues behind the same office address wait at most a minute: slowed, never locked out.
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_throttle_is_shared_by_every_worker(db_engine, settings, accounts, monkeypatch):
    """Two app instances on one database, as two `serve` workers are: failures on one slow the other."""
    Clock(monkeypatch)
    first, second = create_app(settings=settings, db=db_engine), create_app(settings=settings, db=db_engine)
    for app in (first, second, first):
        assert log_in(at_address(app, "10.0.0.9"), "desk1", "wrong password!").status_code == 401
    assert log_in(at_address(second, "10.0.0.9"), "desk1", PASSWORD).status_code == 429
    assert log_in(at_address(first, "10.0.0.9"), "desk1", PASSWORD).status_code == 429


def test_failed_names_are_never_stored(app, db_engine, monkeypatch):
    Clock(monkeypatch)
    log_in(at_address(app, "10.0.0.5"), "my secret password typed as name", "x")
    with session_scope(db_engine) as session:
        stored = " ".join(row.key for row in session.exec(select(throttle.LoginThrottle)))
    assert "secret" not in stored and "10.0.0.5" not in stored


# --- passwords ----------------------------------------------------------------------------------------


def test_a_login_renews_a_hash_made_with_older_argon2_settings(app, db_engine):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    with session_scope(db_engine) as session:
        staff_by_name(session, name="desk1").password_hash = weak.hash(PASSWORD)
    assert log_in(TestClient(app)).status_code == 303
    with session_scope(db_engine) as session:
        renewed = staff_by_name(session, name="desk1").password_hash
    assert "m=8192,t=1,p=1" not in renewed and not PasswordHasher().check_needs_rehash(renewed)
    assert PasswordHasher().verify(renewed, PASSWORD)
    assert log_in(TestClient(app)).status_code == 303


# --- roles ----------------------------------------------------------------------------------------------


def nav_labels(page: str) -> list[str]:
    nav = page.split('<nav class="pages"', 1)[1].split("</nav>", 1)[0]
    labels = ("Queue", "Canned answers", "Unanswered questions", "Insights", "Completion", "Imports", "Campaigns")
    labels += ("Accounts", "My account")
    return [label for label in labels if f">{label}</a>" in nav]


def test_each_role_sees_its_own_pages(app, other_roles):
    assert nav_labels(staff_client(app, "desk1").get("/staff/").text) == [
        "Queue",
        "Canned answers",
        "Unanswered questions",
        "Insights",
        "My account",
    ]
    assert nav_labels(staff_client(app, "boss").get("/staff/").text) == [
        "Queue",
        "Canned answers",
        "Unanswered questions",
        "Insights",
        "Completion",
        "Imports",
        "Campaigns",
        "Accounts",
        "My account",
    ]
    nodal = staff_client(app, "raipur")
    landing = nodal.get("/staff/", follow_redirects=False)
    assert (landing.status_code, landing.headers["location"]) == (303, "/staff/reports")
    assert nav_labels(nodal.get("/staff/account").text) == ["Completion", "Imports", "Campaigns", "My account"]


@pytest.mark.parametrize(
    "name, path, status",
    [
        ("raipur", "/staff/tickets", 403),
        ("raipur", "/staff/tickets/HD-000001", 403),
        ("raipur", "/staff/canned", 403),
        ("desk1", "/staff/accounts", 403),
        ("boss", "/staff/accounts", 200),
        ("boss", "/staff/tickets", 200),
    ],
)
def test_pages_refuse_roles_they_are_not_for(app, other_roles, user_ticket, name, path, status):
    response = staff_client(app, name).get(path)
    assert response.status_code == status
    if status == 403:
        assert "Not for your account" in response.text


def test_a_nodal_officer_cannot_work_tickets_by_posting_forms(app, other_roles, db_engine, user_ticket):
    nodal = staff_client(app, "raipur")
    token = csrf_of(nodal.get("/staff/account").text)
    response = nodal.post(f"/staff/tickets/{user_ticket}/claim", data={"csrf_token": token})
    assert response.status_code == 403
    with session_scope(db_engine) as session:
        assert session.exec(select(Ticket)).one().assignee_id is None
