"""Report import and own-status benchmarks on a state-sized generated report."""

from __future__ import annotations

import csv
import itertools
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import psycopg
from sqlalchemy import make_url
from sqlmodel import Session

from bot.bench.common import percentiles, time_each
from bot.brain import Brain
from bot.config import get_settings
from bot.db import create_db_engine, normalise_url
from bot.dialogue import Engine
from bot.dialogue.status import StatusReplies
from bot.messages import Incoming
from bot.records.completion import GroupBy, completion, completion_total, pending_employees
from bot.records.status import find_employee, status_view

DISTRICTS = (
    "Raipur", "Bilaspur", "Durg", "Bastar", "Korba", "Rajnandgaon", "Lucknow", "Varanasi", "Prayagraj", "Gorakhpur",
    "Kanpur Nagar", "Agra", "Meerut", "Bareilly", "Cuttack", "Khordha", "Ganjam", "Sambalpur", "Balasore", "Puri",
)  # fmt: skip
DEPARTMENTS = ("Health", "Police", "School Education", "Revenue", "Panchayat", "Women and Child Development")
DESIGNATIONS = ("ASHA", "ANM", "Constable", "Assistant Teacher", "Patwari", "Gram Sachiv", "Clerk", "Supervisor")
BENCH_COLUMNS = [
    "Full_Name", "Phone_Number", "External_System_Id", "Designation", "Department", "District", "Content_Id",
    "Content_Name", "Batch_Id", "Enrolled_On", "Status", "Content_Progress_Percentage", "Completed_On",
    "Certificate_Generated", "Live_CBP_Plan_Mandate", "Batch_End_Date",
]  # fmt: skip


