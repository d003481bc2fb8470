"""The synthetic sample data: deterministic, realistic, and the documented sample users as promised."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import db
from bot.models import Course, Employee, Enrolment, EnrolmentStatus, Person
from bot.seed import COURSES, SAMPLE_USERS, SeedSummary, seed_database

TODAY = date(2026, 12, 1)
SMALL = 300
PHONE = re.compile(r"^\+91[6-9]\d{9}$")
EXTERNAL_ID = re.compile(r"^(UP|CG|OD)-(HLT|POL|EDU|REV|PRD|WCD)-\d{6}$")
EMAIL = re.compile(r"^[a-z]+\.[a-z]+\d{1,2}@[a-z]+\.(up|cg|odisha)\.gov\.in$")
CERTIFICATE_ID = re.compile(r"^CERT-\d{4}-\d{7}$")
KEY_BY_CONTENT_ID = {course.content_id: course.key for course in COURSES}


@pytest.fixture
def other_sqlite(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A second empty, migrated SQLite database, to seed beside `db_engine`."""
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    engine = db.create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def seed_into(engine: Engine, *, employees: int = SMALL, seed: int = 2026) -> SeedSummary:
    """Seed a database in its own transaction."""
    with db.session_scope(engine) as session:
        return seed_database(session, employees=employees, seed=seed, today=TODAY)


def languages(engine: Engine) -> dict[str, str | None]:
    """Each seeded person's preferred language (a person's preference, by phone); None: not known."""
    with db.session_scope(engine) as session:
        chosen = {person.phone: person.lang for person in session.exec(select(Person))}
        return {employee.phone: chosen.get(employee.phone) for employee in session.exec(select(Employee))}


def employees_by_phone(engine: Engine) -> dict[str, Employee]:
    """Every employee, keyed by phone."""
    with db.session_scope(engine) as session:
        return {employee.phone: employee for employee in session.exec(select(Employee))}


def enrolments(engine: Engine, phone: str | None = None) -> list[tuple[Enrolment, Course]]:
    """Enrolments with their courses, of one employee or of everyone."""
    query = select(Enrolment, Course).join(Course).join(Employee)
    if phone is not None:
        query = query.where(Employee.phone == phone)
    with db.session_scope(engine) as session:
        return list(session.exec(query).all())


def projection(engine: Engine) -> tuple[list[tuple], list[tuple]]:
    """Every seeded value except surrogate ids, in a stable order."""
    employee_columns = [c for c in Employee.__table__.c if c.name != "id"]
    enrolment_columns = [c for c in Enrolment.__table__.c if c.name not in ("id", "employee_id", "course_id")]
    with db.session_scope(engine) as session:
        people = session.execute(select(*employee_columns).order_by(Employee.external_id)).all()
        taken = session.execute(
            select(
                Employee.external_id,
                Course.content_id,
                Course.name,
                Course.name_hi,
                *enrolment_columns,
            )
            .join(Employee, Enrolment.employee_id == Employee.id)
            .join(Course, Enrolment.course_id == Course.id)
            .order_by(Employee.external_id, Course.content_id)
        ).all()
    return [tuple(row) for row in people], [tuple(row) for row in taken]


def test_writes_the_numbers_asked_for(db_engine):
    summary = seed_into(db_engine)

    with db.session_scope(db_engine) as session:
        assert session.exec(select(func.count()).select_from(Employee)).one() == SMALL
        assert session.exec(select(func.count()).select_from(Course)).one() == len(COURSES)
        enrolment_count = session.exec(select(func.count()).select_from(Enrolment)).one()
    assert summary == SeedSummary(employees=SMALL, courses=len(COURSES), enrolments=enrolment_count)
    assert enrolment_count > 2 * SMALL  # 2-3 mandatory courses each, plus optional ones


def test_the_same_arguments_write_the_same_rows_on_any_backend(db_engine, other_sqlite):
    seed_into(db_engine)
    seed_into(other_sqlite)

    assert projection(db_engine) == projection(other_sqlite)


def test_another_seed_draws_other_people_but_the_same_sample_users(db_engine, other_sqlite):
    seed_into(db_engine, seed=1)
    seed_into(other_sqlite, seed=2)

    first, second = employees_by_phone(db_engine), employees_by_phone(other_sqlite)
    samples = {user.phone for user in SAMPLE_USERS}
    assert samples <= first.keys() & second.keys()
    assert first.keys() - samples != second.keys() - samples


def test_a_database_with_employees_is_left_alone(db_engine):
    seed_into(db_engine)
    before = projection(db_engine)

    assert seed_into(db_engine, seed=99) == SeedSummary(employees=0, courses=0, enrolments=0)
    assert projection(db_engine) == before


def test_fewer_employees_than_sample_users_is_refused(db_engine):
    with pytest.raises(ValueError, match="at least"):
        seed_into(db_engine, employees=len(SAMPLE_USERS) - 1)


def test_the_default_size_seeds_three_thousand_unique_employees(db_engine):
    with db.session_scope(db_engine) as session:
        summary = seed_database(session, today=TODAY)

    people = employees_by_phone(db_engine)
    assert summary.employees == len(people) == 3000
    assert len({person.external_id for person in people.values()}) == 3000


def test_phones_are_unique_indian_mobiles_in_e164(db_engine):
    seed_into(db_engine)

    with db.session_scope(db_engine) as session:
        phones = session.exec(select(Employee.phone)).all()
    assert len(phones) == len(set(phones)) == SMALL
    assert all(PHONE.match(phone) for phone in phones)


