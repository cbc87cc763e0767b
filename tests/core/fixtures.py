"""Fixtures shared by the auth, register and core tests (imported by their conftest files)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask

import tests.factories
from crm.auth import service as auth_service
from crm.auth.models import Role, User
from crm.extensions import db
from tests.factories import PASSWORD, make_user

# argon2 with the production settings takes ~0.15 s per login; these tests log in hundreds of
# times. They hash with the same algorithm (argon2id) at the lowest cost instead, except where
# a test asks for `production_hashing`.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
_CHEAP_PASSWORD_HASH = _CHEAP_HASHER.hash(PASSWORD)
_CHEAP_DUMMY_HASH = _CHEAP_HASHER.hash("not-a-real-password-only-for-timing")
_PRODUCTION = (auth_service._hasher, auth_service._DUMMY_HASH, tests.factories._PASSWORD_HASH)


@pytest.fixture(scope="session", autouse=True)
def _close_pooled_connections(app: Flask) -> Iterator[None]:
    """Close the pooled connections at the end of the run.

    Otherwise psycopg warns (ResourceWarning, an error here) when the engine is collected.
    """
    yield
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_service, "_hasher", _CHEAP_HASHER)
    monkeypatch.setattr(auth_service, "_DUMMY_HASH", _CHEAP_DUMMY_HASH)
    monkeypatch.setattr(tests.factories, "_PASSWORD_HASH", _CHEAP_PASSWORD_HASH)


@pytest.fixture
def production_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords with the application's real argon2 settings in this test."""
    hasher, dummy_hash, password_hash = _PRODUCTION
    monkeypatch.setattr(auth_service, "_hasher", hasher)
    monkeypatch.setattr(auth_service, "_DUMMY_HASH", dummy_hash)
    monkeypatch.setattr(tests.factories, "_PASSWORD_HASH", password_hash)


@pytest.fixture
def officer(ctx: Flask) -> User:
    return make_user(Role.OFFICER, name="Olga Officer")


@pytest.fixture
def manager(ctx: Flask) -> User:
    return make_user(Role.MANAGER, name="Mia Manager")


@pytest.fixture
def admin(ctx: Flask) -> User:
    return make_user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def login_as(make_client: Callable[[], Any]) -> Callable[[User], Any]:
    """`login_as(user)` gives a new client (browser) logged in as that user."""

    def login(user: User) -> Any:
        client = make_client()
        client.login(user.email)
        return client

    return login
