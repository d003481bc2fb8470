"""The `helpdesk` command."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.config import get_settings
from bot.i18n import CatalogError
from bot.knowledge import ContentError

app = typer.Typer(
    help="iGOT Karmayogi helpdesk bot.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (figures, not tests).", no_args_is_help=True)
import_app = typer.Typer(help="Import iGOT reports.", no_args_is_help=True)
tickets_app = typer.Typer(help="The helpdesk ticket queue.", no_args_is_help=True)
staff_app = typer.Typer(help="Helpdesk staff accounts.", no_args_is_help=True)
remind_app = typer.Typer(help="Course reminders for field staff.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(tickets_app, name="tickets")
app.add_typer(staff_app, name="staff")
app.add_typer(remind_app, name="remind")
app.add_typer(bench_app, name="bench")


def _startup(*, migrate: bool = False, log_level: str | None = None, brain: bool = True):
    """Logging, the schema (SQLite only: PostgreSQL is migrated by the operator) and the brain."""
    from bot import db
    from bot.brain import load_brain
    from bot.logs import configure_logging

    settings = get_settings()
    configure_logging(log_level or settings.log_level, settings.log_format)
    loaded = None
    if brain:
        try:
            loaded = load_brain(settings.content_dir)
        except (ContentError, CatalogError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
    if migrate and settings.database_url.startswith("sqlite"):
        db.upgrade(settings.database_url)
    return settings, loaded


def _dialogue_engine():
    from bot import db
    from bot.dialogue import Engine

    settings, brain = _startup(migrate=True, log_level="WARNING")
    return Engine(brain=brain, db=db.get_engine(), settings=settings)


@app.command()
def chat(
    phone: Annotated[str | None, typer.Option(help="chat as the employee with this phone (E.164)")] = None,
    lang: Annotated[str | None, typer.Option(help="reply language: en or hi")] = None,
) -> None:
    """Console chat; reads one message per line when stdin is not a terminal."""
    from bot.channels.console import ConsoleChat

    if lang not in (None, "en", "hi"):
        raise typer.BadParameter("use en or hi", param_hint="--lang")
    console = ConsoleChat(_dialogue_engine(), phone=phone)
    if lang:
        console.choose_language(lang)
    if sys.stdin.isatty():
        console.run_interactive(input, sys.stdout)
    else:
        console.run_script(sys.stdin, sys.stdout)


@app.command()
def ask(
    texts: Annotated[list[str] | None, typer.Argument(help="texts; '-' or none: read stdin")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per text")] = False,
) -> None:
    """What the bot understands of each text."""
    _, brain = _startup(log_level="WARNING")
    if not texts or texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for text in texts:
        understanding = brain.matcher.understand(text)
        result = {
            "text": text,
            "lang": understanding.lang or "en",
            "match": understanding.match,
            "score": understanding.score,
            "alternatives": list(understanding.alternatives),
        }
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            alternatives = ", ".join(result["alternatives"]) or "-"
            typer.echo(f"{text}\n  lang={result['lang']} match={result['match']} score={result['score']:.2f} "
                       f"alternatives={alternatives}")


@app.command("eval")
def evaluate_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="labelled JSONL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Accuracy on a labelled file: overall, per language, out-of-scope abstention, misses."""
    from bot.evaluation import LANGS, evaluate, read_queries

    _, brain = _startup(log_level="WARNING")
    try:
        queries = read_queries(file)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    report = evaluate(brain.matcher, queries)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for query, got, score in report.misses:
        typer.echo(f"miss [{query.lang}] {query.text!r}: expected {query.expect}, got {got} ({score:.2f})")
    typer.echo(f"queries: {report.total}")
    typer.echo(f"overall: {report.accuracy:.1%}")
    for lang in LANGS:
        correct, total = report.by_lang[lang]
        if total:
            typer.echo(f"{lang:>8}: {correct / total:.1%} ({correct}/{total})")
    abstained, out_of_scope = report.out_of_scope
    if out_of_scope:
        typer.echo(f"out-of-scope abstained: {abstained / out_of_scope:.1%} ({abstained}/{out_of_scope})")


