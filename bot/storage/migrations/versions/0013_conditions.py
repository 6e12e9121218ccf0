"""conditions: each flag of a posted recommendation followed to the end

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 17:00:00

A condition is open, met, or dropped with a reason, and has an owner. The thread
message listing them (with their controls) is partnerships.follow_up_ts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conditions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("partnership_id", sa.Integer(), sa.ForeignKey("partnerships.id"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("tip", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("view", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviews_open", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("partnership_id", "key", name="uq_conditions_key"),
    )
    op.create_index("ix_conditions_partnership_id", "conditions", ["partnership_id"])
    with op.batch_alter_table("partnerships") as batch:
        batch.add_column(sa.Column("follow_up_ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partnerships") as batch:
        batch.drop_column("follow_up_ts")
    op.drop_index("ix_conditions_partnership_id", table_name="conditions")
    op.drop_table("conditions")
