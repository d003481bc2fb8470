"""An employee's own status: found by a vouched phone, ordered for reading, with hints from the data."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from bot.models import Course, Employee, Enrolment
from bot.records.status import Match, find_employee, status_view

TODAY = date(2026, 11, 24)


def add_employee(session: Session, phone: str = "+919876500001", name: str = "Sunita Sahu") -> Employee:
    employee = Employee(name=name, phone=phone)
    session.add(employee)
    session.flush()
    return employee


def enrol(session: Session, employee: Employee, course_name: str, **values) -> None:
    course = Course(name=course_name, name_hi=values.pop("name_hi", None))
    session.add(course)
    session.flush()
    session.add(
        Enrolment(employee_id=employee.id, course_id=course.id, updated_at=datetime(2026, 11, 1, tzinfo=UTC), **values)
    )
    session.flush()


def test_find_by_phone_unknown_and_ambiguous(db_engine):
    with Session(db_engine) as session:
        add_employee(session)
        add_employee(session, "+919876500002", "A")
        add_employee(session, "+919876500002", "B")
        assert find_employee(session, phone="+919876500001")[0] is Match.FOUND
        assert find_employee(session, phone="+919876500009") == (Match.UNKNOWN, None)
        assert find_employee(session, phone="+919876500002") == (Match.AMBIGUOUS, None)


def test_pending_mandatory_first_nearest_end_date_first_then_hints(db_engine):
    with Session(db_engine) as session:
        sunita = add_employee(session)
        enrol(session, sunita, "Optional later", status="in-progress", progress=10, batch_end_date=date(2026, 12, 1))
        enrol(session, sunita, "Mandatory far", status="not-started", mandatory=True, batch_end_date=date(2027, 1, 1))
        enrol(
            session,
            sunita,
            "Mandatory near",
            status="in-progress",
            progress=40,
            mandatory=True,
            batch_end_date=date(2026, 11, 29),
        )
        enrol(
            session,
            sunita,
            "Mandatory missed",
            status="in-progress",
            progress=70,
            mandatory=True,
            batch_end_date=date(2026, 11, 14),
        )
        enrol(
            session, sunita, "Done, no certificate", status="completed", progress=100, completed_on=date(2026, 11, 20)
        )
        enrol(session, sunita, "Done today", status="completed", progress=100, completed_on=TODAY)
        enrol(
            session,
            sunita,
            "Done, certified",
            status="completed",
            progress=100,
            completed_on=date(2026, 10, 1),
            certificate_generated=True,
        )
        view = status_view(session, employee=sunita, today=TODAY)
    assert [line.name for line in view.courses] == [
        "Mandatory missed", "Mandatory near", "Mandatory far", "Optional later",
        "Done today", "Done, no certificate", "Done, certified",
    ]  # fmt: skip
    flags = {line.name: (line.past_end_date, line.certificate_late) for line in view.courses}
    assert flags["Mandatory missed"] == (True, False)
    assert flags["Done, no certificate"] == (False, True)
    assert flags["Done today"] == (False, False)  # still within the 24 hours certificates may take
    assert len(view.pending_mandatory) == 3 and len(view.completed) == 3


def test_course_names_in_the_readers_language(db_engine):
    with Session(db_engine) as session:
        sunita = add_employee(session)
        enrol(session, sunita, "Basic Life Support", name_hi="बुनियादी जीवन रक्षा")
        line = status_view(session, employee=sunita, today=TODAY).courses[0]
    assert (line.title("hi"), line.title("en")) == ("बुनियादी जीवन रक्षा", "Basic Life Support")
