"""knowledge loop: unanswered questions, their clusters, knowledge added at run time, message outcomes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:50:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("topic_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gap_cluster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gap_cluster_status"), ["status"], unique=False)

    op.create_table(
        "knowledge_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("topic_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reverted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reverted_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["gap_cluster.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("knowledge_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_change_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "message_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("feedback", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_outcome", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_outcome_created_at"), ["created_at"], unique=False)

    op.create_table(
        "unanswered_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["gap_cluster.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unanswered_question_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unanswered_question_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_question_created_at"))
        batch_op.drop_index(batch_op.f("ix_unanswered_question_cluster_id"))

    op.drop_table("unanswered_question")
    with op.batch_alter_table("message_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_outcome_created_at"))

    op.drop_table("message_outcome")
    with op.batch_alter_table("knowledge_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_change_topic_id"))

    op.drop_table("knowledge_change")
    with op.batch_alter_table("gap_cluster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gap_cluster_status"))

    op.drop_table("gap_cluster")
