"""Queueing: e-mails are rendered in the recipient's language and stored with the change."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.db import utcnow
from crm.extensions import db
from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.core.helpers import count_rows


def queue(**overrides: object) -> OutboxMessage:
    values: dict = {
        "kind": "test_message",
        "to_email": "jana.novak@employer.test",
        "to_name": "Jana Novák",
        "context": {},
    }
    values.update(overrides)
    return outbox.queue_email(**values)  # type: ignore[arg-type]


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no lang attribute on <html>"
    return match.group(1)


def test_a_queued_email_is_stored_pending_in_the_callers_transaction(ctx):
    before = utcnow()
    message = queue(record_type="partnership", record_id=7, organisation_id=None)

    stored = db.session.get(OutboxMessage, message.id)
    assert stored is message
    assert (message.status, message.attempts, message.claimed_until, message.sent_at) == (
        OutboxStatus.PENDING,
        0,
        None,
        None,
    )
    assert before <= message.next_attempt_at <= utcnow()
    assert (message.record_type, message.record_id) == ("partnership", 7)
    assert re.fullmatch(r"<[^<>@\s]+@school\.test>|<[^<>@\s]+@localhost>", message.message_id)
    # Flushed, not committed: the caller's rollback takes the e-mail back.
    db.session.rollback()
    assert count_rows(OutboxMessage) == 0


def test_the_email_is_rendered_in_the_recipients_language(ctx):
    german = queue(language="de")
    english = queue(language="en")

    assert html_lang(german.body_html) == "de"
    assert html_lang(english.body_html) == "en"
    # "My account" is already translated in the German catalogue.
    assert "Mein Konto" in german.body_text and "Mein Konto" in german.body_html
    assert "My account" in english.body_text and "Mein Konto" not in english.body_text
    assert (german.language, english.language) == ("de", "en")
    assert english.subject == "Test e-mail from the Partnership CRM"
    assert german.subject != english.subject


def test_a_job_queues_emails_without_a_request(app):
    with app.app_context():  # as the scheduler does
        message = queue(language="de")
    assert html_lang(message.body_html) == "de"
    assert "Mein Konto" in message.body_text
    assert outbox.links_in(message.body_text) == [f"{app.config['CRM_BASE_URL']}/account"]


def test_a_language_the_app_does_not_have_falls_back_to_english(ctx):
    assert queue(language="fr").language == "en"
    assert queue(language="de-AT").language == "de"


def test_rendering_does_not_change_the_language_of_the_page_being_served(app):
    from flask_babel import get_locale

    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert str(get_locale()) == "de"
        queue(language="en")
        assert str(get_locale()) == "de"


def test_texts_and_html_hold_absolute_links_on_the_base_url(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.school.test/partners")
    message = queue()

    link = "https://crm.school.test/partners/account"
    assert outbox.links_in(message.body_text) == [link]
    assert f'href="{link}"' in message.body_html
    assert "http://localhost" not in message.body_html


def test_absolute_url_needs_no_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.school.test")
    with app.app_context():  # as in a scheduler job
        url = outbox.absolute_url("organisations.show", organisation_id=5, tab="e-mails")
    assert url == "https://crm.school.test/organisations/5?tab=e-mails"


def test_the_html_escapes_what_the_caller_passes(ctx):
    message = queue(to_name="<script>alert(1)</script>")
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.body_html
    # The text part is plain text: no HTML escaping there.
    assert "Hello <script>alert(1)</script>," in message.body_text


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x0b", "\x00"])
def test_line_breaks_in_subject_and_name_are_flattened(ctx, line_break):
    message = queue(
        to_name=f"Eve{line_break}Bcc: evil@example.test",
        context={"note": f"hello{line_break}Bcc: evil@example.test"},
    )
    assert message.to_name == "Eve Bcc: evil@example.test"
    assert message.subject == "Test e-mail from the Partnership CRM: hello Bcc: evil@example.test"


def test_record_pages_read_their_messages_newest_first_in_one_statement(
    ctx, officer, count_statements
):
    from tests.factories import make_organisation

    organisation = make_organisation(officer)
    other = make_organisation(officer)
    first = queue(record_type="partnership", record_id=1, organisation_id=organisation.id)
    second = queue(record_type="partnership", record_id=1, organisation_id=organisation.id)
    on_the_organisation = queue(
        record_type="organisation", record_id=organisation.id, organisation_id=organisation.id
    )
    queue(record_type="partnership", record_id=2, organisation_id=other.id)
    organisation_id = organisation.id
    db.session.commit()

    with count_statements() as counter:
        about_the_record = outbox.messages_for("partnership", 1)
        about_the_organisation = outbox.messages_for_organisation(organisation_id)
        [m.subject for m in about_the_record + about_the_organisation]
    assert counter.count == 2, [s[:60] for s in counter.statements]
    assert about_the_record == [second, first]
    assert about_the_organisation == [on_the_organisation, second, first]


def test_links_in_a_text_body(app: Flask):
    body = "Open http://a.test/x?y=1, or (https://b.test/z). Again: http://a.test/x?y=1\n"
    assert outbox.links_in(body) == ["http://a.test/x?y=1", "https://b.test/z"]


def test_a_missing_template_fails_loudly_and_stores_nothing(ctx):
    from jinja2 import TemplateNotFound

    with pytest.raises(TemplateNotFound):
        queue(kind="no_such_kind")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
