"""`bench`: benchmarks that print figures beside the stack's own ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import bench_app
from bot.cli.common import startup


@bench_app.command("nlu")
def bench_nlu(
    rounds: Annotated[int, typer.Option(min=1, help="passes over the example set")] = 3,
) -> None:
    """Per-message understanding latency against a bare rapidfuzz extractOne."""
    from bot.bench.nlu import bench_nlu as run

    _, brain = startup(log_level="WARNING")
    typer.echo(run(brain, rounds=rounds))


@bench_app.command("import")
def bench_import(
    rows: Annotated[int, typer.Option(min=10, help="enrolment rows in the generated report")] = 1_000_000,
    employees: Annotated[int, typer.Option(min=1, help="distinct employees")] = 400_000,
    workdir: Annotated[Path, typer.Option(file_okay=False, help="where the report and database go")] = Path(
        "bench-data"
    ),
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL URL to import into as well (a database of its own: emptied first)")
    ] = None,
) -> None:
    """Import a generated state-sized report: rows/s and peak memory beside the raw ceiling, SQLite and PostgreSQL."""
    from bot.bench.records import bench_import as run

    workdir.mkdir(parents=True, exist_ok=True)
    typer.echo(run(rows=rows, employees=employees, workdir=workdir, postgres=postgres))


@bench_app.command("report")
def bench_report(
    database: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="a database from `bench import`")] = Path(
        "bench-data/bench.db"
    ),
    postgres: Annotated[str | None, typer.Option(help="a PostgreSQL database `bench import --postgres` loaded")] = None,
) -> None:
    """Completion report query times on a loaded database beside a bare GROUP BY of the same join."""
    from bot.bench.records import bench_report as run

    startup(log_level="WARNING", brain=False)
    urls = {"SQLite": f"sqlite:///{database}"}
    if postgres:
        urls["PostgreSQL"] = postgres
    typer.echo(run(database_urls=urls))


@bench_app.command("status")
def bench_status(
    database: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="a database from `bench import`")] = Path(
        "bench-data/bench.db"
    ),
    samples: Annotated[int, typer.Option(min=10)] = 2000,
) -> None:
    """Own-status latency (p50, p99) on a loaded database beside a bare indexed SELECT."""
    from bot.bench.records import bench_status as run

    _, brain = startup(log_level="WARNING")
    typer.echo(run(database=database, brain=brain, samples=samples))


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
    settings, _ = startup(log_level="WARNING", brain=False)
    typer.echo(run(database_urls=urls, workers=(1, 2), requests=requests, content_dir=settings.content_dir))


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


@bench_app.command("outbox")
def bench_outbox(
    messages: Annotated[int, typer.Option(min=100, help="queued messages per run")] = 4000,
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL URL to measure as well (a database of its own)")
    ] = None,
    workdir: Annotated[Path, typer.Option(file_okay=False)] = Path("bench-data"),
) -> None:
    """The outbox drained by 1, 2 and 3 sender processes, beside a raw claim-and-update of the same rows."""
    from bot.bench.outbox import bench_outbox as run

    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir.resolve() / "outbox-bench.db"
    for suffix in ("", "-wal", "-shm", "-writer.lock"):  # a fresh file: a stale -wal would be replayed into it
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    urls = {"SQLite": f"sqlite:///{database}"}
    if postgres:
        urls["PostgreSQL"] = postgres
    settings, _ = startup(log_level="WARNING", brain=False)
    typer.echo(run(database_urls=urls, messages=messages, locales=settings.content_dir / "locales"))


@bench_app.command("gaps")
def bench_gaps(
    questions: Annotated[int, typer.Option(min=100, help="unanswered questions to group")] = 100_000,
    rounds: Annotated[int, typer.Option(min=1, help="batches of 32 messages decided")] = 30,
) -> None:
    """Recording overhead per message, grouping 100,000 questions, time to answer a new entry."""
    from bot.bench.gaps import bench_gaps as run

    settings, brain = startup(log_level="WARNING")
    typer.echo(run(brain, questions=questions, rounds=rounds, poll_seconds=settings.knowledge_poll_seconds))
