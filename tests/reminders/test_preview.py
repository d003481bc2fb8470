"""`remind preview`: whom a campaign would reach now, before planning; its counts are what planning and
queueing at that moment do (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import Session, select

from bot.models import Employee, Enrolment, Reminder
from bot.reminders import plan
from bot.reminders.preview import preview
from bot.reminders.sender import ReminderSender, SendSummary
from tests.reminders.helpers import LAXMI, NOON, SUNITA, campaigns, link, opt_out, seeded, texts


def clone(db, phone: str, new_phone: str | None, key: str) -> None:
    """Another employee with the same pending courses as the one with `phone`."""
    with Session(db) as session:
        original = session.exec(select(Employee).where(Employee.phone == phone)).one()
        copy = Employee(name=f"Copy {key}", phone=new_phone, external_id=key, district=original.district)
        session.add(copy)
        session.flush()
        for enrolment in session.exec(select(Enrolment).where(Enrolment.employee_id == original.id)).all():
            session.add(Enrolment(employee_id=copy.id, course_id=enrolment.course_id, status=enrolment.status,
                                  mandatory=enrolment.mandatory, batch_end_date=enrolment.batch_end_date))  # fmt: skip
        session.commit()


@pytest.mark.parametrize("channels", [["telegram"], ["telegram", "whatsapp"], []])
def test_the_preview_counts_what_planning_and_queueing_now_would_do(db_engine, channels):
    seeded(db_engine)
    link(db_engine, "telegram", "tg-sunita", SUNITA, last_inbound_at=NOON)
    opt_out(db_engine, LAXMI)
    clone(db_engine, SUNITA, None, "no-phone")
    clone(db_engine, LAXMI, "+919876599999", "shared-a")
    clone(db_engine, LAXMI, "+919876599999", "shared-b")
    (campaign,) = campaigns()
    result = preview(db_engine, campaign, texts=texts(), channels=channels, now=NOON)
    with Session(db_engine) as session:
        assert session.exec(select(Reminder)).all() == []  # a preview plans nothing

    planned = plan(db_engine, campaigns=[campaign], now=NOON, progress=False)
    summary = SendSummary()
    ReminderSender(db_engine, campaigns=[campaign], texts=texts(), channels=channels, now=NOON).queue_due(summary)
    with Session(db_engine) as session:
        queued = Counter(r.channel for r in session.exec(select(Reminder).where(Reminder.status == "queued")).all())
    assert result.audience == planned.total > 10
    assert result.reachable == dict(queued)
    assert result.unreachable_reasons["opted_out"] == summary.skipped_opted_out == 1
    assert result.unreachable_reasons["shared_phone"] == summary.skipped_shared_phone == 2
    assert result.unreachable_reasons["no_phone"] == 1
    reasons = result.unreachable_reasons
    assert reasons["no_phone"] + reasons["no_channel"] == summary.skipped_no_channel
    assert result.audience == result.unreachable + sum(result.reachable.values())
    if channels == ["telegram"]:
        assert result.reachable == {"telegram": 1}  # only Sunita wrote; nobody else can be reached
    assert result.period == "2026-W48" and result.as_dict()["running"] is True


def test_the_sample_is_the_first_persons_message_in_both_languages(db_engine):
    seeded(db_engine)
    (campaign,) = campaigns()
    result = preview(db_engine, campaign, texts=texts(), channels=[], now=NOON)
    (en, hi) = result.sample
    assert en["lang"] == "en" and hi["lang"] == "hi"
    assert "mandatory courses" in en["text"] and "To stop these reminders, reply STOP." in en["text"]
    assert "अनिवार्य कोर्स" in hi["text"] and "STOP" in hi["text"]
    assert set(result.as_dict()) >= {"campaign", "audience", "reachable", "unreachable", "sample"}


def test_an_empty_audience_or_a_paused_campaign_is_said_so(db_engine):
    seeded(db_engine)
    (campaign,) = campaigns()
    nobody = campaign.model_copy(update={"audience": campaign.audience.model_copy(update={"districts": ("Nowhere",)})})
    result = preview(db_engine, nobody, texts=texts(), channels=[], now=NOON)
    assert (result.audience, result.reachable, result.unreachable, result.sample) == (0, {}, 0, [])
    paused = campaign.model_copy(update={"enabled": False})
    assert preview(db_engine, paused, texts=texts(), channels=[], now=NOON).as_dict()["running"] is False
