"""partner_views: each partner organisation's view of a check, and who gives it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 16:30:00

The proposer invites one person per partner organisation; their answers to the partner
questionnaire join the check's assessment. A partner's questionnaire is a conversation
of kind "partner" pointing at its invitation (conversations.view_id).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("check_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("invited_by", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("chased", sa.Integer(), nullable=False),
        sa.Column("chase_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proposer_told", sa.Boolean(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("check_id", "organisation", name="uq_partner_views_check_org"),
    )
    op.create_index("ix_partner_views_check_id", "partner_views", ["check_id"])
    op.create_index("ix_partner_views_chase", "partner_views", ["status", "chase_at"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("view_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_conversations_view", "partner_views", ["view_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("fk_conversations_view", type_="foreignkey")
        batch.drop_column("view_id")
    op.drop_index("ix_partner_views_chase", table_name="partner_views")
    op.drop_index("ix_partner_views_check_id", table_name="partner_views")
    op.drop_table("partner_views")
