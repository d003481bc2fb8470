"""staff delivery: files users sent, fetched once from their channel for the console

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


def downgrade() -> None:
    op.drop_table("attachment_file")
