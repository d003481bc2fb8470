"""Schema: the Alembic migrations build exactly the tables the models declare, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from bot import db
from bot.models import Conversation


def test_migrations_match_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_every_table_exists(db_engine):
    tables = set(inspect(db_engine).get_table_names())
    assert {table.name for table in SQLModel.metadata.sorted_tables} <= tables


def test_upgrade_is_idempotent_and_downgrade_reversible(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    db.upgrade(url)
    db.upgrade(url)
    command.downgrade(db.alembic_config(url), "base")
    engine = db.create_db_engine(url)
    assert Conversation.__tablename__ not in inspect(engine).get_table_names()
    engine.dispose()


def test_plain_postgresql_urls_use_psycopg():
    assert db.normalise_url("postgresql://postgres@localhost/x").startswith("postgresql+psycopg://")
    assert db.normalise_url("sqlite:///helpdesk.db") == "sqlite:///helpdesk.db"
