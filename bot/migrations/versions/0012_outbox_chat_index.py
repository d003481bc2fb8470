"""outbox chat index: no second index on an outbox message's conversation (ix_outbox_message_chat_state
starts with it); every message written pays for one index less

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:10:00
"""

from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain index operation (no batch): SQLite drops it in place, the table is not rebuilt.
    op.drop_index("ix_outbox_message_conversation_id", table_name="outbox_message")


def downgrade() -> None:
    op.create_index("ix_outbox_message_conversation_id", "outbox_message", ["conversation_id"], unique=False)
