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


# SQLite cannot reflect an index on an expression (lower(district)); SQLAlchemy says so with a warning
# and the comparison leaves that index out there. PostgreSQL compares it in full.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index:UserWarning")
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


def test_0004_marks_the_lines_a_ticket_copied_when_it_opened_and_drops_priority(tmp_path):
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


def test_the_outbox_migration_keeps_what_was_queued_sent_held_and_failed(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    command.upgrade(db.alembic_config(url), "0003")
    engine = db.create_db_engine(url)
    stamp = "2026-11-24 06:30:00.000000"
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run(f"INSERT INTO conversation (id, channel, user_key, lang_chosen, unclear_streak, reminders_opted_out, "
            f"verified_phone, recent, created_at, updated_at) VALUES (1, 'whatsapp', '+919876500001', 0, 0, 1, "
            f"'+919876500001', '[]', '{stamp}', '{stamp}')")  # fmt: skip
        run(f"INSERT INTO employee (id, name, phone, preferred_lang, created_at, updated_at) "
            f"VALUES (1, 'Sunita Sahu', '+919876500001', 'en', '{stamp}', '{stamp}')")  # fmt: skip
        for outbox_id, columns in enumerate(
            [
                "NULL, NULL, NULL, NULL",  # queued
                f"'{stamp}', NULL, 'delivered', NULL",  # delivered
                "NULL, NULL, 'held', '2026-12-01 00:00:00.000000'",  # held until the claimed_at
                f"NULL, '{stamp}', 'undelivered', NULL",  # failed
            ],
            start=1,
        ):
            run(f"INSERT INTO outbox_message (id, conversation_id, kind, text, options, created_at, attempts, "
                f"delivered_at, failed_at, delivery_status, claimed_at) VALUES ({outbox_id}, 1, 'staff_reply', 'x', "
                f"'[]', '{stamp}', 1, {columns})")  # fmt: skip
        run(f"INSERT INTO reminder (id, campaign, employee_id, period, status, due_at, attempts, created_at, "
            f"outbox_id) VALUES (1, 'c', 1, 'p1', 'sent', '{stamp}', 1, '{stamp}', 2), "
            f"(2, 'c', 1, 'p2', 'sending', '{stamp}', 1, '{stamp}', NULL)")  # fmt: skip
    db.upgrade(url)
    with engine.connect() as connection:
        run = connection.exec_driver_sql
        states = run("SELECT id, state, next_attempt_at IS NOT NULL, reminder_id FROM outbox_message ORDER BY id").all()
        assert [tuple(row) for row in states] == [
            (1, "queued", 0, None), (2, "delivered", 0, 1), (3, "held", 1, None), (4, "failed", 0, None),
        ]  # fmt: skip
        assert run("SELECT status FROM reminder ORDER BY id").scalars().all() == ["sent", "planned"]
        assert tuple(run("SELECT phone, reminders_opted_out, lang FROM person").one()) == ("+919876500001", 1, "en")
    engine.dispose()


def test_the_case_blind_employee_indexes_survive_every_migration(tmp_path):
    """SQLite rebuilds a table to drop a column (0005 drops employee.preferred_lang) and cannot reflect an
    index on an expression, so a rebuild after 0006 would lose the lower(district) indexes unnoticed."""
    url = f"sqlite:///{tmp_path}/fresh.db"
    db.upgrade(url)
    engine = db.create_db_engine(url)
    with engine.connect() as connection:
        names = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars().all()
    engine.dispose()
    assert {"ix_employee_district_key", "ix_employee_department_key"} <= set(names)
