"""reviews and reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:24:28.033347
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("reviewer_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partnership_id", "due_on", name="uq_reminders_partnership_due"),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_due", ["state", "send_at"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("post_state", sa.String(length=16), nullable=False),
        sa.Column("post_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reviews_partnership_id"), ["partnership_id"], unique=False
        )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partnership_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("message_version", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_conversations_reminder", "reminders", ["reminder_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_conversations_partnership", "partnerships", ["partnership_id"], ["id"]
        )

    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("cadence", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("owner_tz", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("next_review_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_reviewed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_decision", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_column("last_decision")
        batch_op.drop_column("last_reviewed_on")
        batch_op.drop_column("next_review_on")
        batch_op.drop_column("owner_tz")
        batch_op.drop_column("cadence")
        batch_op.drop_column("status")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversations_reminder", type_="foreignkey")
        batch_op.drop_constraint("fk_conversations_partnership", type_="foreignkey")
        batch_op.drop_column("message_version")
        batch_op.drop_column("reminder_id")
        batch_op.drop_column("partnership_id")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_partnership_id"))

    op.drop_table("reviews")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_due")

    op.drop_table("reminders")
