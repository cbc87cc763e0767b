"""Fixtures for the data-set tests: fast password hashing, pooled connections closed."""

from tests.core.fixtures import _cheap_password_hashing, _close_pooled_connections  # noqa: F401
