"""A link's token: 256 random bits, stored nowhere — not in the link's row, not in the outbox,
neither before nor after the e-mail carrying it is delivered — and shown to no staff member
once e-mail really goes out."""

from __future__ import annotations

import base64
import re

import sqlalchemy as sa

from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.outbox.jobs import deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.core.helpers import text
from tests.portal.support import link_path

URL_SAFE_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def rows_as_text(model: type) -> str:
    """Every row of the model's table, every column, as one text."""
    db.session.expire_all()
    return "\n".join(repr(tuple(row)) for row in db.session.execute(sa.select(model.__table__)))


def link_message(link: ActionLink) -> OutboxMessage:
    message = db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == f"link_{link.purpose.value}")
        .where(OutboxMessage.record_id == link.record_id)
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None
    return message


def test_a_token_is_43_url_safe_characters_carrying_256_bits(sent):
    assert URL_SAFE_43.match(sent.token)
    assert len(base64.urlsafe_b64decode(sent.token + "=")) == 32
    assert links.find(sent.token) == sent.link


def test_every_link_has_its_own_token_and_only_its_hash_and_nonce_are_stored(sent):
    issued = [
        links.issue(purpose, sent.placement)
        for purpose in (
            LinkPurpose.CONFIRM_PLACEMENT,
            LinkPurpose.CONFIRM_PLACEMENT,
            LinkPurpose.EVALUATE_PLACEMENT,
            LinkPurpose.LEARNER_FEEDBACK,
        )
    ]
    db.session.commit()
    tokens = {sent.token} | {links.token_for(link) for link in issued if link is not None}
    assert len(tokens) == 5
    assert all(URL_SAFE_43.match(token) for token in tokens)

    stored = rows_as_text(ActionLink)
    for token in tokens:
        assert token not in stored
        assert links.hash_token(token) in stored
    # The nonce alone gives nothing away: the token is derived from it with the secret key.
    nonce = sent.link.nonce
    assert len(nonce) == 64 and nonce not in sent.token
    assert links.find(links.token_for(sent.link)) == sent.link


def test_the_outbox_never_stores_the_token_delivered_to_the_development_mailbox(sent):
    assert sent.token not in rows_as_text(OutboxMessage)

    run = deliver_outbox()

    assert run.sent >= 1
    message = link_message(sent.link)
    assert message.status == OutboxStatus.SENT
    assert message.template_values is not None  # written again when read, never stored
    assert sent.token not in rows_as_text(OutboxMessage)
    assert sent.token not in rows_as_text(ActionLink)


def test_the_development_mailbox_shows_the_link_to_staff(sent, login_as, officer):
    deliver_outbox()
    message = link_message(sent.link)

    page = text(login_as(officer).get(f"/outbox/{message.id}"))

    assert f"https://crm.example.test{sent.path}" in page
    assert sent.token not in rows_as_text(OutboxMessage)


def test_delivered_over_smtp_the_token_is_in_the_e_mail_only(sent, smtp, login_as, admin):
    run = deliver_outbox()

    assert run.sent == 1
    (received,) = smtp.received
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"https://crm.example.test{sent.path}" in body.get_content()
    assert received.rcpt_tos == ("sven@kern.test",)
    # Nothing kept in the database holds it, in any column.
    assert sent.token not in rows_as_text(OutboxMessage)
    assert sent.token not in rows_as_text(ActionLink)
    # The admins' delivery log shows the message, with the link hidden.
    message = link_message(sent.link)
    client = login_as(admin)
    pages = (
        f"/outbox/{message.id}",
        f"/outbox/{message.id}/html",
        "/outbox/",
        f"/organisations/{sent.world.organisation.id}",
        f"/placements/{sent.placement.id}",
    )
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert sent.token not in text(response), url
    assert "the personal link is shown only in the e-mail sent" in text(
        client.get(f"/outbox/{message.id}")
    )
    # The organisation's page lists the e-mail (its subject), not what it carried.
    assert f'id="outbox-message-{message.id}"' in text(
        client.get(f"/organisations/{sent.world.organisation.id}")
    )


def test_the_placement_page_never_shows_a_link_address(sent, login_as, officer, manager):
    deliver_outbox()
    for user in (officer, manager):
        page = text(login_as(user).get(f"/placements/{sent.placement.id}"))
        assert 'id="links"' in page
        assert sent.token not in page
        assert link_path(sent.link).rsplit("/", 1)[0] + "/" not in page
