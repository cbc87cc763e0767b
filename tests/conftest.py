"""Test set-up: one migrated database per run, one rolled-back transaction per test.

The database comes from CRM_TEST_DATABASE_URL (the Makefile runs the suite once on SQLite and
once on PostgreSQL). Each test runs inside a transaction that is rolled back at the end, even
where the code under test commits: sessions join the outer transaction through savepoints
(SQLAlchemy's "join a session into an external transaction" recipe). Browser tests need a real
server thread and committed data, so they run outside that transaction and empty the tables
afterwards.
"""

from __future__ import annotations

import contextvars
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm import create_app
from crm.extensions import CRMSession, db

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def _database_url(tmp_dir: Path) -> str:
    url = os.environ.get("CRM_TEST_DATABASE_URL", "").strip()
    return url or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def _check_reachable(url: str) -> None:
    if url.startswith("sqlite"):
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        message = (
            f"PostgreSQL at {engine.url.render_as_string(hide_password=True)} is unreachable: {exc}"
        )
        if CI:
            pytest.exit(message, returncode=1)
        pytest.exit(
            message + " (skipping the PostgreSQL run; CI=true makes this fail)", returncode=0
        )
    finally:
        engine.dispose()


def _reset_schema(app: Flask) -> None:
    """Drop everything and build the schema with the real migrations."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()
        engine.dispose()


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    tmp_dir = Path(tempfile.mkdtemp(prefix="crm-tests-"))
    url = _database_url(tmp_dir)
    _check_reachable(url)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SERVER_NAME": None,
            "CRM_LOGIN_SLOWDOWN_AFTER": 3,
            "CRM_LOGIN_MAX_FAILURES": 5,
        }
    )
    _reset_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()  # psycopg warns about connections left open at exit


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Override pytest-flask's: one shared request context leaks the locale and the login."""


@pytest.fixture(autouse=True)
def _db_transaction(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Run the test inside a transaction that is rolled back afterwards.

    Tests marked `browser` or `committed` (threads and processes that must see each other's
    commits) run outside it; `committed` ones use `empty_database` to clean up.
    """
    if request.node.get_closest_marker("browser") or request.node.get_closest_marker("committed"):
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": CRMSession}
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def empty_database(app: Flask) -> Iterator[None]:
    """For committed tests: start on an empty database and delete every row afterwards."""
    from tests.database import delete_every_row, rows_per_table

    with app.app_context():
        before = rows_per_table()
    assert not before, f"committed test needs an empty database, found {before}"
    try:
        yield
    finally:
        with app.app_context():
            delete_every_row()
            left = rows_per_table()
        assert not left, f"rows left after the committed test: {left}"


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call services directly."""
    with app.test_request_context("/"):
        yield app


class Client(FlaskClient):
    """A test client that fills in the CSRF token of its session on every form post."""

    csrf_token: str | None = None

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Each request runs in an empty context, as in a real server: it must not reuse the
        # test's application context (its `g` would carry the logged-in user and the locale
        # from one request to the next, and its database session).
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf(self) -> str:
        if self.csrf_token is None:
            page = self.get("/login").get_data(as_text=True)
            match = _CSRF_RE.search(page)
            assert match, "no CSRF token on the login page"
            self.csrf_token = match.group(1)
        return self.csrf_token

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form as a browser would, with the session's CSRF token."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf())
        return self.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str = "password") -> Any:
        response = self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response


@pytest.fixture
def client(app: Flask) -> Client:
    """A fresh, anonymous client (pytest-flask's would share one context between tests)."""
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def make_client(app: Flask) -> Any:
    """Make further independent clients (browsers) in one test."""

    def make() -> Client:
        app.test_client_class = Client
        return app.test_client()  # type: ignore[return-value]

    return make


class StatementCounter:
    """Counts the SQL statements the application sends, transaction control excluded."""

    IGNORED = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", re.IGNORECASE)

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.IGNORED.match(statement):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app: Flask) -> Iterator[Any]:
    """`with count_statements() as counter:` counts statements sent inside the block."""
    from contextlib import contextmanager

    with app.app_context():
        engine = db.engine

    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    yield counting
