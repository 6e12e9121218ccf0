"""outbox: posts that failed after their state was saved, to be posted again

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("conversation_version", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_next_at", "outbox", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_next_at", table_name="outbox")
    op.drop_table("outbox")
