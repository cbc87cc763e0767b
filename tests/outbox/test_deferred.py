"""Deferred bodies: bulk e-mails store their template values and are written at delivery."""

from __future__ import annotations

import datetime as dt
import logging
import re
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from markupsafe import Markup

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.followups.jobs import send_due_reminders
from crm.outbox import service as outbox
from crm.outbox.jobs import DeliveryRun, deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.core.helpers import fresh, text
from tests.factories import make_organisation, make_user
from tests.outbox.mailserver import MailServer
from tests.scheduler.support import make_follow_up

TEMPLATE_ERROR = "The e-mail could not be written (template error)"


def reminder_values(**overrides: Any) -> dict[str, Any]:
    """A reminder's context as crm.followups.jobs queues it: plain strings, or None."""
    values = {
        "follow_up_subject": "Call Mrs Weber about the autumn placements",
        "record_name": "Rheinwerk Tools GmbH",
        "due": "Fri, 14 Mar 2025, 09:30",
        "zone": "Belgium Time",
        "notes": "She prefers <mornings> & coffee.",
        "url": "https://crm.example.test/organisations/7",
    }
    values.update(overrides)
    return values


def queue_reminder(
    to_email: str = "jana.novak@employer.test", *, defer_bodies: bool = True, **overrides: Any
) -> OutboxMessage:
    values: dict[str, Any] = {
        "kind": "followup_reminder",
        "to_email": to_email,
        "to_name": "Jana Novák",
        "context": reminder_values(),
        "defer_bodies": defer_bodies,
    }
    values.update(overrides)
    message = outbox.queue_email(**values)
    db.session.commit()
    return message


def stored_values(message: OutboxMessage) -> Any:
    """template_values as the database holds it (SQL NULL is None, not a JSON null)."""
    return db.session.execute(
        sa.select(
            OutboxMessage.template_values, OutboxMessage.template_values.is_(None).label("null")
        ).where(OutboxMessage.id == message.id)
    ).one()


def sent_parts(server: MailServer, address: str) -> tuple[str, str]:
    """The text and HTML parts of the one message the server received for `address`."""
    (received,) = [r for r in server.received if r.rcpt_tos == (address,)]
    text_part = received.message.get_body(preferencelist=("plain",))
    html_part = received.message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    return text_part.get_content(), html_part.get_content()


def same_body(sent: str, stored: str) -> bool:
    return sent.rstrip("\n") == stored.rstrip("\n")


# --- queueing ------------------------------------------------------------------------------


def test_a_deferred_message_has_its_subject_and_values_but_no_bodies_yet(ctx):
    message = fresh(queue_reminder())  # as read back from the database

    assert message.subject == "Follow-up due: Call Mrs Weber about the autumn placements"
    assert (message.body_text, message.body_html) == ("", "")
    assert message.template_values == reminder_values()
    assert message.status == OutboxStatus.PENDING
    # A message rendered whole stores no values: SQL NULL, not a JSON null.
    whole = queue_reminder(defer_bodies=False)
    assert tuple(stored_values(whole)) == (None, True)
    assert tuple(stored_values(message)) == (reminder_values(), False)


@pytest.mark.parametrize("language", ["en", "de"])
def test_deferred_bodies_read_exactly_as_if_rendered_when_queued(ctx, language):
    whole = queue_reminder(defer_bodies=False, language=language)
    deferred = queue_reminder(language=language)

    assert deferred.subject == whole.subject
    assert outbox.bodies(deferred) == (whole.body_text, whole.body_html)
    assert "She prefers &lt;mornings&gt; &amp; coffee." in whole.body_html  # escaped in both
    assert f'<html lang="{language}">' in whole.body_html
    # Reading the bodies wrote nothing.
    assert tuple(stored_values(deferred))[1] is False
    assert (fresh(deferred).body_text, fresh(deferred).body_html) == ("", "")


@pytest.mark.parametrize(
    "value",
    [dt.date(2025, 3, 14), Markup("<b>bold</b>"), {1: "numeric key"}, ("a", "tuple"), object()],
)
def test_a_context_that_would_not_come_back_from_json_is_refused(ctx, value):
    with pytest.raises(TypeError, match="not JSON"):
        outbox.queue_email(
            kind="followup_reminder",
            to_email="jana.novak@employer.test",
            context=reminder_values(notes=value),
            defer_bodies=True,
        )
    # Rendered whole, the same context is fine.
    message = outbox.queue_email(
        kind="followup_reminder",
        to_email="jana.novak@employer.test",
        context=reminder_values(notes=value),
    )
    assert message.body_text and message.template_values is None


# --- delivery ------------------------------------------------------------------------------


