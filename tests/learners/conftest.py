"""Fixtures for the learner and programme tests: users of each role and logged-in clients."""

from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
