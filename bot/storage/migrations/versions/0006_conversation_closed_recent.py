"""conversations.closed_ts holds the last few messages closed, not only the last one

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column(
            "closed_ts", existing_type=sa.String(length=32), type_=sa.String(length=255)
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column(
            "closed_ts", existing_type=sa.String(length=255), type_=sa.String(length=32)
        )
