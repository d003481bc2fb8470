"""staff workspace: roles and scopes, server-side console sessions, the login throttle, canned answers,
an audit trail beyond tickets, taps and context lines in ticket transcripts; Ticket.priority dropped

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:21:47.759422
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("text_en", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text_hi", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("title"),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("wait_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_last_failure_at"), ["last_failure_at"], unique=False)

    op.create_table(
        "staff_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_event_created_at"), ["created_at"], unique=False)

    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_staff_id"), ["staff_id"], unique=False)

    # Existing accounts were all helpdesk staff; server defaults fill the new columns for them.
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default="staff")
        )
        batch_op.add_column(sa.Column("districts", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("departments", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False, server_default="en")
        )

    # Always "normal": nothing ever set or read it.
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("priority")

    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("choice", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("before_ticket", sa.Boolean(), nullable=False, server_default=sa.false()))
    # The lines a ticket copied from the conversation when it opened were stamped with the ticket's own
    # creation time; everything added later (user messages, replies, notes) came after it.
    op.execute(
        "UPDATE ticket_message SET before_ticket = true WHERE author IN ('user', 'bot') AND created_at = "
        "(SELECT ticket.created_at FROM ticket WHERE ticket.id = ticket_message.ticket_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_column("before_ticket")
        batch_op.drop_column("choice")

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.VARCHAR(length=10), nullable=False, server_default="normal")
        )

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("lang")
        batch_op.drop_column("departments")
        batch_op.drop_column("districts")
        batch_op.drop_column("role")

    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_staff_id"))
    op.drop_table("staff_session")
    with op.batch_alter_table("staff_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_event_created_at"))
    op.drop_table("staff_event")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_last_failure_at"))
    op.drop_table("login_throttle")
    op.drop_table("canned_answer")
