"""Bulk queueing (DeferredEmails): the same messages as one by one, stored in one statement."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from crm.extensions import db
from crm.outbox import bulk
from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import make_organisation, make_user
from tests.outbox.test_deferred import reminder_values

# Columns that differ between any two messages, however they were queued.
UNIQUE = {"id", "message_id", "created_at", "next_attempt_at"}


def columns(message: OutboxMessage) -> dict[str, Any]:
    """A stored message's columns, as read back from the database."""
    db.session.expire(message)
    return {c.key: getattr(message, c.key) for c in OutboxMessage.__mapper__.column_attrs}


def stored(kind: str = "followup_reminder") -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    return list(db.session.scalars(query))


RECIPIENTS = [
    # language, name: an app language, a regional variant, one the app lacks, a name that
    # would break a header, no name at all
    ("en", "Jana Novák"),
    ("de", "Greta Groß"),
    ("de_AT", "Anna\r\nBcc: someone@else.test"),
    ("pt_BR", ""),
]


@pytest.mark.parametrize("current", ["en_GB", "de"])
def test_bulk_messages_are_those_queued_one_by_one(ctx, current):
    officer = make_user("officer")
    organisation = make_organisation(officer)
    contexts = [
        reminder_values(),
        reminder_values(follow_up_subject="Zweites Gespräch über die Praktika"),
        reminder_values(notes=None, url=None, extra=[1, 2.5, True, {"nested": ["x"]}]),
        reminder_values(follow_up_subject="=?utf-8?q?looks_encoded?= and <b>"),
    ]
    one_by_one: list[OutboxMessage] = []
    emails = bulk.DeferredEmails("followup_reminder")
    # Whatever language the caller happens to be in: each e-mail is in its recipient's.
    with force_locale(current):
        for language, name in RECIPIENTS:
            for context in contexts:
                values: dict[str, Any] = {
                    "to_email": f" {language}@employer.test ",
                    "to_name": name,
                    "language": language,
                    "context": context,
                    "record_type": "follow_up",
                    "record_id": 7,
                    "organisation_id": organisation.id,
                    "user_id": officer.id,
                }
                emails.add(**values)
                one_by_one.append(
                    outbox.queue_email(kind="followup_reminder", defer_bodies=True, **values)
                )
        assert len(emails) == len(one_by_one)
        assert emails.queue() == len(one_by_one)
        assert len(emails) == 0
    db.session.flush()

    together = [m for m in stored() if m not in one_by_one]
    assert len(together) == len(one_by_one)
    for single, queued in zip(one_by_one, together, strict=True):
        expected, actual = columns(single), columns(queued)
        assert {k: v for k, v in actual.items() if k not in UNIQUE} == {
            k: v for k, v in expected.items() if k not in UNIQUE
        }
        assert actual["message_id"] != expected["message_id"]
        assert actual["message_id"].endswith(">") and "@" in actual["message_id"]
        assert actual["created_at"].tzinfo is not None
        assert actual["next_attempt_at"].tzinfo is not None  # due at once
    german = [m for m in together if m.language == "de"]
    assert german and all(m.subject.startswith("Wiedervorlage fällig") for m in german)
    assert {m.language for m in together} == {"en", "de"}
    assert all("\n" not in m.to_name and "\r" not in m.to_name for m in together)
    assert all(m.status == OutboxStatus.PENDING and m.template_values for m in together)


def test_bulk_messages_are_stored_in_the_order_added_in_the_callers_transaction(ctx):
    emails = bulk.DeferredEmails("followup_reminder")
    for n, language in enumerate(["de", "en", "de", "en"]):
        emails.add(
            to_email=f"officer{n}@crm.test",
            language=language,
            context=reminder_values(),
            record_type="follow_up",
            record_id=n,
        )
    savepoint = db.session.begin_nested()
    emails.queue()
    assert [m.record_id for m in stored()] == [0, 1, 2, 3]
    savepoint.rollback()  # the e-mails go with the caller's transaction
    assert stored() == []


def test_bulk_refuses_a_context_that_would_not_come_back_from_json(ctx):
    emails = bulk.DeferredEmails("followup_reminder")
    with pytest.raises(TypeError, match="not JSON"):
        emails.add(to_email="jana.novak@employer.test", context=reminder_values(notes=object()))
    assert len(emails) == 0


def test_a_missing_subject_template_fails_the_queueing_and_stores_nothing(ctx):
    emails = bulk.DeferredEmails("no_such_kind")
    emails.add(to_email="jana.novak@employer.test", context={})
    with pytest.raises(TemplateNotFound):
        emails.queue()
    assert stored("no_such_kind") == []
