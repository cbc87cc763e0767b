"""A partial index for the reminder job's claim: open follow-ups not yet reminded

Revision ID: b5e1c7d90a42
Revises: 6cb1918c650e
Create Date: 2026-12-06 08:40:00

The old index (status, reminder_sent_at, due_at) made every claim read and sort all due
rows; this one holds only the rows a claim may take, in the claim's order.
"""

import sqlalchemy as sa
from alembic import op

revision = "b5e1c7d90a42"
down_revision = "6cb1918c650e"
branch_labels = None
depends_on = None

PENDING = "status = 'open' AND reminder_sent_at IS NULL"


def upgrade():
    op.drop_index("ix_follow_ups_reminders_due", table_name="follow_ups")
    op.create_index(
        "ix_follow_ups_reminders_due",
        "follow_ups",
        ["due_at", "id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade():
    op.drop_index("ix_follow_ups_reminders_due", table_name="follow_ups")
    op.create_index(
        "ix_follow_ups_reminders_due", "follow_ups", ["status", "reminder_sent_at", "due_at"]
    )
