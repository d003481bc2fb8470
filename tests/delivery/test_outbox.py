"""The outbox queue on both databases: atomic claims, fenced finishes, order per user, retries with
backoff up to the horizon, restart hygiene. Real SQLite and PostgreSQL, no provider (outcomes given)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

from sqlmodel import Session, select

from bot.delivery.items import Failed, NotTried, Sent
from bot.delivery.lease import Owner
from bot.delivery.outbox import Outbox
from bot.delivery.retry import RetryPolicy
from bot.delivery.states import as_shown, next_state
from bot.models import Conversation, OutboxMessage, utcnow

NOW = utcnow()


def outbox(engine, *, clock=None, retry=None, lease=timedelta(minutes=5)) -> Outbox:
    return Outbox(
        engine.db, engine.brain.texts, lease=lease, retry=retry or RetryPolicy(jitter=0.0), clock=clock or (lambda: NOW)
    )


def queue(db, user_key: str, *texts: str, channel: str = "telegram") -> list[int]:
    with Session(db) as session:
        chat = session.exec(
            select(Conversation).where(Conversation.channel == channel, Conversation.user_key == user_key)
        ).first()
        if chat is None:
            chat = Conversation(channel=channel, user_key=user_key)
            session.add(chat)
            session.flush()
        rows = [OutboxMessage(conversation_id=chat.id, kind="bot_reply", text=text, lang="en") for text in texts]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def rows(db) -> list[OutboxMessage]:
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_claims_by_concurrent_senders_never_overlap(engine, db_engine):
    for user in range(60):
        queue(db_engine, str(1000 + user), "hello")
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def claimer() -> None:
        mine = outbox(engine)  # each its own lease owner, like separate workers
        barrier.wait()
        claimed.append([item.outbox_id for item in mine.claim("telegram", limit=25)])

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [outbox_id for batch in claimed for outbox_id in batch]
    assert len(everything) == len(set(everything))  # nobody holds a message another one holds
    rest = [item.outbox_id for item in outbox(engine).claim("telegram", limit=100)]  # what contention skipped
    assert sorted(everything + rest) == sorted(set(everything + rest)) and len(everything + rest) == 60


def test_a_finish_by_a_sender_whose_lease_was_taken_over_records_nothing(engine, db_engine):
    queue(db_engine, "1001", "hello")
    later = NOW + timedelta(minutes=10)
    slow, fast = outbox(engine), outbox(engine, clock=lambda: later)
    [item] = slow.claim("telegram")
    [again] = fast.claim("telegram")  # the slow sender's lease ran out: taken over
    assert again.attempts == 2
    assert slow.finish([(item, Sent("1"))]).taken_over == [item]
    assert fast.finish([(again, Sent("2"))]).sent == [again]
    [row] = rows(db_engine)
    assert (row.state, row.provider_message_id, row.lease_owner) == ("sent", "2", None)


def test_a_users_messages_keep_their_order_through_a_retry(engine, db_engine):
    first, second = queue(db_engine, "1001", "first", "second")
    sender = outbox(engine)
    items = sender.claim("telegram")
    assert [item.outbox_id for item in items] == [first, second]  # claimed together, sent in order
    sender.finish([(items[0], Failed("network: ConnectError")), (items[1], NotTried())])
    assert sender.claim("telegram") == []  # the first waits for its retry time, the second behind it
    due = outbox(engine, clock=lambda: NOW + timedelta(seconds=3))
    assert [item.outbox_id for item in due.claim("telegram")] == [first, second]


def test_a_claim_takes_the_oldest_due_messages_across_expired_leases_and_the_queue(engine, db_engine):
    early = queue(db_engine, "1001", "a", "b", "c")
    outbox(engine).claim("telegram", limit=2)  # a and b leased by a sender that then died
    late = queue(db_engine, "1002", "d") + queue(db_engine, "1003", "e")
    after_lease = outbox(engine, clock=lambda: NOW + timedelta(minutes=10))
    # Oldest first whatever the state: the expired a, b before the queued c, d; e waits for the next claim.
    assert [item.outbox_id for item in after_lease.claim("telegram", limit=4)] == [*early, late[0]]
    assert [item.outbox_id for item in after_lease.claim("telegram", limit=4)] == [late[1]]


def test_backoff_doubles_to_its_cap_and_honours_what_the_provider_asks():
    policy = RetryPolicy(first=timedelta(seconds=2), cap=timedelta(minutes=10), jitter=0.0)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 20)] == [2, 4, 8, 16, 600, 600]
    assert policy.delay(1, retry_after=30).total_seconds() == 30
    jittered = RetryPolicy(jitter=0.2)
    assert all(1.6 <= jittered.delay(1).total_seconds() <= 2.4 for _ in range(50))


def test_passing_errors_are_retried_until_the_horizon_then_fail_with_their_reason(engine, db_engine):
    queue(db_engine, "1001", "hello")
    clock = [NOW]
    sender = outbox(engine, clock=lambda: clock[0], retry=RetryPolicy(horizon=timedelta(hours=1), jitter=0.0))
    tries = 0
    while True:
        items = sender.claim("telegram")
        if not items:
            [row] = rows(db_engine)
            if row.state == "failed":
                break
            clock[0] = row.next_attempt_at
            continue
        tries += 1
        sender.finish([(items[0], Failed("NetworkError: Bad Gateway"))])
    [row] = rows(db_engine)
    assert tries > 8  # an outage of more than a few seconds is outlasted, not given up after 8 tries
    assert row.last_error.startswith(f"gave up after {tries} attempts in 1 h: NetworkError: Bad Gateway")
    assert as_shown(row.state) == "failed" and row.failed_at is not None


def test_a_permanent_error_fails_at_once_with_the_providers_reason(engine, db_engine):
    queue(db_engine, "1001", "hello")
    sender = outbox(engine)
    [item] = sender.claim("telegram")
    assert sender.finish([(item, Failed("forbidden: bot was blocked by the user", permanent=True))]).failed
    [row] = rows(db_engine)
    assert (row.state, row.last_error) == ("failed", "forbidden: bot was blocked by the user")


def test_a_restarted_sender_takes_over_a_dead_senders_messages_at_once_and_waits_for_a_live_one(
    engine, db_engine, caplog
):
    queue(db_engine, "1001", "for a dead sender")
    queue(db_engine, "1002", "for a live sender")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = Owner(socket.gethostname(), int(dead.stdout), "deadbeef")
    alive = Owner(socket.gethostname(), os.getpid(), "cafebabe")
    Outbox(engine.db, engine.brain.texts, owner=gone, clock=lambda: NOW).claim("telegram", limit=1)
    Outbox(engine.db, engine.brain.texts, owner=alive, clock=lambda: NOW).claim("telegram", limit=1)
    restarted = outbox(engine)
    assert restarted.claim("telegram") == []  # both leased, neither lease over
    caplog.set_level("INFO")
    recovery = restarted.recover(starting=True)
    assert recovery.taken_over == {str(gone): 1} and list(recovery.waiting) == [str(alive)]
    assert "which died: sent again now" in caplog.text and "taken over at" in caplog.text
    assert [item.reply.text for item in restarted.claim("telegram")] == ["for a dead sender"]


def test_delivery_reports_never_step_back():
    assert next_state("sent", "delivered") == "delivered"
    assert next_state("read", "delivered") == "read"
    assert next_state("failed", "read") == "failed"
    assert next_state("delivered", "failed") == "delivered"
    assert next_state("held", "sent") == "sent"
    assert [as_shown(state) for state in ("queued", "sending", "held", "sent", "cancelled")] == [
        "queued", "queued", "held", "sent", "failed",
    ]  # fmt: skip
