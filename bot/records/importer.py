"""Importing iGOT enrolment reports: blocks of rows checked in Python, then upserted set-based in SQL.

Each block is one transaction, so an interrupted import leaves only whole blocks behind; since every
row is an upsert that never runs an enrolment backwards, running the same file again finishes the job
without duplicating or undoing anything.

An import may be limited to a scope (a nodal officer's districts/departments): a row must then name a
district and department within it, and an employee it matches must be recorded within it already;
other rows are rejected, so nobody rewrites the records of a district they may not see.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from bot.access.roles import Scope
from bot.models import Employee, utcnow
from bot.phones import mask_phone
from bot.records.columns import BlockReader, Rejected, RowBlock
from bot.records.courses import CourseAmbiguous, CourseCatalogue, save_courses
from bot.records.report import REQUIRED_COLUMNS, header_map
from bot.records.staging import EMPLOYEE_STAGE, ENROLMENT_STAGE, create_stages, load
from bot.records.upsert import BlockOutcome, upsert_block

BATCH_SIZE = 20_000  # rows per transaction
# Rows checked at a time: checking goes column by column, and a chunk this small stays in the CPU's
# cache across its dozen passes (a 20,000-row block would not, and is checked half as fast).
CHUNK_SIZE = 1000
EMPLOYEES: Table = Employee.__table__


class ReportError(ValueError):
    """The file as a whole cannot be imported."""


@dataclass
class ImportSummary:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_older: int = 0  # enrolment rows older than what is stored (see bot.records.upsert)
    rejected: int = 0
    outside_scope: int = 0  # of the rejected: rows outside the import's scope
    employees_added: int = 0
    employees_updated: int = 0
    courses_added: int = 0
    shared_phones: list[str] = field(default_factory=list)
    rejects_path: Path | None = None


def rejects_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


def import_report(
    engine: Engine,
    path: Path,
    *,
    batch_size: int = BATCH_SIZE,
    allow_rollback: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    scope: Scope | None = None,
) -> ImportSummary:
    """Upsert employees, courses and enrolments from an iGOT enrolment report CSV (within `scope`, if given)."""
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
        if scope is not None:
            _check_scope_columns(path, columns, scope)
        run = _ImportRun(engine, columns, allow_rollback=allow_rollback, scope=scope)
        with _RejectsFile(path, header) as rejects, _no_cycle_collection():
            try:
                batch = _Batch()
                for lines, rows in _blocks(reader, min(CHUNK_SIZE, batch_size)):
                    batch.add(run.check(lines, rows))
                    if len(batch) >= batch_size:
                        rejects.write(run.write(batch))
                        batch = _Batch()
                        if on_progress:
                            on_progress(raw.tell(), total_bytes)
                rejects.write(run.write(batch))
            except UnicodeDecodeError as error:
                raise ReportError(
                    f"{path}: not UTF-8 text near byte {error.start} of a block; save it as CSV UTF-8"
                ) from error
            except csv.Error as error:
                raise ReportError(f"{path}:{reader.line_num}: not valid CSV ({error})") from error
        if on_progress:
            on_progress(total_bytes, total_bytes)
    summary = run.summary
    summary.rejected = rejects.count
    summary.shared_phones = run.shared_phones()
    summary.rejects_path = rejects.path
    return summary


def _check_scope_columns(path: Path, columns: dict[str, int], scope: Scope) -> None:
    """A scoped import needs the columns its rows are judged by (else every row would be rejected)."""
    if scope.nothing:
        raise ReportError(f"{path}: this account may import no rows (it has no districts or departments)")
    absent = [name for name, names in (("District", scope.districts), ("Department", scope.departments))
              if names and name not in columns]  # fmt: skip
    if absent:
        raise ReportError(
            f"{path}: no {' or '.join(absent)} column; this account imports only rows within {scope.describe()}, "
            "which the report must name in each row"
        )


def outside_reason(scope: Scope, district: str | None, department: str | None) -> str:
    """Why a row is outside the scope, naming only what the row itself says."""
    named = []
    for column, value, names in (
        ("District", district, scope.districts),
        ("Department", department, scope.departments),
    ):
        if names and (value or "").casefold() not in names:
            named.append(f"{column} '{value}'" if value else f"{column} is empty")
    return f"{' and '.join(named)}: this account imports only rows within {scope.describe()}"


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the import (the import makes no cycles; reference counting frees
    its blocks). Each block makes tens of thousands of lists that live for the block, and the collector,
    counting them, would otherwise walk every object of the process again and again: a quarter of the
    import's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        raise ReportError(f"{path}: the file is empty") from None
    except UnicodeDecodeError as error:
        raise ReportError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from error


def _blocks(reader: Any, size: int) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Blocks of records, each with the line it starts on (a quoted cell may span lines)."""
    while True:
        before = reader.line_num
        rows = list(islice(reader, size))
        if not rows:
            return
        if reader.line_num - before == len(rows):  # a line each, as nearly always
            yield list(range(before + 1, before + 1 + len(rows))), rows
            continue
        lines, line = [], before + 1
        for cells in rows:
            lines.append(line)
            line += 1 + _breaks_within(cells)
        yield lines, rows


