"""records: employees found by district and department regardless of case

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("district", "department"):
        op.create_index(f"ix_employee_{column}_key", "employee", [sa.text(f"lower({column})")], unique=False)


def downgrade() -> None:
    for column in ("district", "department"):
        op.drop_index(f"ix_employee_{column}_key", table_name="employee")
