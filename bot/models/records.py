"""Employees, courses and enrolments as the departments' iGOT reports describe them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, func
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class EnrolmentStatus(StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


class Employee(TableModel, table=True):
    """A government employee as the department's iGOT reports know them."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=16, index=True, description="E.164")
    email: str | None = Field(default=None, max_length=254)
    external_id: str | None = Field(default=None, max_length=64, unique=True, description="eHRMS id")
    ministry: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    designation: str | None = Field(default=None, max_length=120, index=True)
    group: str | None = Field(default=None, max_length=60)
    district: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# A nodal officer's reports and campaigns select employees by district or department regardless of
# case (bot.records.completion): these find them without reading everyone.
for _name in ("district", "department"):
    Index(f"ix_employee_{_name}_key", func.lower(Employee.__table__.c[_name]))


class Course(TableModel, table=True):
    """A course or programme on iGOT."""

    id: int | None = Field(default=None, primary_key=True)
    content_id: str | None = Field(default=None, max_length=80, unique=True)
    name: str = Field(max_length=300, index=True)
    name_hi: str | None = Field(default=None, max_length=300)


class Enrolment(TableModel, table=True):
    """One employee in one course, as of the latest imported report."""

    __table_args__ = (UniqueConstraint("employee_id", "course_id"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id")  # indexed by the unique (employee, course)
    course_id: int = Field(foreign_key="course.id", index=True)
    status: str = Field(default=EnrolmentStatus.NOT_STARTED.value, max_length=12, description="EnrolmentStatus")
    progress: int = Field(default=0, ge=0, le=100)
    mandatory: bool = Field(default=False)
    batch_id: str | None = Field(default=None, max_length=80)
    batch_end_date: date | None = None
    enrolled_on: date | None = None
    completed_on: date | None = None
    certificate_generated: bool = Field(default=False)
    certificate_id: str | None = Field(default=None, max_length=120)
    updated_at: datetime = Field(default_factory=utcnow)
