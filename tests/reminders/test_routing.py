"""Where a reminder goes, and who gets none: per-person opt-out, the channel used last, no console when a
real network can reach the person, shared phones, and what a delivered reminder leaves in the chat."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import Conversation, Employee, OutboxMessage, Reminder
from bot.providers.console import ConsoleMailbox
from bot.reminders import plan, report, send
from tests.reminders.helpers import NOON, RAMESH, SUNITA, campaigns, link, seeded, texts
from tests.reminders.providers import FileProvider


def run(db, providers, *, channels=None, now=NOON):
    return send(db, campaigns=campaigns(), providers=providers, channels=channels, texts=texts(), now=now,
                progress=False)  # fmt: skip


def lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_reminder_goes_to_the_channel_the_person_used_last_among_those_configured(db_engine, tmp_path):
    seeded(db_engine, employees=10)
    link(db_engine, "telegram", "5551", SUNITA, last_inbound_at=NOON - timedelta(days=3))
    link(db_engine, "whatsapp", SUNITA, SUNITA, last_inbound_at=NOON - timedelta(days=1))  # her latest
    link(db_engine, "console", SUNITA, SUNITA, last_inbound_at=NOON)  # the console is never a reminder's way
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    telegram, whatsapp = tmp_path / "telegram.txt", tmp_path / "whatsapp.txt"
    providers = {
        "telegram": FileProvider(telegram, channel="telegram"),
        "whatsapp": FileProvider(whatsapp, channel="whatsapp"),
        "console": ConsoleMailbox(),
    }
    run(db_engine, providers, channels=["telegram", "whatsapp"])
    assert any(line.endswith(f"\t{SUNITA}") for line in lines(whatsapp)) and lines(telegram) == []
    # Without WhatsApp configured now, the Telegram chat she used before is the way.
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    run(db_engine, providers, channels=["telegram"], now=NOON + timedelta(days=7))
    assert [line.split("\t")[1] for line in lines(telegram)] == ["5551"]


def test_the_console_is_chosen_only_when_no_network_is_configured(db_engine, tmp_path):
    seeded(db_engine, employees=10)
    link(db_engine, "console", SUNITA, SUNITA, last_inbound_at=NOON)  # reached on the console before
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    summary = run(db_engine, {"telegram": FileProvider(tmp_path / "t.txt", channel="telegram")})
    assert (summary.sent, summary.skipped_no_channel) == (0, planned)  # counted, not queued to the console
    assert report(db_engine)["skipped_no_channel"] == planned
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    local = run(db_engine, {"console": ConsoleMailbox()}, now=NOON + timedelta(days=7))  # a local deployment
    assert local.sent == planned and local.by_channel == {"console": planned}


def test_a_stop_on_one_channel_holds_on_every_channel_until_a_start_on_any(db_engine, brain, settings, tmp_path):
    seeded(db_engine, employees=10)
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    engine.handle(Incoming(channel="console", user_key=SUNITA, text="STOP", verified_phone=SUNITA))
    link(db_engine, "telegram", "5551", SUNITA, last_inbound_at=NOON)
    out = tmp_path / "telegram.txt"
    providers = {"telegram": FileProvider(out, channel="telegram")}
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    assert run(db_engine, providers).skipped_opted_out == 1 and lines(out) == []
    engine.handle(Incoming(channel="telegram", user_key="5551", text="start reminders"))
    plan(db_engine, campaigns=campaigns(), now=NOON + timedelta(days=7), progress=False)
    assert run(db_engine, providers, now=NOON + timedelta(days=7)).sent == 1
    assert lines(out)[0].endswith("\t5551")


def test_a_stop_said_before_the_phone_was_known_follows_the_person(db_engine, brain, settings, tmp_path):
    seeded(db_engine, employees=10)
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    engine.handle(Incoming(channel="telegram", user_key="5551", text="stop reminders"))  # no phone yet
    engine.handle(Incoming(channel="telegram", user_key="5551", choice="intent:my_status", verified_phone=SUNITA))
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    out = tmp_path / "whatsapp.txt"
    assert run(db_engine, {"whatsapp": FileProvider(out)}).skipped_opted_out == 1
    assert not any(line.endswith(SUNITA) for line in lines(out))


def test_a_phone_shared_by_two_employees_gets_neither_reminder(db_engine, tmp_path):
    seeded(db_engine, employees=10)
    with Session(db_engine) as session:  # Ramesh's number is in Sunita's record too (a family phone)
        sunita = session.exec(select(Employee).where(Employee.phone == SUNITA)).one()
        sunita.phone = RAMESH
        session.add(sunita)
        session.add(Employee(name="Rekha Yadav", phone=RAMESH))
        session.commit()
    planned = plan(db_engine, campaigns=campaigns(), now=NOON, progress=False).total
    out = tmp_path / "whatsapp.txt"
    summary = run(db_engine, {"whatsapp": FileProvider(out)})
    assert summary.skipped_shared_phone >= 1 and summary.sent == planned - summary.skipped_shared_phone
    assert not any(line.endswith(RAMESH) for line in lines(out))
    with Session(db_engine) as session:
        chats = session.exec(select(Conversation.id).where(Conversation.user_key == RAMESH)).all()
        to_shared = session.exec(select(OutboxMessage).where(OutboxMessage.conversation_id.in_(chats))).all()
        assert to_shared == []  # nothing naming either employee was even written for that phone
    assert report(db_engine)["skipped_shared_phone"] == summary.skipped_shared_phone


def test_a_delivered_reminder_is_remembered_in_its_chat_with_its_language(db_engine, brain, settings):
    seeded(db_engine, employees=10)
    link(db_engine, "console", SUNITA, SUNITA, last_inbound_at=NOON)
    plan(db_engine, campaigns=campaigns(), now=NOON, progress=False)
    run(db_engine, {"console": ConsoleMailbox()})
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    [shown] = ConsoleChat(engine, phone=SUNITA).queued()
    with Session(db_engine) as session:
        chat = session.exec(select(Conversation).where(Conversation.user_key == SUNITA)).one()
        reminder = session.exec(select(Reminder).where(Reminder.lang.is_not(None))).first()
        remembered = {key: value for key, value in chat.recent[-1].items() if key != "at"}  # and its time
        assert remembered == {"from": "bot", "text": shown.text[:500], "kind": "reminder", "lang": "hi"}
        assert chat.lang == reminder.lang == "hi"  # a short "ok" in answer is answered in Hindi
