"""Covering index for capacity counts and matching; learner search on SQLite

Matching counts, per organisation, the placements that take a place in a period: the old
(organisation_id, start_date) index made the database read every such placement's row to
test its end date, state and `period_held`. The index now carries those columns.

Learner search on SQLite: an FTS5 trigram table `learner_search` over learners.search_text,
kept by triggers, as migration 01f32887eb46 made for organisations and contacts
(PostgreSQL has had its pg_trgm index since 7c3d1e9f4b22).

Revision ID: 9d4e2f1a7b33
Revises: 7c3d1e9f4b22
Create Date: 2026-11-28 19:50:00

"""
import sqlite3

from alembic import op


# revision identifiers, used by Alembic.
revision = '9d4e2f1a7b33'
down_revision = '7c3d1e9f4b22'
branch_labels = None
depends_on = None

COLUMNS = ["organisation_id", "start_date", "end_date", "period_held", "state"]


def upgrade():
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_organisation_period')
        batch_op.create_index('ix_placements_organisation_period', COLUMNS, unique=False)
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 34, 0):
        create_learner_search()


def create_learner_search():
    """The FTS5 trigram index of learners.search_text, its triggers, and its first build."""
    op.execute(
        "CREATE VIRTUAL TABLE learner_search USING fts5(search_text, content='learners', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER learner_search_ai AFTER INSERT ON learners BEGIN "
        "INSERT INTO learner_search(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER learner_search_ad AFTER DELETE ON learners BEGIN "
        "INSERT INTO learner_search(learner_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER learner_search_au AFTER UPDATE OF search_text ON learners BEGIN "
        "INSERT INTO learner_search(learner_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO learner_search(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute("INSERT INTO learner_search(learner_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("learner_search_ai", "learner_search_ad", "learner_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS learner_search")
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_organisation_period')
        batch_op.create_index(
            'ix_placements_organisation_period', ['organisation_id', 'start_date'], unique=False
        )