def _breaks_within(cells: list[str]) -> int:
    """Line breaks inside a record's quoted cells, counted as the csv reader counts lines."""
    return sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in cells)


class _RejectsFile:
    """FILE.rejects.csv, written block by block (a million bad rows need not fit in memory).

    It is written beside under a temporary name and takes its place when the import ends, so a
    stale rejects file never describes a file that is now fine, nor an interrupted run half of one.
    """

    def __init__(self, path: Path, header: list[str]):
        self.target = rejects_path_for(path)
        self._partial = self.target.with_name(self.target.name + ".partial")
        self._header = header
        self._stream: io.TextIOWrapper | None = None
        self._writer: Any = None
        self.path: Path | None = None
        self.count = 0

    def __enter__(self) -> _RejectsFile:
        return self

    def write(self, rejects: list[Rejected]) -> None:
        self.count += len(rejects)
        if not rejects:
            return
        if self._writer is None:
            self._stream = self._partial.open("w", encoding="utf-8-sig", newline="")  # BOM: opens cleanly in Excel
            self._writer = csv.writer(self._stream)
            self._writer.writerow(["line", "reason", *self._header])
        self._writer.writerows([reject.line, reject.reason, *reject.cells] for reject in rejects)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._stream:
            self._stream.close()
        if kind is not None:
            self._partial.unlink(missing_ok=True)
            return
        if self._stream:
            self._partial.replace(self.target)
            self.path = self.target
        else:
            self.target.unlink(missing_ok=True)


@dataclass
class _Checked:
    """A chunk of rows, read and checked against the file so far."""

    rows: RowBlock
    keys: list[str]  # each row's employee: "id:<External_System_Id>" or "phone:<E.164>"
    courses: list[int]  # each row's course, as an index into the catalogue
    employees: dict[str, tuple[Any, ...]]  # each employee's values, from their first row in the chunk
    rejects: list[Rejected]


@dataclass
class _Batch:
    """Checked chunks gathered for one transaction."""

    rows: RowBlock = field(default_factory=RowBlock.empty)
    keys: list[str] = field(default_factory=list)
    courses: list[int] = field(default_factory=list)
    employees: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # from their first row in the batch
    rejects: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejects)

    def add(self, checked: _Checked) -> None:
        self.rows.extend(checked.rows)
        self.keys += checked.keys
        self.courses += checked.courses
        for key, values in checked.employees.items():
            self.employees.setdefault(key, values)
        self.rejects += checked.rejects


def _line_and_values(line: int, values: int) -> int:
    """What the import remembers of a row: its line, and 32 bits of its values' hash (to tell a
    duplicate from a conflicting row), in one int: a million rows take ints, not tuples of them."""
    return line << 32 | (values & 0xFFFFFFFF)


