"""Reminder benchmarks: planning at state scale, the sender's own overhead, and a rate limit held."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.bench.providers import NullProvider
from bot.config import get_settings
from bot.db import create_db_engine, upgrade
from bot.i18n import Texts
from bot.reminders import load_campaigns, plan, send
from bot.reminders.sender import SendSummary

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # noon in Kolkata: inside the send window


def build_database(path: Path, *, employees: int, enrolments: int, seed: int = 7) -> None:
    """A migrated SQLite database with synthetic employees, 40 courses and their enrolments."""
    path.unlink(missing_ok=True)
    upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    stamp = "2026-11-01 00:00:00.000000"
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO course (id, content_id, name, name_hi) VALUES (?, ?, ?, ?)",
        [(n, f"do_bench_{n:03d}", f"Benchmark Course {n}", f"बेंचमार्क कोर्स {n}") for n in range(1, 41)],
    )
    connection.executemany(
        'INSERT INTO employee (id, name, phone, designation, "group", department, district, created_at, updated_at) '
        "VALUES (?, ?, ?, 'ASHA', 'Group D', 'Health', 'Raipur', ?, ?)",
        ((n, f"Employee {n}", f"+9190{n:08d}", stamp, stamp) for n in range(1, employees + 1)),
    )
    per = enrolments // employees
    extra = enrolments - per * employees

    def rows() -> Iterator[tuple[int, int, str, int, bool, str, str]]:
        for person in range(1, employees + 1):
            for course in rng.sample(range(1, 41), per + (1 if person <= extra else 0)):
                status = rng.choice(("not-started", "in-progress", "completed"))
                yield (person, course, status, 0, rng.random() < 0.5, "2026-12-30", stamp)

    connection.executemany(
        "INSERT INTO enrolment (employee_id, course_id, status, progress, mandatory, batch_end_date, updated_at, "
        "certificate_generated) VALUES (?, ?, ?, ?, ?, ?, ?, 0)", rows(),
    )  # fmt: skip
    connection.commit()
    connection.close()


def _bare_plan_seconds(path: Path) -> float:
    """The ceiling: one raw INSERT ... SELECT of the same audience with sqlite3, no batches or checks."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TEMP TABLE bare (employee_id INTEGER PRIMARY KEY)")
    start = time.perf_counter()
    connection.execute(
        "INSERT INTO bare SELECT id FROM employee WHERE EXISTS "
        "(SELECT 1 FROM enrolment WHERE employee_id = employee.id AND status != 'completed' AND mandatory)"
    )
    connection.commit()
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def bench_plan(*, employees: int = 400_000, enrolments: int = 1_000_000, workdir: Path) -> str:
    path = workdir / "bench-remind.db"
    start = time.perf_counter()
    build_database(path, employees=employees, enrolments=enrolments)
    built = time.perf_counter() - start
    db = create_db_engine(f"sqlite:///{path}")
    start = time.perf_counter()
    summary = plan(db, campaigns=load_campaigns(), now=NOW, progress=False)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = plan(db, campaigns=load_campaigns(), now=NOW, progress=False)
    again_seconds = time.perf_counter() - start
    bare = _bare_plan_seconds(path)
    db.dispose()
    return "\n".join([
        f"data: {employees:,} employees, {enrolments:,} enrolments (built in {built:.0f} s)",
        f"plan: {summary.total:,} reminders in {seconds:.1f} s ({summary.total / seconds:,.0f}/s; target < 60 s)",
        f"plan again (nothing new): {again.total:,} in {again_seconds:.1f} s",
        f"ceiling (one raw INSERT ... SELECT in sqlite3): {bare:.1f} s; ratio ours / ceiling {seconds / bare:.1f}",
    ])  # fmt: skip


def _send(
    db: Engine, provider: NullProvider, *, rate: float | None, now: datetime | Callable[[], datetime]
) -> SendSummary:
    """Queue and send every due reminder through the outbox to a provider that sends nothing."""
    return send(
        db, campaigns=load_campaigns(), providers={"whatsapp": provider},
        texts=Texts(get_settings().content_dir / "locales"),
        now=now, send_window="00:00-24:00", rate_limits={"whatsapp": rate}, progress=False,
    )  # fmt: skip


def bench_send(*, reminders: int = 20_000, workdir: Path) -> str:
    """Sends per second through the whole sender (claim, route, render, mark) with a no-op channel."""
    path = workdir / "bench-send.db"
    build_database(path, employees=reminders, enrolments=reminders * 2)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE enrolment SET mandatory = 1, status = 'in-progress'")
    connection.commit()
    connection.close()
    db = create_db_engine(f"sqlite:///{path}")
    planned = plan(db, campaigns=load_campaigns(), now=NOW, progress=False).total
    start = time.perf_counter()
    summary = _send(db, NullProvider(), rate=None, now=NOW)
    seconds = time.perf_counter() - start
    ceiling = _bare_mark_rate(path)
    db.dispose()
    return "\n".join([
        (f"send {summary.sent:,} of {planned:,} reminders through the outbox, no-op provider, SQLite: "
         f"{seconds:.1f} s, {summary.sent / seconds:,.0f} sends/s (target >= 2,000)"),
        f"ceiling (sqlite3: one UPDATE + one INSERT per row, one commit per row): {ceiling:,.0f} rows/s",
    ])  # fmt: skip


def _bare_mark_rate(path: Path, rows: int = 5000) -> float:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE bare_mark (id INTEGER PRIMARY KEY, status TEXT)")
    connection.executemany("INSERT INTO bare_mark VALUES (?, 'planned')", ((n,) for n in range(rows)))
    connection.commit()
    start = time.perf_counter()
    for n in range(rows):
        connection.execute("UPDATE bare_mark SET status = 'sent' WHERE id = ?", (n,))
        connection.execute("INSERT INTO bare_mark (status) VALUES ('outbox')")
        connection.commit()
    rate = rows / (time.perf_counter() - start)
    connection.close()
    return rate


def bench_rate(*, rate: float = 80.0, seconds: float = 60.0, workdir: Path) -> str:
    """The achieved send rate under a rate limit, over `seconds` of wall time."""
    path = workdir / "bench-rate.db"
    count = int(rate * seconds)  # a minute's worth at the limit: the run should take about `seconds`
    build_database(path, employees=count, enrolments=count)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE enrolment SET mandatory = 1, status = 'in-progress'")
    connection.commit()
    connection.close()
    db = create_db_engine(f"sqlite:///{path}")
    plan(db, campaigns=load_campaigns(), now=NOW, progress=False)
    wall_start = time.time()
    provider = NullProvider()
    start = time.perf_counter()
    # A clock that moves with wall time from NOW, so leases and retries behave as in production.
    _send(db, provider, rate=rate, now=lambda: NOW + timedelta(seconds=time.time() - wall_start))
    elapsed = time.perf_counter() - start
    db.dispose()
    achieved = provider.count / elapsed
    return (
        f"rate limit {rate:g}/s for {elapsed:.0f} s: {provider.count:,} sends, {achieved:.1f}/s = "
        f"{achieved / rate:.1%} of the limit (target >= 95%)"
    )
