"""Queueing e-mails by the thousand: the follow-up reminders of a scheduler batch.

`DeferredEmails` makes the same messages as `crm.outbox.service.queue_email(...,
defer_bodies=True)` one by one (a test holds them equal): the subject is written now, the
bodies at delivery from the stored template values. What e-mails in one language share is
looked up once per language rather than once per e-mail, and a batch is stored in one
statement in the caller's transaction: a rollback takes the e-mails back with the change that
caused them, as for any other e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import make_msgid
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.db import utcnow
from crm.extensions import db
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.outbox.service import (
    _email_language,
    _gettext_callables,
    _in_language,
    _is_json,
    _sender_domain,
    absolute_url,
    single_line,
)


def queue_emails(rows: list[dict[str, Any]]) -> None:
    """Store new messages (rows as `email_row` makes) in one statement; no objects, no ids.

    Far cheaper than `queue_email` per message when a job queues thousands: the ORM neither
    tracks the rows nor reads their ids back. On PostgreSQL (psycopg) the rows are copied in
    (COPY costs the server about half of what one INSERT per row does, and the client less);
    elsewhere they go in one executemany INSERT. Either way in the session's transaction.
    """
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy_rows(connection, rows)
    else:
        connection.execute(sa.insert(OutboxMessage.__table__), rows)


def _copy_rows(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into the outbox table, their values converted as an INSERT would."""
    table = OutboxMessage.__table__
    dialect = connection.dialect
    columns = [column for column in table.columns if column.name != "id"]
    # The conversions SQLAlchemy applies to these columns' values (the JSON column's
    # serialisation, the status enum's value); the others go to the driver as they are.
    processors = [
        (index, processor)
        for index, column in enumerate(columns)
        if (processor := column.type.dialect_impl(dialect).bind_processor(dialect))
    ]
    defaults = {"created_at": utcnow()}
    names = [column.name for column in columns]
    preparer = dialect.identifier_preparer
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.format_column(c) for c in columns)
    )
    driver_connection: Any = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = [row[name] if name in row else defaults[name] for name in names]
            for index, processor in processors:
                values[index] = processor(values[index])
            copy.write_row(values)


class DeferredEmails:
    """E-mails of one kind with deferred bodies, queued together: the way for bulk jobs.

    Each e-mail is the row that `email_row(..., defer_bodies=True)` makes of the same values,
    but what e-mails in one language share (the locale, its catalogue, the subject template
    and Jinja's globals) is looked up once per language; `queue` writes the subjects and
    stores every e-mail in one statement (`queue_emails`), in the order they were added.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._emails: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._languages: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._message_domain = _sender_domain(current_app.config["CRM_MAIL_FROM"])

    def __len__(self) -> int:
        return len(self._emails)

    def add(
        self,
        *,
        to_email: str,
        to_name: str = "",
        language: str = "en",
        context: dict[str, Any],
        record_type: str | None = None,
        record_id: int | None = None,
        organisation_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        """One more e-mail; TypeError unless `context` holds JSON values only (see email_row)."""
        if not _is_json(context):
            raise TypeError(f"the context of a {self.kind} e-mail with deferred bodies is not JSON")
        if language not in self._languages:
            self._languages[language] = _email_language(language)
        if to_name not in self._names:
            self._names[to_name] = single_line(to_name)[:200]
        values = dict(context)
        row: dict[str, Any] = {
            "kind": self.kind,
            "language": self._languages[language],
            "to_email": to_email.strip(),
            "to_name": self._names[to_name],
            "subject": "",  # written by `queue`, language by language
            "body_text": "",
            "body_html": "",
            "template_values": values,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": None,  # set by `queue`: due from the moment they are stored
            "claimed_until": None,
            "last_error": "",
            "sent_at": None,
            "message_id": make_msgid(domain=self._message_domain),
            "record_type": record_type,
            "record_id": record_id,
            "organisation_id": organisation_id,
            "user_id": user_id,
        }
        self._emails.append((row, values))

    def queue(self) -> int:
        """Write the subjects and store the e-mails added since the last call; how many."""
        emails, self._emails = self._emails, []
        by_language: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for email in emails:
            by_language.setdefault(email[0]["language"], []).append(email)
        moment = utcnow()
        for language, group in by_language.items():
            with _in_language(language):
                subject = _subject_writer(self.kind)
                for row, context in group:
                    row["subject"] = subject(context, row["to_name"])
                    row["next_attempt_at"] = moment
        queue_emails([row for row, _context in emails])
        return len(emails)


def _subject_writer(kind: str) -> Callable[[dict[str, Any], str], str]:
    """Writes the subject line of `kind` e-mails as `email_row` does, in the current language.

    Call it inside `_in_language`. What Template.render does per call (copying Jinja's
    globals, looking the catalogue up) is done here once: a subject line costs only its
    template's own code.
    """
    template = current_app.jinja_env.get_template(f"emails/{kind}.subject.txt")
    environment = template.environment
    globals_ = dict(template.globals)
    fixed = {"absolute_url": absolute_url, **_gettext_callables()}

    def subject(context: dict[str, Any], name: str) -> str:
        # The names the template sees are those of _template_values over Jinja's globals.
        values = {**globals_, **context, "recipient_name": name, **fixed}
        try:
            text = environment.concat(
                template.root_render_func(template.new_context(values, shared=True))
            )
        except Exception:
            environment.handle_exception()
        return single_line(text)[:300]

    return subject
