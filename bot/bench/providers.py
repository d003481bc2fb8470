"""A provider that sends nothing, instantly: what the benchmarks measure the outbox's own work with."""

from __future__ import annotations

from bot.delivery.items import Outcome, Outgoing, Sent


class NullProvider:
    """Takes every message at once, as if the network were free; counts them."""

    def __init__(self, channel: str = "whatsapp"):
        self.channel = channel
        self.count = 0

    async def send(self, item: Outgoing) -> Outcome:
        self.count += 1
        return Sent(f"null-{self.count}")  # an id, as every network gives: recording it is part of the work
