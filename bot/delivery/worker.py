"""Draining one channel's outbox through its provider: claim a batch, send it chunk by chunk, record
each chunk as soon as it is sent (a killed sender leaves at most one chunk sent but unrecorded); again.

Users are served concurrently, each user's messages in order: when one fails for a passing reason
the user's later messages wait for it (they are released untried). When the provider asks the whole
bot to slow down (Telegram's RetryAfter, Twilio's 429), the rest of the round is released until then.
Sends are paced by the channel's token bucket in the database (`RateLimiter`), shared by every
process sending on that database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol

from bot.delivery.items import Failed, Held, NotTried, Outcome, Outgoing
from bot.delivery.outbox import Outbox, Recorded
from bot.delivery.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

BATCH = 200  # messages per claim (one lease)
CHUNK = 50  # messages sent between two records: the most a killed sender can leave sent but unrecorded
CONCURRENCY = 8  # provider calls in flight per sender (different users)
RECOVER_EVERY = timedelta(seconds=30)  # how often a running sender looks for dead senders' leases


@dataclass
class _Progress:
    """What one round learnt about its users so far."""

    waiting: set[int] = field(default_factory=set)  # an earlier message failed: the rest waits for it
    announced: set[int] = field(default_factory=set)  # told by template that an answer waits (WhatsApp)


def _merge(total: Recorded, recorded: Recorded) -> None:
    for name, items in vars(recorded).items():
        getattr(total, name).extend(items)


class Provider(Protocol):
    """A network (or the console's mailbox) that can take one outgoing message."""

    channel: str

    async def send(self, item: Outgoing) -> Outcome:
        """Send the message; its outcome, never an exception for what the provider answered."""
        ...


class Sender:
    """Sends one channel's queued messages through its provider."""

    def __init__(
        self,
        outbox: Outbox,
        provider: Provider,
        *,
        limiter: RateLimiter | None = None,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
    ):
        self.outbox = outbox
        self.provider = provider
        self.channel = provider.channel
        self.limiter = limiter
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self.paused_for = 0.0  # seconds the provider asked the whole bot to wait, after a round

    async def round(self, kinds: Sequence[str] | None = None) -> tuple[int, Recorded]:
        """One claim, sent and recorded chunk by chunk: (messages claimed, what was recorded)."""
        items = await asyncio.to_thread(self.outbox.claim, self.channel, limit=self.batch, kinds=kinds)
        if not items:
            return 0, Recorded()
        total = Recorded()
        progress = _Progress()
        step = min((self.limiter.block(self.channel) if self.limiter else None) or CHUNK, CHUNK)
        deadline = asyncio.get_running_loop().time() + self.outbox.lease.total_seconds() / 2
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            if asyncio.get_running_loop().time() > deadline:  # a slow provider: stay well inside the lease
                results: list[tuple[Outgoing, Outcome]] = [(item, NotTried()) for item in items[start:]]
                _merge(total, await asyncio.to_thread(self.outbox.finish, results))
                break
            if self.limiter is not None and not self.paused_for:
                await self.limiter.wait(self.channel, len(chunk))
            results = await self._send_chunk(chunk, progress)
            _merge(total, await asyncio.to_thread(self.outbox.finish, results))
        return len(items), total

    async def drain(self, kinds: Sequence[str] | None = None) -> Recorded:
        """Rounds until nothing is due (a command-line run); everything recorded, merged."""
        await asyncio.to_thread(functools.partial(self.outbox.recover, starting=True))
        total = Recorded()
        while True:
            claimed, recorded = await self.round(kinds)
            if not claimed:
                return total
            _merge(total, recorded)
            if self.paused_for:
                await asyncio.sleep(self.paused_for)

    async def run(self, *, interval: float = 2.0) -> None:
        """Until cancelled: a round every `interval` seconds, at once again while there is a backlog."""
        loop = asyncio.get_running_loop()
        recovered_at = None
        while True:
            busy = False
            try:
                if recovered_at is None or loop.time() - recovered_at >= RECOVER_EVERY.total_seconds():
                    await asyncio.to_thread(functools.partial(self.outbox.recover, starting=recovered_at is None))
                    await asyncio.to_thread(self.outbox.expire_held, self.channel)
                    recovered_at = loop.time()
                claimed, _ = await self.round()
                busy = claimed >= self.batch
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s outbox round failed", self.channel)
            pause, self.paused_for = self.paused_for, 0.0
            await asyncio.sleep(max(pause, 0.0 if busy else interval))

    async def _send_chunk(self, chunk: list[Outgoing], progress: _Progress) -> list[tuple[Outgoing, Outcome]]:
        """Users concurrently, each user's messages in order."""
        outcomes: dict[int, Outcome] = {}
        by_user: dict[int, list[Outgoing]] = {}
        for item in chunk:
            by_user.setdefault(item.conversation_id, []).append(item)
        await asyncio.gather(*(self._send_user(queue, outcomes, progress) for queue in by_user.values()))
        return [(item, outcomes[item.outbox_id]) for item in chunk]

    async def _send_user(self, queue: list[Outgoing], outcomes: dict[int, Outcome], progress: _Progress) -> None:
        for item in queue:
            async with self._slots:  # checked once a slot is free: a 429 meanwhile stops this send too
                if self.paused_for or item.conversation_id in progress.waiting:
                    until = self.outbox.clock() + timedelta(seconds=self.paused_for) if self.paused_for else None
                    outcomes[item.outbox_id] = NotTried(until)
                    continue
                if item.conversation_id in progress.announced:
                    item = replace(item, announced=True)
                outcome = await self._send(item)
            outcomes[item.outbox_id] = outcome
            if isinstance(outcome, Held):
                progress.announced.add(item.conversation_id)
            if isinstance(outcome, Failed) and not outcome.permanent:
                progress.waiting.add(item.conversation_id)
                if outcome.retry_after:
                    self.paused_for = max(self.paused_for, outcome.retry_after)
                    logger.warning("%s asks to wait %g s: the round stops here", self.channel, outcome.retry_after)

    async def _send(self, item: Outgoing) -> Outcome:
        try:
            return await self.provider.send(item)
        except Exception as error:  # a bug, not the provider's answer: logged, and the message retried
            logger.exception("%s provider failed on outbox message %s", self.channel, item.outbox_id)
            return Failed(f"unexpected: {type(error).__name__}")