class _ImportRun:
    """One import: what was seen in the file so far, the course catalogue, the running counts.

    Chunks of rows are checked (all in Python), gathered into a batch, and each batch is written in
    one transaction. The two stay in one thread: SQLite's executemany takes the GIL back for every
    row it binds, and beside a busy checking thread it waits for it each time, which costs far more
    than it overlaps.
    """

    def __init__(self, engine: Engine, columns: dict[str, int], *, allow_rollback: bool, scope: Scope | None):
        self.engine = engine
        self.allow_rollback = allow_rollback
        self.scope = scope
        self._within = None if scope is None else scope.condition(EMPLOYEES.c.district, EMPLOYEES.c.department)
        self.summary = ImportSummary()
        self._reader = BlockReader(columns)
        with engine.connect() as connection:
            self._courses, self._course_ids = CourseCatalogue.load(connection)
        self._seen: dict[int, int] = {}  # hash(employee key, course) -> _line_and_values of its row
        self._names_by_phone: dict[str, tuple[str, int]] = {}  # rows without External_System_Id
        self._phones: set[str] = set()

    def check(self, lines: list[int], rows: list[list[str]]) -> _Checked:
        """Read and check a chunk against the file so far."""
        block, rejects = self._reader.read(lines, rows)
        self.summary.rows_read += len(block) + len(rejects)
        if self.scope is not None:
            block = self._within_scope(self.scope, block, rejects)
        keys = [f"id:{external_id}" if external_id else f"phone:{phone}"
                for external_id, phone in zip(block.external_id, block.phone, strict=True)]  # fmt: skip
        courses = self._courses_of(block)
        kept = self._first_in_file(block, keys, courses, rejects)
        if len(kept) < len(block):
            block = block.keep(kept)
            keys, courses = [keys[i] for i in kept], [courses[i] for i in kept]
        self._phones.update(block.phone)
        # Each employee's values from their first row (read here, while the chunk is in the CPU's cache).
        first_row = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
        order = list(dict.fromkeys(keys))
        firsts = [first_row[key] for key in order]
        columns = (block.name, block.phone, block.email, block.external_id, block.ministry, block.department,
                   block.organisation, block.designation, block.group, block.district)  # fmt: skip
        values = zip(*([column[i] for i in firsts] for column in columns), strict=True)
        employees = dict(zip(order, values, strict=True))
        return _Checked(block, keys, cast("list[int]", courses), employees, rejects)  # refused courses are gone

    def write(self, batch: _Batch) -> list[Rejected]:
        """A batch into the database in one transaction; all its rejected rows, in line order."""
        block, keys = batch.rows, batch.keys
        if block:
            # Each distinct employee once, with the values of its first row; rows refer to it by slot.
            slot_of = {key: slot for slot, key in enumerate(batch.employees)}
            employees = [(slot, *values) for slot, values in enumerate(batch.employees.values())]
            slots = list(map(slot_of.__getitem__, keys))
            with self.engine.begin() as connection:
                create_stages(connection)  # first: SQLite takes its settings only outside a transaction
                self.summary.courses_added += save_courses(connection, self._courses.take_changes(), self._course_ids)
                enrolments = list(zip(
                    range(len(block)), slots, map(self._course_ids.__getitem__, batch.courses), block.status,
                    block.progress, block.mandatory, block.batch_id, block.batch_end_date, block.enrolled_on,
                    block.completed_on, block.certificate_generated, block.certificate_id, strict=True,
                ))  # fmt: skip
                load(connection, EMPLOYEE_STAGE, employees)
                load(connection, ENROLMENT_STAGE, enrolments)
                outcome = upsert_block(
                    connection, allow_rollback=self.allow_rollback, now=utcnow(), within=self._within
                )
            self._count(outcome)
            batch.rejects += [
                Rejected(block.lines[position], outcome.rejected_slots[slot], block.cells[position])
                for position, slot in enumerate(slots)
                if slot in outcome.rejected_slots
            ]
            batch.rejects += [
                Rejected(block.lines[position], f"the same employee and course as line {block.lines[first]}",
                         block.cells[position])
                for position, first in outcome.repeated_rows.items()
            ]  # fmt: skip
        return sorted(batch.rejects, key=lambda reject: reject.line)

    def _within_scope(self, scope: Scope, block: RowBlock, rejects: list[Rejected]) -> RowBlock:
        """The rows that name a district and department within the scope; the others rejected."""
        places = list(zip(block.district, block.department, strict=True))
        covered = {place: scope.covers(district=place[0], department=place[1]) for place in set(places)}
        if all(covered.values()):
            return block
        kept = []
        for position, place in enumerate(places):
            if covered[place]:
                kept.append(position)
            else:
                rejects.append(Rejected(block.lines[position], outside_reason(scope, *place), block.cells[position]))
        self.summary.outside_scope += len(places) - len(kept)
        return block.keep(kept)

    def _courses_of(self, block: RowBlock) -> list[int | str]:
        """Each row's course in the catalogue, or why its name is not enough."""
        # Resolved once per distinct (id, name), in the order first seen; a known id decides alone.
        by_id: dict[str, int] = {}
        by_name: dict[str, int | str] = {}
        for content_id, name in dict.fromkeys(zip(block.content_id, block.course_name, strict=True)):
            try:
                token: int | str = self._courses.resolve(content_id, name)
            except CourseAmbiguous as error:
                token = str(error)
            if content_id:
                by_id[content_id] = cast(int, token)  # an id is never ambiguous
            else:
                by_name[name] = token
        return [by_id[content_id] if content_id else by_name[name]
                for content_id, name in zip(block.content_id, block.course_name, strict=True)]  # fmt: skip

    def _first_in_file(
        self, block: RowBlock, keys: list[str], courses: list[int | str], rejects: list[Rejected]
    ) -> list[int]:
        """Positions of the rows to import; the others rejected: an employee and course once per file,
        and a phone without External_System_Id under one name."""
        value_hashes = list(map(hash, map(tuple, block.cells)))  # a duplicate repeats the line as written
        identities = list(map(hash, zip(keys, courses, strict=True)))
        clean = (
            all(isinstance(course, int) for course in dict.fromkeys(courses))
            and None not in block.external_id  # no names to hold to their phones
            and len(set(identities)) == len(identities)
            and self._seen.keys().isdisjoint(identities)
        )
        if clean:  # the usual block: every row new to the file, nothing to reject (one pass in C)
            self._seen.update(zip(identities, map(_line_and_values, block.lines, value_hashes), strict=True))
            return list(range(len(block)))
        kept = []
        rows = zip(block.lines, keys, courses, identities, value_hashes, block.name, block.phone, strict=True)
        for position, (line, key, course, identity, values, name, phone) in enumerate(rows):
            reason = None
            if isinstance(course, str):
                reason = course
            elif key[0] == "p":  # keyed by phone: a second name on it is another person, not a rename
                first_name, first_line = self._names_by_phone.setdefault(phone, (name.casefold(), line))
                if first_name != name.casefold():
                    reason = (
                        f"Phone_Number {mask_phone(phone)} is used on line {first_line} for an employee with a "
                        "different name; add External_System_Id to tell them apart"
                    )
            if reason is None:
                first = self._seen.get(identity)
                if first is None:
                    self._seen[identity] = _line_and_values(line, values)
                    kept.append(position)
                    continue
                same = first & 0xFFFFFFFF == values & 0xFFFFFFFF
                reason = f"{'a duplicate of' if same else 'the same employee and course as'} line {first >> 32}"
            rejects.append(Rejected(line, reason, block.cells[position]))
        return kept

    def _count(self, outcome: BlockOutcome) -> None:
        summary = self.summary
        summary.inserted += outcome.inserted
        summary.updated += outcome.updated
        summary.unchanged += outcome.unchanged
        summary.ignored_older += outcome.older
        summary.outside_scope += outcome.outside_scope
        summary.employees_added += outcome.employees_added
        summary.employees_updated += outcome.employees_updated

    def shared_phones(self) -> list[str]:
        """Phones of this report that now belong to more than one employee (masked)."""
        if not self._phones:
            return []
        shared = select(EMPLOYEES.c.phone).group_by(EMPLOYEES.c.phone).having(func.count() > 1)
        with self.engine.connect() as connection:
            phones = [phone for (phone,) in connection.execute(shared) if phone in self._phones]
        return sorted(mask_phone(phone) for phone in phones)
