"""One reminder message a day per person across campaigns: what is due for them at once goes in one
message listing their pending courses; beyond the cap it waits for the next day (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlmodel import Session, select

from bot.models import Employee, OutboxMessage, Reminder
from bot.providers.console import ConsoleMailbox
from bot.reminders import plan, report, send
from bot.reminders.campaigns import Campaign
from bot.reminders.render import pending_courses
from tests.reminders.helpers import NOON, SUNITA, campaigns, seeded, texts


def campaign(id: str, **fields) -> Campaign:
    message = {"en": f"[{id}] {{name}}:\n{{courses}}", "hi": f"[{id}] {{name}}:\n{{courses}}"}
    return Campaign.model_validate({"id": id, "name": id, "message": message, **fields})


ALL = [
    *campaigns(),  # weekly, everyone with a pending mandatory course
    campaign("asha", audience={"designations": ["ASHA"]}, schedule={"every": "daily"}),  # all pending courses
    campaign("ending", audience={"pending_mandatory": True, "batch_ends_within_days": 7}, schedule={"every": "daily"}),
]


def run(db, chosen, now, **options):
    plan(db, campaigns=chosen, now=now, progress=False)
    return send(db, campaigns=chosen, providers={"console": ConsoleMailbox()}, texts=texts(), now=now,
                progress=False, **options)  # fmt: skip


def messages_of(db, phone: str) -> list[str]:
    with Session(db) as session:
        employee = session.exec(select(Employee).where(Employee.phone == phone)).one()
        return list(
            session.exec(
                select(OutboxMessage.text).join(Reminder, Reminder.id == OutboxMessage.reminder_id)
                .where(Reminder.employee_id == employee.id).order_by(OutboxMessage.id)
            ).all()
        )  # fmt: skip


def test_several_campaigns_due_at_once_make_one_message_per_person(db_engine):
    seeded(db_engine)
    summary = run(db_engine, ALL, NOON)
    with Session(db_engine) as session:
        reminders = session.exec(select(Reminder)).all()
        per_person = Counter(r.employee_id for r in session.exec(select(OutboxMessage.reminder_id, Reminder.employee_id)
                             .join(Reminder, Reminder.id == OutboxMessage.reminder_id)).all())  # fmt: skip
    assert per_person and set(per_person.values()) == {1}  # nobody got two messages
    by_person = Counter(r.employee_id for r in reminders)
    assert max(by_person.values()) == 3 and summary.combined == len(reminders) - len(per_person)
    assert summary.sent == len(per_person)
    assert {r.status for r in reminders} == {"sent"}  # the combined ones follow the message that carried them
    carried = [r for r in reminders if r.combined_into is not None]
    assert carried and all(r.channel == "console" for r in carried)
    assert report(db_engine)["sent"] == len(reminders)

    # Sunita (an ASHA) is in all three; ASHA's campaign asks for every pending course, so her one message
    # is in its words (not "mandatory courses") and lists every course she has not finished.
    (sunita,) = messages_of(db_engine, SUNITA)
    with Session(db_engine) as session:
        employee = session.exec(select(Employee).where(Employee.phone == SUNITA)).one()
        everything = pending_courses(session, [employee.id], mandatory_only=False)[employee.id]
    assert sunita.startswith("[asha] Sunita") and everything
    assert all(course.title("hi") in sunita for course in everything)


def test_a_campaign_due_later_the_same_day_waits_for_tomorrow_then_goes(db_engine):
    seeded(db_engine)
    run(db_engine, ALL[:1], NOON)
    later = campaign("later", audience={"pending_mandatory": True})
    summary = run(db_engine, [later], NOON + timedelta(hours=2))
    assert summary.deferred_daily_cap > 0 and summary.sent == 0
    assert len(messages_of(db_engine, SUNITA)) == 1
    with Session(db_engine) as session:
        waiting = session.exec(select(Reminder).where(Reminder.campaign == "later")).all()
    assert {r.status for r in waiting} == {"planned"}
    assert {r.due_at.isoformat() for r in waiting} == {"2026-11-24T18:30:00+00:00"}  # midnight in Kolkata
    tomorrow = run(db_engine, [later], NOON + timedelta(days=1))
    assert tomorrow.sent == len(waiting) and tomorrow.deferred_daily_cap == 0
    assert len(messages_of(db_engine, SUNITA)) == 2


def test_the_cap_is_a_setting(db_engine):
    seeded(db_engine)
    run(db_engine, ALL[:1], NOON)
    summary = run(db_engine, [campaign("later", audience={"pending_mandatory": True})], NOON + timedelta(hours=2),
                  daily_cap=2)  # fmt: skip
    assert summary.deferred_daily_cap == 0 and summary.sent > 0
    assert len(messages_of(db_engine, SUNITA)) == 2
