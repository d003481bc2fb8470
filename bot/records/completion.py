"""Mandatory-course completion from the imported reports, by group, within a nodal officer's scope.

Counted over mandatory enrolments (`Live_CBP_Plan_Mandate` = Yes) only:
- `employees`: employees with at least one mandatory course in the group;
- `mandatory_total` / `mandatory_completed`: their mandatory enrolments, and those completed;
- `completion_rate`: completed / total (0..1);
- `overdue`: mandatory enrolments not completed whose batch ended before today (`Batch_End_Date`
  earlier than today's date in the deployment's TIMEZONE; an enrolment without an end date is
  never overdue).
Groups (and the scope's districts and departments) are compared without regard to case (the
importer stores cells trimmed; the scope's names are trimmed here); employees without a value form a
group of their own (`None`).

A scope is a set of districts and/or departments: an employee is in it when their district is one
of the districts (if any are given) and their department one of the departments (if any are
given); `None` for both is everyone, an empty collection no one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, Table, and_, case, false, func, literal, null, select, tuple_
from sqlalchemy.orm import Session

from bot.models import Course, Employee, Enrolment, EnrolmentStatus
from bot.phones import mask_phone

EMPLOYEES: Table = Employee.__table__
COURSES: Table = Course.__table__
ENROLMENTS: Table = Enrolment.__table__
COMPLETED = EnrolmentStatus.COMPLETED.value
MAX_PAGE_SIZE = 500
PendingKey = tuple[str, int]  # an employee's place in the pending list: name, then id


class GroupBy(StrEnum):
    DISTRICT = "district"
    DEPARTMENT = "department"
    DESIGNATION = "designation"
    COURSE = "course"


@dataclass(frozen=True)
class CompletionRow:
    group: str | None
    employees: int
    mandatory_total: int
    mandatory_completed: int
    overdue: int

    @property
    def completion_rate(self) -> float:
        return self.mandatory_completed / self.mandatory_total if self.mandatory_total else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "employees": self.employees,
            "mandatory_total": self.mandatory_total,
            "mandatory_completed": self.mandatory_completed,
            "completion_rate": round(self.completion_rate, 4),
            "overdue": self.overdue,
        }


@dataclass(frozen=True)
class PendingCourse:
    name: str
    status: str
    progress: int
    batch_end_date: date | None
    overdue: bool


@dataclass(frozen=True)
class PendingEmployee:
    """An employee with mandatory courses still to finish: the name shown, the phone masked."""

    name: str
    phone: str | None
    designation: str | None
    department: str | None
    district: str | None
    courses: tuple[PendingCourse, ...]


@dataclass(frozen=True)
class PendingPage:
    employees: tuple[PendingEmployee, ...]
    total: int  # employees on all pages
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def today_in(timezone: str) -> date:
    """Today's date where the deployment is (the day a batch end date is compared with)."""
    return datetime.now(ZoneInfo(timezone)).date()


def completion(
    session: Session,
    *,
    by: GroupBy,
    today: date,
    districts: Collection[str] | None = None,
    departments: Collection[str] | None = None,
) -> list[CompletionRow]:
    """One row per group, in the group's alphabetical order (no value last)."""
    key = _normalised(_group_column(by))
    query = _figures(today, func.min(_group_column(by)), by).group_by(key).order_by(key.is_(None), key)
    return [CompletionRow(*row) for row in session.execute(_in_scope(query, districts, departments))]


def completion_total(
    session: Session,
    *,
    today: date,
    districts: Collection[str] | None = None,
    departments: Collection[str] | None = None,
) -> CompletionRow:
    """The same figures for the whole scope (group None)."""
    query = _in_scope(_figures(today, None, None), districts, departments)
    return CompletionRow(*session.execute(query).one())


