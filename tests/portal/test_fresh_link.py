""" "Send me a fresh link": a new link goes to the address on record, never to one typed on
the page; a withdrawn link goes to the officer to decide; a request about an unknown, spent
or moved-on link does nothing; and one request per link answers in half an hour."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from crm.contacts.models import Contact, ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.links import service as links
from crm.links.models import ActionLink, LinkEnd, LinkPurpose
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.portal.fresh import FreshOutcome, request_fresh_link
from tests.core.helpers import text
from tests.factories import make_contact, make_organisation
from tests.portal.changes import Snapshot, page_without_link, state_of, words
from tests.portal.support import Sent, link_path

SENT_WORDS = "If this link was ours, a fresh one is on its way to the address we have on record."
CONFIRM = {
    "decision": "confirm",
    "first_name": "Sven",
    "last_name": "Supervisor",
    "email": "sven@kern.test",
    "phone": "",
}


@pytest.fixture(autouse=True)
def _settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 14)
    monkeypatch.setitem(app.config, "CRM_LINK_RATE_LIMIT", "1000/minute")


def fresh_path(sent: Sent) -> str:
    return f"{sent.path}/fresh"


def ask_fresh(client, sent: Sent, **form: str):
    """The recipient presses "Send me a fresh link" (a form post with the CSRF token)."""
    response = client.post_form(fresh_path(sent), form)
    assert response.status_code == 200, text(response)[:500]
    assert SENT_WORDS in words(response)
    return response


def link_messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind.like("link_%"))
            .order_by(OutboxMessage.id)
        )
    )


def links_of(placement: Placement) -> list[ActionLink]:
    db.session.expire_all()
    return links.links_of("placement", placement.id)[::-1]  # oldest first


def follow_ups_of(placement: Placement) -> list[FollowUp]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(FollowUp)
            .where(FollowUp.record_type == "placement", FollowUp.record_id == placement.id)
            .order_by(FollowUp.id)
        )
    )


def after_expiry(sent: Sent, hours: float = 1):
    return time_machine.travel(sent.link.expires_at + dt.timedelta(hours=hours), tick=False)


def new_supervisor(sent: Sent) -> Contact:
    return make_contact(
        sent.world.organisation,
        role=ContactRole.WORKPLACE_SUPERVISOR,
        first_name="Nora",
        last_name="Neumann",
        email="nora@kern.test",
    )


# --- an expired link ------------------------------------------------------------------------


def test_an_expired_link_brings_a_new_one_to_the_address_on_record(sent, client, officer):
    messages_before = len(link_messages())
    with after_expiry(sent):
        page = client.get(sent.path)
        assert page.status_code == 410
        assert 'name="email"' not in text(page)
        # A forged form with an address field: the address is ignored.
        ask_fresh(client, sent, email="mallory@attacker.test", to="mallory@attacker.test")
        now = utcnow()

    old, new = links_of(sent.placement)
    assert old.id == sent.link.id and new.id != old.id
    assert (new.recipient_email, new.recipient_name) == ("sven@kern.test", "Sven Supervisor")
    assert new.expires_at == now + dt.timedelta(days=14)
    (message,) = link_messages()[messages_before:]
    assert message.to_email == "sven@kern.test"
    assert message.kind == "link_confirm_placement"
    assert all("attacker" not in m.to_email for m in link_messages())
    # The officer is told, with a task due now that the employer's answer will close.
    (told,) = follow_ups_of(sent.placement)
    assert told.assignee_id == officer.id
    assert told.due_at == now
    assert told.subject == (
        "Sven Supervisor asked for a fresh link: a new one was sent to Sven Supervisor"
    )
    # The old link stays dead; the new one opens and decides. (Still later than the request:
    # the session cookie was signed then, and a signature from the future is refused.)
    renewed = Sent(sent.world, sent.placement, new, links.token_for(new))
    with after_expiry(sent, hours=2):
        assert client.get(sent.path).status_code == 410
        assert client.get(renewed.path).status_code == 200
        assert client.post_form(renewed.path, CONFIRM).status_code in (302, 303)
    assert state_of(sent.placement) == "confirmed"
    assert follow_ups_of(sent.placement)[0].status == FollowUpStatus.DONE


def test_a_second_request_within_half_an_hour_does_nothing(sent, client):
    with after_expiry(sent):
        ask_fresh(client, sent)
        after_first = Snapshot.of(sent.placement)
    with after_expiry(sent, hours=1.49):
        ask_fresh(client, sent)
        ask_fresh(client, sent)

    after = Snapshot.of(sent.placement)
    assert (after.links, after.messages, after.follow_ups) == (
        after_first.links,
        after_first.messages,
        after_first.follow_ups,
    )


def test_a_later_request_sends_the_fresh_link_again_rather_than_another(sent, client):
    with after_expiry(sent):
        ask_fresh(client, sent)
    renewed = links_of(sent.placement)[-1]
    messages = len(link_messages())

    with after_expiry(sent, hours=1.5):
        ask_fresh(client, sent)

    assert links_of(sent.placement)[-1].id == renewed.id  # no new link
    (again,) = link_messages()[messages:]
    assert again.to_email == "sven@kern.test"
    assert again.template_values["action_link_id"] == renewed.id
    assert len(follow_ups_of(sent.placement)) == 1  # the officer was told once


def test_an_expired_link_whose_successor_is_open_brings_that_one_again(sent, client):
    successor = links.issue(LinkPurpose.CONFIRM_PLACEMENT, sent.placement)  # the officer's
    assert successor is not None
    db.session.commit()
    messages = len(link_messages())

    # The old one was replaced: its holder gets the live one again, not a third one.
    ask_fresh(client, sent)

    assert [link.id for link in links_of(sent.placement)] == [sent.link.id, successor.id]
    (again,) = link_messages()[messages:]
    assert again.template_values["action_link_id"] == successor.id
    assert follow_ups_of(sent.placement) == []


# --- the address on record -------------------------------------------------------------------


def test_a_changed_supervisor_gets_the_new_link(sent, client):
    nora = new_supervisor(sent)
    placement = db.session.get(Placement, sent.placement.id)
    placement.supervisor_id = nora.id  # the old link no longer matches what is asked
    db.session.commit()
    assert client.get(sent.path).status_code == 410
    messages = len(link_messages())

    ask_fresh(client, sent)

    new = links_of(sent.placement)[-1]
    assert (new.recipient_email, new.contact_id) == ("nora@kern.test", nora.id)
    (message,) = link_messages()[messages:]
    assert message.to_email == "nora@kern.test"
    assert db.session.get(ActionLink, sent.link.id).end_reason == LinkEnd.SUPERSEDED
    (told,) = follow_ups_of(sent.placement)
    assert told.subject == (
        "Sven Supervisor asked for a fresh link: a new one was sent to Nora Neumann"
    )


def test_after_a_change_was_sent_out_the_old_links_holder_brings_the_new_supervisor_hers(
    sent, client
):
    nora = new_supervisor(sent)
    placement = db.session.get(Placement, sent.placement.id)
    placement.supervisor_id = nora.id
    (reissued,) = links.reissue_if_changed(placement)  # as saving the placement does
    db.session.commit()
    assert reissued.link is not None and reissued.link.recipient_email == "nora@kern.test"
    messages = len(link_messages())

    ask_fresh(client, sent)

    assert links_of(sent.placement)[-1].id == reissued.link.id
    (again,) = link_messages()[messages:]
    assert again.to_email == "nora@kern.test"


def test_a_changed_address_of_the_same_supervisor_is_used(sent, client):
    db.session.execute(
        sa.update(Contact)
        .where(Contact.id == sent.world.supervisor.id)
        .values(email="sven.supervisor@kern.test")
    )
    db.session.commit()
    messages = len(link_messages())

    with after_expiry(sent):
        ask_fresh(client, sent)

    new = links_of(sent.placement)[-1]
    assert new.recipient_email == "sven.supervisor@kern.test"
    (message,) = link_messages()[messages:]
    assert message.to_email == "sven.supervisor@kern.test"


def test_when_the_supervisor_has_no_address_the_officer_is_told_instead(sent, client):
    db.session.execute(
        sa.update(Contact).where(Contact.id == sent.world.supervisor.id).values(email="")
    )
    db.session.commit()
    messages = len(link_messages())

    with after_expiry(sent):
        ask_fresh(client, sent)

    assert len(links_of(sent.placement)) == 1
    assert len(link_messages()) == messages
    (told,) = follow_ups_of(sent.placement)
    assert "no e-mail address" in told.subject


# --- withdrawn: the officer decides ----------------------------------------------------------


def test_a_withdrawn_link_asks_the_officer_and_sends_nothing(sent, client, officer):
    links.revoke(sent.link, officer)
    db.session.commit()
    messages = len(link_messages())

    ask_fresh(client, sent)
    ask_fresh(client, sent)  # pressed twice: one task

    assert len(links_of(sent.placement)) == 1
    assert len(link_messages()) == messages
    (told,) = follow_ups_of(sent.placement)
    assert told.assignee_id == officer.id
    assert told.subject == "Sven Supervisor asked for a new link in place of the withdrawn one"
    assert told.status == FollowUpStatus.OPEN


# --- nothing to do ---------------------------------------------------------------------------


def test_an_unknown_token_gets_the_same_answer_and_nothing_happens(sent, client):
    real = Snapshot.of(sent.placement)
    with after_expiry(sent):
        answers = [
            client.post_form(f"{link_path(sent.link, 'A' * 43)}/fresh"),
            client.post_form(f"{link_path(sent.link, 'not-a-token')}/fresh"),
            client.post_form(f"/l/evaluate/{sent.placement.id}/{sent.token}/fresh"),
            client.post_form(f"/l/confirm/{sent.placement.id + 1}/{sent.token}/fresh"),
        ]
        assert Snapshot.of(sent.placement) == real
        answers.append(ask_fresh(client, sent))  # the real one, for comparison

    assert [response.status_code for response in answers] == [200] * 5
    assert len({page_without_link(response) for response in answers}) == 1


def test_a_spent_link_brings_nothing(sent, client):
    assert client.post_form(sent.path, CONFIRM).status_code in (302, 303)
    before = Snapshot.of(sent.placement)

    ask_fresh(client, sent)

    after = Snapshot.of(sent.placement)
    assert (after.links[1:], after.messages, after.follow_ups) == (
        before.links[1:],
        before.messages,
        before.follow_ups,
    )
    assert len(after.links) == 1


def test_a_placement_that_moved_on_brings_nothing(sent, client, officer):
    from crm.workflow.service import fire

    placement = db.session.get(Placement, sent.placement.id)
    fire(placement, "confirm", user=officer)  # the officer confirmed it on the phone
    db.session.commit()
    before = Snapshot.of(sent.placement)

    ask_fresh(client, sent)

    after = Snapshot.of(sent.placement)
    assert (len(after.links), after.messages, after.follow_ups) == (
        len(before.links),
        before.messages,
        before.follow_ups,
    )


def test_a_placement_now_at_another_employer_brings_nothing(ctx, sent, officer):
    elsewhere = make_organisation(officer, legal_name="Andere Firma AG")
    db.session.execute(
        sa.update(Placement)
        .where(Placement.id == sent.placement.id)
        .values(organisation_id=elsewhere.id, supervisor_id=None)
    )
    link = db.session.get(ActionLink, sent.link.id)

    assert request_fresh_link(link, now=sent.link.expires_at + dt.timedelta(hours=1)) == (
        FreshOutcome.NOTHING
    )
    assert len(links_of(sent.placement)) == 1


def test_the_outcomes_of_the_service(ctx, sent, officer):
    later = sent.link.expires_at + dt.timedelta(hours=1)
    link = db.session.get(ActionLink, sent.link.id)

    assert request_fresh_link(link, now=later) == FreshOutcome.ISSUED
    assert request_fresh_link(link, now=later + dt.timedelta(minutes=29)) == (
        FreshOutcome.THROTTLED
    )
    assert request_fresh_link(link, now=later + dt.timedelta(minutes=30)) == FreshOutcome.RESENT
    assert link.fresh_requested_at == later + dt.timedelta(minutes=30)


def test_a_fresh_link_needs_the_forms_csrf_token(sent, client):
    with after_expiry(sent):
        before = Snapshot.of(sent.placement)
        assert client.post(fresh_path(sent)).status_code == 400
        assert Snapshot.of(sent.placement) == before
