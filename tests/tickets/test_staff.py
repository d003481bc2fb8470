"""Staff accounts: creating them with a role and scope, listing, disabling, new passwords, Telegram ids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.access import sessions
from bot.models import StaffEvent, StaffSession
from bot.tickets.staff import (
    StaffError,
    add_staff,
    authenticate,
    find_staff,
    list_staff,
    set_active,
    set_password,
    staff_by_name,
    staff_by_telegram_id,
)

PASSWORD = "correct horse battery"


def test_staff_accounts(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password="correct horse battery", telegram_user_id=42)
        with pytest.raises(StaffError, match="already exists"):
            add_staff(session, name="desk1", password="correct horse battery")
        with pytest.raises(StaffError, match="at least 10 characters"):
            add_staff(session, name="desk3", password="short")
        with pytest.raises(StaffError, match="a staff name is"):
            add_staff(session, name="desk 4!", password="correct horse battery")
        assert authenticate(session, name="desk1", password="correct horse battery").telegram_user_id == 42
        assert authenticate(session, name="desk1", password="wrong password!") is None
        assert authenticate(session, name="nobody", password="correct horse battery") is None
        stored = staff_by_name(session, name="desk1").password_hash
        assert stored.startswith("$argon2") and "correct horse" not in stored


def test_roles_and_scopes_are_checked_when_an_account_is_added(db_engine):
    with Session(db_engine) as session:
        nodal = add_staff(session, name="raipur", password=PASSWORD, role="nodal", districts=[" Raipur ", "Raipur"],
                          departments=["Health"])  # fmt: skip
        assert (nodal.role, nodal.districts, nodal.departments) == ("nodal", ["Raipur"], ["Health"])
        assert add_staff(session, name="boss", password=PASSWORD, role="admin").role == "admin"
        for kwargs, problem in (
            ({"role": "nodal"}, "a nodal officer needs at least one --district or --department"),
            ({"role": "staff", "districts": ["Raipur"]}, "districts and departments are for nodal officers"),
            ({"role": "superuser"}, "no role 'superuser': a role is one of staff, nodal, admin"),
        ):
            with pytest.raises(StaffError, match=problem):
                add_staff(session, name="someone", password=PASSWORD, **kwargs)
        added = session.exec(select(StaffEvent).where(StaffEvent.action == "staff.added")).all()
        assert [(event.actor, event.subject) for event in added] == [("operator", "staff:raipur"),
                                                                     ("operator", "staff:boss")]  # fmt: skip
        assert [staff.name for staff in list_staff(session)] == ["boss", "raipur"]


def test_a_telegram_id_belongs_to_one_account_and_only_ticket_workers_act_in_the_group(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password=None, telegram_user_id=42)
        with pytest.raises(StaffError, match="Telegram id 42 already belongs to another account"):
            add_staff(session, name="desk2", password=None, telegram_user_id=42)
        add_staff(session, name="raipur", password=None, telegram_user_id=43, role="nodal", districts=["Raipur"])
        assert staff_by_telegram_id(session, telegram_user_id=42).name == "desk1"
        assert staff_by_telegram_id(session, telegram_user_id=43) is None  # nodal officers do not work tickets
        set_active(session, name="desk1", active=False)
        assert staff_by_telegram_id(session, telegram_user_id=42) is None  # disabled: nowhere


def test_disabling_ends_the_accounts_logins_and_refuses_its_password(db_engine):
    with Session(db_engine) as session:
        desk1 = add_staff(session, name="desk1", password=PASSWORD)
        token = sessions.start(session, staff=desk1, lifetime=timedelta(hours=8))
        session.flush()
        assert sessions.signed_in(session, token).name == "desk1"
        assert set_active(session, name="desk1", active=False) == (desk1, 1)
        assert sessions.signed_in(session, token) is None
        assert authenticate(session, name="desk1", password=PASSWORD) is None
        assert set_active(session, name="desk1", active=False)[1] == 0  # already disabled: nothing changes
        set_active(session, name="desk1", active=True)
        assert sessions.signed_in(session, token) is None and authenticate(session, name="desk1", password=PASSWORD)
        reasons = [row.end_reason for row in session.exec(select(StaffSession))]
        assert reasons == ["disabled"]
        with pytest.raises(StaffError, match="no staff account 'nobody'"):
            find_staff(session, name="nobody")


def test_a_new_password_is_checked_and_ends_the_logins(db_engine):
    with Session(db_engine) as session:
        desk1 = add_staff(session, name="desk1", password=PASSWORD)
        token = sessions.start(session, staff=desk1, lifetime=timedelta(hours=8))
        with pytest.raises(StaffError, match="at least 10 characters"):
            set_password(session, name="desk1", password="short")
        assert set_password(session, name="desk1", password="another long password") == 1
        assert sessions.signed_in(session, token) is None
        assert authenticate(session, name="desk1", password=PASSWORD) is None
        assert authenticate(session, name="desk1", password="another long password") is not None
