"""Schema: the Alembic migrations build exactly the tables the models declare, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot import db
from bot.models import Conversation


# SQLite's reflection cannot read the expression indexes on lower(district)/lower(department), and says
# so; PostgreSQL's can, and compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
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


def test_0006_marks_the_lines_a_ticket_copied_when_it_opened_and_drops_priority(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    command.upgrade(db.alembic_config(url), "0003")
    engine = db.create_db_engine(url)
    opened, later = "2026-11-24 10:00:00.000000", "2026-11-24 11:30:00.000000"
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO conversation (id, channel, user_key, lang_chosen, unclear_streak, "
                                "reminders_opted_out, recent, created_at, updated_at) VALUES "
                                "(1, 'console', 'u', 0, 0, 0, '[]', :at, :at)"), {"at": opened})  # fmt: skip
        connection.execute(text("INSERT INTO staff (id, name, active, created_at) VALUES (1, 'desk1', 1, :at)"),
                           {"at": opened})  # fmt: skip
        connection.execute(text("INSERT INTO ticket (id, ref, conversation_id, channel, lang, category, priority, "
                                "status, reason, created_at, updated_at, sla_due_at) VALUES (1, 'HD-000001', 1, "
                                "'console', 'hi', 'general', 'normal', 'open', 'asked', :at, :at, :at)"),
                           {"at": opened})  # fmt: skip
        for author, at in (("user", opened), ("bot", opened), ("user", later), ("note", later)):
            connection.execute(text("INSERT INTO ticket_message (ticket_id, author, text, created_at) "
                                    "VALUES (1, :author, 'x', :at)"), {"author": author, "at": at})  # fmt: skip
    db.upgrade(url)
    with engine.connect() as connection:
        flags = connection.execute(text("SELECT author, before_ticket FROM ticket_message ORDER BY id")).all()
        staff = connection.execute(text("SELECT role, districts, lang FROM staff")).one()
    assert [(author, bool(flag)) for author, flag in flags] == [
        ("user", True), ("bot", True), ("user", False), ("note", False)
    ]  # fmt: skip
    assert tuple(staff) == ("staff", "[]", "en")
    assert "priority" not in {column["name"] for column in inspect(engine).get_columns("ticket")}
    engine.dispose()
