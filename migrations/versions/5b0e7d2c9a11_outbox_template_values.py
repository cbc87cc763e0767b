"""Outbox: template values of e-mails whose bodies are rendered at delivery

Bulk jobs (the follow-up reminders) store the values to render the bodies with, and the
deliverer renders them just before sending; NULL once the bodies are written. Only a column
is added to outbox_messages: on SQLite that is a plain ALTER TABLE ADD COLUMN, no table is
rebuilt (so the FTS5 triggers of 01f32887eb46 on other tables are not touched).

Revision ID: 5b0e7d2c9a11
Revises: 01f32887eb46
Create Date: 2026-11-28 18:36:10.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b0e7d2c9a11'
down_revision = '01f32887eb46'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_values', sa.JSON(), nullable=True))


def downgrade():
    # Bodies still waiting to be written would be lost: write them first (deliver the outbox).
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('template_values')
