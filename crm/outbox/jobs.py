"""Outbox delivery, a scheduler job: claim due messages, send them over SMTP, record each.

Claiming commits `claimed_until` first (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
schedulers never take the same rows; SQLite: the write transaction begins IMMEDIATE), then
the messages are sent over one SMTP session and their outcomes committed a few at a time:
after every OUTCOMES_PER_COMMIT messages, before a message is started once the oldest
unwritten outcome has waited OUTCOME_WAIT_SECONDS, and at the end of the batch (a commit per
message cost more than the SMTP exchange). An error writes what was already sent before it
is raised. A process killed mid-batch loses no message: unsent claimed messages are due
again once their claim runs out. What it can cause is a duplicate: the messages it sent
since its last commit (at most OUTCOMES_PER_COMMIT, under the same Message-ID) are sent
once more; no other message is ever sent twice. OUTCOMES_PER_COMMIT = 1 narrows that to the
one message between its sending and its commit. Without CRM_SMTP_URL, messages go to the
development mailbox (no network).

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
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app

from crm.db import utcnow
from crm.extensions import db
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.outbox.service import carries_secret, render_bodies
from crm.outbox.wire import AddressError, WireMessage, message_bytes, sender_of

log = logging.getLogger(__name__)

CLAIM = dt.timedelta(minutes=5)
# No new message is started this long after claiming, so a claim never runs out while its
# holder may still send (another deliverer would then send the same message).
SENDING_BUDGET_SECONDS = 4 * 60
MAX_BACKOFF_MINUTES = 6 * 60
# Outcomes written per commit, and how long the oldest may wait before the next message is
# started; see the module's docstring. One: a deliverer killed outright re-sends at most the
# one message between its sending and its commit (#5: "none that finished is done again");
# ten measured about a third faster but could re-send ten.
OUTCOMES_PER_COMMIT = 1
OUTCOME_WAIT_SECONDS = 1.0
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
    """Deliver due outbox messages (a job: it commits the claim and the outcomes)."""
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
    outcomes = _Outcomes()
    try:
        for index, item in enumerate(batch):
            elapsed = time.monotonic() - started
            if elapsed > SENDING_BUDGET_SECONDS:
                outcomes.commit()
                run.released = _release(batch[index:])
                break
            if outcomes.waited(elapsed) >= OUTCOME_WAIT_SECONDS:
                outcomes.commit()
            moment = now + dt.timedelta(seconds=elapsed)
            try:
                item = batch[index] = _written(item)
                postman.send(_email(item, config["CRM_MAIL_FROM"], moment))
            except ServerUnavailable as exc:
                # Nothing else can go now: every remaining message waits its backoff.
                log.warning(
                    "outbox: mail server unavailable (%s), %d messages wait",
                    exc.code,
                    len(batch) - index,
                )
                for waiting in batch[index:]:
                    _record_failure(outcomes, waiting, exc, elapsed, moment, max_attempts, run)
                break
            except DeliveryFailure as exc:
                _record_failure(outcomes, item, exc, elapsed, moment, max_attempts, run)
            else:
                outcomes.add(item, _sent(item, moment), elapsed)
                run.sent += 1
                log.debug("outbox message %d sent", item.id)
            if len(outcomes) >= OUTCOMES_PER_COMMIT:
                outcomes.commit()
        outcomes.commit()
    except Exception:
        # Whatever went wrong (a database error, a bug), what was sent is recorded as sent.
        db.session.rollback()
        outcomes.commit()
        raise
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


class _Outcomes:
    """Outcomes of messages tried in this run, waiting to be written and committed."""

    def __init__(self) -> None:
        self._waiting: list[dict[str, Any]] = []
        self._since = 0.0  # when the oldest waiting outcome was added (seconds into the run)

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, item: _Outgoing, values: dict[str, Any], elapsed: float) -> None:
        """Note the new column values of `item`, tried `elapsed` seconds into the run."""
        if item.written_now and not carries_secret(item.template_values):
            # What was (or will be) sent is kept; it is no longer written from the values. A
            # message carrying an action link keeps its values instead: its token is never
            # stored.
            values.update(body_text=item.body_text, body_html=item.body_html, template_values=None)
        if not self._waiting:
            self._since = elapsed
        self._waiting.append({"outcome_id": item.id, **values})

    def waited(self, elapsed: float) -> float:
        """How long the oldest waiting outcome has waited (0 if none waits)."""
        return elapsed - self._since if self._waiting else 0.0

    def commit(self) -> None:
        """Write the waiting outcomes, one statement for each set of columns, and commit."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in self._waiting:
            by_columns.setdefault(tuple(values), []).append(values)
        for same_columns in by_columns.values():
            # Only a message still pending is changed: its claim ensures that it is.
            db.session.execute(_OUTCOME, same_columns)
        db.session.commit()
        # Only now: if writing failed, a rollback and another commit() write them again.
        self._waiting.clear()


