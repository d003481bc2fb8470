"""Real sender processes: killed with SIGKILL mid-run and restarted, and two at once on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from bot.config import PROJECT_ROOT
from bot.delivery.worker import CHUNK
from bot.models import OutboxMessage, Reminder
from bot.reminders import plan
from tests.reminders.helpers import NOON, campaigns, seeded

LATER = NOON + timedelta(minutes=1)  # within the killed sender's lease: only its death frees its messages


def url_of(db) -> str:
    return db.url.render_as_string(hide_password=False)


def start(db, channel: str, out: Path, now, *, delay: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [
        sys.executable, "-m", "tests.reminders.sender_process", url_of(db), channel, str(out), now.isoformat(),
        str(delay),
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def sent_count(db) -> int:
    with Session(db) as session:
        return session.exec(select(func.count()).select_from(Reminder).where(Reminder.status == "sent")).one()


def kill_when(process: subprocess.Popen, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout  # a guard against hanging, not a measurement
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sender made no progress"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()  # waits, and closes the pipes


def finish(process: subprocess.Popen) -> str:
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return err


def queued_count(db) -> int:
    with Session(db) as session:
        return session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reminder")
        ).one()


def test_the_console_channel_is_exactly_once_across_kill_and_restart(db_engine, tmp_path):
    seeded(db_engine)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    first = start(db_engine, "console", tmp_path / "unused", NOON, delay=0.5)
    kill_when(first, lambda: queued_count(db_engine) >= 3)
    assert sent_count(db_engine) < planned, "killed too late to prove anything"
    finish(start(db_engine, "console", tmp_path / "unused", LATER))
    with Session(db_engine) as session:
        reminders = session.exec(select(Reminder)).all()
        assert {reminder.status for reminder in reminders} == {"sent"} and len(reminders) == planned
        messages = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()
        assert sorted(message.reminder_id for message in messages) == sorted(reminder.id for reminder in reminders)


def test_a_network_channel_loses_nothing_and_duplicates_at_most_the_sends_in_flight(db_engine, tmp_path):
    seeded(db_engine)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    out = tmp_path / "sent.txt"
    first = start(db_engine, "file", out, NOON, delay=0.05)
    kill_when(first, lambda: out.exists() and len(out.read_text().splitlines()) >= 3)
    # Restarted on the same host within the lease: the dead sender's messages are taken over at once,
    # and the restarted run says so.
    log = finish(start(db_engine, "file", out, LATER))
    assert "which died: sent again now" in log
    deliveries = Counter(line.split("\t")[0] for line in out.read_text().splitlines())
    with Session(db_engine) as session:
        ids = {str(reminder_id) for reminder_id in session.exec(select(Reminder.id)).all()}
        assert {reminder.status for reminder in session.exec(select(Reminder)).all()} == {"sent"}
    assert set(deliveries) == ids and len(ids) == planned  # nothing lost
    assert sum(deliveries.values()) - len(ids) <= CHUNK  # the documented bound: the sends of one record


def test_two_senders_at_once_on_postgresql_send_each_reminder_once(db_engine, tmp_path):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: concurrent senders are a PostgreSQL deployment")
    seeded(db_engine, employees=300)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    out = tmp_path / "sent.txt"
    senders = [start(db_engine, "file", out, NOON, delay=0.005) for _ in range(2)]
    for process in senders:
        finish(process)
    deliveries = Counter(line.split("\t")[0] for line in out.read_text().splitlines())
    assert len(deliveries) == planned and set(deliveries.values()) == {1}
    assert sent_count(db_engine) == planned
