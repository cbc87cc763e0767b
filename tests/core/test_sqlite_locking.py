"""SQLite under concurrent requests: writers queue instead of failing, readers never wait.

Each test uses its own database file and engine, configured as the application configures its
own (crm.db.configure_sqlite_engine), with two threads standing in for two requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.db import configure_sqlite_engine, sqlite_read_only

WAIT = 5.0  # seconds a step may take before the test gives up (far above what it needs)


@pytest.fixture(autouse=True)
def _only_on_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite locking only matters on SQLite")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A file database with one counter row, configured as the application's engine."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'locking.sqlite3'}")
    configure_sqlite_engine(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter (id, value) VALUES (1, 0)")
    yield engine
    engine.dispose()


class Worker(threading.Thread):
    """Runs `work` in a thread (a fresh context, like a request) and keeps its outcome."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished_at: float | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def outcome(self) -> Any:
        self.join(WAIT * 4)
        assert not self.is_alive(), "the worker never finished"
        if self.error is not None:
            raise self.error
        return self.result


def value(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SELECT value FROM counter WHERE id = 1").scalar_one())


def test_journal_is_wal_and_waits_for_locks(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 15000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_second_writer_waits_for_the_first_and_then_succeeds(engine):
    first_holds_lock = threading.Event()
    release_first = threading.Event()

    def first_writer() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET value = value + 1 WHERE id = 1")
            first_holds_lock.set()
            assert release_first.wait(WAIT)

    def second_writer() -> int:
        # A read-then-write transaction, as a request handling a form does.
        with engine.begin() as conn:
            seen = value(conn)
            conn.exec_driver_sql("UPDATE counter SET value = :v WHERE id = 1", {"v": seen + 10})
            return seen

    first = Worker(first_writer)
    first.start()
    assert first_holds_lock.wait(WAIT)
    second = Worker(second_writer)
    second.start()
    time.sleep(0.3)
    assert second.is_alive(), "the second writer should be waiting for the lock"
    released_at = time.monotonic()
    release_first.set()

    first.outcome()
    seen = second.outcome()  # no "database is locked"
    assert second.finished_at is not None and second.finished_at >= released_at
    assert seen == 1  # it read after the first writer committed: no lost update
    with engine.connect() as conn:
        assert value(conn) == 11


def test_a_deferred_transaction_that_writes_would_fail(engine):
    # The counterpart that shows what BEGIN IMMEDIATE prevents: a deferred transaction (the
    # kind read-only requests get) reads an old snapshot and cannot upgrade it to a write.
    first_holds_lock = threading.Event()
    second_has_read = threading.Event()

    def first_writer() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET value = value + 1 WHERE id = 1")
            first_holds_lock.set()
            assert second_has_read.wait(WAIT)

    def second_writer() -> None:
        sqlite_read_only.set(True)
        with engine.begin() as conn:
            seen = value(conn)
            second_has_read.set()
            first.join(WAIT)
            conn.exec_driver_sql("UPDATE counter SET value = :v WHERE id = 1", {"v": seen + 10})

    first = Worker(first_writer)
    first.start()
    assert first_holds_lock.wait(WAIT)
    second = Worker(second_writer)
    second.start()
    first.outcome()
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        second.outcome()


def test_read_only_transaction_reads_while_a_writer_holds_the_lock(engine):
    writer_holds_lock = threading.Event()
    release_writer = threading.Event()

    def writer() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET value = 42 WHERE id = 1")
            writer_holds_lock.set()
            assert release_writer.wait(WAIT)

    def reader() -> int:
        sqlite_read_only.set(True)  # as the app does for GET and HEAD requests
        with engine.begin() as conn:
            return value(conn)

    writing = Worker(writer)
    writing.start()
    assert writer_holds_lock.wait(WAIT)
    try:
        reading = Worker(reader)
        started = time.monotonic()
        reading.start()
        reading.join(WAIT)
        assert not reading.is_alive(), "the reader waited for the writer"
        assert reading.outcome() == 0  # the last committed value, not the writer's
        assert time.monotonic() - started < 2
    finally:
        release_writer.set()
        writing.outcome()


def test_read_write_transaction_waits_while_a_writer_holds_the_lock(engine):
    # The default (sqlite_read_only unset) takes the write lock at BEGIN, so it queues.
    writer_holds_lock = threading.Event()
    release_writer = threading.Event()

    def writer() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET value = 42 WHERE id = 1")
            writer_holds_lock.set()
            assert release_writer.wait(WAIT)

    def other() -> int:
        with engine.begin() as conn:
            return value(conn)

    writing = Worker(writer)
    writing.start()
    assert writer_holds_lock.wait(WAIT)
    waiting = Worker(other)
    waiting.start()
    time.sleep(0.3)
    assert waiting.is_alive()
    release_writer.set()
    writing.outcome()
    assert waiting.outcome() == 42
