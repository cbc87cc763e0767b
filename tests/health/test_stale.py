"""A change to anything a score depends on marks the partnership's score stale, in the same
transaction, whichever service made it; unrelated changes do not."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.evaluations import service as evaluations
from crm.extensions import db
from crm.followups.service import complete_follow_up, get_listed
from crm.links import service as links
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.workflow.service import fire
from tests.evaluations.support import EVIDENCE, employer_values, with_skills
from tests.factories import make_activity
from tests.health.support import (
    active_partnership,
    add_follow_up,
    add_memorandum,
    clear_stale,
    days_ago,
    is_stale,
)
from tests.placements.support import build_world
from tests.portal.support import awaiting_employer, completed


def partnership_of(organisation: Organisation) -> Partnership:
    found = db.session.scalar(
        sa.select(Partnership).where(Partnership.organisation_id == organisation.id)
    )
    assert found is not None
    return found


def test_a_new_partnership_is_stale_until_scored(ctx, officer):
    scored = active_partnership(officer)
    assert is_stale(scored.partnership)


def test_a_transition_of_the_partnership(ctx, officer, manager):
    scored = active_partnership(officer)
    other = active_partnership(officer)
    clear_stale(scored.partnership, other.partnership)
    fire(scored.partnership, "close", user=manager, comment="No capacity this year.")
    db.session.commit()
    assert is_stale(scored.partnership)
    assert not is_stale(other.partnership)


def test_an_activity_logged(ctx, officer):
    scored = active_partnership(officer)
    other = active_partnership(officer)
    clear_stale(scored.partnership, other.partnership)
    make_activity(scored.organisation, officer, ActivityKind.CALL, occurred_at=days_ago(1))
    assert is_stale(scored.partnership)
    assert not is_stale(other.partnership)


def test_a_transition_of_a_placement_at_the_organisation(ctx, officer):
    world = build_world(officer)
    placement = world.placement("in_progress", hours_target=10, hours_logged=10)
    partnership = partnership_of(world.organisation)
    clear_stale(partnership)
    fire(placement, "complete", user=officer)
    db.session.commit()
    assert is_stale(partnership)


def test_a_follow_up_completed(ctx, officer):
    scored = active_partnership(officer)
    follow_up = add_follow_up(scored, due=days_ago(2))
    clear_stale(scored.partnership)
    listed = get_listed(follow_up.id, for_update=True)
    assert listed is not None
    complete_follow_up(listed, officer)
    db.session.commit()
    assert is_stale(scored.partnership)


def test_a_link_answered(ctx, officer):
    sent = awaiting_employer(officer)
    partnership = partnership_of(sent.world.organisation)
    clear_stale(partnership)
    # links.spend is a conditional UPDATE statement, not a flush of the link.
    assert links.spend(sent.link, "confirm", ip="203.0.113.7", user_agent="Phone")
    db.session.commit()
    assert is_stale(partnership)


def test_a_link_withdrawn(ctx, officer):
    sent = awaiting_employer(officer)
    partnership = partnership_of(sent.world.organisation)
    clear_stale(partnership)
    links.revoke(sent.link, officer)
    db.session.commit()
    assert is_stale(partnership)


def test_an_evaluation_submitted(ctx, officer):
    world = with_skills(completed(officer))
    partnership = partnership_of(world.sent.world.organisation)
    clear_stale(partnership)
    assert evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE)
    db.session.commit()
    assert is_stale(partnership)


def test_a_memorandum_signed(ctx, officer):
    scored = active_partnership(officer)
    memorandum = add_memorandum(scored, "partially_signed", dt.date(2028, 1, 31))
    clear_stale(scored.partnership)
    memorandum.state = "signed"
    db.session.commit()
    assert is_stale(scored.partnership)


def test_a_capacity_pledge_changed(ctx, officer):
    scored = active_partnership(officer)
    clear_stale(scored.partnership)
    scored.organisation.capacity_pledge = 5
    db.session.commit()
    assert is_stale(scored.partnership)


def test_unrelated_changes_leave_the_score_alone(ctx, officer):
    scored = active_partnership(officer)
    follow_up = add_follow_up(scored, due=days_ago(-5))
    clear_stale(scored.partnership)
    scored.organisation.notes = "Prefers calls in the morning."
    follow_up.notes = "Ask about the new workshop."
    scored.partnership.title = "Apprenticeships 2027"
    db.session.commit()
    assert not is_stale(scored.partnership)
