"""Test doubles for the networks reminders go out on (the outbox's providers), for tests and drills."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.delivery.items import Failed, Outcome, Outgoing, Sent
from bot.providers.console import ConsoleMailbox


class FileProvider:
    """Appends `reminder_id<TAB>user_key` to a file, made durable before it answers: an at-least-once
    network stand-in whose lines count what reached the "network". `delay` seconds per send make it
    slow enough to be killed in the middle of a run."""

    def __init__(self, path: Path, *, channel: str = "whatsapp", delay: float = 0.0):
        self.path = Path(path)
        self.channel = channel
        self.delay = delay

    async def send(self, item: Outgoing) -> Outcome:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(f"{item.reminder_id}\t{item.user_key}\n")
            stream.flush()
            os.fsync(stream.fileno())
        return Sent(f"SM{item.outbox_id:032d}")


class SlowMailbox(ConsoleMailbox):
    """The console's mailbox, `delay` seconds per message."""

    def __init__(self, delay: float):
        self.delay = delay

    async def send(self, item: Outgoing) -> Outcome:
        await asyncio.sleep(self.delay)
        return await super().send(item)


class Flaky:
    """A network: fails for a passing reason `transient` times, and for good for some users."""

    def __init__(self, channel: str = "whatsapp", transient: int = 0, permanent_for: tuple[str, ...] = ()):
        self.channel, self.transient, self.permanent_for = channel, transient, set(permanent_for)
        self.sent: list[str] = []

    async def send(self, item: Outgoing) -> Outcome:
        if item.user_key in self.permanent_for:
            return Failed("twilio 63003: not on WhatsApp", permanent=True)
        if self.transient:
            self.transient -= 1
            return Failed("network: ConnectionError")
        self.sent.append(item.user_key)
        return Sent(f"SM{item.outbox_id:032d}")
