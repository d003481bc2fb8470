"""Campaign files, audiences, frequency caps and the words of a reminder (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.models import Employee, Enrolment, Reminder
from bot.reminders import CampaignError, load_campaigns, plan
from bot.reminders.campaigns import Campaign
from bot.reminders.render import PendingCourse, render
from tests.reminders.helpers import (
    LAXMI,
    NOON,
    RAMESH,
    SUBHASHREE,
    SUNITA,
    TODAY,
    campaigns,
    seeded,
    texts,
)


def planned_phones(db, campaign_id: str) -> set[str]:
    with Session(db) as session:
        rows = session.exec(
            select(Employee.phone)
            .join(Reminder, Reminder.employee_id == Employee.id)
            .where(Reminder.campaign == campaign_id)
        ).all()
        return set(rows)


def campaign(**fields) -> Campaign:
    base = {
        "id": "test",
        "name": "Test",
        "message": {"en": "Hello {name}: {course_names}", "hi": "नमस्ते {name}: {course_names}"},
    }
    return Campaign.model_validate({**base, **fields})


def test_the_default_campaign_file_loads():
    (default,) = load_campaigns()
    assert default.id == "pending-mandatory" and default.audience.pending_mandatory
    assert default.period(TODAY) == "2026-W48" and default.period(TODAY + timedelta(days=7)) == "2026-W49"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "- id: a\n  name: A\n  message: {en: x, hi: y}\n  schedule:\n    every: monthly\n",
            ":5: campaign 1, field schedule.every",
        ),
        ("- id: a\n  name: A\n  message:\n    en: 'Hi {nmae}'\n    hi: y\n", ":4: campaign 1, field message.en"),
        (
            "- id: a\n  name: A\n  message: {en: x, hi: y}\n- id: a\n  name: B\n  message: {en: x, hi: y}\n",
            ":4: campaign id 'a' is already used",
        ),
        (
            "- id: a\n  name: A\n  message: {en: x, hi: y}\n  audience: {inactive_days: 0}\n",
            ":4: campaign 1, field audience.inactive_days",
        ),
        ("- id: a\n  name: A\n  message: {en: x, hi: y}\n  colour: red\n", ":4: campaign 1, field colour"),
        ("- id: a\n  name: A: b\n", ":2: not valid YAML"),
    ],
)
def test_a_bad_campaign_file_names_file_line_and_field(tmp_path: Path, text: str, where: str):
    path = tmp_path / "campaigns.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as error:
        load_campaigns(path)
    assert str(error.value).startswith(f"{path}{where}"), str(error.value)


def test_the_default_audience_is_everyone_with_a_pending_mandatory_course(db_engine):
    seeded(db_engine)
    summary = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    phones = planned_phones(db_engine, "pending-mandatory")
    assert summary.total == len(phones) > 0
    assert {SUNITA, LAXMI} <= phones and not {RAMESH, SUBHASHREE} & phones
    with Session(db_engine) as session:
        for employee in session.exec(select(Employee)).all():
            pending = session.exec(
                select(Enrolment.id).where(
                    Enrolment.employee_id == employee.id, Enrolment.mandatory, Enrolment.status != "completed"
                )
            ).first()
            assert (employee.phone in phones) == (pending is not None), employee.phone


def test_audience_filters_designation_district_batch_end_and_inactivity(db_engine):
    seeded(db_engine)
    chosen = [
        campaign(id="asha", audience={"designations": ["asha"], "pending_mandatory": True}),
        campaign(id="bilaspur", audience={"districts": ["Bilaspur"], "departments": ["health and family welfare"]}),
        campaign(id="ending", audience={"pending_mandatory": True, "batch_ends_within_days": 7}),
        campaign(id="quiet", audience={"inactive_days": 30}),
    ]
    plan(db_engine, campaigns=chosen, now=NOON, progress=False)
    assert SUNITA in planned_phones(db_engine, "asha") and LAXMI not in planned_phones(db_engine, "asha")
    assert LAXMI in planned_phones(db_engine, "bilaspur") and SUNITA not in planned_phones(db_engine, "bilaspur")
    assert SUNITA in planned_phones(db_engine, "ending")  # her course's batch ends in 5 days
    assert LAXMI not in planned_phones(db_engine, "ending")  # hers ended 10 days ago, the next in 45
    assert planned_phones(db_engine, "quiet") == {"+919876500006"}  # seeded today; Bikash has no enrolments at all
    plan(db_engine, campaigns=chosen[3:], now=NOON + timedelta(days=31), progress=False)
    assert SUNITA in planned_phones(db_engine, "quiet")


def test_a_plan_run_twice_plans_nothing_new_and_the_next_period_plans_again(db_engine):
    seeded(db_engine)
    first = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False, batch_size=7)
    again = plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=1), progress=False)  # same ISO week
    assert first.total > 0 and again.total == 0
    next_week = plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    assert next_week.total == first.total and next_week.periods == {"pending-mandatory": "2026-W49"}
    once = [campaign(id="once", schedule={"every": "once"}, audience={"pending_mandatory": True})]
    assert plan(db_engine, campaigns=once, now=NOON, progress=False).total == first.total
    assert plan(db_engine, campaigns=once, now=NOON + timedelta(days=30), progress=False).total == 0
    ended = [campaign(id="old", schedule={"every": "daily", "end": "2026-11-01"})]
    assert plan(db_engine, campaigns=ended, now=NOON, progress=False).not_running == ["old"]


def test_the_message_names_courses_and_dates_in_both_languages_and_says_how_to_stop():
    (default,) = campaigns()
    courses = [
        PendingCourse("Maternal and Child Health Basics", "मातृ एवं शिशु स्वास्थ्य की मूल बातें", date(2026, 11, 29)),
        PendingCourse("Mission Karmayogi: An Introduction", "मिशन कर्मयोगी: एक परिचय", date(2026, 11, 14)),
        PendingCourse("Basic Life Support", None, None),
    ]
    hindi = render(texts(), default, "hi", name="Sunita Sahu", courses=courses, today=TODAY)
    assert "नमस्ते Sunita Sahu जी" in hindi.text
    assert "• मातृ एवं शिशु स्वास्थ्य की मूल बातें — अंतिम तिथि 29 नवंबर 2026" in hindi.text
    assert "• मिशन कर्मयोगी: एक परिचय — अंतिम तिथि 14 नवंबर 2026 थी" in hindi.text
    assert "• Basic Life Support" in hindi.text  # no Hindi name known: the English one
    assert hindi.text.endswith('ये रिमाइंडर बंद करने हों तो STOP या "रिमाइंडर बंद करो" लिखकर भेजें।')
    assert hindi.template_variables == {
        "1": "Sunita Sahu", "2": "मातृ एवं शिशु स्वास्थ्य की मूल बातें, मिशन कर्मयोगी: एक परिचय, Basic Life Support",
        "3": "29 नवंबर 2026",
    }  # fmt: skip
    english = render(texts(), default, "en", name="Sunita Sahu", courses=courses, today=TODAY)
    assert "• Maternal and Child Health Basics — last date 29 Nov 2026" in english.text
    assert "• Mission Karmayogi: An Introduction — last date was 14 Nov 2026" in english.text
    assert english.text.endswith("To stop these reminders, reply STOP.")
    assert english.template_variables["3"] == "29 Nov 2026"


def test_stop_words_in_both_languages_reach_the_opt_out_intent(brain):
    for text in ("stop reminders", "reminder band karo", "STOP", "रिमाइंडर बंद करो"):
        assert brain.matcher.understand(text).match == "reminders_stop", text