def write_synthetic_report(path: Path, *, rows: int, employees: int, seed: int = 7) -> None:
    """An iGOT enrolment report of `rows` lines over `employees` people, in the contract's columns."""
    rng = random.Random(seed)
    courses = [(f"do_bench_{n:03d}", f"Benchmark Course {n}") for n in range(40)]
    # (Batch_Id, Enrolled_On, Batch_End_Date): batches starting through 2026 and ending through 2027
    batches = [(f"B-{n:02d}", f"2026-{n % 12 + 1:02d}-01", f"{n + 1:02d}/{n % 12 + 1:02d}/2027") for n in range(24)]
    statuses = ("not-started", "in-progress", "completed")
    per_employee = max(1, rows // employees)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(BENCH_COLUMNS)
        written = 0
        for person in range(employees):
            if written >= rows:
                break
            take = per_employee + (1 if person < rows - per_employee * employees else 0)
            who = [f"Employee {person}", f"9{person:09d}", f"UP-{person:07d}", DESIGNATIONS[person % len(DESIGNATIONS)],
                   DEPARTMENTS[person % len(DEPARTMENTS)], DISTRICTS[person % len(DISTRICTS)]]  # fmt: skip
            for content_id, name in rng.sample(courses, min(take, len(courses))):
                status = rng.choice(statuses)
                progress = {"not-started": 0, "in-progress": rng.randint(1, 99), "completed": 100}[status]
                batch, enrolled, end = rng.choice(batches)
                writer.writerow([
                    *who, content_id, name, batch, enrolled, status, progress,
                    "2026-10-01" if status == "completed" else "",
                    "Yes" if status == "completed" else "No", rng.choice(("Yes", "No")), end,
                ])  # fmt: skip
                written += 1


def _run_measured(command: list[str], environment: dict[str, str]) -> tuple[float, float, float]:
    """Seconds, CPU seconds and peak memory (MB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _sqlite_ceiling(report: Path, database: Path) -> tuple[float, float]:
    """The stack's own limit: csv reading plus one executemany of the raw rows into SQLite (seconds, CPU seconds)."""
    database.unlink(missing_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(database)
    connection.execute(f"CREATE TABLE raw ({', '.join(f'c{n}' for n in range(len(BENCH_COLUMNS)))})")
    with report.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        placeholders = ", ".join("?" * len(BENCH_COLUMNS))
        count = 0
        while batch := list(itertools.islice(reader, 5000)):
            connection.executemany(f"INSERT INTO raw VALUES ({placeholders})", batch)
            count += len(batch)
    connection.commit()
    connection.close()
    return time.perf_counter() - start, time.process_time() - cpu


def _postgres_ceilings(report: Path, url: str) -> tuple[float, float]:
    """PostgreSQL's own limits (rows/s): csv reading plus COPY of the raw rows, and COPY of the file's bytes."""
    columns = ", ".join(f"c{n} text" for n in range(len(BENCH_COLUMNS)))
    rates = []
    with psycopg.connect(make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(False)) as pg:
        for rows_from_python in (True, False):
            pg.execute(f"CREATE TEMPORARY TABLE raw ({columns}) ON COMMIT DROP")
            start = time.perf_counter()
            with report.open(encoding="utf-8", newline="") as stream, pg.cursor() as cursor:
                if rows_from_python:
                    reader = csv.reader(stream)
                    next(reader)
                    with cursor.copy("COPY raw FROM STDIN") as copy:
                        for row in reader:
                            copy.write_row(row)
                else:
                    with cursor.copy("COPY raw FROM STDIN (FORMAT csv, HEADER true)") as copy:
                        while block := stream.read(1 << 20):
                            copy.write(block)
                count = pg.execute("SELECT count(*) FROM raw").fetchone()[0]  # type: ignore[index]
            pg.commit()
            rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1]


def bench_import(*, rows: int, employees: int, workdir: Path, postgres: str | None = None) -> str:
    """Import a generated report into a fresh database in a child process: rate and peak memory beside the ceiling."""
    report = workdir / "bench-report.csv"
    database = workdir / "bench.db"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), workdir / "bench-report.rejects.csv"):
        stale.unlink(missing_ok=True)
    write_synthetic_report(report, rows=rows, employees=employees)
    command = [sys.executable, "-m", "bot.cli", "import", "report", str(report)]
    environment = {**os.environ, "LOG_LEVEL": "WARNING"}
    lines = [f"report: {rows:,} enrolment rows, {employees:,} employees ({report.stat().st_size / 1e6:.0f} MB)"]

    seconds, cpu, peak_mb = _run_measured(command, {**environment, "DATABASE_URL": f"sqlite:///{database}"})
    ceiling, ceiling_cpu = _sqlite_ceiling(report, workdir / "ceiling.db")
    lines += [
        f"import into SQLite: {seconds:.1f} s (CPU {cpu:.1f} s), {rows / seconds:,.0f} rows/s, "
        f"peak memory {peak_mb:.0f} MB",
        f"  ceiling (csv read + raw executemany, no checks): {ceiling:.1f} s (CPU {ceiling_cpu:.1f} s), "
        f"{rows / ceiling:,.0f} rows/s",
        f"  ratio (ours / ceiling): {ceiling / seconds:.2f} (by CPU time, steadier on a busy machine: "
        f"{ceiling_cpu / cpu:.2f})",
    ]
    if postgres:
        _empty_records(postgres, environment)
        seconds, _, peak_mb = _run_measured(command, {**environment, "DATABASE_URL": postgres})
        rows_copy, bytes_copy = _postgres_ceilings(report, postgres)
        lines += [
            f"import into PostgreSQL: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, peak memory {peak_mb:.0f} MB",
            f"  ceiling (csv read + raw COPY of the rows, no checks): {rows_copy:,.0f} rows/s "
            f"({rows / rows_copy:.1f} s)",
            f"  ratio (ours / ceiling): {rows / seconds / rows_copy:.2f}",
            f"  for reference, COPY of the file's bytes (server parses the CSV): {bytes_copy:,.0f} rows/s, "
            f"ratio {rows / seconds / bytes_copy:.2f}",
        ]
    lines.append(f"databases kept for `helpdesk bench status|report` ({database}{', ' + postgres if postgres else ''})")
    return "\n".join(lines)


