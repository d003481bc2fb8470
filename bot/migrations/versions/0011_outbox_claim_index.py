"""outbox claim index: each state's messages in id order, so a claim stops at its limit

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:05:00
"""

from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index operations (no batch): SQLite does them in place, the table is not rebuilt.
    op.drop_index("ix_outbox_message_state", table_name="outbox_message")
    op.create_index("ix_outbox_message_state_id", "outbox_message", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_message_state_id", table_name="outbox_message")
    op.create_index("ix_outbox_message_state", "outbox_message", ["state", "next_attempt_at"], unique=False)
