"""Fixtures for these tests: users of each role, logged-in clients, fast password hashing."""

from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
    production_hashing,
)
