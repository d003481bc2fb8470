"""Completion of mandatory courses for nodal officers and administrators: the dashboard, the drill-down to
the employees with pending courses, and both as CSV.

Every figure, list and file here is computed within `scope_of(staff)` and nothing else: no query
parameter names a district or department to look at. A group in the drill-down's URL only narrows
the list further, so asking for another district's group shows what asking for a group that does not
exist shows (no one), in the page, the CSV and the totals alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.access import audit
from bot.access.roles import REPORT_ROLES, Scope, scope_of
from bot.db import session_scope
from bot.models import Staff
from bot.records.completion import (
    CompletionRow,
    GroupBy,
    PendingEmployee,
    PendingKey,
    PendingPage,
    completion,
    completion_total,
    pending_after,
    pending_employees,
    today_in,
)
from bot.web.console.auth import console_page
from bot.web.console.charts import bar
from bot.web.console.exports import csv_download, csv_lines, file_name
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import render

PAGE_SIZE = 50
EXPORT_BATCH = 500
CHART_GROUPS = 60  # more bars than this are more than anyone reads; the table lists every group
BY_LABELS = {GroupBy.DISTRICT: "District", GroupBy.DEPARTMENT: "Department",
             GroupBy.DESIGNATION: "Designation", GroupBy.COURSE: "Course"}  # fmt: skip
SORTS = {"name": "A to Z", "rate": "Lowest completion first"}
COMPLETION_COLUMNS = ["group", "employees", "mandatory_total", "mandatory_completed", "completion_rate", "overdue"]
PENDING_COLUMNS = ["name", "phone", "designation", "department", "district", "course", "status", "progress",
                   "batch_end_date", "overdue"]  # fmt: skip

nav = (NavEntry("Completion", "reports", REPORT_ROLES),)


def scope_filters(scope: Scope) -> dict[str, Collection[str] | None]:
    """A scope as `bot.records.completion` takes it: None is no limit, an empty list is no one."""
    if scope.everything:
        return {"districts": None, "departments": None}
    if scope.nothing:
        return {"districts": [], "departments": []}
    return {"districts": sorted(scope.districts) or None, "departments": sorted(scope.departments) or None}


def grouping(query: QueryParams) -> GroupBy:
    """The grouping asked for; anything unknown is by district."""
    try:
        return GroupBy(query.get("by", GroupBy.DISTRICT.value))
    except ValueError:
        return GroupBy.DISTRICT


def page_number(query: QueryParams) -> int:
    page = query.get("page", "1")
    return max(1, int(page)) if page.isdigit() and len(page) < 7 else 1


@dataclass(frozen=True)
class Drill:
    """Whose pending courses to list: a group (`by` and `group`; an empty group is "not given") or,
    without `group` in the query, everyone in the scope."""

    by: GroupBy | None
    group: str | None

    @classmethod
    def from_query(cls, query: QueryParams) -> Drill:
        if "group" not in query:
            return cls(None, None)
        return cls(grouping(query), query["group"].strip()[:300] or None)

    @property
    def title(self) -> str:
        if self.by is None:
            return "Everyone in your scope"
        return f"{BY_LABELS[self.by]}: {self.group or '(not given in the reports)'}"

    def query(self, **extra: str | int) -> str:
        pairs: list[tuple[str, str | int]] = []
        if self.by is not None:
            pairs += [("by", self.by.value), ("group", self.group or "")]
        return urlencode([*pairs, *extra.items()])

    def file_words(self) -> tuple[str, ...]:
        if self.by is None:
            return ("pending", "all")
        return ("pending", self.by.value, self.group or "not-given")


def load_completion(db: Engine, scope: Scope, by: GroupBy, today: date) -> tuple[list[CompletionRow], CompletionRow]:
    with session_scope(db) as session:
        filters = scope_filters(scope)
        return completion(session, by=by, today=today, **filters), completion_total(session, today=today, **filters)


def load_pending(db: Engine, scope: Scope, drill: Drill, page: int, today: date) -> PendingPage:
    with session_scope(db) as session:
        return pending_employees(session, today=today, by=drill.by, group=drill.group, page=page,
                                 page_size=PAGE_SIZE, **scope_filters(scope))  # fmt: skip


def _today(request: Request) -> date:
    return today_in(request.app.state.settings.timezone)


@console_page(*REPORT_ROLES)
async def dashboard(request: Request, staff: Staff) -> Response:
    """Completion by the chosen grouping: totals, a bar per group, the table, links to the lists."""
    scope, by = scope_of(staff), grouping(request.query_params)
    sort = request.query_params.get("sort", "name")
    sort = sort if sort in SORTS else "name"
    rows, total = await run_in_threadpool(load_completion, request.app.state.db, scope, by, _today(request))
    if sort == "rate":
        rows = sorted(rows, key=lambda row: (row.completion_rate, -row.overdue))
    context: dict[str, Any] = {
        "scope": scope.describe(),
        "by": by,
        "by_labels": BY_LABELS,
        "sort": sort,
        "sorts": SORTS,
        "rows": rows,
        "total": total,
        "total_bar": bar(total),
        "bars": [bar(row) for row in rows[:CHART_GROUPS]],
        "chart_groups": CHART_GROUPS,
        "drill": lambda row: Drill(by, row.group).query(),
    }
    request.state.nav = "reports"
    return render(request, "reports.html", context)


@console_page(*REPORT_ROLES)
async def pending(request: Request, staff: Staff) -> Response:
    """The employees with pending mandatory courses, of a group or of the whole scope, 50 a page."""
    scope, drill, page = scope_of(staff), Drill.from_query(request.query_params), page_number(request.query_params)
    result = await run_in_threadpool(load_pending, request.app.state.db, scope, drill, page, _today(request))
    context = {
        "scope": scope.describe(),
        "drill": drill,
        "result": result,
        "previous_query": drill.query(page=page - 1) if page > 1 else None,
        "next_query": drill.query(page=page + 1) if page < result.pages else None,
        "back_query": urlencode({"by": drill.by.value}) if drill.by else "",
    }
    request.state.nav = "reports"
    return render(request, "pending.html", context)


@console_page(*REPORT_ROLES)
async def completion_csv(request: Request, staff: Staff) -> Response:
    """The completion table as CSV: one row per group (the same figures as the dashboard)."""
    scope, by = scope_of(staff), grouping(request.query_params)
    rows, _ = await run_in_threadpool(load_completion, request.app.state.db, scope, by, _today(request))

    async def lines() -> AsyncIterator[str]:
        yield csv_lines([COMPLETION_COLUMNS])
        yield csv_lines([list(row.as_json().values()) for row in rows])

    return csv_download(lines(), file_name("completion", "by", by.value))


def _pending_batch(
    db: Engine, scope: Scope, drill: Drill, today: date, after: PendingKey | None
) -> tuple[tuple[PendingEmployee, ...], PendingKey | None]:
    with session_scope(db) as session:
        return pending_after(session, today=today, by=drill.by, group=drill.group, after=after, limit=EXPORT_BATCH,
                             **scope_filters(scope))  # fmt: skip


def _pending_rows(people: tuple[PendingEmployee, ...]) -> list[list[Any]]:
    """One row per pending course (a spreadsheet filters and counts those best)."""
    return [
        [person.name, person.phone, person.designation, person.department, person.district, course.name,
         course.status, course.progress, course.batch_end_date.isoformat() if course.batch_end_date else None,
         "yes" if course.overdue else "no"]
        for person in people
        for course in person.courses
    ]  # fmt: skip


def _record_export(db: Engine, staff: Staff, drill: Drill, scope: Scope) -> None:
    with session_scope(db) as session:
        audit.record(session, actor=staff.name, action="pending.exported", subject=f"pending:{drill.query()}"[:80],
                     detail=f"names of employees with pending mandatory courses; scope {scope.describe()}")  # fmt: skip


@console_page(*REPORT_ROLES)
async def pending_csv(request: Request, staff: Staff) -> Response:
    """The whole pending list (every page) as CSV, read and sent a batch at a time; the export is audited."""
    db, scope, drill, today = (
        request.app.state.db,
        scope_of(staff),
        Drill.from_query(request.query_params),
        _today(request),
    )
    await run_in_threadpool(_record_export, db, staff, drill, scope)

    async def lines() -> AsyncIterator[str]:
        yield csv_lines([PENDING_COLUMNS])
        after: PendingKey | None = None
        while True:
            people, after = await run_in_threadpool(_pending_batch, db, scope, drill, today, after)
            yield csv_lines(_pending_rows(people))
            if after is None:
                return

    return csv_download(lines(), file_name(*drill.file_words()))


routes = [
    Route("/reports", dashboard, name="reports"),
    Route("/reports/pending", pending, name="reports_pending"),
    Route("/reports/completion.csv", completion_csv, name="reports_completion_csv"),
    Route("/reports/pending.csv", pending_csv, name="reports_pending_csv"),
]