def test_employees_look_like_state_government_staff(db_engine):
    seed_into(db_engine)

    people = list(employees_by_phone(db_engine).values())
    assert all(EXTERNAL_ID.match(person.external_id) for person in people)
    emails = [person.email for person in people if person.email is not None]
    assert all(EMAIL.match(email) for email in emails)
    assert 0.6 < len(emails) / len(people) < 0.8
    assert {person.ministry for person in people} == {
        "Government of Uttar Pradesh",
        "Government of Chhattisgarh",
        "Government of Odisha",
    }
    designations = {person.designation for person in people}
    assert {
        "ASHA",
        "ANM",
        "Constable",
        "Assistant Teacher",
        "Patwari",
        "Anganwadi Worker",
    } <= designations
    assert set(languages(db_engine).values()) == {"hi", "en", None}


def test_every_course_has_a_hindi_name(db_engine):
    seed_into(db_engine)

    with db.session_scope(db_engine) as session:
        courses = session.exec(select(Course)).all()
    assert all(re.search("[\u0900-\u097f]", course.name_hi) for course in courses)
    assert all(course.content_id.startswith("do_") for course in courses)


def test_statuses_progress_dates_and_certificates_agree(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine)]
    assert {row.status for row in rows} == set(EnrolmentStatus)
    for row in rows:
        completed = row.status == EnrolmentStatus.COMPLETED
        if row.status == EnrolmentStatus.NOT_STARTED:
            assert row.progress == 0
        elif row.status == EnrolmentStatus.IN_PROGRESS:
            assert 1 <= row.progress <= 99
        else:
            assert row.progress == 100
        assert TODAY - timedelta(days=183) <= row.enrolled_on <= TODAY
        assert row.enrolled_on < row.batch_end_date
        assert (row.completed_on is not None) == completed
        if completed:
            assert row.enrolled_on < row.completed_on <= min(TODAY, row.batch_end_date)
        assert row.certificate_generated == (row.certificate_id is not None)
        assert not row.certificate_generated or completed
        assert row.certificate_id is None or CERTIFICATE_ID.match(row.certificate_id)
    completions = [row for row in rows if row.status == EnrolmentStatus.COMPLETED]
    assert 0 < sum(not row.certificate_generated for row in completions) < 0.2 * len(completions)
    pending_ends = [row.batch_end_date for row in rows if row.status != EnrolmentStatus.COMPLETED]
    assert any(end < TODAY for end in pending_ends)
    assert any(TODAY < end <= TODAY + timedelta(days=7) for end in pending_ends)


def test_about_a_third_of_employees_have_a_pending_mandatory_course(db_engine):
    seed_into(db_engine)

    behind = {
        enrolment.employee_id
        for enrolment, _ in enrolments(db_engine)
        if enrolment.mandatory and enrolment.status != EnrolmentStatus.COMPLETED
    }
    assert 0.2 < len(behind) / SMALL < 0.4


def test_sample_users_are_seeded_as_documented(db_engine):
    seed_into(db_engine)

    people = employees_by_phone(db_engine)
    for user in SAMPLE_USERS:
        person = people[user.phone]
        assert (person.name, person.designation, person.department, person.district) == (
            user.name,
            user.designation,
            user.department,
            user.district,
        )
        assert languages(db_engine)[user.phone] == user.preferred_lang
        promised = {
            (
                e.course,
                e.status,
                e.progress,
                e.mandatory,
                TODAY + timedelta(days=e.batch_ends_in_days),
                e.certificate,
            )
            for e in user.enrolments
        }
        seeded = {
            (
                KEY_BY_CONTENT_ID[course.content_id],
                row.status,
                row.progress,
                row.mandatory,
                row.batch_end_date,
                row.certificate_generated,
            )
            for row, course in enrolments(db_engine, user.phone)
        }
        assert seeded == promised


def test_the_asha_worker_has_a_batch_ending_this_week_and_a_course_not_started(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine, "+919876500001")]
    pending = [row for row in rows if row.mandatory and row.status != EnrolmentStatus.COMPLETED]
    assert any(TODAY < row.batch_end_date <= TODAY + timedelta(days=7) for row in pending)
    assert any(row.status == EnrolmentStatus.NOT_STARTED for row in pending)
    assert any(row.certificate_generated for row in rows)


def test_the_constable_finished_a_course_without_a_certificate(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine, "+919876500002")]
    assert any(
        row.status == EnrolmentStatus.COMPLETED and row.progress == 100 and not row.certificate_generated
        for row in rows
    )


def test_the_teacher_has_completed_everything(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine, "+919876500003")]
    assert rows
    assert all(row.status == EnrolmentStatus.COMPLETED and row.certificate_generated for row in rows)


def test_the_anm_is_past_a_mandatory_batch_end(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine, "+919876500004")]
    assert any(row.mandatory and row.status != EnrolmentStatus.COMPLETED and row.batch_end_date < TODAY for row in rows)


def test_the_patwari_has_several_courses_in_progress(db_engine):
    seed_into(db_engine)

    rows = [enrolment for enrolment, _ in enrolments(db_engine, "+919876500005")]
    assert sum(row.status == EnrolmentStatus.IN_PROGRESS for row in rows) >= 2
    assert not any(row.status == EnrolmentStatus.COMPLETED for row in rows)


def test_the_clerk_has_no_enrolments_and_no_language(db_engine):
    seed_into(db_engine)

    assert enrolments(db_engine, "+919876500006") == []
    assert languages(db_engine)["+919876500006"] is None