def pending_employees(
    session: Session,
    *,
    today: date,
    by: GroupBy | None = None,
    group: str | None = None,
    districts: Collection[str] | None = None,
    departments: Collection[str] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> PendingPage:
    """Employees of a group (`by` None: of the whole scope) with pending mandatory courses, by name.

    `group` is a group's value as `completion` shows it (None: the employees without one). Grouped by
    course, only that course is listed for each employee; otherwise all their pending mandatory ones.
    """
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be 1 or more and page_size 1 to {MAX_PAGE_SIZE}")
    pending = _pending(by, group)
    with_pending = _in_scope(_with_pending(pending), districts, departments)
    total = session.execute(select(func.count()).select_from(with_pending.subquery())).scalar_one()
    people = session.execute(_people(with_pending).limit(page_size).offset((page - 1) * page_size)).all()
    return PendingPage(_described(session, people, pending, today), total, page, page_size)


def pending_after(
    session: Session,
    *,
    today: date,
    by: GroupBy | None = None,
    group: str | None = None,
    districts: Collection[str] | None = None,
    departments: Collection[str] | None = None,
    after: PendingKey | None = None,
    limit: int = MAX_PAGE_SIZE,
) -> tuple[tuple[PendingEmployee, ...], PendingKey | None]:
    """`pending_employees`' list read from a place on (for exports of all of it, however long): up to
    `limit` employees after the key `after` (None: from the start), and the key to go on from (None: done)."""
    pending = _pending(by, group)
    query = _people(_in_scope(_with_pending(pending), districts, departments))
    if after is not None:
        query = query.where(tuple_(EMPLOYEES.c.name, EMPLOYEES.c.id) > tuple_(literal(after[0]), literal(after[1])))
    people = session.execute(query.limit(limit)).all()
    following = (people[-1].name, people[-1].id) if len(people) == limit else None
    return _described(session, people, pending, today), following


def _pending(by: GroupBy | None, group: str | None) -> ColumnElement[bool]:
    """Mandatory enrolments not completed, of the group (with `by`)."""
    pending = and_(ENROLMENTS.c.mandatory.is_(True), ENROLMENTS.c.status != COMPLETED)
    if by is not None:
        column = _group_column(by)
        pending = and_(pending, _normalised(column).is_(None) if group is None else _normalised(column) == _key(group))
    return pending


def _with_pending(pending: ColumnElement[bool]) -> Select[Any]:
    """The ids of employees with such enrolments."""
    return (
        select(ENROLMENTS.c.employee_id)
        .join(COURSES, COURSES.c.id == ENROLMENTS.c.course_id)
        .join(EMPLOYEES, EMPLOYEES.c.id == ENROLMENTS.c.employee_id)
        .where(pending)
        .distinct()
    )


def _people(with_pending: Select[Any]) -> Select[Any]:
    return (
        select(EMPLOYEES.c.id, EMPLOYEES.c.name, EMPLOYEES.c.phone, EMPLOYEES.c.designation, EMPLOYEES.c.department,
               EMPLOYEES.c.district)
        .where(EMPLOYEES.c.id.in_(with_pending))
        .order_by(EMPLOYEES.c.name, EMPLOYEES.c.id)
    )  # fmt: skip


def _described(
    session: Session, people: Sequence[Row[Any]], pending: ColumnElement[bool], today: date
) -> tuple[PendingEmployee, ...]:
    """These employees with their pending courses (the enrolments `pending` selects), phones masked."""
    courses: dict[int, list[PendingCourse]] = {person.id: [] for person in people}
    rows = session.execute(
        select(ENROLMENTS.c.employee_id, COURSES.c.name, ENROLMENTS.c.status, ENROLMENTS.c.progress,
               ENROLMENTS.c.batch_end_date)
        .join(COURSES, COURSES.c.id == ENROLMENTS.c.course_id)
        .join(EMPLOYEES, EMPLOYEES.c.id == ENROLMENTS.c.employee_id)
        .where(pending, ENROLMENTS.c.employee_id.in_(list(courses)))
        .order_by(ENROLMENTS.c.batch_end_date.is_(None), ENROLMENTS.c.batch_end_date, COURSES.c.name)
    )  # fmt: skip
    for employee_id, name, status, progress, end in rows:
        courses[employee_id].append(PendingCourse(name, status, progress, end, end is not None and end < today))
    return tuple(
        PendingEmployee(
            name=person.name,
            phone=mask_phone(person.phone) if person.phone else None,
            designation=person.designation,
            department=person.department,
            district=person.district,
            courses=tuple(courses[person.id]),
        )
        for person in people
    )


def _group_column(by: GroupBy) -> ColumnElement[Any]:
    return COURSES.c.name if by is GroupBy.COURSE else EMPLOYEES.c[by.value]


def _normalised(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # The very expression of the employee indexes on district and department (bot.models.records).
    return func.lower(column)


def _key(value: str) -> str:
    # Python's lower() agrees with the databases' lower() on the names districts and departments have.
    return value.strip().lower()


def _figures(today: date, label: ColumnElement[Any] | None, by: GroupBy | None) -> Select[Any]:
    enrolments = ENROLMENTS.c
    completed = enrolments.status == COMPLETED
    overdue = and_(~completed, enrolments.batch_end_date < today)
    query = select(
        label if label is not None else null(),
        func.count(enrolments.employee_id.distinct()),
        func.count(),
        func.coalesce(func.sum(case((completed, 1), else_=0)), 0),
        func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
    ).join_from(ENROLMENTS, EMPLOYEES, EMPLOYEES.c.id == enrolments.employee_id)
    if by is GroupBy.COURSE:
        query = query.join(COURSES, COURSES.c.id == enrolments.course_id)
    return query.where(enrolments.mandatory.is_(True))


def _in_scope(
    query: Select[Any], districts: Collection[str] | None, departments: Collection[str] | None
) -> Select[Any]:
    """Only employees of these districts and departments (None: any)."""
    for column, values in ((EMPLOYEES.c.district, districts), (EMPLOYEES.c.department, departments)):
        if values is None:
            continue
        keys = sorted({_key(value) for value in values})
        query = query.where(_normalised(column).in_(keys) if keys else false())
    return query
