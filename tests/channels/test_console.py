"""The console channel: numbered options, queued messages at start, staff replies during a chat."""

from __future__ import annotations

import io
import threading

from sqlmodel import Session

from bot.channels.console import ConsoleChat, render
from bot.messages import Option, Reply
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name

PHONE = "+919876500002"


def test_options_are_numbered_and_the_phone_request_explained():
    shown = render(Reply("Did this help?", (Option("yes", "Yes"), Option("no", "No")), request_phone="Share"))
    assert shown.splitlines() == ["Did this help?", "  1. Yes", "  2. No",
                                  "  (console: start the chat with `helpdesk chat --phone <your number>`)"]  # fmt: skip


def test_a_staff_reply_appears_in_a_running_interactive_chat(engine, db_engine):
    chat = ConsoleChat(engine, phone=PHONE)
    out = io.StringIO()
    shown = threading.Event()
    lines = iter(["kisi insaan se baat karao"])

    def read(prompt: str) -> str:
        line = next(lines, None)
        if line is not None:
            return line
        with Session(db_engine) as session:  # the staff answer while the user looks at the chat
            add_staff(session, name="desk1", password="correct horse battery")
            service.reply(
                session, ref="HD-000001", staff=staff_by_name(session, name="desk1"), text="Ho gaya, dekhiye."
            )
            session.commit()
        for _ in range(100):  # the watcher shows it within a couple of poll intervals
            if "Ho gaya, dekhiye." in out.getvalue():
                shown.set()
                break
            shown.wait(0.05)
        raise EOFError

    chat.run_interactive(read, out, poll_seconds=0.05)
    assert shown.is_set(), out.getvalue()
    assert "HD-000001 पर हेल्पडेस्क का जवाब:\nHo gaya, dekhiye." in out.getvalue()
