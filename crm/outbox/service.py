"""Queueing e-mails in the caller's transaction, resending them, and reading them back.

An e-mail is written in the recipient's language from three templates in `templates/emails/`:
`{kind}.subject.txt`, `{kind}.txt` and `{kind}.html` (which extends `emails/_layout.html`).
The templates receive the caller's `context` plus `recipient_name` and
`absolute_url(endpoint, **values)` for links, which must be absolute in an e-mail.

Most e-mails are rendered whole when they are queued. Bulk jobs (the follow-up reminders)
queue theirs with deferred bodies (crm.outbox.bulk): only the subject is rendered then (lists
show it), and the context is stored with the message as `template_values`; the deliverer
writes the bodies just before sending and keeps what it sent
(crm.outbox.jobs.deliver_outbox). Pages that show a message still waiting to be written
render its bodies on the fly (`bodies`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from contextlib import AbstractContextManager
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import Map, MapAdapter

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
# The template value that stands for an action link (crm.links.service.send_email): the link
# is written into the bodies only when the message is sent, and the bodies are then not kept.
LINK_VALUE = "action_link_id"
log = logging.getLogger(__name__)


class OutboxError(ValueError):
    """A resend that cannot be done; the message is shown to the user."""


# --- queueing ------------------------------------------------------------------------------


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail, built on CRM_BASE_URL (no request needed)."""
    adapter = _link_builder(current_app.url_map, current_app.config["CRM_BASE_URL"])
    return adapter.build(endpoint, values, force_external=True)


@functools.lru_cache(maxsize=8)
def _link_builder(url_map: Map, base_url: str) -> MapAdapter:
    # Binding the map costs more than building a link, and jobs build thousands.
    base = urlsplit(base_url)
    return url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)


# Unicode's control characters (category Cc) and the line and paragraph separators (Zl, Zp).
_NOT_ON_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def single_line(value: str) -> str:
    """`value` on one line: control characters and line breaks become single spaces.

    A line break in a subject or a name could otherwise start a new header.
    """
    return " ".join(_NOT_ON_ONE_LINE.sub(" ", value).split())


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
    defer_bodies: bool = False,
) -> OutboxMessage:
    """Render an e-mail in the recipient's language and store it for delivery (flush only).

    `flush=False` leaves the INSERT to the session's next flush. For `defer_bodies` see
    `email_row`; jobs that queue thousands of e-mails use crm.outbox.bulk.DeferredEmails.
    """
    message = OutboxMessage(
        **email_row(
            kind=kind,
            to_email=to_email,
            to_name=to_name,
            language=language,
            context=context,
            record_type=record_type,
            record_id=record_id,
            organisation_id=organisation_id,
            user_id=user_id,
            defer_bodies=defer_bodies,
        )
    )
    db.session.add(message)
    if flush:
        db.session.flush()
    return message


def email_row(
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
    defer_bodies: bool = False,
) -> dict[str, Any]:
    """The column values of a new outbox message: rendered, pending, due now; not stored.

    With `defer_bodies=True` only the subject is rendered now (lists show it), the bodies at
    delivery from `context`, which is stored as it is and must therefore hold JSON values
    only (strings, numbers, booleans, None, and lists and dicts of them; TypeError
    otherwise). Values are rendered as they are stored: format dates and translate names
    before queueing.
    """
    language = _email_language(language)
    name = single_line(to_name)[:200]
    stored: dict[str, Any] | None = None
    if defer_bodies:
        if not _is_json(context):
            raise TypeError(f"the context of a {kind} e-mail with deferred bodies is not JSON")
        stored = dict(context)
    with _in_language(language):
        values = _template_values(context, name)
        subject = single_line(_render(f"emails/{kind}.subject.txt", values))[:300]
        if defer_bodies:
            body_text = body_html = ""
        else:
            body_text, body_html = _render_bodies(kind, subject, values)
    return {
        "kind": kind,
        "language": language,
        "to_email": to_email.strip(),
        "to_name": name,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "template_values": stored,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "claimed_until": None,
        "last_error": "",
        "sent_at": None,
        "message_id": new_message_id(),
        "record_type": record_type,
        "record_id": record_id,
        "organisation_id": organisation_id,
        "user_id": user_id,
    }


def render_bodies(
    kind: str,
    language: str,
    to_name: str,
    subject: str,
    values: dict[str, Any],
    *,
    reveal_secrets: bool = False,
) -> tuple[str, str]:
    """The text and HTML bodies of an e-mail, written in `language` from its stored values.

    The same rendering as at queue time (queue_email): a message whose bodies were deferred
    reads exactly as if it had been rendered whole when it was queued. An action link in it
    (`LINK_VALUE`) is written out only with `reveal_secrets` (the deliverer; the
    development mailbox); elsewhere its place says the link is hidden.
    """
    with _in_language(language):
        values = _template_values(values, to_name)
        if LINK_VALUE in values:
            values["action_link_url"] = _action_link_url(values[LINK_VALUE], reveal_secrets)
        return _render_bodies(kind, subject, values)


