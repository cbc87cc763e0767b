"""Fixtures for the workflow tests: users, pure tests, and tests that commit for real.

Tests marked `pure` (the engine and the definitions) run without a database transaction and
without an application context, so that any database or Flask access in the code under test
fails. Tests marked `committed` (the race tests) run outside the rolled-back transaction,
on an empty database that they leave empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm.workflow import service
from tests.core.fixtures import (  # noqa: F401
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pure: runs without database and without application context"
    )


@pytest.fixture(autouse=True)
def _db_transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """The rolled-back transaction of tests/conftest.py, except for pure tests (and committed
    ones, which tests/conftest.py already leaves out)."""
    if request.node.get_closest_marker("pure"):
        yield
        return
    request.getfixturevalue("_db_transaction")
    yield


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); tests store different ones."""
    monkeypatch.setattr(service, "_snapshot_cache", {})
