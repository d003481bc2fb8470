"""Canned answers in the console: staff create, edit and delete them; every change is audited."""

from __future__ import annotations

import json

from markupsafe import escape
from sqlmodel import select

from bot.db import session_scope
from bot.models import CannedAnswer, StaffEvent
from tests.web.console.helpers import post_form, staff_client

NEW = {
    "title": "OTP by email",
    "text_en": "Check your spam folder for the OTP.",
    "text_hi": "ओटीपी के लिए स्पैम फ़ोल्डर देखें।",
}


def test_staff_create_edit_and_delete_canned_answers_and_each_change_is_audited(app, db_engine):
    desk1, desk2 = staff_client(app), staff_client(app, "desk2")
    response = post_form(desk1, "/staff/canned", "/staff/canned", **NEW)
    assert (response.status_code, response.headers["location"]) == (303, "/staff/canned")
    page = desk1.get("/staff/canned").text
    assert "Canned answer &#39;OTP by email&#39; saved." in page
    assert NEW["text_hi"] in page and NEW["text_en"] in page and "Last changed by desk1" in page
    with session_scope(db_engine) as session:
        canned_id = session.exec(select(CannedAnswer)).one().id

    edited = {**NEW, "text_en": "Check the spam folder of your email for the OTP."}
    response = post_form(desk2, f"/staff/canned/{canned_id}", f"/staff/canned/{canned_id}", **edited)
    assert response.status_code == 303
    assert "Last changed by desk2" in desk2.get("/staff/canned").text

    response = post_form(desk2, f"/staff/canned/{canned_id}", f"/staff/canned/{canned_id}/delete")
    assert response.status_code == 303
    with session_scope(db_engine) as session:
        assert session.exec(select(CannedAnswer)).all() == []
        events = session.exec(select(StaffEvent).order_by(StaffEvent.id)).all()
    trail = [(event.actor, event.action, event.subject) for event in events if event.subject.startswith("canned:")]
    assert trail == [
        ("desk1", "canned.created", f"canned:{canned_id}"),
        ("desk2", "canned.updated", f"canned:{canned_id}"),
        ("desk2", "canned.deleted", f"canned:{canned_id}"),
    ]
    assert events[-1].detail and json.loads(events[-1].detail)["hi"] == NEW["text_hi"]  # nothing is lost
    history = desk1.get("/staff/canned").text.split("<h2>History</h2>", 1)[1]
    assert "desk2</strong> deleted" in history and "OTP by email: changed English" in history


def test_a_canned_answer_needs_a_title_and_both_languages(app, db_engine):
    desk1 = staff_client(app)
    for fields, problem in (
        ({**NEW, "title": " "}, "give the canned answer a title"),
        ({**NEW, "text_hi": ""}, "the Hindi text is empty: a canned answer needs both languages"),
        ({**NEW, "text_en": "x" * 3001}, "the English text has 3001 characters"),
    ):
        response = post_form(desk1, "/staff/canned", "/staff/canned", **fields)
        assert response.status_code == 422 and problem in response.text
        assert escape(fields["text_en"][:50]) in response.text  # what was typed is kept
    post_form(desk1, "/staff/canned", "/staff/canned", **NEW)
    response = post_form(desk1, "/staff/canned", "/staff/canned", **NEW)
    assert response.status_code == 422 and "already a canned answer called" in response.text
    with session_scope(db_engine) as session:
        assert len(session.exec(select(CannedAnswer)).all()) == 1


def test_editing_a_deleted_canned_answer_says_so(app):
    desk1 = staff_client(app)
    assert desk1.get("/staff/canned/42").status_code == 404
    response = post_form(desk1, "/staff/canned", "/staff/canned/42/delete")
    assert "That canned answer does not exist any more." in desk1.get(response.headers["location"]).text