def carries_secret(values: dict[str, Any] | None) -> bool:
    """Whether a message's stored values stand for an action link (never stored written)."""
    return bool(values) and LINK_VALUE in values  # type: ignore[operator]


def _action_link_url(link_id: Any, reveal: bool) -> str:
    if not reveal:
        return _("[the personal link is shown only in the e-mail sent]")
    from crm.links.service import get_link, link_url

    link = get_link(int(link_id))
    if link is None:
        raise OutboxError(f"action link {link_id} is gone")
    return link_url(link)


def bodies(message: OutboxMessage) -> tuple[str, str]:
    """The text and HTML bodies of a message: as stored, or written now if still deferred.

    Nothing is written to the database. A message that cannot be written (a template error)
    shows empty bodies; the deliverer records the error on the message.
    """
    if message.template_values is None:
        return message.body_text, message.body_html
    try:
        return render_bodies(
            message.kind,
            message.language,
            message.to_name,
            message.subject,
            message.template_values,
            # Staff never read an employer's link (they could decide in the employer's
            # place); the development mailbox, where nothing is really sent, shows it.
            reveal_secrets=is_dev_mailbox(),
        )
    except Exception:
        log.exception("outbox message %s could not be written (template error)", message.id)
        return "", ""


def _render_bodies(kind: str, subject: str, values: dict[str, Any]) -> tuple[str, str]:
    """Both bodies; call it inside `_in_language` with values from `_template_values`."""
    body_text = _render(f"emails/{kind}.txt", values)
    body_html = _render(f"emails/{kind}.html", {**values, "subject": subject})
    return body_text, body_html


def _render(template: str, values: dict[str, Any]) -> str:
    """One e-mail template, given `values` and the Jinja globals only.

    Not Flask's render_template: its context processors add the logged-in user, on which an
    e-mail must not depend (the same e-mail is written by a page and by the scheduler), and
    they cost more than a subject line does.
    """
    return current_app.jinja_env.get_template(template).render(values)


def _in_language(language: str) -> AbstractContextManager[None]:
    """Flask-Babel's locale for an e-mail in `language` (an app language, see _email_language)."""
    # English means British formats, as on the pages (see select_locale in crm/__init__.py).
    locale = "en_GB" if language == "en" else language
    if str(get_locale()) == locale:
        # Jobs already work in the recipients' language (crm.followups.jobs): keep it.
        return contextlib.nullcontext()
    return force_locale(locale)


def _template_values(context: dict[str, Any], name: str) -> dict[str, Any]:
    """What the templates receive; call it inside `_in_language` (gettext binds the locale)."""
    return {
        **context,
        "recipient_name": name,
        "absolute_url": absolute_url,
        **_gettext_callables(),
    }


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_json(value: Any) -> bool:
    """Whether `value` comes back from JSON as it went in (no Markup, dates or objects)."""
    # Exact types: a Markup string would come back as a plain (escaped) one.
    if type(value) in _JSON_SCALARS:
        return True
    if type(value) is list:
        return all(_is_json(item) for item in value)
    if type(value) is dict:
        # Most values are strings: checked here, without a call each.
        return all(
            type(key) is str and (type(item) is str or _is_json(item))
            for key, item in value.items()
        )
    return False


def _gettext_callables() -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` bound to the current locale's catalogue.

    Flask-Babel's template callables look the catalogue up through the app context on every
    call; an e-mail calls them a dozen times, and jobs queue thousands of e-mails. These
    behave the same (Jinja's new-style gettext: %-formatting and autoescaping) with one
    lookup per e-mail.
    """
    from flask_babel import get_translations

    return _bound_gettext(get_translations())


@functools.lru_cache(maxsize=16)
def _bound_gettext(translations: Any) -> dict[str, Any]:
    # Flask-Babel keeps one catalogue object per locale: bind it once, not once per e-mail.
    from jinja2.ext import _make_new_gettext, _make_new_ngettext

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
    if address != message.to_email and carries_secret(message.template_values):
        # A link belongs to one recipient: a new address gets a new link, from the record.
        raise OutboxError(
            _(
                "This e-mail carries a personal link: correct the address on record and "
                "send a new link from the record's page."
            )
        )
    copy = OutboxMessage(
        kind=message.kind,
        language=message.language,
        to_email=address,
        to_name=message.to_name,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        # Bodies never written (a template error at delivery) are written for the copy.
        template_values=message.template_values,
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
