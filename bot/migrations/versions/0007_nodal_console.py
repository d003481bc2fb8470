"""nodal console: reports imported from the staff console (their jobs and rejected rows)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:57:22.706980
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("progress_bytes", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("allow_rollback", sa.Boolean(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("ignored_older", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("outside_scope", sa.Integer(), nullable=False),
        sa.Column("employees_added", sa.Integer(), nullable=False),
        sa.Column("employees_updated", sa.Integer(), nullable=False),
        sa.Column("courses_added", sa.Integer(), nullable=False),
        sa.Column("shared_phones", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("worker_host", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index("ix_import_job_staff_created", ["staff_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_job_status"), ["status"], unique=False)

    op.create_table(
        "import_rejects",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_job.id"],
        ),
        sa.PrimaryKeyConstraint("job_id", "part"),
    )


def downgrade() -> None:
    op.drop_table("import_rejects")
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_status"))
        batch_op.drop_index("ix_import_job_staff_created")

    op.drop_table("import_job")
