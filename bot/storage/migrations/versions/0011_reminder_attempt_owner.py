"""reminder_attempts.owner: which pass is posting it, so a live one is left alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 14:30:00

A pass now commits its attempts before posting, so another pass can see them while the
post is in flight. `owner` names the pass (on Postgres, the key of an advisory lock it
holds while it runs): an attempt whose owner still runs is in flight and left alone;
one whose owner has stopped is looked for in the channel by its tag.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_attempts") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder_attempts") as batch:
        batch.drop_column("owner")
