"""One holder at a time across every process on the database: planning and queueing reminders.

PostgreSQL: a session advisory lock, released when its connection ends (a killed holder frees it at
once). SQLite: an flock of a file beside the database, freed likewise by the kernel. Sending needs
no such lock (the outbox leases each message); this keeps two schedulers from splitting one person's
reminders between them, which the daily cap counts within one transaction.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

PLANNER = "reminders"  # planning and queueing: `remind run`'s ticks and `remind send` (cron) take turns


def _key(name: str) -> int:
    return zlib.crc32(f"helpdesk:{name}".encode())  # a stable 32-bit key, the same in every process


@contextmanager
def exclusive(db: Engine, name: str) -> Iterator[bool]:
    """Whether this process holds `name` now (never waits): do the work only when it yields True."""
    if db.dialect.name == "postgresql":
        with db.connect() as connection:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(name)}).scalar())
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(name)})
                connection.commit()
        return
    path = db.url.database
    if not path or path == ":memory:":
        yield True  # one process only
        return
    with open(f"{path}-{name}.lease", "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
