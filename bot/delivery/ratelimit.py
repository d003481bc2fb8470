"""A per-channel token bucket kept in the database, so every sender process on it shares one limit.

One conditional UPDATE takes tokens (refilled from the time since the last take), so two processes
never overdraw the bucket on PostgreSQL (the row lock) or SQLite (one writer at a time). Tokens are
taken in small blocks (a tenth of a second's worth) to keep database round trips to about ten a
second per sender. The clock is Unix time, shared by processes on one machine; on several machines
keep their clocks in sync (NTP): a skewed clock only refills late, it never overdraws.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.models import SendRate

BLOCK_SECONDS = 0.1

_REFILLED = "(CASE WHEN tokens + :rate * (CASE WHEN :now > stamp THEN :now - stamp ELSE 0 END) > :cap THEN :cap " \
            "ELSE tokens + :rate * (CASE WHEN :now > stamp THEN :now - stamp ELSE 0 END) END)"  # fmt: skip
_TAKE = text(
    f"UPDATE send_rate SET tokens = {_REFILLED} - :n, stamp = CASE WHEN :now > stamp THEN :now ELSE stamp END "
    f"WHERE channel = :channel AND {_REFILLED} >= :n"
)


class RateLimiter:
    """`wait(channel, n)` returns when `n` sends on that channel are allowed; no rate: no limit."""

    def __init__(
        self,
        db: Engine,
        rates: dict[str, float | None],
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.db = db
        self.rates = {channel: rate for channel, rate in rates.items() if rate}
        self.clock = clock
        self._ready: set[str] = set()

    def block(self, channel: str) -> int | None:
        """How many sends to take at once on the channel (None: unlimited)."""
        rate = self.rates.get(channel)
        return None if rate is None else max(1, int(rate * BLOCK_SECONDS))

    def capacity(self, channel: str) -> float:
        return 2.0 * (self.block(channel) or 1)

    def try_acquire(self, channel: str, n: int) -> float:
        """Take `n` tokens: 0.0 when taken, else the seconds to wait before trying again."""
        rate = self.rates.get(channel)
        if rate is None:
            return 0.0
        n = min(n, int(self.capacity(channel)))
        self._ensure(channel)
        params = {
            "rate": float(rate),
            "cap": self.capacity(channel),
            "n": float(n),
            "now": float(self.clock()),
            "channel": channel,
        }
        with self.db.begin() as connection:
            if connection.execute(_TAKE, params).rowcount:
                return 0.0
            tokens, stamp = connection.execute(
                text("SELECT tokens, stamp FROM send_rate WHERE channel = :channel"), {"channel": channel}
            ).one()
        available: float = min(params["cap"], tokens + rate * max(params["now"] - stamp, 0.0))
        return max((n - available) / rate, 0.001)

    async def wait(self, channel: str, n: int = 1) -> None:
        """Take `n` tokens, waiting as long as the bucket says (the database in a thread, the waits as sleeps)."""
        if self.rates.get(channel) is None:
            return
        while (pause := await asyncio.to_thread(self.try_acquire, channel, n)) > 0:
            await asyncio.sleep(pause)

    def _ensure(self, channel: str) -> None:
        if channel in self._ready:
            return
        try:
            with self.db.begin() as connection:
                if not connection.execute(text("SELECT 1 FROM send_rate WHERE channel = :c"), {"c": channel}).first():
                    connection.execute(
                        SendRate.__table__.insert().values(channel=channel, tokens=0.0, stamp=float(self.clock()))
                    )
        except IntegrityError:
            pass  # another sender made it first
        self._ready.add(channel)
