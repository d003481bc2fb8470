"""Report import and own-status benchmarks on a state-sized generated report."""

from __future__ import annotations

import csv
import itertools
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.bench.common import percentiles, time_each
from bot.brain import Brain
from bot.config import get_settings
from bot.db import create_db_engine
from bot.dialogue import Engine
from bot.dialogue.status import StatusReplies
from bot.messages import Incoming
from bot.records.status import find_employee, status_view


def write_synthetic_report(path: Path, *, rows: int, employees: int, seed: int = 7) -> None:
    """An iGOT enrolment report of `rows` lines over `employees` people, in the contract's columns."""
    rng = random.Random(seed)
    courses = [(f"do_bench_{n:03d}", f"Benchmark Course {n}") for n in range(40)]
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
            for content_id, name in rng.sample(courses, min(take, len(courses))):
                status = rng.choice(statuses)
                progress = {"not-started": 0, "in-progress": rng.randint(1, 99), "completed": 100}[status]
                writer.writerow([
                    f"Employee {person}", f"9{person:09d}", f"UP-{person:07d}", "ASHA", "Health",
                    content_id, name, status, progress,
                    "2026-10-01" if status == "completed" else "",
                    "Yes" if status == "completed" else "No", rng.choice(("Yes", "No")), "30/12/2026",
                ])  # fmt: skip
                written += 1


BENCH_COLUMNS = [
    "Full_Name", "Phone_Number", "External_System_Id", "Designation", "Department", "Content_Id",
    "Content_Name", "Status", "Content_Progress_Percentage", "Completed_On", "Certificate_Generated",
    "Live_CBP_Plan_Mandate", "Batch_End_Date",
]  # fmt: skip


def _ceiling_rows_per_second(report: Path, database: Path) -> float:
    """The stack's own limit: csv reading plus one executemany of the raw rows into SQLite."""
    start = time.perf_counter()
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
    return count / (time.perf_counter() - start)


def bench_import(*, rows: int, employees: int, workdir: Path) -> str:
    """Import a generated report into a fresh SQLite database in a child process: rate and peak memory."""
    report = workdir / "bench-report.csv"
    database = workdir / "bench.db"
    for stale in (database, workdir / "ceiling.db", workdir / "bench-report.rejects.csv"):
        stale.unlink(missing_ok=True)
    write_synthetic_report(report, rows=rows, employees=employees)
    command = [sys.executable, "-m", "bot.cli", "import", "report", str(report), "--batch-size", "5000"]
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ours = rows / seconds
    ceiling = _ceiling_rows_per_second(report, workdir / "ceiling.db")
    return "\n".join(
        [
            f"report: {rows:,} enrolment rows, {employees:,} employees ({report.stat().st_size / 1e6:.0f} MB)",
            f"import into SQLite: {seconds:.1f} s, {ours:,.0f} rows/s, peak memory {peak_mb:.0f} MB",
            f"ceiling (csv read + raw executemany, no checks): {ceiling:,.0f} rows/s",
            f"ratio (ours / ceiling): {ours / ceiling:.2f}",
            f"database kept for `helpdesk bench status --database {database}`",
        ]
    )


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
