"""`remind run`: the scheduler over two days on a fake clock (schedules, quiet hours, the daily cap),
two schedulers on one database sending nothing twice, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session, select

from bot.config import PROJECT_ROOT
from bot.db import session_scope
from bot.models import OutboxMessage, Reminder
from bot.providers.console import ConsoleMailbox
from bot.reminders.campaigns import Campaign
from bot.reminders.scheduler import Scheduler
from bot.reminders.stored import all_campaigns, save_campaign
from bot.tickets.staff import add_staff, find_staff
from tests.reminders.helpers import campaigns, seeded, texts

KOLKATA = ZoneInfo("Asia/Kolkata")
START = datetime(2026, 11, 24, 5, 0, tzinfo=KOLKATA)  # a Tuesday, before the 09:00-19:00 window
DAILY = Campaign.model_validate({
    "id": "daily-asha", "name": "ASHA daily", "audience": {"designations": ["ASHA"], "pending_mandatory": True},
    "schedule": {"every": "daily"}, "message": {"en": "{name}: {courses}", "hi": "{name}: {courses}"},
})  # fmt: skip


class FakeClock:
    def __init__(self, start: datetime, end: datetime):
        self.now, self.end = start.astimezone(UTC), end

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, stop: asyncio.Event, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        if self.now >= self.end:
            stop.set()


def scheduler(db, clock: FakeClock, chosen: list[Campaign], interval: float = 1800) -> Scheduler:
    return Scheduler(db, campaigns=lambda: chosen, texts=texts(), providers={"console": ConsoleMailbox()},
                     channels=[], interval=interval, clock=clock, sleep=clock.sleep)  # fmt: skip


def test_two_days_on_a_fake_clock_follow_the_schedules_quiet_hours_and_the_daily_cap(db_engine):
    seeded(db_engine)
    clock = FakeClock(START, START + timedelta(days=2))
    ticks = asyncio.run(scheduler(db_engine, clock, [*campaigns(), DAILY]).run(asyncio.Event()))
    assert ticks == 2 * 48  # a tick every 30 minutes for two days
    with Session(db_engine) as session:
        reminders = session.exec(select(Reminder)).all()
        messages = session.exec(select(OutboxMessage)).all()
    periods = {(r.campaign, r.period) for r in reminders}
    assert periods == {("pending-mandatory", "2026-W48"), ("daily-asha", "2026-11-24"), ("daily-asha", "2026-11-25"),
                       ("daily-asha", "2026-11-26")}  # fmt: skip
    sent = [r for r in reminders if r.queued_at is not None]
    assert sent and all(9 <= r.queued_at.astimezone(KOLKATA).hour < 19 for r in sent)  # never in quiet hours
    assert {r.status for r in reminders if r.period != "2026-11-26"} == {"sent"}
    # The third day's reminders were planned at midnight and wait for 09:00 (the run ended at 05:00).
    assert {r.status for r in reminders if r.period == "2026-11-26"} == {"planned"}
    per_day = Counter((r.employee_id, r.queued_at.astimezone(KOLKATA).date()) for r in sent if r.combined_into is None)
    assert set(per_day.values()) == {1}  # one message a day per person, across both campaigns
    assert len(messages) == len(per_day)
    first_day = [r for r in sent if r.queued_at.astimezone(KOLKATA).date() == START.date()]
    assert min(r.queued_at for r in first_day).astimezone(KOLKATA).hour == 9  # the first tick in the window


def test_two_schedulers_on_one_database_send_each_reminder_once(db_engine):
    seeded(db_engine)
    noon = START.replace(hour=12)
    first, second = FakeClock(noon, noon + timedelta(hours=1)), FakeClock(noon, noon + timedelta(hours=1))
    chosen = [*campaigns(), DAILY]

    async def both() -> None:
        await asyncio.gather(
            scheduler(db_engine, first, chosen, 600).run(asyncio.Event()),
            scheduler(db_engine, second, chosen, 600).run(asyncio.Event()),
        )

    asyncio.run(both())
    with Session(db_engine) as session:
        reminders = session.exec(select(Reminder)).all()
        messages = session.exec(select(OutboxMessage)).all()
    assert reminders and {r.status for r in reminders} == {"sent"}
    assert Counter(m.reminder_id for m in messages).most_common(1)[0][1] == 1  # no reminder's message twice
    people = {r.employee_id for r in reminders}
    assert len(messages) == len(people)  # and one message per person


def test_remind_run_stops_cleanly_on_sigterm(tmp_path):
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/helpdesk.db", "CONTENT_DIR": str(PROJECT_ROOT)}
    helpdesk = str(PROJECT_ROOT / ".venv" / "bin" / "helpdesk")
    subprocess.run([helpdesk, "seed", "--employees", "20"], env=environment, cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    process = subprocess.Popen([helpdesk, "remind", "run", "--interval", "1"], env=environment, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("reminders: running, a tick every 1 s")
        time.sleep(2.5)  # a few ticks
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.startswith("reminders: stopped after ") and "Traceback" not in err
    assert int(out.split("after ")[1].split()[0]) >= 2


def test_docker_compose_runs_the_scheduler_and_the_readme_shows_it_and_cron():
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    assert services["reminders"]["command"] == ["helpdesk", "remind", "run"]
    assert services["reminders"]["restart"] == "unless-stopped"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "`reminders`" in readme and "helpdesk remind plan" in readme and "* * * *" in readme


def test_a_campaign_made_in_the_console_is_planned_and_sent_from_the_next_tick(db_engine):
    seeded(db_engine)
    noon = START.replace(hour=12)
    clock = FakeClock(noon, noon + timedelta(hours=1))

    def from_the_database() -> list[Campaign]:
        with Session(db_engine) as session:
            return all_campaigns(session)

    running = Scheduler(db_engine, campaigns=from_the_database, texts=texts(), providers={"console": ConsoleMailbox()},
                        channels=[], clock=clock)  # fmt: skip
    first = asyncio.run(running.tick())
    assert first.planned_here and set(first.planned) == {"pending-mandatory"} and first.sent.sent > 0
    with session_scope(db_engine) as session:
        add_staff(session, name="boss", password="correct horse battery", role="admin")
        save_campaign(session, staff=find_staff(session, name="boss"), file_ids=["pending-mandatory"],
                      definition=DAILY.model_dump(mode="json"))  # fmt: skip
    clock.now += timedelta(minutes=1)
    second = asyncio.run(running.tick())
    assert second.planned["daily-asha"] > 0 and second.planned["pending-mandatory"] == 0
    # Everyone it reached had the day's message from the first tick: theirs waits for tomorrow.
    assert second.sent.sent == 0 and second.sent.deferred_daily_cap == second.planned["daily-asha"]
