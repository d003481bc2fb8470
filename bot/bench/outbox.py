"""The outbox's drain rate with 1, 2 and 3 sender processes, beside a raw claim-and-update of the same rows.

Each run queues `messages` pre-rendered messages for as many users (channel `bench`, so the benchmark
never touches a real channel's rows), then starts the senders in separate processes and times them
from a common start signal until the queue is empty. Ours: the real `Sender` and `Outbox` (claim with a
lease, render, a no-op provider, fenced finish, the chat's memory updated). The ceiling: the same claim
and state change as bare SQL through the driver, nothing else.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlmodel import col

from bot.bench.providers import NullProvider
from bot.db import create_db_engine, normalise_url, upgrade
from bot.delivery.outbox import Outbox
from bot.delivery.worker import BATCH, CHUNK, Sender
from bot.i18n import Texts
from bot.models import Conversation, OutboxMessage, utcnow

CHANNEL = "bench"


@dataclass(frozen=True)
class Run:
    database: str
    workers: int
    ours: float  # messages per second
    ceiling: float


def bench_outbox(
    *, database_urls: dict[str, str], messages: int, locales: Path, workers: tuple[int, ...] = (1, 2, 3)
) -> str:
    """The table: per database and number of senders, our drain rate, the ceiling's, and their ratio."""
    runs = []
    for name, url in database_urls.items():
        upgrade(url)
        for count in workers:
            ours = _timed(url, count, messages, _drain, str(locales))
            ceiling = _timed(url, count, messages, _bare_drain, "")
            runs.append(Run(name, count, ours, ceiling))
        _clear(url)
    lines = [
        f"{messages:,} queued messages to {messages:,} users, drained by N sender processes (no-op provider)",
        f"{'':24}{'ours msg/s':>12}{'ceiling msg/s':>15}{'ratio':>8}",
    ]
    for run in runs:
        name = f"{run.database}, {run.workers} sender(s)"
        lines.append(f"{name:24}{run.ours:>12,.0f}{run.ceiling:>15,.0f}{run.ours / run.ceiling:>8.2f}")
    lines.append(
        "ceiling: the same claim (UPDATE ... WHERE id IN (SELECT ... LIMIT) RETURNING; SKIP LOCKED on PostgreSQL)"
        f" and one state UPDATE per {CHUNK} messages, as bare SQL"
    )
    return "\n".join(lines)


def _timed(url: str, workers: int, messages: int, target: Any, argument: str) -> float:
    """Messages per second for `workers` processes running `target` on a freshly filled queue."""
    _fill(url, messages)
    context = multiprocessing.get_context("spawn")
    start, finished = context.Event(), context.Queue()
    processes = [context.Process(target=_timing, args=(target, url, start, finished, argument)) for _ in range(workers)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # every process imported and connected: only the draining is timed, not start or exit
    began = time.time()
    start.set()
    ended = max(finished.get() for _ in processes)
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a benchmark sender failed with status {process.exitcode}")
    seconds = ended - began
    if _left(url):
        raise RuntimeError("the senders stopped with messages still queued")
    return float(messages / seconds)


def _fill(url: str, messages: int) -> None:
    """`messages` users on the bench channel, one queued message each (nothing else of theirs)."""
    _clear(url)
    db = create_db_engine(url)
    now = utcnow()
    with db.begin() as connection:
        chats = [
            {"channel": CHANNEL, "user_key": str(number), "recent": [], "lang": "en"} for number in range(messages)
        ]
        connection.execute(insert(Conversation), chats)
        chats_of = select(col(Conversation.id)).where(col(Conversation.channel) == CHANNEL)
        ids = connection.execute(chats_of).scalars().all()
        rows: list[dict[str, Any]] = [
            {"conversation_id": chat_id, "kind": "bot_reply", "text": "Your certificate is ready.", "lang": "en",
             "options": [], "state": "queued", "attempts": 0, "created_at": now}
            for chat_id in ids
        ]  # fmt: skip
        connection.execute(insert(OutboxMessage), rows)
    with db.begin() as connection:  # statistics as a running database has them
        connection.execute(text("ANALYZE"))
    db.dispose()


def _clear(url: str) -> None:
    db = create_db_engine(url)
    chats = select(col(Conversation.id)).where(col(Conversation.channel) == CHANNEL)
    with db.begin() as connection:
        connection.execute(delete(OutboxMessage).where(col(OutboxMessage.conversation_id).in_(chats)))
        connection.execute(delete(Conversation).where(col(Conversation.channel) == CHANNEL))
    db.dispose()


def _left(url: str) -> int:
    db = create_db_engine(url)
    with db.connect() as connection:
        left = connection.execute(
            text(
                "SELECT count(*) FROM outbox_message m JOIN conversation c ON c.id = m.conversation_id "
                "WHERE c.channel = :channel AND m.state NOT IN ('sent')"
            ),
            {"channel": CHANNEL},
        ).scalar_one()
    db.dispose()
    return int(left)


def _timing(target: Any, url: str, start: Any, finished: Any, argument: str) -> None:
    """Run one sender; report when it found the queue empty (the clock is shared by the processes)."""
    target(url, start, argument)
    finished.put(time.time())


def _drain(url: str, start: Any, locales: str) -> None:
    """Ours: the real sender, until nothing is due."""
    db = create_db_engine(url)
    outbox = Outbox(db, Texts(Path(locales)), default_language="en")
    sender = Sender(outbox, NullProvider(CHANNEL), batch=BATCH)
    start.wait()
    asyncio.run(sender.drain())


def _bare_drain(url: str, start: Any, _unused: str) -> None:
    """The ceiling: the claim and the state change as bare SQL through the driver."""
    owner = uuid.uuid4().hex
    if url.startswith("sqlite"):
        connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        marker, lock, begin = "?", "", "BEGIN IMMEDIATE"
    else:
        import psycopg

        connection = psycopg.connect(normalise_url(url).replace("postgresql+psycopg", "postgresql"), autocommit=True)
        marker, lock, begin = "%s", " FOR UPDATE OF m SKIP LOCKED", "BEGIN"
    claim = (
        f"UPDATE outbox_message SET state = 'sending', lease_owner = {marker} WHERE id IN ("
        "SELECT m.id FROM outbox_message m JOIN conversation c ON c.id = m.conversation_id "
        f"WHERE c.channel = {marker} AND m.state = 'queued' ORDER BY m.id LIMIT {BATCH}{lock}) RETURNING id"
    )
    start.wait()
    while True:
        connection.execute(begin)
        ids = [row[0] for row in connection.execute(claim, (owner, CHANNEL)).fetchall()]
        connection.execute("COMMIT")
        if not ids:
            break
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            connection.execute(begin)
            connection.execute(
                f"UPDATE outbox_message SET state = 'sent', lease_owner = NULL WHERE lease_owner = {marker} "
                f"AND id IN ({', '.join([marker] * len(chunk))})",
                (owner, *chunk),
            )
            connection.execute("COMMIT")
    connection.close()
