"""Sending: the nodal officer's run, quiet hours, opt-out racing a send, failures, the shared rate limit."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.dialogue import Engine as DialogueEngine
from bot.dialogue.delivery import deliver_now
from bot.messages import Incoming
from bot.models import Conversation, Employee, OutboxMessage, Reminder
from bot.reminders import (
    ConsoleChannel,
    FileChannel,
    PermanentError,
    RateLimiter,
    TransientError,
    plan,
    report,
    send,
)
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


def run(db, now=NOON, senders=None, **options):
    senders = senders if senders is not None else {"console": ConsoleChannel()}
    return send(db, campaigns=campaigns(), senders=senders, texts=texts(), now=now, progress=False, **options)


def test_as_a_nodal_officer_plan_and_send_after_seeding(db_engine, brain, settings):
    seeded(db_engine)
    link(db_engine, "console", LAXMI, LAXMI, reminders_opted_out=True, last_inbound_at=NOON)  # Laxmi said STOP earlier
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
    (reply,) = deliver_now(engine, channel="console", user_key=SUNITA)
    assert reply.text.startswith("नमस्ते Sunita Sahu जी")
    assert "मातृ एवं शिशु स्वास्थ्य की मूल बातें — अंतिम तिथि 29 नवंबर 2026" in reply.text
    assert "मिशन कर्मयोगी: एक परिचय" in reply.text and "STOP" in reply.text
    assert deliver_now(engine, channel="console", user_key=SUNITA) == []
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


def test_opting_out_after_the_claim_and_before_the_send_gets_nothing(db_engine, tmp_path, brain, settings):
    seeded(db_engine)
    link(db_engine, "telegram", "5551", SUNITA)
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    file = tmp_path / "sent.txt"

    def user_says_stop(job):  # runs after the sender claimed and rendered her reminder
        if job.phone == SUNITA:
            engine.handle(Incoming(channel="telegram", user_key="5551", text="reminder band karo"))

    senders = {"telegram": FileChannel(file, name="telegram", by_phone=False), "console": ConsoleChannel()}
    summary = run(db_engine, senders=senders, before_send=user_says_stop)
    assert summary.skipped_opted_out == 1
    assert "5551" not in file.read_text() if file.exists() else True
    with Session(db_engine) as session:
        sunita = session.exec(select(Employee).where(Employee.phone == SUNITA)).one()
        reminder = session.exec(select(Reminder).where(Reminder.employee_id == sunita.id)).one()
        assert (reminder.status, reminder.skip_reason) == ("skipped", "opted_out")
        # "start reminders" opts back in: next week she gets one on Telegram.
        engine.handle(Incoming(channel="telegram", user_key="5551", text="start reminders"))
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    run(db_engine, now=NOON + timedelta(days=7), senders=senders)
    assert file.read_text().count("\t5551\n") == 1


def test_the_console_race_is_checked_in_the_sending_transaction(db_engine):
    seeded(db_engine)
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    summary = run(db_engine, before_send=lambda job: job.phone == SUNITA and opt_out_console(db_engine, SUNITA))
    assert summary.skipped_opted_out == 1


def opt_out_console(db, phone):
    link(db, "telegram", "777", phone)
    opt_out(db, phone)
    return True


class Flaky:
    """A network channel: fails transiently `transient` times, or permanently for one user."""

    exactly_once, by_phone, creates_conversation = False, True, False

    def __init__(self, name="whatsapp", transient=0, permanent_for=()):
        self.name, self.transient, self.permanent_for, self.sent = name, transient, set(permanent_for), []

    def deliver(self, message):
        if message.user_key in self.permanent_for:
            raise PermanentError("twilio 63003: not on WhatsApp")
        if self.transient:
            self.transient -= 1
            raise TransientError("network: ConnectionError")
        self.sent.append(message.user_key)
        return f"SM{message.reminder_id:032d}"


def test_transient_errors_are_retried_with_backoff_and_permanent_ones_recorded(db_engine):
    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    channel = Flaky(transient=2, permanent_for={LAXMI})
    first = run(db_engine, senders={"whatsapp": channel})
    assert (first.retrying, first.failed, first.sent) == (2, 1, planned - 3)
    assert run(db_engine, senders={"whatsapp": channel}).sent == 0  # not before the backoff is over
    later = run(db_engine, now=NOON + timedelta(seconds=31), senders={"whatsapp": channel})
    assert later.sent == 2 and sorted(channel.sent) == sorted(set(channel.sent))
    with Session(db_engine) as session:
        failed = session.exec(select(Reminder).where(Reminder.status == "failed")).one()
        assert failed.last_error == "twilio 63003: not on WhatsApp" and failed.attempts == 1
    assert report(db_engine)["failed"] == 1


def test_employees_without_a_channel_are_counted(db_engine, tmp_path):
    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    link(db_engine, "telegram", "5551", SUNITA)
    senders = {
        "telegram": FileChannel(tmp_path / "t.txt", name="telegram", by_phone=False),
        "console": ConsoleChannel(by_phone=False),
    }
    summary = run(db_engine, senders=senders)
    assert summary.sent == 1 and summary.skipped_no_channel == planned - 1
    assert report(db_engine)["skipped_no_channel"] == planned - 1


def test_a_whatsapp_phone_without_a_conversation_gets_one_and_delivery_status_is_reported(db_engine):
    from bot.channels.whatsapp import record_status

    seeded(db_engine, employees=10)
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    channel = Flaky()
    assert run(db_engine, senders={"whatsapp": channel}).sent == planned
    assert SUNITA in channel.sent
    with Session(db_engine) as session:
        assert (
            session.exec(select(Conversation).where(Conversation.channel == "whatsapp")).all() == []
        )  # Flaky makes none
    # The real WhatsApp adapter's status callbacks land on the outbox row of a linked conversation.
    link(db_engine, "whatsapp", SUNITA, SUNITA)
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    run(db_engine, now=NOON + timedelta(days=7), senders={"whatsapp": channel})
    with Session(db_engine) as session:
        reminder = session.exec(select(Reminder).where(Reminder.outbox_id.is_not(None))).one()
        sid = reminder.provider_message_id

    class Db:
        db = db_engine

    assert record_status(Db, sid=sid, status="delivered") and record_status(Db, sid=sid, status="read")
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
