"""Who is writing (by a phone the channel vouched for) and what their own course records say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from bot.models import Course, Employee, Enrolment, EnrolmentStatus

# Certificates can take up to a day to appear; past that a person should look.
CERTIFICATE_GRACE = timedelta(days=1)


class Match(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    AMBIGUOUS = "ambiguous"  # one phone in several employees' records: show nobody's


@dataclass(frozen=True)
class CourseLine:
    name: str
    name_hi: str | None
    status: str
    progress: int
    mandatory: bool
    batch_end_date: date | None
    completed_on: date | None
    certificate_generated: bool
    certificate_late: bool  # finished for over a day and still no certificate
    past_end_date: bool  # not finished and its batch has ended

    @property
    def pending(self) -> bool:
        return self.status != EnrolmentStatus.COMPLETED

    def title(self, lang: str) -> str:
        return self.name_hi if lang == "hi" and self.name_hi else self.name


@dataclass(frozen=True)
class StatusView:
    """One employee's enrolments, pending mandatory courses first (nearest end date first)."""

    name: str
    phone: str
    courses: tuple[CourseLine, ...]

    @property
    def pending_mandatory(self) -> tuple[CourseLine, ...]:
        return tuple(line for line in self.courses if line.pending and line.mandatory)

    @property
    def completed(self) -> tuple[CourseLine, ...]:
        return tuple(line for line in self.courses if not line.pending)


def find_employee(session: Session, *, phone: str) -> tuple[Match, Employee | None]:
    """The one employee whose records carry this phone."""
    # Records only change by import, never in a conversation's transaction: nothing pending in the
    # session concerns them, so do not flush it first.
    with session.no_autoflush:
        employees = session.exec(select(Employee).where(Employee.phone == phone).limit(2)).all()
    if not employees:
        return Match.UNKNOWN, None
    if len(employees) > 1:
        return Match.AMBIGUOUS, None
    return Match.FOUND, employees[0]


def status_view(session: Session, *, employee: Employee, today: date) -> StatusView:
    """The employee's own enrolments, ordered for reading on a phone."""
    query = (
        select(Enrolment, Course)
        .join(Course, col(Course.id) == Enrolment.course_id)
        .where(Enrolment.employee_id == employee.id)
    )
    with session.no_autoflush:  # read-only records, as in `find_employee`
        rows = session.exec(query).all()
    lines = [_line(enrolment, course, today) for enrolment, course in rows]
    lines.sort(key=_reading_order)
    return StatusView(name=employee.name, phone=employee.phone or "", courses=tuple(lines))


def _line(enrolment: Enrolment, course: Course, today: date) -> CourseLine:
    finished = enrolment.status == EnrolmentStatus.COMPLETED or enrolment.progress >= 100
    finished_on = enrolment.completed_on or enrolment.updated_at.date()
    return CourseLine(
        name=course.name,
        name_hi=course.name_hi,
        status=enrolment.status,
        progress=enrolment.progress,
        mandatory=enrolment.mandatory,
        batch_end_date=enrolment.batch_end_date,
        completed_on=enrolment.completed_on,
        certificate_generated=enrolment.certificate_generated,
        certificate_late=finished and not enrolment.certificate_generated and today - finished_on > CERTIFICATE_GRACE,
        past_end_date=enrolment.status != EnrolmentStatus.COMPLETED
        and enrolment.batch_end_date is not None
        and enrolment.batch_end_date < today,
    )


def _reading_order(line: CourseLine) -> tuple[int, date | int, str]:
    group = 0 if line.pending and line.mandatory else 1 if line.pending else 2
    if group < 2:
        return (group, line.batch_end_date or date.max, line.name)
    return (group, -(line.completed_on or date.min).toordinal(), line.name)
