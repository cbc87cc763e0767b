"""Browser-test fixtures: a threaded server on 127.0.0.1, Debian's Chromium, clean tables.

These tests run outside the rolled-back transaction of tests/conftest.py: the server thread
must see committed data. Every table is emptied after each test so that the transactional
tests that follow start from an empty database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext
from werkzeug.serving import WSGIRequestHandler, make_server

from crm.extensions import db
from crm.workflow.service import forget_verified_snapshots
from tests.browser.support import DESKTOP, PHONE, UI, Account, FormFactor, Watch
from tests.factories import make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without one log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture(scope="session")
def live_server_url(app: Flask) -> Iterator[str]:
    """The app served by werkzeug from a thread on 127.0.0.1, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="crm-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        # At the end of the session: close the pooled connections (the engine stays usable).
        # Left open, psycopg warns when they are garbage-collected, which fails the run.
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server_url: str) -> str:
    """pytest-base-url's fixture, which pytest-playwright gives to every browser context."""
    return live_server_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (`playwright install` cannot download browsers here), quiet."""
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def _empty_tables_afterwards(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Delete every row the test committed (set up first, so torn down after the browser)."""
    assert request.node.get_closest_marker("browser"), (
        "tests under tests/browser must be marked browser (pytestmark = pytest.mark.browser)"
    )
    yield
    with app.app_context():
        with db.engine.begin() as conn:
            # Only tables the migrations built: a model whose migration is still being
            # written has no table, hence no rows, and DELETE would fail on it.
            existing = set(sa.inspect(conn).get_table_names())
            tables = [t for t in db.metadata.sorted_tables if t.name in existing]
            for table in reversed(tables):
                conn.execute(table.delete())
        forget_verified_snapshots()  # their rows are gone with the rest
        with db.engine.connect() as conn:
            left = {
                t.name: n
                for t in tables
                if (n := conn.scalar(sa.select(sa.func.count()).select_from(t)))
            }
    assert not left, f"rows left after the browser test: {left}"


@pytest.fixture
def officer(app: Flask) -> Account:
    """A committed officer account (password `password`)."""
    with app.app_context():
        user = make_user("officer", name="Olga Officer")
        return Account(email=user.email, name=user.name)


@pytest.fixture(params=[DESKTOP, PHONE], ids=lambda f: f.name)
def form_factor(request: pytest.FixtureRequest) -> FormFactor:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def ui(new_context: Callable[..., BrowserContext], form_factor: FormFactor) -> UI:
    """A fresh browser context at the form factor's size, watched from its first request."""
    watch = Watch()
    context = new_context(**form_factor.context_args())
    context.on("request", watch.on_request)
    context.on("response", watch.on_response)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    return UI(page=page, form_factor=form_factor, watch=watch)
