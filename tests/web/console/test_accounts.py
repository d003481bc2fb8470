"""Accounts in the console: your own password and topic-name language; the admin's list of everyone."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from bot.db import session_scope
from bot.models import Staff, StaffEvent
from bot.tickets.staff import staff_by_name
from tests.web.console.helpers import PASSWORD, log_in, post_form, staff_client

NEW_PASSWORD = "a fresh long passphrase"


def test_changing_your_password_ends_every_login_of_yours(app, db_engine):
    laptop, phone = staff_client(app), staff_client(app)
    fields = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    response = post_form(laptop, "/staff/account", "/staff/account/password", **fields)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/login")
    assert "Password changed; every login of your account has ended." in laptop.get("/staff/login").text
    assert phone.get("/staff/", follow_redirects=False).status_code == 303
    assert laptop.get("/staff/", follow_redirects=False).status_code == 303
    assert log_in(TestClient(app), password=NEW_PASSWORD).status_code == 303
    with session_scope(db_engine) as session:
        event = session.exec(select(StaffEvent).where(StaffEvent.action == "staff.password")).one()
    assert (event.actor, event.subject) == ("desk1", "staff:desk1")


def test_a_password_change_needs_the_current_one(app):
    desk1 = staff_client(app)
    for fields, problem in (
        ({"current_password": "not it at all", "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
         "Your current password is not right."),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": "something else"},
         "The two new passwords differ."),
        ({"current_password": PASSWORD, "new_password": "short", "repeat_password": "short"},
         "at least 10 characters"),
    ):  # fmt: skip
        response = post_form(desk1, "/staff/account", "/staff/account/password", **fields)
        assert response.status_code == 422 and problem in response.text
    assert desk1.get("/staff/", follow_redirects=False).status_code == 200


def test_the_language_of_topic_names_is_yours_to_choose(app, db_engine):
    desk1 = staff_client(app)
    response = post_form(desk1, "/staff/account", "/staff/account/language", lang="hi")
    assert "Topic names are now shown in Hindi." in desk1.get(response.headers["location"]).text
    with session_scope(db_engine) as session:
        assert staff_by_name(session, name="desk1").lang == "hi"
    assert post_form(desk1, "/staff/account", "/staff/account/language", lang="fr").status_code == 422


def test_an_admin_sees_everyone_and_disables_enables_and_adds_accounts(app, db_engine, other_roles):
    boss, desk2 = staff_client(app, "boss"), staff_client(app, "desk2")
    page = boss.get("/staff/accounts").text
    assert "Nodal officer" in page and "district raipur" in page and "the ticket queue" in page
    assert "Disable boss" not in page  # not yourself

    response = post_form(boss, "/staff/accounts", "/staff/accounts/desk2/disable")
    assert "&#39;desk2&#39; disabled; 1 login(s) ended." in boss.get(response.headers["location"]).text
    assert desk2.get("/staff/", follow_redirects=False).status_code == 303
    post_form(boss, "/staff/accounts", "/staff/accounts/desk2/enable")
    assert log_in(TestClient(app), "desk2").status_code == 303

    fields = {"name": "lucknow", "role": "nodal", "districts": "Lucknow, Barabanki", "departments": "",
              "password": "their first password"}  # fmt: skip
    response = post_form(boss, "/staff/accounts", "/staff/accounts", **fields)
    assert response.status_code == 303
    with session_scope(db_engine) as session:
        lucknow = session.exec(select(Staff).where(Staff.name == "lucknow")).one()
        assert (lucknow.role, lucknow.districts) == ("nodal", ["Lucknow", "Barabanki"])
        actions = [(e.actor, e.action, e.subject) for e in session.exec(select(StaffEvent).order_by(StaffEvent.id))]
    assert ("boss", "staff.disabled", "staff:desk2") in actions and ("boss", "staff.added", "staff:lucknow") in actions

    bad = post_form(boss, "/staff/accounts", "/staff/accounts", **{**fields, "name": "nowhere", "districts": ""})
    assert bad.status_code == 422 and "a nodal officer needs at least one" in bad.text


def test_only_an_admin_may_change_accounts(app, other_roles):
    desk1 = staff_client(app)
    response = post_form(desk1, "/staff/account", "/staff/accounts/desk2/disable")
    assert response.status_code == 403
    assert staff_client(app, "desk2").get("/staff/", follow_redirects=False).status_code == 200
