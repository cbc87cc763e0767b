"""Fixtures for the outbox tests: a loopback SMTP server, settings pointing at it, users.

Tests marked `committed` (two deliverers in threads) run outside the rolled-back
transaction, on an empty database that they leave empty, as tests/workflow/test_race.py does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
from tests.outbox.mailserver import MailServer


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
