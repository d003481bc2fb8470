"""Answering a reminder: the reply follows the reminder's language, and the reminder is part of the
conversation (a ticket opened afterwards carries it)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.config import Settings
from bot.delivery.items import Outcome, Outgoing, Sent
from bot.dialogue import Engine
from bot.messages import Incoming
from bot.models import Conversation
from bot.providers.console import ConsoleMailbox
from bot.reminders import plan, send
from tests.reminders.helpers import NOON, SUNITA, campaigns, link, seeded, texts


class RecordingProvider:
    """A network at the edge (Telegram's place): records what it was asked to send."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, item: Outgoing) -> Outcome:
        self.sent.append(item.reply.text)
        return Sent(f"msg-{len(self.sent)}")


def send_reminders(db, providers) -> None:
    plan(db, campaigns=campaigns(), now=NOON, progress=False)
    send(db, campaigns=campaigns(), providers=providers, texts=texts(), now=NOON, progress=False)


def devanagari(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return sum("\u0900" <= char <= "\u097f" for char in letters) > len(letters) / 2


@pytest.mark.parametrize("reply", ["ok", "👍", "ok sir", "3"])
def test_a_language_neutral_answer_to_a_hindi_reminder_is_answered_in_hindi(brain, db_engine, reply):
    seeded(db_engine)
    link(db_engine, "telegram", "555", SUNITA)  # she shared her phone on Telegram once; no language yet
    channel = RecordingProvider()
    send_reminders(db_engine, {"telegram": channel})
    (reminder,) = channel.sent
    assert devanagari(reminder)
    engine = Engine(brain=brain, db=db_engine, settings=Settings(_env_file=None, default_language="en"))
    answer = engine.handle(Incoming(channel="telegram", user_key="555", text=reply, verified_phone=SUNITA))
    assert devanagari(answer[0].text), answer[0].text
    with Session(db_engine) as session:
        conversation = session.exec(select(Conversation).where(Conversation.user_key == "555")).one()
    assert conversation.lang == "hi"
    assert [entry["from"] for entry in conversation.recent][:2] == ["bot", "user"]  # the reminder, then her reply
    assert conversation.recent[0]["text"] == reminder[:500]


def test_an_english_answer_to_a_reminder_switches_to_english(brain, db_engine):
    seeded(db_engine)
    link(db_engine, "telegram", "555", SUNITA)
    send_reminders(db_engine, {"telegram": RecordingProvider()})
    engine = Engine(brain=brain, db=db_engine, settings=Settings(_env_file=None, default_language="hi"))
    answer = engine.handle(Incoming(channel="telegram", user_key="555", text="how do I download my certificate"))
    assert not devanagari(answer[0].text)


def test_the_console_notes_the_reminders_language_and_remembers_it_when_shown(brain, db_engine):
    seeded(db_engine)
    send_reminders(db_engine, {"console": ConsoleMailbox()})
    engine = Engine(brain=brain, db=db_engine, settings=Settings(_env_file=None, default_language="en"))
    (shown,) = ConsoleChat(engine, phone=SUNITA).queued()
    assert devanagari(shown.text)
    answer = engine.handle(Incoming(channel="console", user_key=SUNITA, text="ok", verified_phone=SUNITA))
    assert devanagari(answer[0].text), answer[0].text
    with Session(db_engine) as session:
        conversation = session.exec(select(Conversation).where(Conversation.user_key == SUNITA)).one()
    assert [entry["from"] for entry in conversation.recent] == ["bot", "user", "bot"]  # remembered once
