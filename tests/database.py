"""Whole-database helpers for tests that commit for real (browser, race, scheduler tests)."""

from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db


def _tables(conn: sa.Connection) -> list[sa.Table]:
    existing = set(sa.inspect(conn).get_table_names())
    return [t for t in db.metadata.sorted_tables if t.name in existing]


def rows_per_table() -> dict[str, int]:
    """Tables that hold rows, with their counts (needs an application context)."""
    with db.engine.connect() as conn:
        return {
            t.name: n
            for t in _tables(conn)
            if (n := conn.scalar(sa.select(sa.func.count()).select_from(t)))
        }


def delete_every_row() -> None:
    """Empty every table (needs an application context)."""
    with db.engine.begin() as conn:
        for table in reversed(_tables(conn)):
            conn.execute(table.delete())
