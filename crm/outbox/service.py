"""Queueing e-mails in the caller's transaction, resending them, and reading them back.

Every e-mail is rendered when it is queued, in the recipient's language, from three templates
in `templates/emails/`: `{kind}.subject.txt`, `{kind}.txt` and `{kind}.html` (which extends
`emails/_layout.html`). The templates receive the caller's `context` plus `recipient_name`
and `absolute_url(endpoint, **values)` for links, which must be absolute in an e-mail.
Delivery is the scheduler's job (crm.outbox.jobs.deliver_outbox).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage, OutboxStatus

STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Waiting to be sent"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.FAILED: _l("Not delivered"),
}
_LINK = re.compile(r"https?://[^\s<>\"']+")
log = logging.getLogger(__name__)


class OutboxError(ValueError):
    """A resend that cannot be done; the message is shown to the user."""


# --- queueing ------------------------------------------------------------------------------


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail, built on CRM_BASE_URL (no request needed)."""
    base = urlsplit(current_app.config["CRM_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def single_line(value: str) -> str:
    """`value` on one line: control characters and line breaks become single spaces.

    A line break in a subject or a name could otherwise start a new header.
    """
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in value)
    return " ".join(cleaned.split())


def queue_email(
    *,
    kind: str,
    to_email: str,
    to_name: str = "",
    language: str = "en",
    context: dict[str, Any],
    record_type: str | None = None,
    record_id: int | None = None,
    organisation_id: int | None = None,
    user_id: int | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Render an e-mail in the recipient's language and store it for delivery (flush only).

    Jobs that queue many messages pass `flush=False` and flush once per batch, so that the
    rows go to the database in one multi-row INSERT.
    """
    language = _email_language(language)
    name = single_line(to_name)[:200]
    values = {**context, "recipient_name": name, "absolute_url": absolute_url}
    # English means British formats, as on the pages (see select_locale in crm/__init__.py).
    with force_locale("en_GB" if language == "en" else language):
        values.update(_gettext_callables())
        subject = single_line(render_template(f"emails/{kind}.subject.txt", **values))[:300]
        body_text = render_template(f"emails/{kind}.txt", **values)
        body_html = render_template(f"emails/{kind}.html", subject=subject, **values)
    message = OutboxMessage(
        kind=kind,
        language=language,
        to_email=to_email.strip(),
        to_name=name,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        message_id=new_message_id(),
        record_type=record_type,
        record_id=record_id,
        organisation_id=organisation_id,
        user_id=user_id,
    )
    db.session.add(message)
    if flush:
        db.session.flush()
    return message


def _gettext_callables() -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` bound to the current locale's catalogue.

    Flask-Babel's template callables look the catalogue up through the app context on every
    call; an e-mail calls them a dozen times, and jobs queue thousands of e-mails. These
    behave the same (Jinja's new-style gettext: %-formatting and autoescaping) with one
    lookup per e-mail.
    """
    from flask_babel import get_translations
    from jinja2.ext import _make_new_gettext, _make_new_ngettext

    translations = get_translations()
    gettext = _make_new_gettext(translations.ugettext)
    return {
        "_": gettext,
        "gettext": gettext,
        "ngettext": _make_new_ngettext(translations.ungettext),
    }


def _email_language(language: str) -> str:
    """The recipient's language if the app has it, else English."""
    languages = current_app.config["CRM_LANGUAGES"]
    if language in languages:
        return language
    primary = language.replace("-", "_").split("_")[0].lower()
    return primary if primary in languages else "en"


def new_message_id() -> str:
    """A fresh Message-ID on the sender's domain (kept on retries, so duplicates show)."""
    return make_msgid(domain=_sender_domain(current_app.config["CRM_MAIL_FROM"]))


@functools.lru_cache(maxsize=8)
def _sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def normalised_address(address: str) -> str:
    """A syntactically valid e-mail address, or OutboxError (no DNS lookups)."""
    try:
        result = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise OutboxError(_("Enter a valid e-mail address.")) from exc
    return str(result.normalized)


# --- resending -----------------------------------------------------------------------------


def resend(message: OutboxMessage, to_email: str | None = None, *, acting: User) -> OutboxMessage:
    """Queue a fresh copy of a message, to the same or a corrected address; the old one stays."""
    if message.status == OutboxStatus.PENDING:
        raise OutboxError(_("This e-mail is still waiting to be sent."))
    address = normalised_address(to_email.strip()) if to_email else message.to_email
    if address != message.to_email and not can_redirect(acting, message):
        raise OutboxError(_("You may resend this e-mail only to its original address."))
    copy = OutboxMessage(
        kind=message.kind,
        language=message.language,
        to_email=address,
        to_name=message.to_name,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        message_id=new_message_id(),
        record_type=message.record_type,
        record_id=message.record_id,
        organisation_id=message.organisation_id,
        user_id=message.user_id,
    )
    db.session.add(copy)
    db.session.flush()
    log.info("outbox message %d queued again as %d by user %d", message.id, copy.id, acting.id)
    return copy


# --- who sees what -------------------------------------------------------------------------


def is_dev_mailbox() -> bool:
    """No SMTP server configured: e-mails stay in the development mailbox for all to read."""
    return not current_app.config["CRM_SMTP_URL"]


def can_view(user: User, message: OutboxMessage) -> bool:
    """Anyone in the development mailbox; else managers, admins and the staff recipient."""
    # Bodies may hold personal links (calendar feeds, action links): not for every officer.
    return is_dev_mailbox() or user.sees_everything or message.user_id == user.id


def can_redirect(user: User, message: OutboxMessage) -> bool:
    """Who may resend to another address: readers, and the owner of the organisation concerned."""
    # Redirecting is reading: a staff member's own mail goes only to its readers; mail to
    # people outside the staff (contacts) may be corrected by the officer who owns the record.
    if can_view(user, message):
        return True
    if message.user_id is not None or message.organisation_id is None:
        return False
    owner_id = db.session.scalar(
        sa.select(Organisation.owner_id).where(Organisation.id == message.organisation_id)
    )
    return owner_id == user.id


# --- reading -------------------------------------------------------------------------------


def get_message(message_id: int) -> OutboxMessage | None:
    """One message by id."""
    return db.session.get(OutboxMessage, message_id)


def _newest_first(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


def mailbox_query(status: OutboxStatus | None = None) -> sa.Select[Any]:
    """Every message, newest first, optionally of one status (for crm.core.pagination)."""
    query = sa.select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return _newest_first(query)


def messages_for(record_type: str, record_id: int, limit: int = 100) -> list[OutboxMessage]:
    """The e-mails about one record, newest first (one statement)."""
    query = sa.select(OutboxMessage).where(
        OutboxMessage.record_type == record_type, OutboxMessage.record_id == record_id
    )
    return list(db.session.scalars(_newest_first(query).limit(limit)))


def messages_for_organisation(organisation_id: int, limit: int = 100) -> list[OutboxMessage]:
    """The e-mails about an organisation or any of its records, newest first (one statement)."""
    query = sa.select(OutboxMessage).where(OutboxMessage.organisation_id == organisation_id)
    return list(db.session.scalars(_newest_first(query).limit(limit)))


def links_in(text: str) -> list[str]:
    """The web links in a plain-text body, in order, each once."""
    return list(dict.fromkeys(match.rstrip(".,;:!?)") for match in _LINK.findall(text)))
