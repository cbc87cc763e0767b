"""Outbox delivery, a scheduler job: claim due messages, send them over SMTP, record each.

Claiming commits `claimed_until` first (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
schedulers never take the same rows; SQLite: the write transaction begins IMMEDIATE), then
each message is sent and its outcome committed on its own. A process killed mid-batch loses
nothing: unsent claimed messages are due again once their claim runs out, and sent ones are
never sent again. Without CRM_SMTP_URL, messages go to the development mailbox (no network).

Messages queued with deferred bodies (crm.outbox.service.email_row) are written just before
they are sent, and the bodies are stored with the outcome, so that what was sent is what is
kept. One that cannot be written (a template error) fails for good, keeping its values for a
resend once the template is fixed; the others go on.

Logs carry message ids, counts and error codes only: no addresses, bodies or links.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app

from crm.db import utcnow
from crm.extensions import db
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.outbox.service import carries_secret, render_bodies, single_line

log = logging.getLogger(__name__)

CLAIM = dt.timedelta(minutes=5)
# No new message is started this long after claiming, so a claim never runs out while its
# holder may still send (another deliverer would then send the same message).
SENDING_BUDGET_SECONDS = 4 * 60
MAX_BACKOFF_MINUTES = 6 * 60
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass
class DeliveryRun:
    """What one delivery run did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # temporary failure, due again later
    failed: int = 0  # permanent failure or out of attempts
    released: int = 0  # claimed but not tried (time budget spent), due again at once


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver, read from CRM_SMTP_URL."""

    host: str
    port: int
    use_ssl: bool = False
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 20

    @classmethod
    def from_url(cls, url: str, timeout: float = 20) -> SmtpSettings:
        """`smtp[s]://[user:password@]host[:port][?starttls=1]`; ValueError if malformed."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("CRM_SMTP_URL must look like smtp[s]://[user:password@]host[:port]")
        flag = parse_qs(parts.query).get("starttls", [""])[-1].lower()
        starttls = parts.scheme == "smtp" and flag in {"1", "true", "yes", "on"}
        default_port = DEFAULT_PORTS["smtp+starttls" if starttls else parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            use_ssl=parts.scheme == "smtps",
            starttls=starttls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=timeout,
        )


class DeliveryFailure(Exception):
    """A message was not delivered; `permanent` says whether trying again can help."""

    def __init__(self, reason: str, code: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:1000]
        self.code = code  # for the log: an SMTP code or an exception name, never an address
        self.permanent = permanent


class ServerUnavailable(DeliveryFailure):
    """The server cannot be reached or refuses the session: no message can go for now."""


@dataclass(frozen=True)
class _Outgoing:
    id: int
    kind: str
    language: str
    to_email: str
    to_name: str
    subject: str
    body_text: str
    body_html: str
    template_values: dict[str, Any] | None
    message_id: str
    attempts: int
    written_now: bool = False  # bodies rendered by this run: stored with the outcome


# --- the job -------------------------------------------------------------------------------


def deliver_outbox(now: dt.datetime | None = None, limit: int = 200) -> DeliveryRun:
    """Deliver due outbox messages (a job: it commits the claim and each outcome)."""
    now = now or utcnow()
    run = DeliveryRun()
    batch = _claim(now, limit)
    run.claimed = len(batch)
    if not batch:
        return run
    config = current_app.config
    max_attempts = int(config["CRM_OUTBOX_MAX_ATTEMPTS"])
    started = time.monotonic()
    postman = _postman(config)
    try:
        for index, item in enumerate(batch):
            elapsed = time.monotonic() - started
            if elapsed > SENDING_BUDGET_SECONDS:
                run.released = _release(batch[index:])
                break
            moment = now + dt.timedelta(seconds=elapsed)
            try:
                item = batch[index] = _written(item)
                postman.send(_email(item, config["CRM_MAIL_FROM"], moment), item.to_email)
            except ServerUnavailable as exc:
                # Nothing else can go now: every remaining message waits its backoff.
                log.warning(
                    "outbox: mail server unavailable (%s), %d messages wait",
                    exc.code,
                    len(batch) - index,
                )
                for waiting in batch[index:]:
                    _record_failure(waiting, exc, moment, max_attempts, run)
                db.session.commit()
                break
            except DeliveryFailure as exc:
                _record_failure(item, exc, moment, max_attempts, run)
            else:
                _record_sent(item, moment)
                run.sent += 1
            db.session.commit()
    finally:
        postman.close()
    log.info(
        "outbox delivery: %d claimed, %d sent, %d retrying, %d failed, %d released",
        run.claimed,
        run.sent,
        run.retrying,
        run.failed,
        run.released,
    )
    return run


