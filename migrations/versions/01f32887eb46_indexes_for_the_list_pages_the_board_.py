"""Indexes for the list pages, the board and search

Partial indexes for the organisation and contact lists' order (the old (archived_at,
sort_name) indexes misled SQLite's planner and could not serve ORDER BY sort_name, id),
indexes for the partnership list's and board's order, and substring-search indexes:
pg_trgm GIN indexes on PostgreSQL, FTS5 trigram tables kept by triggers on SQLite.

SQLite note: the FTS5 tables are external-content tables over organisations and contacts,
kept in step by triggers on those tables. A later batch migration that rebuilds either table
(move and copy) drops its triggers with it: such a migration must call
`create_sqlite_search(...)` again afterwards (or copy this module's SQL).

Revision ID: 01f32887eb46
Revises: fc9f7ca72904
Create Date: 2026-11-28 17:33:39.852722

"""
import sqlite3

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '01f32887eb46'
down_revision = 'fc9f7ca72904'
branch_labels = None
depends_on = None

ACTIVE = "archived_at IS NULL"
ARCHIVED = "archived_at IS NOT NULL"
# (FTS5 table, content table) pairs: the search box of the organisation and contact lists.
SEARCH_TABLES = (("organisation_search", "organisations"), ("contact_search", "contacts"))


def sqlite_has_trigram():
    """FTS5's trigram tokenizer arrived in SQLite 3.34."""
    return sqlite3.sqlite_version_info >= (3, 34, 0)


def create_sqlite_search(search, table):
    """An FTS5 trigram index of `table`.search_text, its triggers, and its first build."""
    op.execute(
        f"CREATE VIRTUAL TABLE {search} USING fts5(search_text, content='{table}', "
        f"content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER {search}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {search}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {search}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {search}({search}, rowid, search_text) "
        f"VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {search}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {search}({search}, rowid, search_text) "
        f"VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {search}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(f"INSERT INTO {search}({search}) VALUES ('rebuild')")


def drop_sqlite_search(search):
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS {search}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {search}")


def upgrade():
    dialect = op.get_bind().dialect.name

    op.drop_index("ix_contacts_active_name", table_name="contacts")
    op.create_index(
        "ix_contacts_active_sort", "contacts", ["sort_name", "id"],
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )
    op.drop_index("ix_organisations_active_name", table_name="organisations")
    op.create_index(
        "ix_organisations_active_sort", "organisations", ["sort_name", "id"],
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_organisations_archived", "organisations", ["archived_at"],
        sqlite_where=sa.text(ARCHIVED), postgresql_where=sa.text(ARCHIVED),
    )

    op.drop_index("ix_partnerships_board", table_name="partnerships")
    op.create_index(
        "ix_partnerships_list", "partnerships", ["workflow_name", "state_entered_at", "id"]
    )
    op.create_index(
        "ix_partnerships_state_order", "partnerships",
        ["workflow_name", "state", "state_entered_at", "id"],
    )

    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, index in (("organisations", "ix_organisations_search_trgm"),
                             ("contacts", "ix_contacts_search_trgm")):
            op.create_index(
                index, table, ["search_text"],
                postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"},
            )
    elif dialect == "sqlite" and sqlite_has_trigram():
        for search, table in SEARCH_TABLES:
            create_sqlite_search(search, table)
    if dialect == "sqlite":
        op.execute("ANALYZE")  # the planner's statistics for the new indexes


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.drop_index("ix_contacts_search_trgm", table_name="contacts")
        op.drop_index("ix_organisations_search_trgm", table_name="organisations")
        # The pg_trgm extension stays: other objects may use it.
    elif dialect == "sqlite":
        for search, _table in SEARCH_TABLES:
            drop_sqlite_search(search)

    op.drop_index("ix_partnerships_state_order", table_name="partnerships")
    op.drop_index("ix_partnerships_list", table_name="partnerships")
    op.create_index(
        "ix_partnerships_board", "partnerships", ["workflow_name", "state", "owner_id"]
    )

    op.drop_index("ix_organisations_archived", table_name="organisations")
    op.drop_index("ix_organisations_active_sort", table_name="organisations")
    op.create_index(
        "ix_organisations_active_name", "organisations", ["archived_at", "sort_name"]
    )
    op.drop_index("ix_contacts_active_sort", table_name="contacts")
    op.create_index("ix_contacts_active_name", "contacts", ["archived_at", "sort_name"])
