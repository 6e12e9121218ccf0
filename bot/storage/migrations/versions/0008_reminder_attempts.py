"""reminder_attempts: a reminder post about to be made, kept until it is recorded

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_attempts",
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("send", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reminder_id", "send", "tag"),
    )


def downgrade() -> None:
    op.drop_table("reminder_attempts")
