"""The console channel: `helpdesk chat` in a terminal or fed from a pipe."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.delivery.outbox import Outbox
from bot.dialogue import Engine
from bot.messages import Incoming, Reply

CHANNEL = "console"
GUEST = "guest"
POLL_SECONDS = 2.0  # how soon a staff reply shows up in a running chat


def render(reply: Reply) -> str:
    """A reply as plain text, options numbered so the user can answer with a digit."""
    lines = [reply.text]
    lines.extend(f"  {number}. {option.label}" for number, option in enumerate(reply.options, start=1))
    if reply.request_phone:
        lines.append("  (console: start the chat with `helpdesk chat --phone <your number>`)")
    return "\n".join(lines)


class ConsoleChat:
    """One console user talking to the engine."""

    def __init__(self, engine: Engine, *, phone: str | None = None):
        self.engine = engine
        self.outbox = Outbox(engine.db, engine.brain.texts, default_language=engine.settings.default_language)
        self.phone = phone
        self.user_key = phone or GUEST

    def choose_language(self, lang: str) -> None:
        """Fix the reply language, as if the user had picked it from the menu."""
        self.engine.handle(Incoming(channel=CHANNEL, user_key=self.user_key, choice=f"lang:{lang}"))

    def queued(self) -> list[Reply]:
        """Messages waiting for this user (staff replies, rating requests, reminders), each shown once."""
        return self.outbox.show(CHANNEL, self.user_key)

    def send(self, text: str) -> list[Reply]:
        """The bot's replies to one line the user typed."""
        incoming = Incoming(channel=CHANNEL, user_key=self.user_key, text=text, verified_phone=self.phone)
        return self.engine.handle(incoming)

    def run_script(self, lines: Iterable[str], out: TextIO) -> None:
        """Non-interactive: each input line is one message, replies printed after it."""
        self._print(self.queued(), out)
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            print(f"> {line}", file=out)
            self._print(self.send(line), out)

    def run_interactive(self, read: Callable[[str], str], out: TextIO, *, poll_seconds: float = POLL_SECONDS) -> None:
        """Interactive: prompt, answer, until end of input or 'quit'; staff replies appear as they come."""
        print("iGOT Karmayogi helpdesk — type your question (quit: Ctrl-D or 'quit')", file=out)
        self._print(self.queued(), out)
        stop = threading.Event()
        lock = threading.Lock()

        def watch() -> None:
            while not stop.wait(poll_seconds):
                with lock:
                    replies = self.queued()
                    if replies:
                        print(file=out)
                        self._print(replies, out)
                        print("> ", end="", file=out, flush=True)

        watcher = threading.Thread(target=watch, name="console-outbox", daemon=True)
        watcher.start()
        try:
            while True:
                try:
                    line = read("> ")
                except (EOFError, KeyboardInterrupt):
                    print(file=out)
                    return
                if line.strip().lower() in ("quit", "exit"):
                    return
                if line.strip():
                    with lock:
                        self._print(self.send(line), out)
        finally:
            stop.set()
            watcher.join()

    @staticmethod
    def _print(replies: list[Reply], out: TextIO) -> None:
        for reply in replies:
            print(render(reply), file=out)
            print(file=out)
