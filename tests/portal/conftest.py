"""Fixtures for the link pages: users, a loopback SMTP server, a placement awaiting the
employer's answer with its link (tests/portal/support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from crm.workflow import service
from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
from tests.outbox.mailserver import MailServer
from tests.portal.support import Sent, awaiting_employer, completed


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); rolled-back tests store them anew."""
    monkeypatch.setattr(service, "_snapshot_cache", {})


@pytest.fixture
def sent(ctx: Any, officer: Any) -> Sent:  # noqa: F811
    """A placement awaiting the employer: the supervisor has been sent a confirmation link."""
    return awaiting_employer(officer)


@pytest.fixture
def evaluation_sent(ctx: Any, officer: Any) -> Sent:  # noqa: F811
    """A completed placement: the supervisor has been sent an evaluation link."""
    return completed(officer)


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A running SMTP server on loopback."""
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp(app: Flask, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch) -> MailServer:
    """The application delivers to `mail_server`, with a short timeout."""
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", mail_server.url)
    monkeypatch.setitem(app.config, "CRM_SMTP_TIMEOUT", 5)
    monkeypatch.setitem(app.config, "CRM_MAIL_FROM", "Partnership CRM <crm@school.test>")
    return mail_server
