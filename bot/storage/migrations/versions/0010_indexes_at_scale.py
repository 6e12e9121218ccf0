"""indexes for a million partnerships: due reminders by channel, a person's latest checks
and active conversation, posts left in flight

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 13:00:00

Plain CREATE INDEX: on Postgres each one holds off writes to its table while it is built
(a few seconds for a million rows), inside the one transaction `Database.upgrade` runs.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

POSTING = "post_state = 'posting'"


def upgrade() -> None:
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.create_index("ix_reminders_due", "reminders", ["state", "send_at", "channel_id"])
    op.create_index("ix_reminders_channel_due", "reminders", ["channel_id", "state", "send_at"])
    op.drop_index("ix_conversations_user", table_name="conversations")
    op.create_index(
        "ix_conversations_user_checks", "conversations", ["team_id", "user_id", "kind", "id"]
    )
    op.create_index(
        "ix_conversations_user_status", "conversations", ["team_id", "user_id", "status"]
    )
    for table in ("partnerships", "reviews"):
        op.create_index(
            f"ix_{table}_posting",
            table,
            ["post_claimed_at"],
            sqlite_where=sa.text(POSTING),
            postgresql_where=sa.text(POSTING),
        )


def downgrade() -> None:
    for table in ("reviews", "partnerships"):
        op.drop_index(f"ix_{table}_posting", table_name=table)
    op.drop_index("ix_conversations_user_status", table_name="conversations")
    op.drop_index("ix_conversations_user_checks", table_name="conversations")
    op.create_index("ix_conversations_user", "conversations", ["team_id", "user_id"])
    op.drop_index("ix_reminders_channel_due", table_name="reminders")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.create_index("ix_reminders_due", "reminders", ["state", "send_at"])