def _claim(now: dt.datetime, limit: int) -> list[_Outgoing]:
    """Take up to `limit` due messages for this run and commit the claim."""
    due = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    batch: list[_Outgoing] = []
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(claimed_until=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        rows = db.session.execute(
            sa.select(
                OutboxMessage.id,
                OutboxMessage.kind,
                OutboxMessage.language,
                OutboxMessage.to_email,
                OutboxMessage.to_name,
                OutboxMessage.subject,
                OutboxMessage.body_text,
                OutboxMessage.body_html,
                OutboxMessage.template_values,
                OutboxMessage.message_id,
                OutboxMessage.attempts,
            )
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        )
        batch = [_Outgoing(*row) for row in rows]
    db.session.commit()
    return batch


def _written(item: _Outgoing) -> _Outgoing:
    """The message with its bodies: as stored, or written now from its template values."""
    if item.template_values is None:
        return item
    try:
        text, html = render_bodies(
            item.kind,
            item.language,
            item.to_name,
            item.subject,
            item.template_values,
            reveal_secrets=True,
        )
    except Exception as exc:
        # A template that cannot be written now will not be later: fail this message only.
        log.exception("outbox message %d could not be written", item.id)
        raise DeliveryFailure(
            "The e-mail could not be written (template error)", "template", permanent=True
        ) from exc
    return replace(item, body_text=text, body_html=html, written_now=True)


def _update(item: _Outgoing, **values: Any) -> None:
    if item.written_now and not carries_secret(item.template_values):
        # What was (or will be) sent is kept; it is no longer written from the values. A
        # message carrying an action link keeps its values instead: its token is never stored.
        values.update(body_text=item.body_text, body_html=item.body_html, template_values=None)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == item.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _record_sent(item: _Outgoing, moment: dt.datetime) -> None:
    _update(
        item,
        status=OutboxStatus.SENT,
        sent_at=moment,
        attempts=item.attempts + 1,
        claimed_until=None,
        last_error="",
    )
    log.debug("outbox message %d sent", item.id)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 2, 4, 8 ... minutes, at most 6 hours."""
    return dt.timedelta(minutes=min(2 ** min(attempts, 20), MAX_BACKOFF_MINUTES))


def _record_failure(
    item: _Outgoing,
    failure: DeliveryFailure,
    moment: dt.datetime,
    max_attempts: int,
    run: DeliveryRun,
) -> None:
    attempts = item.attempts + 1
    if failure.permanent or attempts >= max_attempts:
        _update(
            item,
            status=OutboxStatus.FAILED,
            attempts=attempts,
            claimed_until=None,
            last_error=failure.reason,
        )
        run.failed += 1
        log.warning(
            "outbox message %d failed after %d attempts (%s)", item.id, attempts, failure.code
        )
        return
    # A little jitter, so that messages failed together do not all come back together.
    delay = backoff(attempts) * random.uniform(1.0, 1.1)
    _update(
        item,
        attempts=attempts,
        next_attempt_at=moment + delay,
        claimed_until=None,
        last_error=failure.reason,
    )
    run.retrying += 1
    log.debug(
        "outbox message %d: attempt %d failed (%s), retrying", item.id, attempts, failure.code
    )


def _release(rest: Sequence[_Outgoing]) -> int:
    """Give back messages this run will not try, so that the next run takes them at once."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_([item.id for item in rest]))
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return len(rest)


# --- the message ---------------------------------------------------------------------------


def _email(item: _Outgoing, mail_from: str, moment: dt.datetime) -> EmailMessage:
    """The MIME message: text and HTML alternatives; headers that no line break can extend."""
    message = EmailMessage()
    try:
        message["From"] = mail_from
        sender = message["From"]
        valid = not sender.defects and [a.domain != "" for a in sender.addresses] == [True]
    except (ValueError, IndexError, MessageError):
        valid = False
    if not valid:
        raise ServerUnavailable("CRM_MAIL_FROM is not a valid address", "mail-from")
    try:
        message["To"] = Address(display_name=single_line(item.to_name), addr_spec=item.to_email)
    except (ValueError, IndexError, MessageError) as exc:
        raise DeliveryFailure(
            f"The address is not valid: {exc}", "bad-address", permanent=True
        ) from exc
    message["Subject"] = single_line(item.subject)
    message["Date"] = format_datetime(moment)
    message["Message-ID"] = item.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(item.body_text)
    if item.body_html:
        message.add_alternative(item.body_html, subtype="html")
    return message


# --- transports ----------------------------------------------------------------------------


class DevMailbox:
    """No SMTP configured: a message is 'delivered' by staying in the outbox for the mailbox."""

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Accept the message; the outbox row itself is the mailbox."""

    def close(self) -> None:
        """Nothing to close."""


class SmtpPostman:
    """One SMTP connection for a whole batch, opened at the first message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Send one message to one recipient; DeliveryFailure if it did not go."""
        sender = message["From"].addresses[0].addr_spec
        for retry in (False, True):
            smtp = self._connection()
            try:
                smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
                return
            except smtplib.SMTPServerDisconnected as exc:
                # Servers may close a long session (e.g. after so many messages): reconnect
                # once and try again.
                self._drop()
                if retry:
                    raise DeliveryFailure(f"Connection lost: {exc}", "disconnected") from exc
            except (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError) as exc:
                # The server refuses *us* (sender address, account): a setting to fix, after
                # which every message should go.
                raise ServerUnavailable(_reply(exc), f"SMTP {exc.smtp_code} sender") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                text = f"{code} {reply.decode('utf-8', 'replace')}"
                raise DeliveryFailure(text, f"SMTP {code}", permanent=code >= 500) from exc
            except smtplib.SMTPNotSupportedError as exc:
                # e.g. an address that needs SMTPUTF8, which this server does not offer
                raise DeliveryFailure(str(exc), "not-supported", permanent=True) from exc
            except smtplib.SMTPResponseException as exc:
                raise DeliveryFailure(
                    _reply(exc), f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:  # timeouts, resets, TLS errors
                self._drop()
                raise DeliveryFailure(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            try:
                self.smtp = _connect(self.settings)
            except smtplib.SMTPResponseException as exc:
                raise ServerUnavailable(_reply(exc), f"SMTP {exc.smtp_code} session") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise ServerUnavailable(
                    f"Cannot connect to the mail server: {type(exc).__name__}: {exc}",
                    type(exc).__name__,
                ) from exc
        return self.smtp

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        """End the session politely; a broken one is just closed."""
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self._drop()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, greeted, (optionally) encrypted and logged-in SMTP session."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.use_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


class _Unconfigured:
    """CRM_SMTP_URL cannot be read: every message waits until the setting is fixed."""

    def send(self, message: EmailMessage, recipient: str) -> None:
        raise ServerUnavailable("CRM_SMTP_URL is not a valid smtp:// or smtps:// address", "url")

    def close(self) -> None:
        """Nothing to close."""


def _postman(config: Any) -> DevMailbox | SmtpPostman | _Unconfigured:
    url = config["CRM_SMTP_URL"]
    if not url:
        return DevMailbox()
    try:
        settings = SmtpSettings.from_url(url, timeout=float(config["CRM_SMTP_TIMEOUT"]))
    except ValueError:
        return _Unconfigured()
    return SmtpPostman(settings)
