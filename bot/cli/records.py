"""`import report`, `report completion|pending` and `db upgrade`: departments' records in, and what they say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import db_app, import_app, report_app
from bot.cli.common import startup
from bot.records.completion import GroupBy

if TYPE_CHECKING:
    from bot.records.completion import CompletionRow, PendingPage

Districts = Annotated[list[str] | None, typer.Option("--district", help="only these districts (repeatable)")]
Departments = Annotated[list[str] | None, typer.Option("--department", help="only these departments (repeatable)")]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@import_app.command("report")
def import_report(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="iGOT enrolment report (CSV)")],
    batch_size: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 20_000,
    allow_rollback: Annotated[
        bool, typer.Option(help="take every row as it is, even where it is older than what is stored (a correction)")
    ] = False,
) -> None:
    """Upsert employees, courses and enrolments; bad rows go to FILE.rejects.csv."""
    from bot import db
    from bot.progress import progress_reporter
    from bot.records.importer import ReportError
    from bot.records.importer import import_report as run_import

    startup(migrate=True, brain=False)
    try:
        with progress_reporter(f"importing {file.name}") as on_progress:
            summary = run_import(
                db.get_engine(), file, batch_size=batch_size, allow_rollback=allow_rollback, on_progress=on_progress
            )
    except ReportError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"rows read: {summary.rows_read}, inserted: {summary.inserted}, updated: {summary.updated}, "
        f"unchanged: {summary.unchanged}, rejected: {summary.rejected}, ignored as older: {summary.ignored_older}"
    )
    typer.echo(
        f"employees added: {summary.employees_added}, updated: {summary.employees_updated}; "
        f"courses added: {summary.courses_added}"
    )
    if summary.rejects_path:
        typer.echo(f"rejected rows with line and reason: {summary.rejects_path}")
    for phone in summary.shared_phones:
        typer.echo(
            f"warning: phone {phone} belongs to more than one employee; the bot shows none of their "
            "records to that phone until the report is corrected"
        )


@report_app.command("completion")
def report_completion(
    by: Annotated[GroupBy, typer.Option(case_sensitive=False)] = GroupBy.DISTRICT,
    district: Districts = None,
    department: Departments = None,
    as_json: Json = False,
) -> None:
    """Mandatory-course completion by group: employees, mandatory total/completed, rate, overdue."""
    from bot import db
    from bot.records.completion import completion, completion_total, today_in

    settings, _ = startup(migrate=True, brain=False, log_level="WARNING")
    scope = {"districts": district, "departments": department}
    today = today_in(settings.timezone)
    with db.session_scope() as session:
        rows = completion(session, by=by, today=today, **scope)
        total = None if as_json else completion_total(session, today=today, **scope)
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return
    typer.echo(_completion_table(by.value, rows, total))


@report_app.command("pending")
def report_pending(
    by: Annotated[GroupBy | None, typer.Option(case_sensitive=False, help="the grouping of --group")] = None,
    group: Annotated[str | None, typer.Option(help="the group, as `report completion` names it")] = None,
    district: Districts = None,
    department: Departments = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Json = False,
) -> None:
    """Employees with pending mandatory courses (phones masked), a page at a time."""
    from bot import db
    from bot.records.completion import pending_employees, today_in

    settings, _ = startup(migrate=True, brain=False, log_level="WARNING")
    with db.session_scope() as session:
        result = pending_employees(
            session, today=today_in(settings.timezone), by=by, group=group,
            districts=district, departments=department, page=page, page_size=page_size,
        )  # fmt: skip
    typer.echo(json.dumps(_pending_json(result), ensure_ascii=False, indent=2) if as_json else _pending_text(result))


def _completion_table(title: str, rows: list[CompletionRow], total: CompletionRow | None) -> str:
    if not rows:
        return "no mandatory enrolments in the imported reports for this scope"
    labelled = [(row.group or "(not given)", row) for row in rows]
    if total is not None:
        labelled.append(("total", total))
    width = max(len(title), *(len(label) for label, _ in labelled))
    header = f"{title:<{width}}  {'employees':>9}  {'mandatory':>9}  {'completed':>9}  {'rate':>6}  {'overdue':>7}"
    lines = [header, "-" * len(header)]
    for label, row in labelled:
        lines.append(
            f"{label:<{width}}  {row.employees:>9}  {row.mandatory_total:>9}  {row.mandatory_completed:>9}  "
            f"{row.completion_rate:>6.1%}  {row.overdue:>7}"
        )
    return "\n".join(lines)


def _pending_json(result: PendingPage) -> dict[str, object]:
    return {
        "page": result.page,
        "pages": result.pages,
        "total": result.total,
        "employees": [
            {
                "name": person.name, "phone": person.phone, "designation": person.designation,
                "department": person.department, "district": person.district,
                "courses": [
                    {"name": course.name, "status": course.status, "progress": course.progress,
                     "batch_end_date": course.batch_end_date.isoformat() if course.batch_end_date else None,
                     "overdue": course.overdue}
                    for course in person.courses
                ],
            }
            for person in result.employees
        ],
    }  # fmt: skip


def _pending_text(result: PendingPage) -> str:
    lines = [f"{result.total} employees with pending mandatory courses (page {result.page} of {result.pages})"]
    for person in result.employees:
        where = ", ".join(part for part in (person.designation, person.department, person.district) if part)
        lines.append(f"{person.name}  {person.phone or '-'}  {where}")
        for course in person.courses:
            end = f", ends {course.batch_end_date.isoformat()}" if course.batch_end_date else ""
            late = " — OVERDUE" if course.overdue else ""
            lines.append(f"    {course.name}: {course.status} {course.progress}%{end}{late}")
    return "\n".join(lines)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations."""
    from bot import db

    settings, _ = startup(brain=False)
    db.upgrade(settings.database_url)
    typer.echo("database schema is up to date")
