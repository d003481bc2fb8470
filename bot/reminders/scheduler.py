"""`helpdesk remind run`: every campaign planned and sent on its schedule, until stopped.

Each tick (a minute by default) reads the campaigns afresh (the file's and the console's: a change
made in the console counts from the next tick), plans what their schedules owe now (planning twice
in a period plans nothing new), queues what is due within each campaign's send window (the rest
waits for its morning) and sends through the outbox. Any number of schedulers may run on one
database: one at a time plans and queues (`exclusive`), every one of them sends, and the outbox's
leases give each message to one sender. A stop (SIGTERM) ends the loop after the tick in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.worker import Provider
from bot.i18n import Texts
from bot.models import utcnow
from bot.reminders.campaigns import Campaign
from bot.reminders.lease import PLANNER, exclusive
from bot.reminders.planner import plan
from bot.reminders.sender import ReminderSender, SendSummary, drain

logger = logging.getLogger(__name__)


@dataclass
class Tick:
    """What one tick did: planned per campaign, the send summary, and whether it held the lease."""

    at: datetime
    planned: dict[str, int] = field(default_factory=dict)
    sent: SendSummary = field(default_factory=SendSummary)
    planned_here: bool = False


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):  # the interval passed without a stop
        await asyncio.wait_for(stop.wait(), timeout=seconds)


@dataclass
class Scheduler:
    db: Engine
    campaigns: Callable[[], list[Campaign]]  # read at every tick
    texts: Texts
    providers: Mapping[str, Provider]
    channels: Sequence[str]
    timezone: str = "Asia/Kolkata"
    send_window: str = "09:00-19:00"
    default_language: str = "hi"
    daily_cap: int = 1
    rate_limits: dict[str, float | None] = field(default_factory=dict)
    interval: float = 60.0
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[asyncio.Event, float], Awaitable[None]] = _sleep_or_stop

    async def tick(self) -> Tick:
        """Plan, queue (when this process holds the lease) and send what is due now."""
        now = self.clock()
        done = Tick(now)
        campaigns = self.campaigns()
        with exclusive(self.db, PLANNER) as held:
            if held:
                done.planned_here = True
                summary = await asyncio.to_thread(
                    plan, self.db, campaigns=campaigns, now=now, timezone=self.timezone, progress=False
                )
                done.planned = summary.planned
                sender = ReminderSender(
                    self.db, campaigns=campaigns, texts=self.texts, channels=self.channels, now=self.clock,
                    timezone=self.timezone, send_window=self.send_window, default_language=self.default_language,
                    daily_cap=self.daily_cap,
                )  # fmt: skip
                await asyncio.to_thread(sender.queue_due, done.sent)
        outbox = Outbox(self.db, self.texts, default_language=self.default_language, clock=self.clock)
        await drain(outbox, self.providers, RateLimiter(self.db, self.rate_limits), done.sent)
        done.sent.skipped_opted_out += outbox.cancelled
        if done.sent.sent or done.sent.failed or any(done.planned.values()):
            logger.info("reminders tick: planned %s, %s", done.planned, done.sent.as_dict())
        return done

    async def run(self, stop: asyncio.Event, on_tick: Callable[[Tick], None] | None = None) -> int:
        """Tick every `interval` seconds until `stop` is set; a tick that fails is logged and the next
        one tries again. The number of ticks run."""
        ticks = 0
        while not stop.is_set():
            try:
                done = await self.tick()
            except Exception:  # a database restart, say: the loop must outlive it
                logger.exception("reminders tick failed; trying again in %s s", self.interval)
            else:
                if on_tick is not None:
                    on_tick(done)
            ticks += 1
            await self.sleep(stop, self.interval)
        return ticks
