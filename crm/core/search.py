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

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from crm.core.text import like_pattern
from crm.db import sqlite_search_table
from crm.extensions import db

TRIGRAM = 3  # characters a term needs for a trigram index to help

Column = sa.ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class SearchShape:
    """What the SQL of a search depends on besides the terms' letters: the database, whether
    SQLite's FTS5 table is there, and which terms are long enough for a trigram index."""

    dialect: str
    fts: bool
    long_terms: tuple[bool, ...]


def search_shape(fts_table: str, terms: list[str]) -> SearchShape:
    """The shape of a search for `terms` on the current connection."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    return SearchShape(
        dialect,
        dialect == "sqlite" and sqlite_search_table(connection, fts_table),
        tuple(len(term) >= TRIGRAM for term in terms),
    )


def search_conditions(
    search_text: QueryableAttribute[str],
    record_id: QueryableAttribute[int],
    fts_table: str,
    terms: list[str],
) -> list[sa.ColumnElement[bool]]:
    """Conditions finding the rows whose `search_text` holds every folded term."""
    if not terms:
        return []
    shape = search_shape(fts_table, terms)
    return _conditions(
        search_text,
        record_id,
        fts_table,
        shape,
        [like_pattern(term) for term in terms],
        _match(shape, terms),
    )


def bound_search_conditions(
    search_text: Column, record_id: Column, fts_table: str, shape: SearchShape, prefix: str
) -> list[sa.ColumnElement[bool]]:
    """The conditions of `search_conditions` for a search of this shape, with the terms as
    bound parameters named after `prefix` (`search_parameters` gives their values): for
    statements built once per shape and run many times."""
    patterns = [
        sa.bindparam(f"{prefix}_{i}", type_=sa.String) for i in range(len(shape.long_terms))
    ]
    return _conditions(
        search_text,
        record_id,
        fts_table,
        shape,
        patterns,
        sa.bindparam(f"{prefix}_match", type_=sa.String),
    )


def search_parameters(shape: SearchShape, terms: list[str], prefix: str) -> dict[str, str]:
    """The values of the parameters of `bound_search_conditions` for these terms."""
    values = {f"{prefix}_{i}": like_pattern(term) for i, term in enumerate(terms)}
    if _uses_fts(shape):
        values[f"{prefix}_match"] = _match(shape, terms)
    return values


def _uses_fts(shape: SearchShape) -> bool:
    return shape.fts and any(shape.long_terms)


def _match(shape: SearchShape, terms: list[str]) -> str:
    # Folded terms hold only letters and digits: quoting makes each one a phrase, which
    # the trigram tokenizer matches as a substring (case-insensitively; both are folded).
    return " AND ".join(
        f'"{term}"' for term, long in zip(terms, shape.long_terms, strict=True) if long
    )


def _conditions(
    search_text: Column,
    record_id: Column,
    fts_table: str,
    shape: SearchShape,
    patterns: list[Any],
    match: Any,
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for long, pattern in zip(shape.long_terms, patterns, strict=True):
        if shape.dialect == "postgresql" and any(shape.long_terms) and not long:
            # An expression the trigram index does not cover: filter, do not look up.
            conditions.append((search_text + "").like(pattern))
        else:
            conditions.append(search_text.like(pattern))
    if _uses_fts(shape):
        fts = sa.table(fts_table, sa.column("rowid", sa.Integer))
        conditions.insert(
            0,
            record_id.in_(
                sa.select(fts.c.rowid).where(sa.literal_column(fts_table).op("MATCH")(match))
            ),
        )
    return conditions
