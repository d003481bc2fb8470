"""campaigns made in the staff console; reminders combined into one message a day per person

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:52:45.963672
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Plain ALTERs, no batch copy of the table: SQLite adds and drops a column in place (3.35+).
    op.add_column("reminder", sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column("reminder", sa.Column("combined_into", sa.Integer(), nullable=True))
    op.create_index("ix_reminder_combined_into", "reminder", ["combined_into"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminder_combined_into", table_name="reminder")
    op.drop_column("reminder", "combined_into")
    op.drop_column("reminder", "queued_at")
    op.drop_table("campaign")
