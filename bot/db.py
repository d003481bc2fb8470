"""Database engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

from bot.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Route plain `postgresql://` URLs to the psycopg 3 driver the project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The process's pooled engine for a database URL (default: the configured one)."""
    return create_db_engine(url or get_settings().database_url)


def create_db_engine(url: str) -> Engine:
    """A new engine, tuned for its backend."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def _tune_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers and one writer work at once; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_SQLITE_WRITERS: dict[str, threading.Lock] = {}


@contextmanager
def write_scope(engine: Engine) -> Iterator[Session]:
    """A session for a transaction that writes; on SQLite, one writer at a time (see `_sqlite_writer`)."""
    if engine.dialect.name != "sqlite":
        with session_scope(engine) as session:
            yield session
        return
    with _sqlite_writer(engine), session_scope(engine) as session:
        # Take the write lock up front: a transaction that reads first and writes later can find
        # another process's writer in the way and fail at once instead of waiting its turn.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


@contextmanager
def _sqlite_writer(engine: Engine) -> Iterator[None]:
    """Queue for SQLite's single writer: threads on a lock, worker processes on an flock of a file beside
    the database. The kernel wakes the next writer as soon as the last one ends, where SQLite's own
    busy timeout polls in sleeps of up to 100 ms. Writers outside this queue (say, a command-line
    import) still meet the busy timeout."""
    path = engine.url.database
    with _SQLITE_WRITERS.setdefault(str(engine.url), threading.Lock()):
        if not path or path == ":memory:":
            yield
            return
        # Opened for each transaction: an flock belongs to the open file, which a forked child would share.
        with open(f"{path}-writer.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def dialect_insert(
    bind: Engine | Connection,
) -> Callable[[type[SQLModel]], postgresql.Insert | sqlite.Insert]:
    """The database's own INSERT, which can say ON CONFLICT DO NOTHING (PostgreSQL and SQLite spell it alike)."""
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


def ids_by_value(pairs: Iterable[tuple[int, Hashable]]) -> dict[Any, list[int]]:
    """Row ids grouped by the values to be written to them: one `UPDATE … WHERE id IN (…)` per group
    instead of one statement per row."""
    groups: dict[Any, list[int]] = {}
    for row_id, value in pairs:
        groups.setdefault(value, []).append(row_id)
    return groups


def alembic_config(url: str) -> Config:
    """Alembic configured for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    """Apply every pending schema migration."""
    command.upgrade(alembic_config(url or get_settings().database_url), "head")


class SchemaError(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to run."""


def check_schema(url: str) -> None:
    """Raise `SchemaError` unless the database is migrated to this code's latest revision."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    if current != head:
        raise SchemaError(
            f"the database schema is at revision {current or 'none'}, this version needs {head}: "
            "run `helpdesk db upgrade`"
        )
