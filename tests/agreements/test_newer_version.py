"""A signer who answered version 1 opens that (spent) link after version 2 was issued: the page
tells them that a newer version needs their signature and that a new link went to their
address on record, and offers a fresh one. Nobody else learns anything new from the link.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from crm.agreements.links import asked_again
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.links.models import ActionLink
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage
from crm.portal.fresh import FreshOutcome, request_fresh_link
from crm.workflow import service as workflow
from tests.agreements.signing_support import Issued, page_values, reread, send_agreement, sign
from tests.core.helpers import section, text
from tests.factories import make_contact

NAMES = {"employer": "Sven Supervisor", "learner": "Lena Lernend"}
NEWER = "The agreement has changed since: a newer version needs your signature."
SENT = "We sent you a new link to the e-mail address we have on record for you."
NOTHING_MORE = "Nothing more is needed from you."
FRESH_FORM = re.compile(r'<form method="post" action="([^"]+/fresh)" id="fresh-link">')


@pytest.fixture
def issued(ctx: Any, officer: Any) -> Issued:
    """A confirmed placement whose agreement was sent: v1 issued, every party asked."""
    return send_agreement(officer)


def reissue(issued: Issued, comment: str = "Hours corrected.") -> None:
    """The officer issues version 2 (every party asked again, by a new link)."""
    workflow.fire(issued.agreement, "reissue", user=issued.world.officer, comment=comment)
    db.session.commit()
    reread(issued)
    assert issued.version.number == 2


def sign_emails(address: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "link_sign_agreement", OutboxMessage.to_email == address)
            .order_by(OutboxMessage.id)
        )
    )


def answered_page(make_client: Any, path: str) -> str:
    """The spent link's page in a new browser (no flash message left over)."""
    response = make_client().get(path)
    assert response.status_code == 200, text(response)[:1000]
    return text(response)


@pytest.mark.parametrize("party", ["employer", "learner"])
def test_a_signer_of_version_1_is_told_a_newer_version_needs_their_signature(
    issued, client, make_client, party
):
    old_path = issued.path(party)
    assert sign(client, old_path, typed_name=NAMES[party]).status_code == 303
    assert NOTHING_MORE in answered_page(make_client, old_path)
    v1 = issued.version
    reissue(issued)

    html = answered_page(make_client, old_path)
    assert "You signed this agreement on" in html
    notice = section(html, "newer-version", "div")
    assert NEWER in notice and SENT in notice
    assert NOTHING_MORE not in html
    assert FRESH_FORM.search(html)
    # Nothing of the new version or the address leaks through the old link: its PDF is still
    # the version signed, and the page names neither the address nor the new version's hash.
    assert "Open the version you answered (PDF)" in html
    assert make_client().get(f"{old_path}/document.pdf").data == v1.pdf
    address = issued.links[party].recipient_email
    assert address not in html
    assert issued.version.sha256 not in html
    assert issued.path(party) not in html


def test_the_fresh_link_asked_for_on_the_spent_page_is_the_new_versions_link(
    issued, client, make_client
):
    old_path = issued.path("employer")
    assert sign(client, old_path).status_code == 303
    reissue(issued)
    new_link = issued.links["employer"]
    before = len(sign_emails("sven@kern.test"))

    browser = make_client()
    html = text(browser.get(old_path))
    action = FRESH_FORM.search(html)
    assert action is not None and action.group(1) == f"{old_path}/fresh"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf is not None
    response = browser.post(action.group(1), data={"csrf_token": csrf.group(1)})
    assert response.status_code == 200
    assert "a fresh one is on its way" in text(response)

    # Version 2's own link went out again, to the address on record; no other link was made.
    (resent,) = sign_emails("sven@kern.test")[before:]
    reread(issued)
    assert issued.links["employer"].id == new_link.id
    assert issued.links["employer"].fingerprint == issued.version.sha256
    assert resent.record_id == issued.agreement.id
    # A second request at once does nothing more.
    browser.post(action.group(1), data={"csrf_token": csrf.group(1)})
    assert len(sign_emails("sven@kern.test")) == before + 1
    # The new link signs version 2; then the old link has nothing more to ask.
    assert sign(client, issued.path("employer")).status_code == 303
    html = answered_page(make_client, old_path)
    assert NOTHING_MORE in html and 'id="newer-version"' not in html


def test_a_signer_who_declined_version_1_is_asked_for_version_2_too(issued, client, make_client):
    old_path = issued.path("learner")
    opened = client.get(old_path)
    values = page_values(text(opened))
    declined = client.post(
        old_path, data={"csrf_token": values["csrf_token"], "decision": "decline", "reason": "No."}
    )
    assert declined.status_code == 303
    reissue(issued, "Hours as the learner asked.")

    html = answered_page(make_client, old_path)
    assert "You declined to sign this agreement on" in html
    assert NEWER in section(html, "newer-version", "div")


def test_someone_else_now_signing_for_the_employer_learns_nothing_from_the_old_link(
    issued, client, make_client
):
    old_path = issued.path("employer")
    assert sign(client, old_path).status_code == 303
    before = answered_page(make_client, old_path)
    # A decision maker is recorded: they sign version 2 for the employer, not the supervisor.
    make_contact(
        db.session.get(Organisation, issued.world.organisation.id),
        role=ContactRole.DECISION_MAKER,
        first_name="Dora",
        last_name="Decider",
        email="dora@kern.test",
    )
    db.session.commit()
    reissue(issued, "The managing director signs.")
    assert issued.signers["employer"].name == "Dora Decider"

    html = answered_page(make_client, old_path)
    assert html == before
    assert asked_again(db.session.get(ActionLink, issued_link_id(old_path))) is None
    # A fresh link asked for through it sends nothing to anyone.
    emails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    links_before = db.session.scalar(sa.select(sa.func.count()).select_from(ActionLink))
    old = db.session.get(ActionLink, issued_link_id(old_path))
    assert old is not None
    assert request_fresh_link(old) == FreshOutcome.NOTHING
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == emails
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionLink)) == links_before


def issued_link_id(path: str) -> int:
    """The id of the link a signing page's address holds."""
    from crm.links import service as links

    found = links.find(path.rsplit("/", 1)[1])
    assert found is not None
    return found.id


def test_without_a_new_link_the_signer_is_asked_to_get_in_touch(issued, client, make_client):
    old_path = issued.path("employer")
    assert sign(client, old_path).status_code == 303
    reissue(issued)
    # Version 2's link for the employer is gone (say, never sent): the page says what to do.
    signer = issued.signers["employer"]
    link = issued.links["employer"]
    signer.link_id = None
    db.session.flush()
    db.session.delete(link)
    db.session.commit()

    notice = section(answered_page(make_client, old_path), "newer-version", "div")
    assert NEWER in notice
    assert SENT not in notice
    assert "Please get in touch with the school that sent you the link" in notice


def test_a_finished_agreement_asks_nothing_more_of_an_old_link(issued, client, make_client):
    old_path = issued.path("employer")
    assert sign(client, old_path).status_code == 303
    reissue(issued)
    workflow.fire(issued.agreement, "supersede", user=issued.world.officer)
    db.session.commit()
    html = answered_page(make_client, old_path)
    assert NOTHING_MORE in html and 'id="newer-version"' not in html
