"""Set-based upserts from the staging tables: employees found or added, enrolments that never run backwards.

Everything here runs inside the caller's transaction, a few statements per block whatever its size.

An enrolment row is *older* than the stored one, and left alone, when
- it is of another batch (the two `Batch_Id`s differ; without both, two different `Enrolled_On`
  dates) that began earlier (`Enrolled_On`, else `Batch_End_Date`; with neither, the row counts as
  the newer batch, since a report names the batch a person is in now), or
- it is of the same batch and behind: lower in (status not-started < in-progress < completed,
  progress, certificate generated).
A row of a newer batch replaces the stored one whole (the batch starts fresh); a row of the same
batch replaces it too, keeping the stored `Batch_Id` and `Enrolled_On` when the row has none.
`allow_rollback` takes every row as it is, for a deliberate correction.

`within` (a condition on `employee`) limits a block to employees recorded within a nodal officer's
scope: the rows of anyone else found by id or phone are refused, and nothing of theirs changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnCollection, Join

from bot.models import Employee, Enrolment, EnrolmentStatus
from bot.phones import mask_phone
from bot.records.staging import EMPLOYEE_STAGE, ENROLMENT_STAGE

EMPLOYEES: Table = Employee.__table__
ENROLMENTS: Table = Enrolment.__table__
# Employee fields a report may fill in; a blank cell leaves what is stored.
EMPLOYEE_FIELDS = (
    "name", "phone", "email", "ministry", "department", "organisation", "designation", "group", "district",
)  # fmt: skip
ENROLMENT_FIELDS = (
    "status", "progress", "mandatory", "batch_id", "batch_end_date", "enrolled_on", "completed_on",
    "certificate_generated", "certificate_id",
)  # fmt: skip
_Columns = ColumnCollection[str, Any]


@dataclass
class BlockOutcome:
    employees_added: int = 0
    employees_updated: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    outside_scope: int = 0  # rows refused because their employee is recorded outside `within`
    rejected_slots: dict[int, str] = field(default_factory=dict)  # employee slot -> why its rows are refused
    repeated_rows: dict[int, int] = field(default_factory=dict)  # position -> the earlier one of its course


OUTSIDE_SCOPE = (
    "this employee (found by External_System_Id or phone) is recorded outside what this account may import; "
    "an administrator can import this row"
)  # never which district or department the employee is in: the importer may not see that


def upsert_block(
    connection: Connection, *, allow_rollback: bool, now: datetime, within: ColumnElement[bool] | None = None
) -> BlockOutcome:
    """Employees and enrolments of the staged block into the tables; what happened to them."""
    outcome = BlockOutcome()
    stamp = bindparam("now", now, type_=ENROLMENTS.c.updated_at.type)
    if connection.dialect.name == "postgresql":
        # A block is small beside the tables it meets: walk the staging tables and probe the big
        # tables' indexes row by row. Left to itself, the planner (with statistics that lag a bulk
        # load, and none for the staging tables) may scan all of `enrolment` for every block.
        # (Switched-off methods count as very costly: without `jit = off` that alone would have
        # every statement compiled first.)
        settings = ("enable_hashjoin", "enable_mergejoin", "enable_seqscan", "jit")
        connection.exec_driver_sql("SELECT " + ", ".join(f"set_config('{name}', 'off', true)" for name in settings))
    known = _match_by_external_id(connection)
    # People with an id first, so that a row without one finds them even when both are new: which
    # rows share a block must not change who is who.
    found, outcome.rejected_slots = _match_by_phone(connection, with_external_id=True)
    outcome.employees_added = _insert_new_employees(connection, stamp, with_external_id=True)
    found_without_id, clashes = _match_by_phone(connection, with_external_id=False)
    outcome.rejected_slots |= clashes
    outcome.employees_added += _insert_new_employees(connection, stamp, with_external_id=False)
    if within is not None:
        refused, outcome.outside_scope = _refuse_outside(connection, within)
        outcome.rejected_slots |= dict.fromkeys(refused, OUTSIDE_SCOPE)
    # Employees all added by this block are as the block says, and have no enrolments yet.
    any_known = bool(known + found + found_without_id)
    if any_known:
        if _merge_slots_of_one_employee(connection):
            outcome.repeated_rows = _same_employee_and_course(connection)
        outcome.employees_updated = _update_employees(connection, stamp)
        outcome.unchanged, outcome.older = _compare_enrolments(connection, allow_rollback=allow_rollback)
        outcome.updated = _update_enrolments(connection, stamp, allow_rollback=allow_rollback)
    outcome.inserted = _insert_enrolments(connection, stamp, any_known=any_known)
    return outcome


# --- employees -----------------------------------------------------------------------------------


def _match_by_external_id(connection: Connection) -> int:
    """Employees found by External_System_Id; how many."""
    stage = EMPLOYEE_STAGE.c
    statement = (
        update(EMPLOYEE_STAGE)
        .values(employee_id=EMPLOYEES.c.id)
        .where(EMPLOYEES.c.external_id == stage.external_id, stage.external_id.is_not(None))
    )
    return connection.execute(statement).rowcount


def _same_name(left: str, right: str) -> bool:
    return " ".join(left.casefold().split()) == " ".join(right.casefold().split())


def _match_by_phone(connection: Connection, *, with_external_id: bool) -> tuple[int, dict[int, str]]:
    """Employees not found yet, matched by phone and name: how many, and the slots whose phone clashes, why.

    Without an id, a phone and a name make the person: a second name on a known phone is another
    person, not a rename. A row with an id unknown so far may be someone known by phone only, who
    now has an id.
    """
    stage = EMPLOYEE_STAGE.c
    query = (
        select(stage.slot, stage.name, stage.phone, EMPLOYEES.c.id, EMPLOYEES.c.name, EMPLOYEES.c.external_id)
        .join_from(EMPLOYEE_STAGE, EMPLOYEES, EMPLOYEES.c.phone == stage.phone)
        .where(stage.employee_id.is_(None))
        .where(stage.external_id.is_not(None) if with_external_id else stage.external_id.is_(None))
        .order_by(stage.slot, EMPLOYEES.c.id)
    )
    known: dict[int, tuple[str, str, list[tuple[int, str, str | None]]]] = {}
    for slot, name, phone, employee_id, known_name, known_external_id in connection.execute(query):
        known.setdefault(slot, (name, phone, []))[2].append((employee_id, known_name, known_external_id))
    found: dict[int, int] = {}
    clashes: dict[int, str] = {}
    for slot, (name, phone, employees) in known.items():
        namesakes = [
            employee_id
            for employee_id, known_name, known_external_id in employees
            if _same_name(known_name, name) and not (with_external_id and known_external_id)
        ]
        if namesakes:
            found[slot] = namesakes[0]
        elif not with_external_id:
            clashes[slot] = (
                f"Phone_Number {mask_phone(phone)} already belongs to another employee with a different name; "
                "add External_System_Id to tell them apart"
            )
    if found:
        connection.execute(
            update(EMPLOYEE_STAGE).where(stage.slot == bindparam("s")).values(employee_id=bindparam("e")),
            [{"s": slot, "e": employee_id} for slot, employee_id in found.items()],
        )
    if clashes:
        connection.execute(delete(EMPLOYEE_STAGE).where(stage.slot.in_(clashes)))
        connection.execute(delete(ENROLMENT_STAGE).where(ENROLMENT_STAGE.c.slot.in_(clashes)))
    return len(found), clashes


def _refuse_outside(connection: Connection, within: ColumnElement[bool]) -> tuple[list[int], int]:
    """Take out of the block the employees found by id or phone who are recorded outside `within`: their
    slots, and how many rows they had.

    The employees this block added came from rows within the scope, so they pass; a stored employee
    without a district or department is outside any limited scope (nobody may claim them).
    """
    stage, enrolments = EMPLOYEE_STAGE.c, ENROLMENT_STAGE.c
    outside = (
        select(stage.slot)
        .join_from(EMPLOYEE_STAGE, EMPLOYEES, EMPLOYEES.c.id == stage.employee_id)
        .where(not_(func.coalesce(within, false())))
    )
    refused = list(connection.execute(outside.order_by(stage.slot)).scalars())
    if not refused:
        return [], 0
    rows = connection.execute(select(func.count()).where(enrolments.slot.in_(outside))).scalar_one()
    connection.execute(delete(ENROLMENT_STAGE).where(enrolments.slot.in_(outside)))  # while `outside` still finds them
    connection.execute(delete(EMPLOYEE_STAGE).where(stage.slot.in_(refused)))
    return refused, rows


def _insert_new_employees(connection: Connection, stamp: ColumnElement[Any], *, with_external_id: bool) -> int:
    stage = EMPLOYEE_STAGE.c
    columns = (*EMPLOYEE_FIELDS, "external_id")
    unmatched = and_(
        stage.employee_id.is_(None), stage.external_id.is_not(None) if with_external_id else stage.external_id.is_(None)
    )
    new = select(*(stage[name] for name in columns), stamp, stamp).where(unmatched).order_by(stage.slot)
    adding = insert(EMPLOYEES).from_select([*columns, "created_at", "updated_at"], new)
    added = connection.execute(adding.execution_options(preserve_rowcount=True)).rowcount
    if not added:
        return 0
    if with_external_id:
        statement = (
            update(EMPLOYEE_STAGE)
            .values(employee_id=EMPLOYEES.c.id)
            .where(unmatched, EMPLOYEES.c.external_id == stage.external_id)
        )
    else:  # the phone is the key: the one employee without an id on it is the one just added
        by_phone = and_(EMPLOYEES.c.phone == stage.phone, EMPLOYEES.c.external_id.is_(None))
        statement = (
            update(EMPLOYEE_STAGE)
            .values(employee_id=select(func.max(EMPLOYEES.c.id)).where(by_phone).scalar_subquery())
            .where(unmatched)
        )
    connection.execute(statement)
    return added


def _merge_slots_of_one_employee(connection: Connection) -> bool:
    """Point the enrolments of slots that turned out to be one employee at the first slot; any merged."""
    stage = EMPLOYEE_STAGE.c
    shared = select(stage.employee_id).group_by(stage.employee_id).having(func.count() > 1)
    slots = connection.execute(
        select(stage.slot, stage.employee_id).where(stage.employee_id.in_(shared)).order_by(stage.slot)
    ).all()
    first: dict[int, int] = {}
    for slot, employee_id in slots:
        primary = first.setdefault(employee_id, slot)
        if primary != slot:  # say, a row without an id and one with it, of the same person
            connection.execute(update(ENROLMENT_STAGE).where(ENROLMENT_STAGE.c.slot == slot).values(slot=primary))
            connection.execute(delete(EMPLOYEE_STAGE).where(stage.slot == slot))
    return bool(slots)


def _update_employees(connection: Connection, stamp: ColumnElement[Any]) -> int:
    stage, stored = EMPLOYEE_STAGE.c, EMPLOYEES.c
    changed = or_(
        *(and_(stage[name].is_not(None), stored[name].is_distinct_from(stage[name])) for name in EMPLOYEE_FIELDS),
        and_(stored.external_id.is_(None), stage.external_id.is_not(None)),
    )
    values = {name: func.coalesce(stage[name], stored[name]) for name in EMPLOYEE_FIELDS}
    statement = (
        update(EMPLOYEES)
        .values(**values, external_id=func.coalesce(stored.external_id, stage.external_id), updated_at=stamp)
        .where(stored.id == stage.employee_id, changed)
    )
    return connection.execute(statement).rowcount


# --- enrolments ----------------------------------------------------------------------------------


def _staged() -> Join:
    """Each staged enrolment row with its employee."""
    return ENROLMENT_STAGE.join(EMPLOYEE_STAGE, EMPLOYEE_STAGE.c.slot == ENROLMENT_STAGE.c.slot)


def _meets_stored() -> ColumnElement[bool]:
    return and_(
        ENROLMENTS.c.employee_id == EMPLOYEE_STAGE.c.employee_id, ENROLMENTS.c.course_id == ENROLMENT_STAGE.c.course_id
    )


def _same_employee_and_course(connection: Connection) -> dict[int, int]:
    """Rows of merged slots naming a course again: each later position with the first one's."""
    stage = ENROLMENT_STAGE.c
    query = select(stage.pos, EMPLOYEE_STAGE.c.employee_id, stage.course_id).select_from(_staged()).order_by(stage.pos)
    first: dict[tuple[int, int], int] = {}
    repeated: dict[int, int] = {}
    for pos, employee_id, course_id in connection.execute(query):
        earlier = first.setdefault((employee_id, course_id), pos)
        if earlier != pos:
            repeated[pos] = earlier
    if repeated:
        connection.execute(delete(ENROLMENT_STAGE).where(stage.pos.in_(repeated)))
    return repeated


