"""Importing iGOT enrolment reports: upsert in batches, reject bad rows with their line and reason.

Each batch is one transaction, so an interrupted import leaves only whole batches behind, and since
every row is an upsert, running the same file again finishes the job without duplicating anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from bot.models import Course, Employee, Enrolment, utcnow
from bot.phones import mask_phone
from bot.records.report import (
    REQUIRED_COLUMNS,
    EmployeeValues,
    ReportRow,
    RowError,
    header_map,
    parse_row,
)

if TYPE_CHECKING:
    import _csv

BATCH_SIZE = 5000
EMPLOYEE_FIELDS = tuple(name for name in EmployeeValues._fields if name != "external_id")
ENROLMENT_FIELDS = (
    "status", "progress", "mandatory", "batch_id", "batch_end_date", "enrolled_on", "completed_on",
    "certificate_generated", "certificate_id",
)  # fmt: skip
EMPLOYEES, COURSES, ENROLMENTS = Employee.__table__, Course.__table__, Enrolment.__table__
Batch = list[tuple[ReportRow, list[str]]]  # parsed rows with their cells (for the rejects file)


class ReportError(ValueError):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass
class ImportSummary:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    employees_added: int = 0
    employees_updated: int = 0
    courses_added: int = 0
    shared_phones: list[str] = field(default_factory=list)
    rejects_path: Path | None = None


@dataclass
class _Reject:
    line: int
    reason: str
    cells: list[str]


def rejects_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


def import_report(
    engine: Engine,
    path: Path,
    *,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Upsert employees, courses and enrolments from an iGOT enrolment report CSV."""
    importer = _Importer(engine)
    total_bytes = path.stat().st_size
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = _read_header(path, reader)
        columns = header_map(header)
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ReportError(
                f"{path}: missing required column(s) {', '.join(missing)}; found: {', '.join(header) or 'none'}"
            )
        batch: Batch = []
        try:
            for line, cells in _records(reader):
                importer.read(line, cells, columns, batch)
                if len(batch) >= batch_size:
                    importer.flush(batch)
                    batch = []
                    if on_progress:
                        on_progress(raw.tell(), total_bytes)
        except UnicodeDecodeError as error:
            raise ReportError(
                f"{path}: not UTF-8 text near byte {error.start} of a block; save it as CSV UTF-8"
            ) from error
        except csv.Error as error:
            raise ReportError(f"{path}:{reader.line_num}: not valid CSV ({error})") from error
        importer.flush(batch)
        if on_progress:
            on_progress(total_bytes, total_bytes)
    summary = importer.summary
    summary.shared_phones = importer.shared_phones()
    summary.rejects_path = _write_rejects(path, header, importer.rejects)
    return summary


def _read_header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        raise ReportError(f"{path}: the file is empty") from None
    except UnicodeDecodeError as error:
        raise ReportError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from error


def _records(reader: _csv.Reader) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    start = reader.line_num + 1
    for cells in reader:
        if "".join(cells).strip():
            yield start, cells
        start = reader.line_num + 1


def _write_rejects(path: Path, header: list[str], rejects: list[_Reject]) -> Path | None:
    target = rejects_path_for(path)
    if not rejects:
        target.unlink(missing_ok=True)  # an old rejects file would describe a file that is now fine
        return None
    with target.open("w", encoding="utf-8-sig", newline="") as stream:  # BOM: opens cleanly in Excel
        writer = csv.writer(stream)
        writer.writerow(["line", "reason", *header])
        for reject in sorted(rejects, key=lambda reject: reject.line):
            writer.writerow([reject.line, reject.reason, *reject.cells])
    return target