def _empty_records(url: str, environment: dict[str, str]) -> None:
    """The schema up to date and no records, so every run imports into the same empty tables."""
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env={**environment, "DATABASE_URL": url},
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE enrolment, employee, course RESTART IDENTITY CASCADE")
    engine.dispose()


def bench_status(*, database: Path, brain: Brain, samples: int = 2000) -> str:
    """Own-status latency on a loaded database: lookup and reply, and a whole `my status` turn."""
    engine = create_db_engine(f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:
        phones = [
            phone for (phone,) in connection.execute("SELECT phone FROM employee ORDER BY random() LIMIT ?", (samples,))
        ]
    replies = StatusReplies(brain.texts)
    today = date(2026, 11, 24)

    def lookup(phone: str) -> None:
        with Session(engine) as session:
            _, employee = find_employee(session, phone=phone)
            assert employee is not None  # the phones are the employees' own
            replies.status("hi", status_view(session, employee=employee, today=today))

    def bare(phone: str) -> None:
        with sqlite3.connect(database) as connection:
            connection.execute(
                "SELECT * FROM enrolment JOIN course ON course.id = enrolment.course_id WHERE employee_id = "
                "(SELECT id FROM employee WHERE phone = ?)",
                (phone,),
            ).fetchall()

    dialogue = Engine(brain=brain, db=engine, settings=get_settings(), today=lambda: today)
    turn = lambda phone: dialogue.handle(Incoming("console", phone, "mera status", verified_phone=phone))  # noqa: E731
    lines = [
        f"status lookups: {len(phones)} random employees of {database.name}",
        f"{'':34}{'p50 ms':>10}{'p99 ms':>10}",
    ]
    for label, function in (
        ("lookup + Hindi reply", lookup),
        ("whole 'mera status' turn", turn),
        ("bare indexed SELECT (sqlite3)", bare),
    ):
        p50, p99 = percentiles(time_each(function, phones, 1))
        lines.append(f"{label:34}{p50:>10.3f}{p99:>10.3f}")
    return "\n".join(lines)


BARE_COMPLETION = (
    "SELECT employee.district, count(*), sum(CASE WHEN enrolment.status = 'completed' THEN 1 ELSE 0 END) "
    "FROM enrolment JOIN employee ON employee.id = enrolment.employee_id "
    "WHERE enrolment.mandatory GROUP BY employee.district"
)


def bench_report(*, database_urls: dict[str, str], rounds: int = 3) -> str:
    """Completion report queries on a loaded database (best of `rounds`) beside a bare GROUP BY of the same join."""
    today = date(2026, 11, 24)
    lines = [f"{'':44}{'ms':>9}{'bare ms':>9}{'ratio':>7}"]
    for name, url in database_urls.items():
        engine = create_db_engine(url)
        with Session(engine) as session:
            first = completion(session, by=GroupBy.DISTRICT, today=today)[0].group
            queries: dict[str, Callable[[], object]] = {
                **{f"completion by {by.value}": partial(completion, session, by=by, today=today) for by in GroupBy},
                "completion by course, one district": partial(
                    completion, session, by=GroupBy.COURSE, today=today, districts=[first or ""]
                ),
                "whole-scope total": partial(completion_total, session, today=today),
                "pending list, one district, first page": partial(
                    pending_employees, session, today=today, by=GroupBy.DISTRICT, group=first
                ),
            }
            bare = _best_of(rounds, lambda: session.connection().exec_driver_sql(BARE_COMPLETION).all())
            lines.append(f"{name}:")
            for label, query in queries.items():
                ours = _best_of(rounds, query)
                lines.append(f"  {label:42}{ours * 1e3:>9.0f}{bare * 1e3:>9.0f}{bare / ours:>7.2f}")
        engine.dispose()
    return "\n".join(lines)


def _best_of(rounds: int, function: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
