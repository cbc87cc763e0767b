"""The development mailbox, the delivery log, one message, resend and the record partial."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from crm.auth.models import User
from crm.extensions import db
from crm.outbox import service as outbox
from crm.outbox.forms import ResendForm
from crm.outbox.jobs import deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.core.helpers import count_rows, flashes, fresh, text
from tests.factories import make_organisation, make_user
from tests.outbox.mailserver import REFUSED


def queue(to_email: str = "jana.novak@employer.test", **overrides: object) -> OutboxMessage:
    values: dict = {"kind": "test_message", "to_email": to_email, "context": {}}
    values.update(overrides)
    message = outbox.queue_email(**values)  # type: ignore[arg-type]
    db.session.commit()
    return message


def failed(message: OutboxMessage, error: str = REFUSED) -> OutboxMessage:
    message.status = OutboxStatus.FAILED
    message.attempts = 1
    message.last_error = error
    db.session.commit()
    return message


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'<a href="([^"]+)"', html)]


# --- the development mailbox ---------------------------------------------------------------


def test_without_smtp_everyone_reads_the_mailbox_and_opens_the_links(
    app, ctx, login_as, officer, admin
):
    sent = queue("jana.novak@employer.test", to_name="Jana Novák")
    deliver_outbox()
    waiting = queue(admin.email, to_name=admin.name, user_id=admin.id, context={"note": "later"})
    client = login_as(officer)

    home = text(client.get("/organisations/"))
    assert 'id="mailbox-link"' in home and 'href="/outbox/"' in home
    page = text(client.get("/outbox/"))
    assert "No mail server is set up" in page
    rows = re.findall(r'<tr id="message-(\d+)">(.*?)</tr>', page, re.S)
    assert [int(message_id) for message_id, _row in rows] == [waiting.id, sent.id]
    assert "Jana Novák" in rows[1][1] and "jana.novak@employer.test" in rows[1][1]
    assert 'data-status="sent"' in rows[1][1] and 'data-status="pending"' in rows[0][1]
    assert unescape(sent.subject) in unescape(rows[1][1])

    # Anyone may read any message in the development mailbox, even one for the admin.
    message_page = text(client.get(f"/outbox/{waiting.id}"))
    assert f"{app.config['CRM_BASE_URL']}/account" in links(message_page)
    assert "This is a test e-mail from the Partnership CRM." in message_page
    assert "&lt;html lang=&#34;en&#34;&gt;" in message_page  # the HTML source, escaped
    assert waiting.message_id in unescape(message_page)


def test_the_mailbox_pages_and_filters_by_status(app, ctx, login_as, officer, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_PAGE_SIZE", 5)
    messages = [queue(f"person{n}@employer.test") for n in range(7)]
    failed(messages[0])
    client = login_as(officer)

    first = text(client.get("/outbox/"))
    second = text(client.get("/outbox/?page=2"))
    only_failed = text(client.get("/outbox/?status=failed"))
    nonsense = client.get("/outbox/?status=nonsense&page=x")

    def shown(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'<tr id="message-(\d+)">', html)]

    ids = [m.id for m in reversed(messages)]
    assert shown(first) == ids[:5]
    assert shown(second) == ids[5:]
    assert shown(only_failed) == [messages[0].id]
    assert REFUSED in only_failed
    assert nonsense.status_code == 200 and shown(text(nonsense)) == ids[:5]


def test_the_html_version_is_served_sandboxed(ctx, login_as, officer):
    message = queue()
    response = login_as(officer).get(f"/outbox/{message.id}/html")

    assert response.status_code == 200
    assert text(response) == message.body_html
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


# --- with SMTP configured ------------------------------------------------------------------


def test_with_smtp_the_delivery_log_is_for_admins_only(ctx, smtp, login_as, officer, admin):
    message = queue()
    officer_client, admin_client = login_as(officer), login_as(admin)

    assert officer_client.get("/outbox/").status_code == 404
    assert officer_client.get(f"/outbox/{message.id}").status_code == 404
    assert officer_client.get(f"/outbox/{message.id}/html").status_code == 404
    assert 'id="mailbox-link"' not in text(officer_client.get("/organisations/"))
    log = admin_client.get("/outbox/")
    assert log.status_code == 200
    assert "E-mail delivery" in text(log) and "No mail server is set up" not in text(log)
    assert admin_client.get(f"/outbox/{message.id}").status_code == 200


def test_with_smtp_a_message_is_readable_by_its_recipient_and_managers(
    ctx, smtp, login_as, officer, manager
):
    own = queue(officer.email, user_id=officer.id)
    someone_elses = queue(manager.email, user_id=manager.id)

    officer_client = login_as(officer)
    assert officer_client.get(f"/outbox/{own.id}").status_code == 200
    assert officer_client.get(f"/outbox/{someone_elses.id}").status_code == 404
    assert login_as(manager).get(f"/outbox/{own.id}").status_code == 200


def test_an_admin_sends_a_test_email_to_themselves(ctx, smtp, login_as, admin, officer):
    client = login_as(admin)
    response = client.post_form("/outbox/test")

    assert response.status_code == 302 and response.location == "/outbox/"
    assert flashes(text(client.get("/outbox/"))) == [
        f"A test e-mail to {admin.email} is on its way."
    ]
    message = db.session.scalar(sa.select(OutboxMessage))
    assert message is not None
    assert (message.kind, message.to_email, message.to_name, message.user_id) == (
        "test_message",
        admin.email,
        admin.name,
        admin.id,
    )
    deliver_outbox()
    assert [r.rcpt_tos for r in smtp.received] == [(admin.email,)]
    assert login_as(officer).post_form("/outbox/test").status_code == 404
    assert count_rows(OutboxMessage) == 1


# --- resend and the record partial ---------------------------------------------------------


@pytest.fixture
def organisation(officer):
    return make_organisation(officer, legal_name="Brightwork Engineering GmbH")


def about(organisation) -> dict:
    return {
        "record_type": "organisation",
        "record_id": organisation.id,
        "organisation_id": organisation.id,
    }


def render_partial(user: User, record_type: str, record_id: int) -> str:
    login_user(user)
    return render_template(
        "outbox/_messages.html",
        outbox_messages=outbox.messages_for(record_type, record_id),
        resend_form=ResendForm(),
    )


def test_the_record_partial_shows_the_error_and_a_resend_form(ctx, smtp, officer, organisation):
    smtp.refuse("j.schaefer@brightwork.tset")
    bad = queue("j.schaefer@brightwork.tset", **about(organisation))
    good = queue("office@brightwork.test", **about(organisation))
    deliver_outbox()
    assert fresh(bad).status == OutboxStatus.FAILED

    html = render_partial(officer, "organisation", organisation.id)

    items = dict(
        re.findall(r'<li class="list-group-item" id="outbox-message-(\d+)">(.*?)</li>', html, re.S)
    )
    assert list(items) == [str(good.id), str(bad.id)]
    assert 'data-status="failed"' in items[str(bad.id)]
    assert REFUSED in items[str(bad.id)]
    assert f'action="/outbox/{bad.id}/resend"' in items[str(bad.id)]
    assert 'value="j.schaefer@brightwork.tset"' in items[str(bad.id)]  # to correct
    assert 'data-status="sent"' in items[str(good.id)]
    assert "resend" not in items[str(good.id)]
    # With SMTP, officers cannot open messages (bodies may hold personal links).
    assert "/outbox/" + str(good.id) + '"' not in html


def test_the_record_partial_without_messages(ctx, officer, organisation):
    html = render_partial(officer, "organisation", organisation.id)
    assert 'id="no-outbox-messages"' in html


def test_the_owner_resends_to_a_corrected_address_and_it_is_delivered(
    ctx, smtp, login_as, officer, organisation
):
    smtp.refuse("j.schaefer@brightwork.tset")
    bad = queue("j.schaefer@brightwork.tset", to_name="Jörg Schäfer", **about(organisation))
    deliver_outbox()
    client = login_as(officer)

    response = client.post_form(
        f"/outbox/{bad.id}/resend",
        {"to_email": "j.schaefer@brightwork.test", "next": f"/organisations/{organisation.id}"},
    )

    assert response.status_code == 302
    assert response.location == f"/organisations/{organisation.id}"
    assert flashes(text(client.get(response.location))) == [
        "The e-mail to j.schaefer@brightwork.test will be sent again."
    ]
    deliver_outbox()
    assert [r.rcpt_tos for r in smtp.received] == [("j.schaefer@brightwork.test",)]
    copy = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.id != bad.id))
    assert copy is not None
    assert (copy.status, copy.record_type, copy.record_id, copy.to_name) == (
        OutboxStatus.SENT,
        "organisation",
        organisation.id,
        "Jörg Schäfer",
    )
    assert fresh(bad).status == OutboxStatus.FAILED  # kept as history
    assert outbox.messages_for("organisation", organisation.id) == [copy, bad]


def test_another_officer_may_resend_only_to_the_same_address(ctx, smtp, login_as, organisation):
    stranger = make_user("officer")
    bad = failed(queue("j.schaefer@brightwork.tset", **about(organisation)))
    client = login_as(stranger)
    back = f"/organisations/{organisation.id}"

    refused = client.post_form(
        f"/outbox/{bad.id}/resend", {"to_email": "thief@elsewhere.test", "next": back}
    )
    assert refused.location == back
    assert flashes(text(client.get(back))) == [
        "You may resend this e-mail only to its original address."
    ]
    assert count_rows(OutboxMessage) == 1

    same = client.post_form(f"/outbox/{bad.id}/resend", {"next": back})
    assert same.location == back
    assert count_rows(OutboxMessage) == 2
    assert render_partial(stranger, "organisation", organisation.id).count('name="to_email"') == 0


def test_mail_to_a_staff_member_is_not_redirected_by_an_officer(
    ctx, smtp, login_as, officer, admin, organisation
):
    to_admin = failed(queue(admin.email, user_id=admin.id, **about(organisation)))
    client = login_as(officer)  # owns the organisation, but the message is the admin's

    client.post_form(f"/outbox/{to_admin.id}/resend", {"to_email": officer.email, "next": "/"})

    assert count_rows(OutboxMessage) == 1


@pytest.mark.parametrize(
    ("address", "status", "message"),
    [
        ("not an address", OutboxStatus.FAILED, "Enter a valid e-mail address."),
        ("", OutboxStatus.PENDING, "This e-mail is still waiting to be sent."),
    ],
)
def test_a_resend_that_cannot_be_done_says_why(
    ctx, login_as, manager, organisation, address, status, message
):
    original = queue(**about(organisation))
    original.status = status
    db.session.commit()
    client = login_as(manager)

    response = client.post_form(
        f"/outbox/{original.id}/resend", {"to_email": address, "next": "/organisations/"}
    )

    assert response.location == "/organisations/"
    assert flashes(text(client.get("/organisations/"))) == [message]
    assert count_rows(OutboxMessage) == 1


def test_resend_refuses_a_foreign_next_address(ctx, login_as, manager):
    original = failed(queue())
    response = login_as(manager).post_form(
        f"/outbox/{original.id}/resend", {"next": "https://evil.test/"}
    )
    assert response.location == f"/outbox/{original.id}"
