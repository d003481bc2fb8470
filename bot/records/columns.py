"""A block of report rows read column by column: the importer's fast path to `parse_row`'s clean values.

A report repeats the same statuses, dates, flags, departments and course names a million times, so
each distinct cell of a column is parsed once and the column is then mapped through that result; a
row costs a few dictionary look-ups instead of a dozen function calls. The checks are `parse_row`'s
own parsers, and a row that fails any of them is read again by `parse_row` itself, so its reason is
word for word the one-row reader's (the first problem in the row's column order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, TypeVar

from bot.models import EnrolmentStatus
from bot.phones import PhoneError, to_e164
from bot.records.report import RowError, parse_date, parse_flag, parse_progress, parse_row, parse_status

T = TypeVar("T")
MEMO_LIMIT = 100_000  # distinct values remembered per column; a column of all-different dates starts over


class _Invalid:
    """A cell that fails its column's check (the row's reason comes from `parse_row`)."""


INVALID = _Invalid()
COMPLETED = EnrolmentStatus.COMPLETED.value
# Fields taken as written (trimmed; blank is None), by their report column.
_TEXT_COLUMNS = {
    "external_id": "External_System_Id", "ministry": "Ministry", "department": "Department",
    "organisation": "Organization", "designation": "Designation", "group": "Group", "district": "District",
    "content_id": "Content_Id", "batch_id": "Batch_Id", "certificate_id": "Certificate_ID",
}  # fmt: skip


@dataclass
class Rejected:
    line: int
    reason: str
    cells: list[str]


@dataclass
class RowBlock:
    """The usable rows of a block, as columns of clean values (dates as ISO text, `YYYY-MM-DD`)."""

    lines: list[int]
    cells: list[list[str]]
    name: list[str]
    phone: list[str]
    email: list[str | None]
    external_id: list[str | None]
    ministry: list[str | None]
    department: list[str | None]
    organisation: list[str | None]
    designation: list[str | None]
    group: list[str | None]
    district: list[str | None]
    content_id: list[str | None]
    course_name: list[str]
    status: list[str]
    progress: list[int]
    mandatory: list[bool]
    batch_id: list[str | None]
    batch_end_date: list[str | None]
    enrolled_on: list[str | None]
    completed_on: list[str | None]
    certificate_generated: list[bool]
    certificate_id: list[str | None]

    def __len__(self) -> int:
        return len(self.lines)

    def keep(self, kept: Sequence[int]) -> RowBlock:
        """Only the rows at these positions, in this order."""
        return RowBlock(**{name: [column[i] for i in kept] for name, column in vars(self).items()})

    def extend(self, other: RowBlock) -> None:
        """The rows of another block after these."""
        for name, column in vars(self).items():
            column.extend(getattr(other, name))

    @classmethod
    def empty(cls) -> RowBlock:
        return cls(**{name: [] for name in cls.__dataclass_fields__})


class BlockReader:
    """Reads blocks of one report; remembers parsed cells of the repetitive columns across blocks."""

    def __init__(self, columns: dict[str, int]):
        self.columns = columns
        self._memos: dict[str, dict[str, object]] = {}
        self._invalid: dict[str, set[str]] = {}  # the cells of each memo that failed its check

    def read(self, lines: list[int], rows: list[list[str]]) -> tuple[RowBlock, list[Rejected]]:
        """The usable rows of a block and the rejected ones; blank rows are neither."""
        raw = list(zip_longest(*rows, fillvalue="")) if rows else []
        count = len(rows)

        def cells(column: str) -> Sequence[str]:
            position = self.columns.get(column)
            return raw[position] if position is not None and position < len(raw) else [""] * count

        def text(column: str) -> list[str | None]:
            if self.columns.get(column, len(raw)) >= len(raw):
                return [None] * count  # a column the report does not have
            return [cell or None for cell in map(str.strip, cells(column))]

        def words(column: str) -> list[str | None]:  # inner spaces collapsed, as names are compared
            column_cells = cells(column)
            collapsed = {cell: " ".join(cell.split()) or None for cell in set(column_cells)}  # names repeat
            return list(map(collapsed.__getitem__, column_cells))

        bad: set[int] = set()

        def parsed(column: str, parse: Callable[[str | None], object], memo: str | None = None) -> list[Any]:
            return self._parsed(cells(column), parse, bad, memo)

        values: dict[str, list[Any]] = {
            "name": words("Full_Name"),
            "phone": parsed("Phone_Number", _phone),
            "course_name": words("Content_Name"),
        }
        for column in values.values():  # required: None is a blank cell here
            if None in column:
                bad.update(i for i, value in enumerate(column) if value is None)
        status = values["status"] = parsed("Status", _status, "status")
        progress = parsed("Content_Progress_Percentage", _progress, "progress")
        if None in progress:  # blank: 100 when completed, else 0 (as `parse_progress` says)
            progress = [
                (100 if state == COMPLETED else 0) if value is None else value
                for value, state in zip(progress, status, strict=True)
            ]
        values["progress"] = progress
        values["mandatory"] = parsed("Live_CBP_Plan_Mandate", _flag("Live_CBP_Plan_Mandate"), "mandate")
        values["batch_end_date"] = parsed("Batch_End_Date", _date("Batch_End_Date"), "Batch_End_Date")
        values["enrolled_on"] = parsed("Enrolled_On", _date("Enrolled_On"), "Enrolled_On")
        values["completed_on"] = parsed("Completed_On", _date("Completed_On"), "Completed_On")
        values["certificate_generated"] = parsed("Certificate_Generated", _flag("Certificate_Generated"), "certificate")
        values["email"] = [value.lower() if value else None for value in text("Email")]
        for field, name in _TEXT_COLUMNS.items():
            values[field] = text(name)
        block = RowBlock(lines=lines, cells=rows, **values)
        if not bad:
            return block, []
        rejected = [
            Rejected(lines[i], reason, rows[i])
            for i in sorted(bad)
            if (reason := self._reason(lines[i], rows[i])) is not None
        ]
        return block.keep([i for i in range(count) if i not in bad]), rejected

    def _parsed(
        self, cells: Sequence[str], parse: Callable[[str | None], object], bad: set[int], memo: str | None
    ) -> list[Any]:
        """The column's cells (trimmed; blank as None) through `parse`, each distinct cell parsed once;
        rows with an invalid cell go to `bad`."""
        seen = self._memos.setdefault(memo, {}) if memo else {}
        invalid = self._invalid.setdefault(memo, set()) if memo else set()
        try:  # most chunks repeat cells already seen: one pass in C
            values = list(map(seen.__getitem__, cells))
        except KeyError:
            if len(seen) > MEMO_LIMIT:
                seen.clear()
                invalid.clear()
            for cell in set(cells) - seen.keys():
                seen[cell] = parse(cell.strip() or None)
                if seen[cell] is INVALID:
                    invalid.add(cell)
            values = list(map(seen.__getitem__, cells))
        if invalid and not invalid.isdisjoint(cells):
            bad.update(i for i, cell in enumerate(cells) if cell in invalid)
        return values

    def _reason(self, line: int, cells: list[str]) -> str | None:
        """Why `parse_row` refuses this row; None for a blank row, which is no row at all."""
        if not "".join(cells).strip():
            return None
        try:
            parse_row(line, cells, self.columns)
        except RowError as error:
            return str(error)
        raise AssertionError(f"line {line}: the column reader refused a row that parse_row accepts")


def _checked(parse: Callable[[str | None], T]) -> Callable[[str | None], T | _Invalid]:
    def check(cell: str | None) -> T | _Invalid:
        try:
            return parse(cell)
        except (RowError, PhoneError):
            return INVALID

    return check


def _flag(column: str) -> Callable[[str | None], bool | _Invalid]:
    return _checked(lambda cell: parse_flag(cell, column))


def _date(column: str) -> Callable[[str | None], str | _Invalid | None]:
    def iso(cell: str | None) -> str | None:
        day = parse_date(cell, column)
        return day.isoformat() if day else None

    return _checked(iso)


def _blank_or_progress(cell: str | None) -> int | None:
    # A blank cell depends on the row's status; the status-free number is the same for every row.
    return None if not cell else parse_progress(cell, COMPLETED)


_phone = _checked(lambda cell: to_e164(cell) if cell else None)
_status = _checked(parse_status)
_progress = _checked(_blank_or_progress)
