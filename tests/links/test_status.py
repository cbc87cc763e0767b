"""What a link can still do (for its recipient: `status`) and what became of it (for the
officer's panel: `link_state`)."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.extensions import db
from crm.links import service as links
from crm.links.models import LinkEnd, LinkPurpose
from crm.links.service import LinkState, LinkStatus
from crm.workflow.service import fire

CONFIRM = LinkPurpose.CONFIRM_PLACEMENT


def both(sent, now=None):
    """(status, link_state) of the sent link, as the database has it now."""
    db.session.expire_all()
    link = links.get_link(sent.link.id)
    placement = sent.placement
    return (
        links.status(link, CONFIRM, placement.id, now),
        links.link_state(link, placement, now),
    )


def test_a_new_link_is_open_until_the_moment_it_expires(sent, app, monkeypatch):
    link = sent.link
    assert link.expires_at - link.created_at == dt.timedelta(days=14)
    assert both(sent) == (LinkStatus.OPEN, LinkState.OPEN)
    just_before = link.expires_at - dt.timedelta(seconds=1)
    assert both(sent, just_before) == (LinkStatus.OPEN, LinkState.OPEN)
    assert both(sent, link.expires_at) == (LinkStatus.EXPIRED, LinkState.EXPIRED)


def test_the_validity_follows_crm_link_days(sent, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 3)
    link = links.send_new_link(CONFIRM, sent.placement, sent.world.officer)
    assert link is not None
    assert link.expires_at - link.created_at == dt.timedelta(days=3)


def test_a_link_under_another_purpose_or_record_is_unknown(sent):
    placement = sent.placement
    assert links.status(sent.link, CONFIRM, placement.id) == LinkStatus.OPEN
    assert links.status(None, CONFIRM, placement.id) == LinkStatus.UNKNOWN
    for purpose in (LinkPurpose.EVALUATE_PLACEMENT, LinkPurpose.LEARNER_FEEDBACK):
        assert links.status(sent.link, purpose, placement.id) == LinkStatus.UNKNOWN
    assert links.status(sent.link, CONFIRM, placement.id + 1) == LinkStatus.UNKNOWN


def test_an_answered_link_is_spent_even_after_it_would_have_expired(sent):
    assert links.spend(sent.link, "confirm", ip="203.0.113.9", user_agent="Phone")
    db.session.commit()
    later = sent.link.expires_at + dt.timedelta(days=30)
    assert both(sent, later) == (LinkStatus.SPENT, LinkState.ANSWERED)
    # Spent once: a second submission changes nothing.
    assert not links.spend(sent.link, "decline", ip="198.51.100.1", user_agent="Other")
    assert sent.link.decision == "confirm"


@pytest.mark.parametrize(
    ("end", "state"),
    [
        (LinkEnd.REVOKED, LinkState.WITHDRAWN),
        (LinkEnd.SUPERSEDED, LinkState.REPLACED),
        (LinkEnd.CHANGED, LinkState.CHANGED),
        (LinkEnd.CLOSED, LinkState.CLOSED),
    ],
)
def test_an_ended_link_no_longer_decides(sent, end, state):
    assert links.end_open_links("placement", sent.placement.id, end) == 1
    db.session.commit()
    assert both(sent) == (LinkStatus.ENDED, state)


def test_a_newer_link_replaces_the_open_one(sent):
    newer = links.send_new_link(CONFIRM, sent.placement, sent.world.officer)
    db.session.commit()
    assert newer is not None
    assert both(sent) == (LinkStatus.ENDED, LinkState.REPLACED)
    assert links.status(newer, CONFIRM, sent.placement.id) == LinkStatus.OPEN


def test_the_link_closes_when_the_officer_decides_in_the_employers_place(sent):
    fire(sent.placement, "confirm", user=sent.world.officer)
    db.session.commit()
    assert both(sent) == (LinkStatus.ENDED, LinkState.CLOSED)
    assert links.get_link(sent.link.id).end_reason == LinkEnd.CLOSED


def test_a_link_whose_details_changed_behind_its_back_no_longer_decides(sent):
    # Changed without the service (which would also replace the link): the stored
    # fingerprint no longer matches what the employer would be confirming.
    sent.placement.hours_target += 8
    db.session.commit()
    assert both(sent) == (LinkStatus.ENDED, LinkState.CHANGED)
