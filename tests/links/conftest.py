"""Fixtures for the officer's side of action links and the link jobs: users, a placement
awaiting the employer with its link (tests/portal/support.py), loopback SMTP, and jobs run
as the scheduler runs them."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, has_app_context

from crm.auth.models import Role, User
from crm.extensions import db
from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
from tests.factories import make_user
from tests.portal.conftest import (  # noqa: F401
    _fresh_snapshot_cache,
    evaluation_sent,
    mail_server,
    sent,
    smtp,
)


@pytest.fixture(autouse=True)
def _fixed_settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings these tests assume, whatever the environment says."""
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.test")
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", "")
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 14)
    monkeypatch.setitem(app.config, "CRM_LINK_RATE_LIMIT", "1000/minute")


@pytest.fixture
def colleague(ctx: Flask) -> User:
    """Another placement officer, who neither looks after the learner nor the placement."""
    return make_user(Role.OFFICER, name="Colin Colleague")


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