def test_a_reminder_is_written_at_delivery_in_the_assignees_language(ctx, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.test")
    greta = make_user(Role.OFFICER, name="Greta Groß", locale="de", timezone="Europe/Berlin")
    organisation = make_organisation(greta, legal_name="Kölner Metallbau GmbH")
    make_follow_up(
        greta,
        dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.UTC),
        organisation=organisation,
        subject="Follow up the first approach and book a needs-analysis meeting",
        created_by_rule="partnership.approach",
    )
    assert send_due_reminders().reminded == 1
    (message,) = db.session.scalars(sa.select(OutboxMessage))
    assert (message.body_text, message.body_html) == ("", "")
    assert message.template_values is not None

    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

    sent_text, sent_html = sent_parts(smtp, greta.email)
    assert sent_text.startswith("Hallo Greta Groß,\n")
    assert "Eine Ihrer Wiedervorlagen ist fällig:" in sent_text
    assert "Erste Kontaktaufnahme nachfassen" in sent_text
    assert "Mi., 15. Jan. 2025, 09:30" in sent_text
    assert (
        f"Vorgang öffnen: https://crm.example.test/organisations/{organisation.id}\n" in sent_text
    )
    assert '<html lang="de">' in sent_html
    assert "Eine Ihrer Wiedervorlagen ist fällig:" in sent_html
    # What was sent is what is kept; the values are gone.
    message = fresh(message)
    assert message.status == OutboxStatus.SENT
    assert same_body(sent_text, message.body_text) and same_body(sent_html, message.body_html)
    assert tuple(stored_values(message)) == (None, True)


def test_the_development_mailbox_keeps_the_bodies_it_wrote(ctx):
    message = queue_reminder(language="de")
    expected = outbox.bodies(message)

    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)  # no CRM_SMTP_URL

    message = fresh(message)
    assert (message.body_text, message.body_html) == expected
    assert "Hallo Jana Novák," in message.body_text
    assert tuple(stored_values(message)) == (None, True)


def test_a_message_retried_later_keeps_the_bodies_of_its_first_attempt(ctx, smtp):
    message = queue_reminder()
    smtp.stop()
    now = utcnow()

    assert deliver_outbox(now=now) == DeliveryRun(claimed=1, retrying=1)

    message = fresh(message)
    assert "Connection refused" in message.last_error
    assert "Call Mrs Weber about the autumn placements" in message.body_text
    assert tuple(stored_values(message)) == (None, True)
    smtp.start()
    assert deliver_outbox(now=now + dt.timedelta(minutes=5)) == DeliveryRun(claimed=1, sent=1)
    sent_text, sent_html = sent_parts(smtp, message.to_email)
    message = fresh(message)
    assert same_body(sent_text, message.body_text) and same_body(sent_html, message.body_html)


def test_a_template_error_fails_that_message_and_the_batch_goes_on(ctx, smtp, admin, caplog):
    first = queue_reminder("first@employer.test")
    broken = queue_reminder("broken@employer.test")
    last = queue_reminder("last@employer.test")
    # The template was renamed by an update while the message waited.
    db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == broken.id).values(kind="gone_reminder")
    )
    db.session.commit()

    with caplog.at_level(logging.ERROR, logger="crm.outbox.jobs"):
        assert deliver_outbox() == DeliveryRun(claimed=3, sent=2, failed=1)

    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "first@employer.test",
        "last@employer.test",
    ]
    assert {fresh(first).status, fresh(last).status} == {OutboxStatus.SENT}
    broken = fresh(broken)
    assert (broken.status, broken.attempts, broken.last_error) == (
        OutboxStatus.FAILED,
        1,
        TEMPLATE_ERROR,
    )
    (record,) = [r for r in caplog.records if r.name == "crm.outbox.jobs"]
    assert f"outbox message {broken.id} could not be written" in record.getMessage()
    assert record.exc_info is not None and "gone_reminder" in str(record.exc_info[1])
    assert "@" not in caplog.text
    # The values stay, so that once the template is back the e-mail can be sent again.
    assert broken.template_values == reminder_values()
    broken.kind = "followup_reminder"
    copy = outbox.resend(broken, acting=admin)
    db.session.commit()
    assert copy.template_values == reminder_values() and copy.body_text == ""
    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)
    sent_text, _html = sent_parts(smtp, "broken@employer.test")
    assert "Call Mrs Weber about the autumn placements" in sent_text


# --- pages ---------------------------------------------------------------------------------


def test_the_mailbox_shows_the_bodies_of_a_deferred_message_waiting_to_be_sent(
    ctx, login_as, officer, admin
):
    message = queue_reminder(admin.email, language="de", user_id=admin.id)
    client = login_as(officer)

    page = unescape(text(client.get(f"/outbox/{message.id}")))
    html = text(client.get(f"/outbox/{message.id}/html"))

    body = re.search(r'<pre [^>]*id="body-text">(.*?)</pre>', page, re.S)
    assert body is not None
    assert "Eine Ihrer Wiedervorlagen ist fällig:" in body.group(1)
    assert "Call Mrs Weber about the autumn placements" in body.group(1)
    assert "https://crm.example.test/organisations/7" in page.split('id="links"')[1]
    assert 'id="body-html"' in page
    assert '<html lang="de">' in html and "Vorgang öffnen" in html
    # Looking does not write: the message is still written at delivery.
    message = fresh(message)
    assert (message.body_text, message.template_values) == ("", reminder_values())
