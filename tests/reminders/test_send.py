"""Sending: the nodal officer's run, quiet hours, opt-out racing a send, failures, the shared rate limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.channels.whatsapp.status import record_status
from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import RateLimiter
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import Conversation, Employee, OutboxMessage, Reminder
from bot.providers.console import ConsoleMailbox
from bot.reminders import plan, report, send
from bot.reminders.lease import PLANNER, exclusive
from bot.reminders.sender import ReminderSender, SendSummary, drain
from tests.reminders.helpers import (
    LAXMI,
    NIGHT,
    NOON,
    RAMESH,
    SUNITA,
    campaigns,
    link,
    opt_out,
    seeded,
    statuses,
    texts,
)
from tests.reminders.providers import FileProvider, Flaky


def run(db, now=NOON, providers=None, **options):
    providers = providers if providers is not None else {"console": ConsoleMailbox()}
    return send(db, campaigns=campaigns(), providers=providers, texts=texts(), now=now, progress=False, **options)


def queue_then_send(db, providers, *, now=NOON, between=None) -> SendSummary:
    """A send run in its two steps, with something happening between the queueing and the sending."""
    summary = SendSummary()
    ReminderSender(db, campaigns=campaigns(), texts=texts(), channels=list(providers), now=now).queue_due(summary)
    if between is not None:
        between()
    outbox = Outbox(db, texts(), clock=lambda: now)
    asyncio.run(drain(outbox, providers, RateLimiter(db, {}), summary))
    summary.skipped_opted_out += outbox.cancelled
    return summary


def test_as_a_nodal_officer_plan_and_send_after_seeding(db_engine, brain, settings):
    seeded(db_engine)
    link(db_engine, "console", LAXMI, LAXMI, last_inbound_at=NOON)
    opt_out(db_engine, LAXMI)  # Laxmi said STOP earlier
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    summary = run(db_engine)
    assert summary.skipped_opted_out == 1 and summary.sent == planned - 1 and summary.failed == 0
    with Session(db_engine) as session:
        pending_phones = set(session.exec(
            select(Employee.phone).join(Reminder, Reminder.employee_id == Employee.id).where(Reminder.status == "sent")
        ).all())  # fmt: skip
        assert SUNITA in pending_phones and LAXMI not in pending_phones and RAMESH not in pending_phones
        assert len(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()) == planned - 1
    numbers = report(db_engine)
    assert {key: numbers[key] for key in ("planned", "sent", "failed", "skipped_opted_out", "skipped_quiet_hours")} == {
        "planned": planned, "sent": planned - 1, "failed": 0, "skipped_opted_out": 1, "skipped_quiet_hours": 0,
    }  # fmt: skip
    assert numbers["no_linked_channel"] == planned - 1  # only Laxmi ever chatted
    # A second plan and send the same week: nothing new.
    assert plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(hours=2), progress=False).total == 0
    assert run(db_engine, now=NOON + timedelta(hours=2)).sent == 0
    # Sunita opens the console chat: her Hindi reminder, naming her pending course, once.
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    (reply,) = ConsoleChat(engine, phone=SUNITA).queued()
    assert reply.text.startswith("नमस्ते Sunita Sahu जी")
    assert "मातृ एवं शिशु स्वास्थ्य की मूल बातें — अंतिम तिथि 29 नवंबर 2026" in reply.text
    assert "मिशन कर्मयोगी: एक परिचय" in reply.text and "STOP" in reply.text
    assert ConsoleChat(engine, phone=SUNITA).queued() == []
    assert report(db_engine)["read"] == 1


def test_a_reminder_due_at_night_waits_for_the_morning(db_engine):
    seeded(db_engine)
    planned = plan(db_engine, campaigns=campaigns(), now=NIGHT, progress=False).total
    night = run(db_engine, now=NIGHT)
    assert (night.sent, night.skipped_quiet_hours) == (0, planned)
    assert statuses(db_engine) == {"planned": planned} and report(db_engine)["skipped_quiet_hours"] == planned
    morning = run(db_engine, now=NIGHT + timedelta(hours=10))  # 09:00 in Kolkata
    assert (morning.sent, morning.skipped_quiet_hours) == (planned, 0)
    assert report(db_engine)["skipped_quiet_hours"] == 0
    # "00:00-24:00" sends at any hour.
    plan(db_engine, campaigns=campaigns(), now=NIGHT + timedelta(days=7), progress=False)
    assert run(db_engine, now=NIGHT + timedelta(days=7), send_window="00:00-24:00").sent == planned


def test_opting_out_after_the_queueing_and_before_the_send_gets_nothing(db_engine, tmp_path, brain, settings):
    seeded(db_engine)
    link(db_engine, "telegram", "5551", SUNITA)
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    file = tmp_path / "sent.txt"
    providers = {"telegram": FileProvider(file, channel="telegram")}

    def user_says_stop():  # after the sender queued and rendered her reminder
        engine.handle(Incoming(channel="telegram", user_key="5551", text="reminder band karo"))

    summary = queue_then_send(db_engine, providers, between=user_says_stop)
    assert summary.skipped_opted_out == 1 and summary.sent == 0
    assert not file.exists() or "5551" not in file.read_text()
    with Session(db_engine) as session:
        sunita = session.exec(select(Employee).where(Employee.phone == SUNITA)).one()
        reminder = session.exec(select(Reminder).where(Reminder.employee_id == sunita.id)).one()
        assert (reminder.status, reminder.skip_reason) == ("skipped", "opted_out")
        message = session.exec(select(OutboxMessage).where(OutboxMessage.reminder_id == reminder.id)).one()
        assert (message.state, message.last_error) == ("cancelled", "opted out")
    # "start reminders" opts back in: next week she gets one on Telegram.
    engine.handle(Incoming(channel="telegram", user_key="5551", text="start reminders"))
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    run(db_engine, now=NOON + timedelta(days=7), providers=providers)
    assert file.read_text().count("\t5551\n") == 1


def test_the_opt_out_is_checked_again_right_before_the_console_mailbox_too(db_engine):
    seeded(db_engine)
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    summary = queue_then_send(db_engine, {"console": ConsoleMailbox()}, between=lambda: opt_out(db_engine, SUNITA))
    assert summary.skipped_opted_out == 1


def test_transient_errors_are_retried_with_backoff_and_permanent_ones_recorded(db_engine):
    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    channel = Flaky(transient=2, permanent_for=(LAXMI,))
    first = run(db_engine, providers={"whatsapp": channel})
    assert (first.retrying, first.failed, first.sent, first.waiting) == (2, 1, planned - 3, 2)
    assert run(db_engine, providers={"whatsapp": channel}).sent == 0  # not before the backoff is over
    later = run(db_engine, now=NOON + timedelta(seconds=31), providers={"whatsapp": channel})
    assert later.sent == 2 and sorted(channel.sent) == sorted(set(channel.sent))
    with Session(db_engine) as session:
        failed = session.exec(select(Reminder).where(Reminder.status == "failed")).one()
        assert failed.last_error == "twilio 63003: not on WhatsApp"
        message = session.exec(select(OutboxMessage).where(OutboxMessage.reminder_id == failed.id)).one()
        assert (message.state, message.attempts) == ("failed", 1)
    assert report(db_engine)["failed"] == 1


def test_employees_without_a_channel_are_counted(db_engine, tmp_path):
    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    link(db_engine, "telegram", "5551", SUNITA)
    # Telegram is configured, WhatsApp is not: the console is no fallback when a real network is.
    summary = run(db_engine, providers={"telegram": FileProvider(tmp_path / "t.txt", channel="telegram")})
    assert summary.sent == 1 and summary.skipped_no_channel == planned - 1
    assert report(db_engine)["skipped_no_channel"] == planned - 1


def test_a_whatsapp_phone_without_a_conversation_gets_one_and_delivery_status_is_reported(db_engine, brain):
    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    channel = Flaky()
    assert run(db_engine, providers={"whatsapp": channel}).sent == planned
    assert SUNITA in channel.sent
    with Session(db_engine) as session:
        chats = session.exec(select(Conversation).where(Conversation.channel == "whatsapp")).all()
        assert len(chats) == planned and all(chat.verified_phone == chat.user_key for chat in chats)
        sunita = session.exec(select(Conversation).where(Conversation.user_key == SUNITA)).one()
        message = session.exec(select(OutboxMessage).where(OutboxMessage.conversation_id == sunita.id)).one()
    # The WhatsApp adapter's status callbacks land on the reminder's outbox message.
    outbox = Outbox(db_engine, brain.texts)
    sid = message.provider_message_id
    assert record_status(outbox, sid=sid, status="delivered") and record_status(outbox, sid=sid, status="read")
    assert report(db_engine)["read"] == 1 and report(db_engine)["delivered"] == 1


def test_the_rate_limit_is_shared_by_senders_on_one_database(db_engine):
    clock = [1000.0]
    first = RateLimiter(db_engine, {"whatsapp": 80.0}, clock=lambda: clock[0])
    second = RateLimiter(db_engine, {"whatsapp": 80.0}, clock=lambda: clock[0])
    granted = 0
    for step in range(1000):  # ten seconds in steps of 10 ms; both senders ask for a block every step
        clock[0] = 1000.0 + step * 0.01
        for limiter in (first, second):
            if limiter.try_acquire("whatsapp", limiter.block("whatsapp")) == 0:
                granted += limiter.block("whatsapp")
    assert 80 * 10 - 16 <= granted <= 80 * 10 + 16  # the rate, give or take one bucket
    assert first.try_acquire("telegram", 1000) == 0  # no limit configured: never waits


def test_a_send_run_beside_a_queueing_scheduler_only_sends_what_waits(db_engine):
    """Cron's `remind send` while a `remind run` tick holds the planner's lock: it queues nothing (two
    queuers could split one person's day past the daily cap), sends nothing new, and says why."""
    seeded(db_engine)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    with exclusive(db_engine, PLANNER) as held:  # the scheduler, in the middle of its queueing
        assert held
        beside = run(db_engine)
    assert beside.planner_busy and beside.sent == 0
    assert statuses(db_engine) == {"planned": planned}
    after = run(db_engine)
    assert not after.planner_busy and after.sent == planned
