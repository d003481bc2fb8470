"""When a message that failed for a passing reason is tried again, and when the outbox gives up."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: `first`, doubling up to `cap`, for `horizon` after the message
    was queued. Outages of hours are outlasted; a message older than the horizon fails with its reason."""

    first: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    horizon: timedelta = timedelta(hours=24)
    jitter: float = 0.2  # ± this share of the delay, so senders that failed together do not return together
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait before attempt `attempts + 1`; at least what the provider asked (`RetryAfter`, 429)."""
        base = min(self.first * 2 ** max(attempts - 1, 0), self.cap)
        wait: timedelta = base * (1 + self.rng.uniform(-self.jitter, self.jitter))
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        return wait

    def gives_up(self, created_at: datetime, retry_at: datetime) -> bool:
        """Whether a retry at `retry_at` would be past the horizon of a message queued at `created_at`."""
        return retry_at > created_at + self.horizon
