"""dashboard facts and refreshes

The managers' dashboard reads pre-aggregated counts: dashboard_facts holds them (one metric
per row, at one grain, per month and per programme, sector, country and officer), rebuilt as
a whole by `crm dashboard refresh` and the scheduler (crm.dashboard.facts); no primary key,
since rows are never addressed one by one. dashboard_refreshes records when the counts were
computed and how long it took, so the page can say how fresh they are.

Revision ID: 6cb1918c650e
Revises: d387a2e6414a
Create Date: 2026-12-06 07:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6cb1918c650e'
down_revision = 'd387a2e6414a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dashboard_facts',
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('grain', sa.String(length=4), nullable=False),
    sa.Column('month', sa.Date(), nullable=True),
    sa.Column('month2', sa.Date(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('sector', sa.String(length=1), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=60), server_default='', nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.Float(), nullable=True)
    )
    with op.batch_alter_table('dashboard_facts', schema=None) as batch_op:
        batch_op.create_index('ix_dashboard_facts_officer', ['metric', 'grain', 'officer_id', 'month'], unique=False)
        batch_op.create_index('ix_dashboard_facts_programme', ['metric', 'grain', 'programme_id', 'month'], unique=False)

    op.create_table('dashboard_refreshes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('facts', sa.Integer(), nullable=False),
    sa.Column('stages', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_refreshes'))
    )
    with op.batch_alter_table('dashboard_refreshes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_refreshes_computed_at'), ['computed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('dashboard_refreshes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_refreshes_computed_at'))

    op.drop_table('dashboard_refreshes')
    with op.batch_alter_table('dashboard_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_facts_programme')
        batch_op.drop_index('ix_dashboard_facts_officer')

    op.drop_table('dashboard_facts')
