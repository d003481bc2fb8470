"""Writing small iGOT reports for the import tests, and reading back what an import left."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.models import Course, Employee, Enrolment

HEADER = [
    "Full_Name", "Phone_Number", "Email", "Designation", "Group", "Department", "External_System_Id",
    "Content_Id", "Content_Name", "Status", "Content_Progress_Percentage", "Completed_On",
    "Certificate_Generated", "Live_CBP_Plan_Mandate", "Batch_End_Date", "Batch_Id", "Enrolled_On", "District",
]  # fmt: skip


def row(name="सुनीता साहू", phone="9876500001", course="Basics of Cyber Security", status="In Progress", *,
        external_id="CG-HLT-1", content_id="do_1", progress="40", completed="", certificate="No",
        mandatory="Yes", end="30/11/2026", designation="ASHA", email="sunita@cg.gov.in", department="Health",
        batch="", enrolled="", district="Raipur") -> list[str]:  # fmt: skip
    return [name, phone, email, designation, "Group D", department, external_id, content_id, course, status,
            progress, completed, certificate, mandatory, end, batch, enrolled, district]  # fmt: skip


def write(tmp_path: Path, rows: list[list[str]], *, header=HEADER, name="report.csv", bom=True) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def counts(engine: Engine) -> tuple[int, ...]:
    """Employees, courses, enrolments."""
    with Session(engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one() for table in (Employee, Course, Enrolment)
        )


def rejects(path: Path) -> list[tuple[int, str]]:
    with path.with_name(f"{path.stem}.rejects.csv").open(encoding="utf-8-sig") as stream:
        return [(int(line["line"]), line["reason"]) for line in csv.DictReader(stream)]


def enrolments(engine: Engine) -> list[tuple[str, str, str, int, str | None]]:
    """(employee, course, status, progress, batch) of every enrolment, in that order."""
    query = (
        select(Employee.name, Course.name, Enrolment.status, Enrolment.progress, Enrolment.batch_id)
        .join(Employee, Employee.id == Enrolment.employee_id)
        .join(Course, Course.id == Enrolment.course_id)
        .order_by(Employee.name, Course.name)
    )
    with Session(engine) as session:
        return [tuple(found) for found in session.exec(query).all()]
