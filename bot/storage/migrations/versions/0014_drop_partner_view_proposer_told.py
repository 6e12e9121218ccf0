"""partner_views.proposer_told dropped: it was written and never read

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 21:00:00

Whether the proposer has been told a view is missing is already said by the row: its
last chase is spent (`chased` at the limit) and nothing more is due (`chase_at` empty).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner_views") as batch:
        batch.drop_column("proposer_told")


def downgrade() -> None:
    with op.batch_alter_table("partner_views") as batch:
        batch.add_column(
            sa.Column("proposer_told", sa.Boolean(), nullable=False, server_default=sa.false())
        )
