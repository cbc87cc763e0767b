"""E-mail in browser journeys: the app delivers to an SMTP server on loopback whose messages
link to the live server; the delivery job runs as the scheduler runs it; and a fresh,
watched browser at a screen size. Import the `mail` fixture into a test module to use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext

from crm.outbox.jobs import deliver_outbox
from tests.browser.support import UI, FormFactor, Watch
from tests.outbox.mailserver import MailServer, Received


@pytest.fixture
def mail(app: Flask, live_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    """The app sends to an SMTP server on loopback, and its e-mails link to the live server."""
    server = MailServer()
    server.start()
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", server.url)
    monkeypatch.setitem(app.config, "CRM_SMTP_TIMEOUT", 5)
    monkeypatch.setitem(app.config, "CRM_MAIL_FROM", "Partnership CRM <crm@school.test>")
    monkeypatch.setitem(app.config, "CRM_BASE_URL", live_server_url)
    try:
        yield server
    finally:
        server.stop()


def deliver(app: Flask) -> None:
    """One run of the delivery job, as the scheduler runs it."""
    with app.app_context():
        run = deliver_outbox()
    assert run.failed == 0 and run.retrying == 0, run


def to(server: MailServer, address: str) -> list[Received]:
    """The messages received for `address`."""
    return [received for received in server.received if address in received.rcpt_tos]


def text_of(received: Received) -> str:
    """A message's plain-text body."""
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def make_ui(new_context: Callable[..., BrowserContext], form_factor: FormFactor) -> UI:
    """A fresh browser at a screen size, watched from its first request."""
    watch = Watch()
    context = new_context(**form_factor.context_args())
    context.on("request", watch.on_request)
    context.on("response", watch.on_response)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    return UI(page=page, form_factor=form_factor, watch=watch)