_TABLE = OutboxMessage.__table__
# A Core statement built once; its SET clause comes from the names of the parameters.
_OUTCOME = sa.update(_TABLE).where(
    _TABLE.c.id == sa.bindparam("outcome_id"), _TABLE.c.status == OutboxStatus.PENDING
)


def _sent(item: _Outgoing, moment: dt.datetime) -> dict[str, Any]:
    return {
        "status": OutboxStatus.SENT,
        "sent_at": moment,
        "attempts": item.attempts + 1,
        "claimed_until": None,
        "last_error": "",
    }


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 2, 4, 8 ... minutes, at most 6 hours."""
    return dt.timedelta(minutes=min(2 ** min(attempts, 20), MAX_BACKOFF_MINUTES))


def _record_failure(
    outcomes: _Outcomes,
    item: _Outgoing,
    failure: DeliveryFailure,
    elapsed: float,
    moment: dt.datetime,
    max_attempts: int,
    run: DeliveryRun,
) -> None:
    attempts = item.attempts + 1
    if failure.permanent or attempts >= max_attempts:
        failed = {
            "status": OutboxStatus.FAILED,
            "attempts": attempts,
            "claimed_until": None,
            "last_error": failure.reason,
        }
        outcomes.add(item, failed, elapsed)
        run.failed += 1
        log.warning(
            "outbox message %d failed after %d attempts (%s)", item.id, attempts, failure.code
        )
        return
    # A little jitter, so that messages failed together do not all come back together.
    delay = backoff(attempts) * random.uniform(1.0, 1.1)
    retrying = {
        "attempts": attempts,
        "next_attempt_at": moment + delay,
        "claimed_until": None,
        "last_error": failure.reason,
    }
    outcomes.add(item, retrying, elapsed)
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


def _email(item: _Outgoing, mail_from: str, moment: dt.datetime) -> WireMessage:
    """The MIME message: text and HTML alternatives; headers that no line break can extend."""
    try:
        sender_header, sender = sender_of(mail_from)
    except AddressError as exc:
        raise ServerUnavailable("CRM_MAIL_FROM is not a valid address", "mail-from") from exc
    try:
        return message_bytes(
            sender=sender,
            sender_header=sender_header,
            to_email=item.to_email,
            to_name=item.to_name,
            subject=item.subject,
            message_id=item.message_id,
            moment=moment,
            body_text=item.body_text,
            body_html=item.body_html,
        )
    except AddressError as exc:
        raise DeliveryFailure(
            f"The address is not valid: {exc}", "bad-address", permanent=True
        ) from exc


# --- transports ----------------------------------------------------------------------------


class DevMailbox:
    """No SMTP configured: a message is 'delivered' by staying in the outbox for the mailbox."""

    def send(self, message: WireMessage) -> None:
        """Accept the message; the outbox row itself is the mailbox."""

    def close(self) -> None:
        """Nothing to close."""


class SmtpPostman:
    """One SMTP connection for a whole batch, opened at the first message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: WireMessage) -> None:
        """Send one message to its recipient; DeliveryFailure if it did not go."""
        options: tuple[str, ...] = ()
        if message.international:
            options = ("SMTPUTF8", "BODY=8BITMIME")
        for retry in (False, True):
            smtp = self._connection()
            try:
                if message.international and not smtp.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError(
                        "One or more source or delivery addresses require internationalized "
                        "email support, but the server does not advertise the required "
                        "SMTPUTF8 capability"
                    )
                smtp.sendmail(message.sender, [message.recipient], message.data, options)
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
    smtp: smtplib.SMTP
    if settings.use_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context()
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=_tls_context())
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _tls_context() -> ssl.SSLContext:
    # Made only for TLS sessions: loading the system's certificates takes some 20 ms.
    return ssl.create_default_context()


class _Unconfigured:
    """CRM_SMTP_URL cannot be read: every message waits until the setting is fixed."""

    def send(self, message: WireMessage) -> None:
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
