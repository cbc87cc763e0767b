"""Declarative base with a naming convention, UTC time helpers, mixins and SQLite tuning."""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every model."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class TimestampMixin:
    """`created_at` and `updated_at`, both UTC."""

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- SQLite: WAL, busy timeout, and write transactions that begin IMMEDIATE -----------------
#
# pysqlite begins transactions lazily (at the first write) which turns a read-then-write
# transaction into an instant "database is locked" when another writer is active. We take
# control of BEGIN ourselves: requests that may write start with BEGIN IMMEDIATE and so wait
# their turn for the write lock; read-only requests (GET/HEAD) start a plain deferred BEGIN so
# they never queue behind writers (WAL lets them read concurrently).

sqlite_read_only: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_read_only", default=False
)


SQLITE_SEARCH_TABLES = "crm_sqlite_search_tables"


def sqlite_search_table(connection: sa.Connection, name: str) -> bool:
    """Whether the SQLite database behind `connection` has the FTS5 search table `name`.

    Looked up once per DBAPI connection (when it is opened): a database migrated while the
    connection was open is seen by the next connection; until then the plain LIKE is used.
    """
    return name in connection.info.get(SQLITE_SEARCH_TABLES, frozenset())


def configure_sqlite_engine(engine: Engine) -> None:
    """Install the SQLite connection pragmas and BEGIN handling on an engine."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 64 MiB of page cache (the default is 2 MiB, less than the organisations table).
        cursor.execute("PRAGMA cache_size = -65536")
        # Which FTS5 trigram search tables the migrations could make (SQLite >= 3.34).
        record.info[SQLITE_SEARCH_TABLES] = frozenset(
            name
            for (name,) in cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('organisation_search', 'contact_search', 'learner_search')"
            )
        )
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN" if sqlite_read_only.get() else "BEGIN IMMEDIATE")
