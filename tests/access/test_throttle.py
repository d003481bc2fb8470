"""The login throttle on its own: doubling waits, the counts it keeps, forgetting, taking a try back."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.access import throttle
from bot.models import LoginThrottle, utcnow


def test_waits_double_after_the_free_failures_up_to_fifteen_minutes():
    free = throttle.FREE_FAILURES_PER_NAME
    assert [throttle.wait_after(n, free).total_seconds() for n in range(free + 5)] == [0, 0, 0, 1, 2, 4, 8, 16]
    assert throttle.wait_after(free + 30, free) == timedelta(minutes=15)
    per_address = throttle.FREE_FAILURES_PER_ADDRESS
    assert throttle.wait_after(per_address + 30, per_address, throttle.LONGEST_WAIT_PER_ADDRESS).total_seconds() == 60


def test_attempts_wait_their_turn_and_a_success_takes_the_try_back(db_engine):
    now = utcnow()
    with Session(db_engine) as session:
        for _ in range(throttle.FREE_FAILURES_PER_NAME):
            assert throttle.attempt(session, name="desk1", address="10.0.0.5", now=now).allowed
        refused = throttle.attempt(session, name=" DESK1 ", address="10.0.0.5", now=now)  # same name
        assert (refused.allowed, refused.wait_seconds) == (False, 1)
        assert throttle.attempt(session, name="desk1", address="10.0.0.6", now=now).allowed  # another address
        later = now + timedelta(seconds=1)
        assert throttle.attempt(session, name="desk1", address="10.0.0.5", now=later).allowed
        throttle.succeeded(session, name="desk1", address="10.0.0.5")
        assert throttle.attempt(session, name="desk1", address="10.0.0.5", now=later).allowed
        counts = sorted(row.failures for row in session.exec(select(LoginThrottle)))
        # the pair (desk1, .5) counts 1 since the success; the pair (desk1, .6) 1; address .6 has 1, .5 has 4
        assert counts == [1, 1, 1, 4]


def test_counts_are_forgotten_an_hour_after_the_last_failure(db_engine):
    now = utcnow()
    with Session(db_engine) as session:
        for _ in range(10):
            throttle.attempt(session, name="desk1", address="10.0.0.5", now=now)
        assert not throttle.attempt(session, name="desk1", address="10.0.0.5", now=now).allowed
        later = now + throttle.FORGET_AFTER + timedelta(seconds=1)
        assert throttle.attempt(session, name="desk1", address="10.0.0.5", now=later).allowed
        assert sorted(row.failures for row in session.exec(select(LoginThrottle))) == [1, 1]
