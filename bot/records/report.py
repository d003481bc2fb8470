"""Reading one row of an iGOT MDO enrolment report into clean values, or a reason it is unusable."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

from bot.models import EnrolmentStatus
from bot.phones import PhoneError, to_e164

REQUIRED_COLUMNS = ("Full_Name", "Phone_Number", "Content_Name", "Status")
OPTIONAL_COLUMNS = (
    "Email", "Designation", "Group", "Ministry", "Department", "Organization", "District",
    "External_System_Id", "Content_Id", "Batch_Id", "Batch_End_Date", "Enrolled_On",
    "Content_Progress_Percentage", "Completed_On", "Certificate_Generated", "Certificate_ID",
    "Live_CBP_Plan_Mandate",
)  # fmt: skip
_STATUSES = {
    "not-started": EnrolmentStatus.NOT_STARTED, "not started": EnrolmentStatus.NOT_STARTED,
    "notstarted": EnrolmentStatus.NOT_STARTED, "0": EnrolmentStatus.NOT_STARTED,
    "in-progress": EnrolmentStatus.IN_PROGRESS, "in progress": EnrolmentStatus.IN_PROGRESS,
    "inprogress": EnrolmentStatus.IN_PROGRESS, "1": EnrolmentStatus.IN_PROGRESS,
    "completed": EnrolmentStatus.COMPLETED, "complete": EnrolmentStatus.COMPLETED, "2": EnrolmentStatus.COMPLETED,
}  # fmt: skip
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")


class RowError(ValueError):
    """Why a report row cannot be imported, in words a nodal officer understands."""


# NamedTuples rather than frozen dataclasses: a report has a million rows, and these are built for
# each one (a frozen dataclass sets every field through object.__setattr__).
class EmployeeValues(NamedTuple):
    name: str
    phone: str
    email: str | None
    external_id: str | None
    ministry: str | None
    department: str | None
    organisation: str | None
    designation: str | None
    group: str | None
    district: str | None

    @property
    def key(self) -> str:
        """An employee is keyed by the external system id (eHRMS), else by phone."""
        return f"id:{self.external_id}" if self.external_id else f"phone:{self.phone}"


class EnrolmentValues(NamedTuple):
    status: str
    progress: int
    mandatory: bool
    batch_id: str | None
    batch_end_date: date | None
    enrolled_on: date | None
    completed_on: date | None
    certificate_generated: bool
    certificate_id: str | None


class ReportRow(NamedTuple):
    line: int
    employee: EmployeeValues
    course_key: str
    course_name: str
    content_id: str | None
    enrolment: EnrolmentValues


def header_map(header: list[str]) -> dict[str, int]:
    """Column name -> position, matching the contract's names regardless of case and spacing."""
    wanted = {name.casefold(): name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    positions: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = wanted.get(raw.strip().lstrip("\ufeff").casefold())
        if name and name not in positions:
            positions[name] = position
    return positions


def parse_date(value: str | None, column: str) -> date | None:
    """`2026-11-24`, `24-11-2026` or `24/11/2026` (a time after the date is ignored)."""
    if not value:
        return None
    day = _parse_day(value.split(" ")[0].split("T")[0])
    if day is None:
        raise RowError(f"{column}: '{value}' is not a date (use YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY)")
    return day


@lru_cache(maxsize=8192)  # a report repeats the same few hundred dates a million times
def _parse_day(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_status(value: str | None) -> str:
    status = _STATUSES.get((value or "").strip().casefold())
    if status is None:
        raise RowError(f"Status: '{value or ''}' is not one of not-started, in-progress, completed (or 0, 1, 2)")
    return status.value


def parse_flag(value: str | None, column: str) -> bool:
    flag = (value or "").strip().casefold()
    if flag in _YES:
        return True
    if flag in _NO:
        return False
    raise RowError(f"{column}: '{value}' is not Yes or No")


def parse_progress(value: str | None, status: str) -> int:
    if not value:
        return 100 if status == EnrolmentStatus.COMPLETED else 0
    try:
        progress = float(value.rstrip("%").strip())
    except ValueError:
        raise RowError(f"Content_Progress_Percentage: '{value}' is not a number") from None
    if not 0 <= progress <= 100:
        raise RowError(f"Content_Progress_Percentage: {value} is outside 0-100")
    return round(progress)


def parse_row(line: int, cells: list[str], columns: dict[str, int]) -> ReportRow:
    """One report line as clean values; RowError says what is wrong with it."""
    width = len(cells)
    values = {name: cells[position].strip() or None for name, position in columns.items() if position < width}
    get = values.get

    def required(column: str) -> str:
        value = get(column)
        if not value:
            raise RowError(f"{column} is empty")
        return value

    name, raw_phone, course_name = required("Full_Name"), required("Phone_Number"), required("Content_Name")
    try:
        phone = to_e164(raw_phone)
    except PhoneError as error:
        raise RowError(f"Phone_Number: {error}") from None
    status = parse_status(get("Status"))
    employee = EmployeeValues(
        name=" ".join(name.split()), phone=phone, email=(get("Email") or "").lower() or None,
        external_id=get("External_System_Id"), ministry=get("Ministry"), department=get("Department"),
        organisation=get("Organization"), designation=get("Designation"), group=get("Group"),
        district=get("District"),
    )  # fmt: skip
    enrolment = EnrolmentValues(
        status=status,
        progress=parse_progress(get("Content_Progress_Percentage"), status),
        mandatory=parse_flag(get("Live_CBP_Plan_Mandate"), "Live_CBP_Plan_Mandate"),
        batch_id=get("Batch_Id"),
        batch_end_date=parse_date(get("Batch_End_Date"), "Batch_End_Date"),
        enrolled_on=parse_date(get("Enrolled_On"), "Enrolled_On"),
        completed_on=parse_date(get("Completed_On"), "Completed_On"),
        certificate_generated=parse_flag(get("Certificate_Generated"), "Certificate_Generated"),
        certificate_id=get("Certificate_ID"),
    )
    content_id = get("Content_Id")
    course_name = " ".join(course_name.split())
    course_key = f"id:{content_id}" if content_id else f"name:{course_name.casefold()}"
    return ReportRow(line, employee, course_key, course_name, content_id, enrolment)
