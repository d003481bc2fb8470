"""one outbox: delivery states and leases, people's preferences, stored replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00

- outbox_message gets a `state` (queued, sending, sent, delivered, read, held, failed, cancelled)
  derived from the old delivered_at / delivery_status / failed_at, a lease (owner and expiry)
  instead of claimed_at, a retry time, the language of pre-rendered text and a WhatsApp template;
  delivered_at becomes sent_at (it always meant "handed to the provider"). A ticket's staff-group
  post is unique.
- reminder loses its own lease queue (the outbox sends reminders now): a reminder that was
  `sending` when the old sender stopped is planned again and sent once more. Its message points at
  it (outbox_message.reminder_id, like ticket_id) instead of the other way round.
- person: opt-out and language belong to the person (by vouched phone), filled from the
  conversations' opt-outs and the never-imported employee.preferred_lang, which is dropped.
- inbound_receipt keeps the replies it was answered with; reminder_rate becomes send_rate.
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_STATE = (
    "CASE WHEN failed_at IS NOT NULL THEN 'failed' "
    "WHEN delivery_status = 'held' THEN 'held' "
    "WHEN delivery_status IN ('delivered', 'read') THEN delivery_status "
    "WHEN delivered_at IS NOT NULL THEN 'sent' ELSE 'queued' END"
)


def upgrade() -> None:
    _people()
    _outbox()
    _reminders()
    op.rename_table("reminder_rate", "send_rate")
    with op.batch_alter_table("inbound_receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply", sa.JSON(), nullable=True))


def _people() -> None:
    person = op.create_table(
        "person",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reminders_opted_out", sa.Boolean(), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    bind = op.get_bind()
    conversation = sa.table("conversation", sa.column("verified_phone"), sa.column("reminders_opted_out"))
    employee = sa.table("employee", sa.column("phone"), sa.column("preferred_lang"))
    people: dict[str, dict] = {}
    for phone, opted_out in bind.execute(
        sa.select(conversation.c.verified_phone, conversation.c.reminders_opted_out).where(
            conversation.c.verified_phone.is_not(None)
        )
    ):
        entry = people.setdefault(phone, {"phone": phone, "reminders_opted_out": False, "lang": None})
        entry["reminders_opted_out"] = entry["reminders_opted_out"] or bool(opted_out)
    for phone, lang in bind.execute(
        sa.select(employee.c.phone, employee.c.preferred_lang).where(
            employee.c.phone.is_not(None), employee.c.preferred_lang.is_not(None)
        )
    ):
        entry = people.setdefault(phone, {"phone": phone, "reminders_opted_out": False, "lang": None})
        entry["lang"] = entry["lang"] or lang
    if people:
        now = datetime.now(UTC)
        op.bulk_insert(person, [{**entry, "updated_at": now} for entry in people.values()])
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.drop_column("preferred_lang")


def _outbox() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column("template", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_message_reminder_id"), ["reminder_id"], unique=False)
        batch_op.create_foreign_key("fk_outbox_message_reminder_id", "reminder", ["reminder_id"], ["id"])
        batch_op.add_column(sa.Column("ticket_message_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_message_ticket_message_id"), ["ticket_message_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_outbox_message_ticket_message_id", "ticket_message", ["ticket_message_id"], ["id"]
        )
    op.execute(
        "UPDATE outbox_message SET reminder_id = "
        "(SELECT reminder.id FROM reminder WHERE reminder.outbox_id = outbox_message.id)"
    )
    # A held message's claimed_at was the end of its hold.
    op.execute(
        f"UPDATE outbox_message SET state = {_STATE}, "
        "next_attempt_at = CASE WHEN delivery_status = 'held' THEN claimed_at END"
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False)
        batch_op.drop_index(batch_op.f("ix_outbox_message_delivered_at"))
        batch_op.alter_column("delivered_at", new_column_name="sent_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("delivery_status")
        batch_op.create_index("ix_outbox_message_state", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_message_chat_state", ["conversation_id", "state"], unique=False)
        batch_op.create_index(
            "ix_outbox_message_staff_post",
            ["ticket_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'staff_post'"),
            postgresql_where=sa.text("kind = 'staff_post'"),
        )


def _reminders() -> None:
    op.execute("UPDATE reminder SET status = 'planned', claimed_by = NULL, claimed_at = NULL WHERE status = 'sending'")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        for column in (
            "next_attempt_at",
            "claimed_by",
            "claimed_at",
            "attempts",
            "provider_message_id",
            "sent_at",
            "outbox_id",
        ):
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("inbound_receipt", schema=None) as batch_op:
        batch_op.drop_column("reply")
    op.rename_table("send_rate", "reminder_rate")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE reminder SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END, outbox_id = "
        "(SELECT outbox_message.id FROM outbox_message WHERE outbox_message.reminder_id = reminder.id)"
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_staff_post")
        batch_op.drop_index("ix_outbox_message_chat_state")
        batch_op.drop_index("ix_outbox_message_state")
        batch_op.add_column(sa.Column("delivery_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.alter_column("sent_at", new_column_name="delivered_at")
    op.execute(
        "UPDATE outbox_message SET delivery_status = CASE WHEN state IN ('held', 'delivered', 'read', 'sent') "
        "THEN state END, claimed_at = CASE WHEN state = 'held' THEN next_attempt_at END"
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_delivered_at"), ["delivered_at"], unique=False)
        batch_op.drop_constraint("fk_outbox_message_reminder_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_message_reminder_id"))
        batch_op.drop_constraint("fk_outbox_message_ticket_message_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_message_ticket_message_id"))
        for column in (
            "ticket_message_id",
            "reminder_id",
            "lease_until",
            "lease_owner",
            "next_attempt_at",
            "state",
            "template",
            "lang",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_lang", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
    op.drop_table("person")
