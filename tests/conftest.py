"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) and the engine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot import db
from bot.brain import Brain, load_brain
from bot.config import PROJECT_ROOT, Settings
from bot.dialogue import Engine as DialogueEngine

BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url and os.environ.get("CI") == "true":
        pytest.fail("TEST_DATABASE_URL must be set under CI=true: the PostgreSQL tests may not skip")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


def _create_database_if_missing(url: str) -> None:
    target = make_url(db.normalise_url(url))
    maintenance = db.create_db_engine(target.set(database="postgres").render_as_string(hide_password=False))
    with maintenance.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    maintenance.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    url = postgres_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    _create_database_if_missing(url)
    engine = db.create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.upgrade(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """An empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "helpdesk.db"
        shutil.copy(sqlite_template, path)
        engine = db.create_db_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine


@pytest.fixture(scope="session")
def brain() -> Brain:
    return load_brain(PROJECT_ROOT)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_language="hi")


@pytest.fixture
def engine(brain: Brain, db_engine: Engine, settings: Settings) -> DialogueEngine:
    """The conversation engine on a fresh database."""
    return DialogueEngine(brain=brain, db=db_engine, settings=settings)
