"""Did the reminders work: completion within 7/14/30 days of those reminded, of those planned for but not
reminded, and of the reminded over the days before; on a constructed history (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlmodel import Session

from bot.models import Course, Employee, Enrolment, Reminder
from bot.reminders.campaigns import Campaign
from bot.reminders.effect import effectiveness

TODAY = date(2026, 12, 31)
MANDATORY = Campaign.model_validate({"id": "mandatory", "name": "M", "audience": {"pending_mandatory": True},
                                     "message": {"en": "x", "hi": "y"}})  # fmt: skip


def at(day: date) -> datetime:
    return datetime.combine(day, time(6, 30), tzinfo=UTC)  # noon in Kolkata


def history(db) -> None:
    """A..F reminded (E only recently), G and H planned for but never reminded."""
    people = {
        # name: (reminder day, sent?, [(mandatory, completed_on or None)])
        "A": (date(2026, 11, 1), True, [(True, date(2026, 11, 5))]),
        "B": (date(2026, 11, 1), True, [(True, date(2026, 11, 12))]),
        "C": (date(2026, 11, 1), True, [(True, date(2026, 11, 25))]),
        "D": (date(2026, 11, 1), True, [(True, None), (False, date(2026, 11, 3))]),  # only an optional one done
        "E": (date(2026, 12, 20), True, [(True, date(2026, 12, 22))]),
        "F": (date(2026, 11, 1), True, [(True, date(2026, 10, 20)), (True, None)]),  # finished one before
        "G": (date(2026, 11, 1), False, [(True, date(2026, 11, 20))]),
        "H": (date(2026, 11, 1), False, [(True, None)]),
    }
    with Session(db) as session:
        courses = [Course(name=f"Course {n}") for n in range(2)]
        session.add_all(courses)
        session.flush()
        for name, (day, sent, enrolments) in people.items():
            employee = Employee(name=name, phone=f"+9198765000{ord(name):02d}")
            session.add(employee)
            session.flush()
            for course, (mandatory, done) in zip(courses, enrolments, strict=False):
                session.add(Enrolment(employee_id=employee.id, course_id=course.id, mandatory=mandatory,
                                      status="completed" if done else "in-progress", completed_on=done))  # fmt: skip
            status = "sent" if sent else ("skipped" if name == "G" else "planned")
            session.add(Reminder(campaign="mandatory", employee_id=employee.id, period=day.isoformat(),
                                 status=status, due_at=at(day), created_at=at(day),
                                 finished_at=at(day) if sent else None))  # fmt: skip
            if name == "A":  # a second reminder a week later: the first one's day counts
                session.add(Reminder(campaign="mandatory", employee_id=employee.id, period="later", status="sent",
                                     due_at=at(date(2026, 11, 8)), created_at=at(date(2026, 11, 8)),
                                     finished_at=at(date(2026, 11, 8))))  # fmt: skip
        session.commit()


def figures(group: dict) -> list[tuple[int, int]]:
    return [(group[days]["people"], group[days]["completed"]) for days in ("7", "14", "30")]


def test_the_figures_of_a_constructed_history(db_engine):
    history(db_engine)
    (result,) = effectiveness(db_engine, [MANDATORY], today=TODAY).values()
    assert figures(result["reminded"]) == [(6, 2), (5, 2), (5, 3)]  # E has had 7 days, not 14
    assert figures(result["not_reminded"]) == [(2, 0), (2, 0), (2, 1)]
    assert figures(result["before"]) == [(6, 0), (6, 1), (6, 1)]  # F finished one 12 days before
    assert result["reminded"]["30"]["rate"] == 0.6 and result["not_reminded"]["30"]["rate"] == 0.5


def test_a_campaign_about_any_course_counts_optional_ones(db_engine):
    history(db_engine)
    anything = MANDATORY.model_copy(
        update={"audience": MANDATORY.audience.model_copy(update={"pending_mandatory": False})}
    )
    (result,) = effectiveness(db_engine, [anything], today=TODAY).values()
    assert figures(result["reminded"]) == [(6, 3), (5, 3), (5, 4)]  # D's optional course counts now


def test_nothing_reminded_yet_gives_no_rates(db_engine):
    (result,) = effectiveness(db_engine, [MANDATORY], today=TODAY).values()
    assert result["reminded"]["7"] == {"people": 0, "completed": 0, "rate": None}
