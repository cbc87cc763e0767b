"""Substring search over the folded `search_text` columns, through the trigram indexes.

Every term of the search box must occur in `search_text` (both are folded by
crm.core.text.fold). The plain `LIKE '%term%'` decides, always: the indexes only narrow the
rows it is tested on, so results are the same with or without them.

- PostgreSQL: GIN `gin_trgm_ops` indexes serve `LIKE '%term%'` directly for terms of three
  characters or more. Shorter terms give the index no trigram to look up (it would read the
  whole index), so they are tested on the rows the longer terms found.
- SQLite (3.34 or later, where the migration made the FTS5 trigram tables): the terms of
  three characters or more become one FTS5 phrase query, `id IN (SELECT rowid FROM … MATCH …)`;
  without the table the LIKE scans, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from crm.core.text import like_pattern
from crm.db import sqlite_search_table
from crm.extensions import db

TRIGRAM = 3  # characters a term needs for a trigram index to help


def search_conditions(
    search_text: QueryableAttribute[str],
    record_id: QueryableAttribute[int],
    fts_table: str,
    terms: list[str],
) -> list[sa.ColumnElement[bool]]:
    """Conditions finding the rows whose `search_text` holds every folded term."""
    if not terms:
        return []
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    connection = db.session.connection()
    dialect = connection.dialect.name
    conditions: list[sa.ColumnElement[bool]] = []
    for term in terms:
        if dialect == "postgresql" and long_terms and len(term) < TRIGRAM:
            # An expression the trigram index does not cover: filter, do not look up.
            conditions.append((search_text + "").like(like_pattern(term)))
        else:
            conditions.append(search_text.like(like_pattern(term)))
    if dialect == "sqlite" and long_terms and sqlite_search_table(connection, fts_table):
        # Folded terms hold only letters and digits: quoting makes each one a phrase, which
        # the trigram tokenizer matches as a substring (case-insensitively; both are folded).
        match = " AND ".join(f'"{term}"' for term in long_terms)
        fts = sa.table(fts_table, sa.column("rowid", sa.Integer))
        conditions.insert(
            0,
            record_id.in_(
                sa.select(fts.c.rowid).where(sa.literal_column(fts_table).op("MATCH")(match))
            ),
        )
    return conditions
