"""Fixtures for the partnership pages: users of each role and logged-in clients."""

from tests.core.fixtures import (  # noqa: F401
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
