"""Fixtures for the scheduler tests: jobs run as the scheduler runs them, and committed tests.

`run_job(function, **kwargs)` calls a job in a fresh application context with no request
context, as the scheduler process does (so `url_for` has no request to lean on), and returns
its result. Inside the rolled-back test transaction the job's commits become savepoints.

Tests marked `committed` (two schedulers at once, a killed process, the real scheduler) run
outside that transaction, on an empty database that they leave empty.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, has_app_context

from crm.auth.models import Role, User
from crm.extensions import db
from tests.core.fixtures import _cheap_password_hashing, _close_pooled_connections  # noqa: F401
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _fixed_settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings these tests assume, whatever the environment says."""
    monkeypatch.setitem(app.config, "CRM_DIGEST_HOUR", 7)
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.test")
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", "")


@pytest.fixture
def run_job(app: Flask) -> Callable[..., Any]:
    """Run a job function as the scheduler does: its own app context, no request."""

    def run(function: Callable[..., Any], **kwargs: Any) -> Any:
        def call() -> Any:
            with app.app_context():
                return function(**kwargs)

        result = contextvars.Context().run(call)
        if has_app_context():
            db.session.expire_all()  # the test's session must read what the job wrote
        return result

    return run


@pytest.fixture
def officer(ctx: Flask) -> User:
    return make_user(Role.OFFICER, name="Olga Officer", locale="en", timezone="Europe/Brussels")
