"""The migrations build exactly the schema the models declare, on the database under test."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from crm.extensions import db

# Made by hand in the migrations, on one database only (see migrations/env.py).
SEARCH_TABLE_PREFIXES = ("organisation_search", "contact_search", "learner_search")


def _include(dialect: str) -> Any:
    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIXES):
            return False
        if type_ == "index" and not reflected:
            ddl_if = getattr(obj, "_ddl_if", None)
            if ddl_if is not None and ddl_if.dialect and dialect not in (
                (ddl_if.dialect,) if isinstance(ddl_if.dialect, str) else ddl_if.dialect
            ):
                return False
        return True

    return include_object


def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context():
        connection = db.session.connection()  # the test's transaction (SQLite: one writer)
        context = MigrationContext.configure(
            connection,
            opts={"include_object": _include(connection.dialect.name), "compare_type": False},
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []
