"""The console's "provider": no network, the outbox row is the mailbox `helpdesk chat` reads."""

from __future__ import annotations

from bot.delivery.items import Outcome, Outgoing, Sent

CHANNEL = "console"


class ConsoleMailbox:
    """Marks console messages sent: they are in the user's mailbox, shown (and read) when the chat opens."""

    channel = CHANNEL

    async def send(self, item: Outgoing) -> Outcome:
        return Sent(None)
