"""Slowing down password guessing at the console, shared by every worker through the database.

Failures are counted for each (name, client address) pair and for each address. Past a few free
tries, each further try must wait twice as long as the last (1 s, 2 s, 4 s ... at most 15 minutes
for a name, 1 minute for an address). Because the pair includes the address, a stranger who types
a staff member's name from elsewhere slows only themselves: nobody can lock a staff member out. The
count per address slows guessing across many names from one place; its wait stays short because
colleagues behind one office NAT share an address with whoever guesses there. Counts are forgotten
an hour after the last failure.

Every try counts as a failure before its password is checked, so parallel guesses cannot slip past
the limit; `succeeded` takes a correct login's count back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.db import dialect_insert
from bot.models import LoginThrottle, utcnow

FREE_FAILURES_PER_NAME = 3  # per name and address
FREE_FAILURES_PER_ADDRESS = 20  # per address, across all names
LONGEST_WAIT_PER_NAME = timedelta(minutes=15)
LONGEST_WAIT_PER_ADDRESS = timedelta(minutes=1)
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class _Rule:
    free: int
    longest: timedelta


@dataclass(frozen=True)
class Verdict:
    """Whether a login may be tried now, and otherwise for how long to wait."""

    allowed: bool
    wait_seconds: int = 0


def _key(*parts: str) -> str:
    # Hashed: what people type into the name box (sometimes a password) is never stored.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _counters(name: str, address: str) -> dict[str, _Rule]:
    """The rows a login try counts against, with how many failures each allows and its longest wait."""
    return {
        _key("name", name.strip().casefold(), address): _Rule(FREE_FAILURES_PER_NAME, LONGEST_WAIT_PER_NAME),
        _key("address", address): _Rule(FREE_FAILURES_PER_ADDRESS, LONGEST_WAIT_PER_ADDRESS),
    }


def wait_after(failures: int, free: int, longest: timedelta = LONGEST_WAIT_PER_NAME) -> timedelta:
    """How long to wait after this many failures: nothing while free, then doubling up to `longest`."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), longest)


def attempt(session: Session, *, name: str, address: str, now: datetime | None = None) -> Verdict:
    """May this login be tried now? If so it is counted as failed until `succeeded` says otherwise.

    Call it in a writing transaction (`bot.db.write_scope`): the counters' rows are locked while read.
    """
    now = now or utcnow()
    counters = _counters(name, address)
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.last_failure_at) < now - FORGET_AFTER))
    insert = dialect_insert(session.get_bind())
    session.execute(
        insert(LoginThrottle)
        .values([{"key": key, "failures": 0, "last_failure_at": now} for key in counters])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = session.exec(
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_(counters))
        .order_by(col(LoginThrottle.key))
        .with_for_update()
    ).all()
    waits = [row.wait_until for row in rows if row.wait_until is not None and row.wait_until > now]
    if waits:
        return Verdict(False, max(1, round((max(waits) - now).total_seconds())))
    for row in rows:
        row.failures += 1
        row.last_failure_at = now
        rule = counters[row.key]
        wait = wait_after(row.failures, rule.free, rule.longest)
        row.wait_until = now + wait if wait else None
    return Verdict(True)


def succeeded(session: Session, *, name: str, address: str) -> None:
    """A correct password: the name's count from this address is wiped, the address's try taken back."""
    pair, by_address = _counters(name, address)
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == pair))
    row = session.get(LoginThrottle, by_address)
    if row is not None:
        row.failures = max(0, row.failures - 1)
        if row.failures < FREE_FAILURES_PER_ADDRESS:
            row.wait_until = None