@app.command()
def seed(
    employees: Annotated[int, typer.Option(min=10, help="how many employees to generate")] = 3000,
) -> None:
    """Deterministic synthetic sample data (employees, courses, enrolments), once per database."""
    from bot import db
    from bot.seed import seed_database

    _startup(migrate=True, log_level="WARNING", brain=False)
    with db.session_scope(db.get_engine()) as session:
        summary = seed_database(session, employees=employees, today=date.today())
    if summary.employees:
        typer.echo(f"seeded {summary.employees} employees, {summary.courses} courses, "
                   f"{summary.enrolments} enrolments")
    else:
        typer.echo("the database already holds employees: nothing seeded")


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

    _startup(migrate=True, brain=False)
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


@contextmanager
def _staff_action() -> Iterator:
    """A database session for a staff command; mistakes become one clear line and exit code 2."""
    from bot import db
    from bot.tickets.service import TicketError
    from bot.tickets.staff import StaffError

    _startup(migrate=True, log_level="WARNING", brain=False)
    try:
        with db.session_scope(db.get_engine()) as session:
            yield session
    except (TicketError, StaffError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _acting_staff(session, name: str):
    from bot.tickets.service import TicketError
    from bot.tickets.staff import staff_by_name

    staff = staff_by_name(session, name=name)
    if staff is None:
        raise TicketError(f"no active staff member '{name}' (create one with `helpdesk staff add {name}`)")
    return staff


@tickets_app.command("list")
def tickets_list(
    status: Annotated[str | None, typer.Option(help="open, assigned, waiting_for_user, resolved, closed")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The ticket queue, oldest first; overdue tickets are marked."""
    from bot.tickets.presenting import ticket_summary
    from bot.tickets.service import list_tickets

    with _staff_action() as session:
        rows = [ticket_summary(session, ticket) for ticket in list_tickets(session, status=status)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no tickets")
    for row in rows:
        flag = "  OVERDUE" if row["overdue"] else ""
        typer.echo(f"{row['ref']}  {row['status']:<16} {row['category']:<32} {row['lang']:<3} {row['channel']:<9} "
                   f"{row['assignee'] or '-':<10} due {row['sla_due']}{flag}")


@tickets_app.command("show")
def tickets_show(ref: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One ticket with its transcript and audit trail."""
    from bot.tickets.presenting import ticket_detail
    from bot.tickets.service import get_ticket

    with _staff_action() as session:
        detail = ticket_detail(session, get_ticket(session, ref=ref))
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{detail['ref']}  {detail['status']}  {detail['category']}  lang={detail['lang']}  "
               f"channel={detail['channel']}  user={detail['user']}  assignee={detail['assignee'] or '-'}")
    typer.echo(f"opened {detail['created_at']} ({detail['reason']}), due {detail['sla_due']}"
               + ("  OVERDUE" if detail["overdue"] else ""))
    for line in detail["transcript"]:
        attachment = f" [{line['attachment_kind']}: {line['attachment_ref']}]" if line["attachment_kind"] else ""
        typer.echo(f"  {line['at']}  {line['author']:<6} {line['text']}{attachment}")
    typer.echo("audit:")
    for event in detail["audit"]:
        typer.echo(f"  {event['at']}  {event['actor']}: {event['action']} {event['detail']}".rstrip())


@tickets_app.command("claim")
def tickets_claim(ref: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Take a ticket; fails if somebody else already has it."""
    from bot.tickets.service import claim

    with _staff_action() as session:
        ticket = claim(session, ref=ref, staff=_acting_staff(session, staff))
        typer.echo(f"{ticket.ref} claimed by {staff}")


@tickets_app.command("reply")
def tickets_reply(ref: str, text: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Answer the user; delivered on their channel in their language."""
    from bot.tickets.service import reply

    with _staff_action() as session:
        ticket = reply(session, ref=ref, staff=_acting_staff(session, staff), text=text)
        typer.echo(f"reply to {ticket.ref} queued for the user ({ticket.channel})")


@tickets_app.command("resolve")
def tickets_resolve(ref: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Mark solved; the user is asked for a rating."""
    from bot.tickets.service import resolve

    with _staff_action() as session:
        ticket = resolve(session, ref=ref, staff=_acting_staff(session, staff))
        typer.echo(f"{ticket.ref} resolved; the user will be asked for a rating")


@staff_app.command("add")
def staff_add(
    name: str,
    telegram_id: Annotated[int | None, typer.Option("--telegram-id", help="their Telegram user id, for the staff group")] = None,
) -> None:
    """Create a staff account; asks for the web console password on a terminal (stdin otherwise)."""
    from bot.tickets.staff import add_staff

    password = _read_password()
    with _staff_action() as session:
        add_staff(session, name=name, password=password, telegram_user_id=telegram_id)
    typer.echo(f"staff '{name}' added" + ("" if password else " (no password: Telegram staff group only)"))


def _read_password() -> str | None:
    if sys.stdin.isatty():
        password = typer.prompt("password for the web console (empty: none)", hide_input=True,
                                confirmation_prompt=True, default="", show_default=False)
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password or None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """The web server: channel webhooks, staff console, health and metrics."""
    import os
    import secrets
    import tempfile

    import uvicorn

    settings, _ = _startup(migrate=True)  # fails here, once, on broken content or catalogs
    if workers > 1:
        # Every worker must sign staff sessions with one key, and count metrics in one place.
        if not settings.staff_session_secret:
            os.environ["STAFF_SESSION_SECRET"] = secrets.token_urlsafe(32)
            typer.echo("warning: STAFF_SESSION_SECRET not set; staff logins end when the server restarts", err=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="helpdesk-metrics-"))
    uvicorn.run(
        "bot.web.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        timeout_graceful_shutdown=30,  # in-flight requests finish on SIGTERM
        log_level="warning",
    )


telegram_app = typer.Typer(help="Telegram set-up and polling.", invoke_without_command=True)
app.add_typer(telegram_app, name="telegram")


@telegram_app.callback()
def telegram_main(
    ctx: typer.Context,
    polling: Annotated[bool, typer.Option("--polling", help="fetch updates instead of a webhook")] = False,
) -> None:
    """`helpdesk telegram --polling` runs the bot without a public URL."""
    if ctx.invoked_subcommand is not None:
        return
    if not polling:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    import asyncio

    from bot import db
    from bot.channels.telegram import run_polling
    from bot.dialogue import Engine

    settings, brain = _startup(migrate=True)
    if not settings.telegram_bot_token:
        typer.echo("error: set TELEGRAM_BOT_TOKEN first", err=True)
        raise typer.Exit(2)
    engine = Engine(brain=brain, db=db.get_engine(), settings=settings)
    try:
        asyncio.run(run_polling(settings, engine))
    except KeyboardInterrupt:
        typer.echo("stopped")


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Register PUBLIC_BASE_URL/telegram/webhook with Telegram, with TELEGRAM_WEBHOOK_SECRET."""
    import asyncio

    from bot.channels.telegram import TelegramSetupError, set_webhook

    settings, _ = _startup(brain=False)
    try:
        typer.echo(f"webhook set: {asyncio.run(set_webhook(settings))}")
    except TelegramSetupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@bench_app.command("webhook")
def bench_webhook(
    requests: Annotated[int, typer.Option(min=100, help="posts per measured run")] = 3000,
    postgres: Annotated[str | None, typer.Option(help="PostgreSQL URL to measure as well")] = None,
    workdir: Annotated[Path, typer.Option(file_okay=False)] = Path("bench-data"),
) -> None:
    """Signed WhatsApp posts from a separate load process, 1 and 2 workers, beside a bare endpoint."""
    from bot.bench.webhook import bench_webhook as run

    workdir.mkdir(parents=True, exist_ok=True)
    urls = {"SQLite": f"sqlite:///{workdir.resolve()}/webhook-bench.db"}
    if postgres:
        urls["PostgreSQL"] = postgres
    typer.echo(run(database_urls=urls, workers=(1, 2), requests=requests, workdir=workdir))


def _campaigns(settings):
    from bot.reminders import CampaignError, load_campaigns

    try:
        return load_campaigns(settings.reminder_campaigns_file)
    except CampaignError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@remind_app.command("campaigns")
def remind_campaigns() -> None:
    """The reminder campaigns in force (checks the campaigns file)."""
    settings, _ = _startup(brain=False, log_level="WARNING")
    for campaign in _campaigns(settings):
        state = "" if campaign.enabled else " (disabled)"
        typer.echo(f"{campaign.id}: {campaign.name}, {campaign.schedule.every}{state}")


@remind_app.command("plan")
def remind_plan(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Plan the due reminders; planning twice plans nothing new."""
    from bot import db
    from bot.reminders import plan

    settings, _ = _startup(migrate=True, brain=False)
    summary = plan(db.get_engine(), campaigns=_campaigns(settings), timezone=settings.timezone)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    typer.echo(f"planned: {summary.total} new reminders "
               + ", ".join(f"{name} {count} ({summary.periods.get(name, '')})" for name, count in summary.planned.items()))
    for name in summary.not_running:
        typer.echo(f"not running now: {name}")


@remind_app.command("send")
def remind_send(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Send the planned reminders that are due, within the send window, to those who did not opt out."""
    from bot import db
    from bot.reminders import DEFAULT_RATE_LIMITS, build_senders, send

    settings, brain = _startup(migrate=True)
    summary = send(
        db.get_engine(),
        campaigns=_campaigns(settings),
        senders=build_senders(settings),
        texts=brain.texts,
        rate_limits={**DEFAULT_RATE_LIMITS, "whatsapp": settings.reminder_whatsapp_rate},
        timezone=settings.timezone,
        send_window=settings.reminder_send_window,
        default_language=settings.default_language,
    )
    result = summary.as_dict()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(", ".join(f"{key}: {value}" for key, value in result.items() if key != "by_channel"))
    if result["by_channel"]:
        typer.echo("by channel: " + ", ".join(f"{name} {count}" for name, count in result["by_channel"].items()))


@remind_app.command("report")
def remind_report(
    campaign: Annotated[str | None, typer.Option(help="one campaign id")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Counts: planned, sent, failed, skipped (opted out, quiet hours, no channel), delivered, read."""
    from bot import db
    from bot.reminders import report

    _startup(migrate=True, brain=False, log_level="WARNING")
    counts = report(db.get_engine(), campaign=campaign)
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for key, value in counts.items():
        typer.echo(f"{key:>24}: {value}")


@bench_app.command("remind")
def bench_remind(
    employees: Annotated[int, typer.Option(min=10)] = 400_000,
    enrolments: Annotated[int, typer.Option(min=10)] = 1_000_000,
    rate_seconds: Annotated[float, typer.Option(min=1, help="how long to measure the 80/s rate")] = 60.0,
    workdir: Annotated[Path, typer.Option(file_okay=False)] = Path("bench-data"),
) -> None:
    """Planning at state scale, the sender's own overhead, and the achieved rate under an 80/s limit."""
    from bot.bench.reminders import bench_plan, bench_rate, bench_send

    workdir.mkdir(parents=True, exist_ok=True)
    typer.echo(bench_plan(employees=employees, enrolments=enrolments, workdir=workdir))
    typer.echo(bench_send(workdir=workdir))
    typer.echo(bench_rate(rate=80.0, seconds=rate_seconds, workdir=workdir))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations."""
    from bot import db

    db.upgrade(get_settings().database_url)
    typer.echo("database schema is up to date")


@bench_app.command("nlu")
def bench_nlu(
    rounds: Annotated[int, typer.Option(min=1, help="passes over the example set")] = 3,
) -> None:
    """Per-message understanding latency against a bare rapidfuzz extractOne."""
    from bot.bench.nlu import bench_nlu as run

    _, brain = _startup(log_level="WARNING")
    typer.echo(run(brain, rounds=rounds))


@bench_app.command("import")
def bench_import(
    rows: Annotated[int, typer.Option(min=10, help="enrolment rows in the generated report")] = 1_000_000,
    employees: Annotated[int, typer.Option(min=1, help="distinct employees")] = 400_000,
    workdir: Annotated[Path, typer.Option(file_okay=False, help="where the report and database go")] = Path("bench-data"),
) -> None:
    """Import a generated state-sized report into SQLite: rows/s and peak memory beside the ceiling."""
    from bot.bench.records import bench_import as run

    workdir.mkdir(parents=True, exist_ok=True)
    typer.echo(run(rows=rows, employees=employees, workdir=workdir))


@bench_app.command("status")
def bench_status(
    database: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="a database from `bench import`")] = Path("bench-data/bench.db"),
    samples: Annotated[int, typer.Option(min=10)] = 2000,
) -> None:
    """Own-status latency (p50, p99) on a loaded database beside a bare indexed SELECT."""
    from bot.bench.records import bench_status as run

    _, brain = _startup(log_level="WARNING")
    typer.echo(run(database=database, brain=brain, samples=samples))


if __name__ == "__main__":
    app()