def _rank(status: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(
        (status == EnrolmentStatus.COMPLETED.value, 2), (status == EnrolmentStatus.IN_PROGRESS.value, 1), else_=0
    )


def _both(row: ColumnElement[Any], stored: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(row.is_not(None), stored.is_not(None))


def _other_batch(row: _Columns, stored: _Columns) -> ColumnElement[Any]:
    return case(
        (_both(row.batch_id, stored.batch_id), row.batch_id != stored.batch_id),
        (_both(row.enrolled_on, stored.enrolled_on), row.enrolled_on != stored.enrolled_on),
        else_=false(),
    )


def _older(row: _Columns, stored: _Columns, other_batch: ColumnElement[Any]) -> ColumnElement[Any]:
    earlier_batch = case(
        (and_(_both(row.enrolled_on, stored.enrolled_on), row.enrolled_on != stored.enrolled_on),
         row.enrolled_on < stored.enrolled_on),
        (_both(row.batch_end_date, stored.batch_end_date), row.batch_end_date < stored.batch_end_date),
        else_=false(),
    )  # fmt: skip
    behind = tuple_(_rank(row.status), row.progress, row.certificate_generated) < tuple_(
        _rank(stored.status), stored.progress, stored.certificate_generated
    )
    return case((other_batch, earlier_batch), else_=behind)


def _target(row: _Columns, stored: _Columns, other_batch: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """What an enrolment becomes when the row is applied."""
    values: dict[str, ColumnElement[Any]] = {name: row[name] for name in ENROLMENT_FIELDS}
    for name in ("batch_id", "enrolled_on"):
        values[name] = case((other_batch, row[name]), else_=func.coalesce(row[name], stored[name]))
    return values


def _rules(*, allow_rollback: bool) -> tuple[dict[str, ColumnElement[Any]], ColumnElement[Any], ColumnElement[Any]]:
    """For a staged row meeting a stored enrolment: what it would become, whether that is no change, whether older."""
    row, stored = ENROLMENT_STAGE.c, ENROLMENTS.c
    other_batch = _other_batch(row, stored)
    target = _target(row, stored, other_batch)
    unchanged = and_(*(stored[name].is_not_distinct_from(value) for name, value in target.items()))
    older = false() if allow_rollback else _older(row, stored, other_batch)
    return target, unchanged, older


def _compare_enrolments(connection: Connection, *, allow_rollback: bool) -> tuple[int, int]:
    """Of the staged rows meeting a stored enrolment (before any is updated): how many unchanged, how many older."""
    _, unchanged, older = _rules(allow_rollback=allow_rollback)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(count(unchanged), count(and_(~unchanged, older)))
        .select_from(_staged())
        .join(ENROLMENTS, _meets_stored())
    )
    same, behind = connection.execute(query).one()
    return same, behind


def _update_enrolments(connection: Connection, stamp: ColumnElement[Any], *, allow_rollback: bool) -> int:
    target, unchanged, older = _rules(allow_rollback=allow_rollback)
    statement = (
        update(ENROLMENTS)
        .values(**target, updated_at=stamp)
        .where(EMPLOYEE_STAGE.c.slot == ENROLMENT_STAGE.c.slot, _meets_stored(), ~unchanged, ~older)
    )
    return connection.execute(statement).rowcount


def _insert_enrolments(connection: Connection, stamp: ColumnElement[Any], *, any_known: bool) -> int:
    row = ENROLMENT_STAGE.c
    new = select(EMPLOYEE_STAGE.c.employee_id, *(row[name] for name in ("course_id", *ENROLMENT_FIELDS)), stamp)
    new = new.select_from(_staged())
    if any_known:
        new = new.where(~exists().where(_meets_stored()))
    statement = insert(ENROLMENTS).from_select(["employee_id", "course_id", *ENROLMENT_FIELDS, "updated_at"], new)
    return connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount
