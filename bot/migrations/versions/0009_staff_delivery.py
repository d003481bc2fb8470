"""staff delivery: files users sent, fetched once from their channel for the console; how far the
Telegram staff group has followed each ticket

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:05:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_file",
        sa.Column("ticket_message_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_message_id"], ["ticket_message.id"]),
        sa.PrimaryKeyConstraint("ticket_message_id"),
    )
    # Plain ALTER TABLE (no batch copy): SQLite adds and drops a column without foreign keys itself.
    op.add_column("ticket", sa.Column("staff_seen_line_id", sa.Integer(), nullable=True))
    # A ticket already posted has been seen up to now: only what its user writes from here on follows.
    op.execute(
        "UPDATE ticket SET staff_seen_line_id = "
        "(SELECT max(ticket_message.id) FROM ticket_message WHERE ticket_message.ticket_id = ticket.id) "
        "WHERE staff_post_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("ticket", "staff_seen_line_id")
    op.drop_table("attachment_file")
