"""Encrypted delivery: STARTTLS with a login, and SMTPS, to a loopback server whose
self-signed certificate the test makes the trusted one (SSL_CERT_FILE)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from crm.extensions import db
from crm.outbox import service as outbox
from crm.outbox.jobs import DeliveryRun, deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.outbox.mailserver import MailServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def trusted(certificate, monkeypatch) -> ssl.SSLContext:
    """The client trusts the test certificate; the server context presents it."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    return server_context


class Accounts:
    """The server's one account, and the logins it saw."""

    def __init__(self) -> None:
        self.logins: list[tuple[bytes, bytes]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"crm@school.test", b"p@ss:w0rd")
        return AuthResult(success=ok, handled=False)


@contextmanager
def serving(**options: Any) -> Iterator[MailServer]:
    server = MailServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def queue_one() -> int:
    message = outbox.queue_email(
        kind="test_message", to_email="jana.novak@employer.test", context={}
    )
    db.session.commit()
    return message.id


def test_starttls_with_a_login(ctx, app, trusted, monkeypatch):
    accounts = Accounts()
    with serving(
        tls_context=trusted, require_starttls=True, authenticator=accounts, auth_required=True
    ) as server:
        monkeypatch.setitem(
            app.config,
            "CRM_SMTP_URL",
            f"smtp://crm%40school.test:p%40ss%3Aw0rd@127.0.0.1:{server.port}?starttls=1",
        )
        message_id = queue_one()

        assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

        assert accounts.logins == [(b"crm@school.test", b"p@ss:w0rd")]
        assert len(server.received) == 1
    message = db.session.get(OutboxMessage, message_id)
    assert message is not None
    assert message.status == OutboxStatus.SENT


def test_a_wrong_password_keeps_the_message_waiting(ctx, app, trusted, monkeypatch):
    accounts = Accounts()
    with serving(
        tls_context=trusted, require_starttls=True, authenticator=accounts, auth_required=True
    ) as server:
        monkeypatch.setitem(
            app.config,
            "CRM_SMTP_URL",
            f"smtp://crm%40school.test:wrong@127.0.0.1:{server.port}?starttls=1",
        )
        message_id = queue_one()

        assert deliver_outbox() == DeliveryRun(claimed=1, retrying=1)
        assert server.received == []
    message = db.session.get(OutboxMessage, message_id)
    assert message is not None
    assert message.status == OutboxStatus.PENDING
    assert message.last_error.startswith("535")


def test_smtps(ctx, app, trusted, monkeypatch):
    with serving(ssl_context=trusted) as server:
        monkeypatch.setitem(app.config, "CRM_SMTP_URL", f"smtps://127.0.0.1:{server.port}")
        queue_one()

        assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)
        assert len(server.received) == 1


def test_an_untrusted_certificate_is_refused(ctx, app, certificate, monkeypatch):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)  # the client does not trust it this time
    with serving(tls_context=server_context, require_starttls=True) as server:
        monkeypatch.setitem(
            app.config, "CRM_SMTP_URL", f"smtp://127.0.0.1:{server.port}?starttls=1"
        )
        message_id = queue_one()

        assert deliver_outbox() == DeliveryRun(claimed=1, retrying=1)
        assert server.received == []
    message = db.session.get(OutboxMessage, message_id)
    assert message is not None
    assert "CERTIFICATE_VERIFY_FAILED" in message.last_error