def _bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows in one driver-level executemany.

    SQLAlchemy's own executemany spends most of an import building parameters row by row; here
    each column's bind processor (dates to text on SQLite, and so on) is looked up once instead.
    """
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    cells = [
        [process(row[name]) for row in rows] if process else [row[name] for row in rows]
        for name, process in zip(columns, processors, strict=True)
    ]
    connection.exec_driver_sql(sql, list(zip(*cells, strict=True)))


def _same_name(left: str, right: str) -> bool:
    return " ".join(left.casefold().split()) == " ".join(right.casefold().split())


class _Importer:
    """The state of one import run: what was seen, what was rejected, the running counts."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.summary = ImportSummary()
        self.rejects: list[_Reject] = []
        self._seen: dict[int, tuple[int, int]] = {}  # hash(employee, course) -> (line, hash(values))
        self._touched_phones: set[str] = set()
        self._names_by_phone: dict[str, tuple[str, int]] = {}
        with engine.connect() as connection:
            self._course_ids = {
                (f"id:{content_id}" if content_id else f"name:{name.casefold()}"): course_id
                for course_id, content_id, name in connection.execute(
                    select(COURSES.c.id, COURSES.c.content_id, COURSES.c.name)
                )
            }

    def read(self, line: int, cells: list[str], columns: dict[str, int], batch: Batch) -> None:
        self.summary.rows_read += 1
        try:
            row = parse_row(line, cells, columns)
        except RowError as error:
            self.reject(line, str(error), cells)
            return
        if not row.employee.external_id:
            # Keyed by phone alone: a second name on the same phone is another person, not a rename.
            name = " ".join(row.employee.name.casefold().split())
            first_name, first_line = self._names_by_phone.setdefault(row.employee.phone, (name, line))
            if first_name != name:
                self.reject(
                    line,
                    f"Phone_Number {mask_phone(row.employee.phone)} is used on line {first_line} "
                    "for an employee with a different name; add External_System_Id to tell them apart",
                    cells,
                )
                return
        identity = hash((row.employee.key, row.course_key))
        values = hash((row.employee, row.course_name, row.enrolment))
        if identity in self._seen:
            first_line, first_values = self._seen[identity]
            how = "a duplicate of" if values == first_values else "the same employee and course as"
            self.reject(line, f"{how} line {first_line}", cells)
            return
        self._seen[identity] = (line, values)
        batch.append((row, cells))

    def reject(self, line: int, reason: str, cells: list[str]) -> None:
        self.summary.rejected += 1
        self.rejects.append(_Reject(line, reason, cells))

    def flush(self, batch: Batch) -> None:
        if not batch:
            return
        with self.engine.begin() as connection:
            course_ids = self._course_ids_for(connection, [row for row, _ in batch])
            employee_ids = self._employee_ids_for(connection, batch)
            self._upsert_enrolments(connection, batch, employee_ids, course_ids)

    def _course_ids_for(self, connection: Connection, rows: list[ReportRow]) -> dict[str, int]:
        new: dict[str, ReportRow] = {}
        for row in rows:
            if row.course_key not in self._course_ids:
                new.setdefault(row.course_key, row)
        for key, row in new.items():
            result = connection.execute(
                insert(COURSES).values(content_id=row.content_id, name=row.course_name).returning(COURSES.c.id)
            )
            self._course_ids[key] = result.scalar_one()
            self.summary.courses_added += 1
        return self._course_ids

    def _employee_ids_for(self, connection: Connection, batch: Batch) -> dict[str, int]:
        """Insert or update each employee of the batch once; rows whose phone clashes are rejected."""
        wanted: dict[str, EmployeeValues] = {}
        for row, _ in batch:
            wanted.setdefault(row.employee.key, row.employee)
        external_ids = [values.external_id for values in wanted.values() if values.external_id]
        phones = list({values.phone for values in wanted.values()})
        existing = (
            connection.execute(
                select(EMPLOYEES).where(or_(EMPLOYEES.c.external_id.in_(external_ids), EMPLOYEES.c.phone.in_(phones)))
            )
            .mappings()
            .all()
        )
        by_external_id = {record["external_id"]: record for record in existing if record["external_id"]}
        by_phone: dict[str, list[RowMapping]] = {}
        for known in existing:
            by_phone.setdefault(known["phone"], []).append(known)

        ids: dict[str, int] = {}
        inserts: list[tuple[str, dict[str, Any]]] = []
        updates: list[dict[str, Any]] = []
        clashes: dict[str, str] = {}
        for key, values in wanted.items():
            record = by_external_id.get(values.external_id) if values.external_id else None
            if record is None:
                same_phone = by_phone.get(values.phone, [])
                namesakes = [r for r in same_phone if _same_name(r["name"], values.name)]
                # Without an id, a phone and a name make the person; an unmatched row with an id
                # may be someone already known by phone only, who now has an id.
                candidates = [r for r in namesakes if not values.external_id or not r["external_id"]]
                record = candidates[0] if candidates else None
                if record is None and not values.external_id and same_phone:
                    clashes[key] = (
                        f"Phone_Number {mask_phone(values.phone)} already belongs to another employee "
                        "with a different name; add External_System_Id to tell them apart"
                    )
                    continue
            fields = {name: getattr(values, name) for name in EMPLOYEE_FIELDS}
            if record is None:
                inserts.append((key, {**fields, "external_id": values.external_id}))
                continue
            ids[key] = record["id"]
            changes = {name: value for name, value in fields.items() if value is not None and record[name] != value}
            if values.external_id and not record["external_id"]:
                changes["external_id"] = values.external_id
            if changes:
                updates.append(
                    {
                        "_id": record["id"],
                        **{name: record[name] for name in EMPLOYEE_FIELDS},
                        "external_id": record["external_id"],
                        **changes,
                    }
                )
        now = utcnow()
        if inserts:
            _bulk_insert(
                connection, EMPLOYEES, [{**fields, "created_at": now, "updated_at": now} for _, fields in inserts]
            )
            ids.update(self._new_employee_ids(connection, [fields for _, fields in inserts]))
            self.summary.employees_added += len(inserts)
        if updates:
            columns: dict[str, BindParameter[Any]] = {
                name: bindparam(name) for name in (*EMPLOYEE_FIELDS, "external_id")
            }
            connection.execute(
                update(EMPLOYEES).where(EMPLOYEES.c.id == bindparam("_id")).values(**columns, updated_at=now),
                updates,
            )
            self.summary.employees_updated += len(updates)
        self._touched_phones.update(values.phone for values in wanted.values())
        for row, cells in batch:
            if row.employee.key in clashes:
                self.reject(row.line, clashes[row.employee.key], cells)
        return ids

    @staticmethod
    def _new_employee_ids(connection: Connection, inserted: list[dict[str, Any]]) -> dict[str, int]:
        """Ids of just-inserted employees, found again by their keys.

        One multi-row INSERT and one SELECT beat INSERT ... RETURNING, which SQLite can only keep
        in parameter order one row at a time.
        """
        external_ids = [fields["external_id"] for fields in inserted if fields["external_id"]]
        phones = [fields["phone"] for fields in inserted if not fields["external_id"]]
        found = connection.execute(
            select(EMPLOYEES.c.id, EMPLOYEES.c.external_id, EMPLOYEES.c.phone).where(
                or_(
                    EMPLOYEES.c.external_id.in_(external_ids),
                    EMPLOYEES.c.external_id.is_(None) & EMPLOYEES.c.phone.in_(phones),
                )
            )
        )
        by_id: dict[str, int] = {}
        for employee_id, external_id, phone in found:
            if external_id:
                by_id[f"id:{external_id}"] = employee_id
            else:
                by_id.setdefault(f"phone:{phone}", employee_id)
        return by_id

    def _upsert_enrolments(
        self, connection: Connection, batch: Batch, employee_ids: dict[str, int], course_ids: dict[str, int]
    ) -> None:
        ids = sorted(set(employee_ids.values()))
        existing = {
            (record["employee_id"], record["course_id"]): record
            for record in connection.execute(select(ENROLMENTS).where(ENROLMENTS.c.employee_id.in_(ids))).mappings()
        }
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        placed: dict[tuple[int, int], int] = {}
        for row, cells in batch:
            employee_id = employee_ids.get(row.employee.key)
            if employee_id is None:
                continue  # rejected with its employee
            pair = (employee_id, course_ids[row.course_key])
            if pair in placed:
                self.reject(row.line, f"the same employee and course as line {placed[pair]}", cells)
                continue
            placed[pair] = row.line
            values = {name: getattr(row.enrolment, name) for name in ENROLMENT_FIELDS}
            record = existing.get(pair)
            if record is None:
                inserts.append({**values, "employee_id": pair[0], "course_id": pair[1], "updated_at": now})
            elif any(record[name] != values[name] for name in ENROLMENT_FIELDS):
                updates.append({**values, "_id": record["id"]})
            else:
                self.summary.unchanged += 1
        if inserts:
            _bulk_insert(connection, ENROLMENTS, inserts)
            self.summary.inserted += len(inserts)
        if updates:
            columns: dict[str, BindParameter[Any]] = {name: bindparam(name) for name in ENROLMENT_FIELDS}
            connection.execute(
                update(ENROLMENTS).where(ENROLMENTS.c.id == bindparam("_id")).values(**columns, updated_at=now),
                updates,
            )
            self.summary.updated += len(updates)

    def shared_phones(self) -> list[str]:
        """Phones of this report that now belong to more than one employee (masked)."""
        if not self._touched_phones:
            return []
        shared = select(EMPLOYEES.c.phone).group_by(EMPLOYEES.c.phone).having(func.count() > 1)
        with self.engine.connect() as connection:
            phones = [phone for (phone,) in connection.execute(shared) if phone in self._touched_phones]
        return sorted(mask_phone(phone) for phone in phones)
