"""`import report` and `db upgrade`: getting departments' records in and the schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import db_app, import_app
from bot.cli.common import startup


@import_app.command("report")
def import_report(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="iGOT enrolment report (CSV)")],
    batch_size: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 5000,
) -> None:
    """Upsert employees, courses and enrolments; bad rows go to FILE.rejects.csv."""
    from bot import db
    from bot.progress import progress_reporter
    from bot.records.importer import ReportError
    from bot.records.importer import import_report as run_import

    startup(migrate=True, brain=False)
    try:
        with progress_reporter(f"importing {file.name}") as on_progress:
            summary = run_import(db.get_engine(), file, batch_size=batch_size, on_progress=on_progress)
    except ReportError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"rows read: {summary.rows_read}, inserted: {summary.inserted}, updated: {summary.updated}, "
        f"unchanged: {summary.unchanged}, rejected: {summary.rejected}"
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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations."""
    from bot import db

    settings, _ = startup(brain=False)
    db.upgrade(settings.database_url)
    typer.echo("database schema is up to date")
