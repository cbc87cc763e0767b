"""Each guard of the default placement workflow, checked through the placement adapter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.contacts.models import ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.placements.service import ADAPTER
from crm.workflow import service as workflow
from tests.factories import make_contact, make_learner
from tests.placements.support import SPRING, YEAR_END, YEAR_START, employer, in_database


def blocked(placement, transition: str, user) -> list[str]:
    """What stops `user` firing the transition now (empty: it may fire)."""
    options = {o.transition.name: o for o in workflow.options_for(placement, user)}
    return list(options[transition].blocked)


def fire(placement, transition: str, user, comment: str = ""):
    entry = workflow.fire(placement, transition, user=user, comment=comment)
    db.session.commit()
    return entry


# --- match: the organisation's partnership is active, the dates lie in the programme year -------


@pytest.mark.parametrize("partnership_state", ["approached", "under_review", "closed", None])
def test_match_needs_an_active_partnership(world, partnership_state):
    organisation = employer(world.officer, partnership_state)
    placement = world.placement(organisation=organisation)
    assert blocked(placement, "match", world.officer) == [
        "Before moving to Matched, the partnership with the organisation must be: active."
    ]
    with pytest.raises(workflow.TransitionBlocked):
        workflow.fire(placement, "match", user=world.officer)
    assert in_database(placement)[0] == "requested"


def test_match_needs_an_organisation(world):
    placement = world.placement(organisation=None)
    assert blocked(placement, "match", world.officer) == [
        "Before moving to Matched, the partnership with the organisation must be: active."
    ]


def test_match_fires_with_an_active_partnership_and_dates_in_the_year(world):
    placement = world.placement()
    assert blocked(placement, "match", world.officer) == []
    entry = fire(placement, "match", world.officer)
    assert (entry.from_state, entry.to_state, entry.organisation_id) == (
        "requested",
        "matched",
        world.organisation.id,
    )
    assert in_database(placement) == ("matched", True, world.organisation.id)


def test_the_partnership_of_the_placement_counts_before_the_organisations(world, officer):
    """A placement keeps the partnership it was matched under, even if another is active."""
    from crm.partnerships.models import Partnership

    placement = world.placement()
    partnership = db.session.get(Partnership, placement.partnership_id)
    partnership.state = "closed"
    db.session.commit()
    assert blocked(placement, "match", officer) == [
        "Before moving to Matched, the partnership with the organisation must be: active."
    ]
    assert ADAPTER.related(placement, "partnership").id == partnership.id
    assert ADAPTER.related(placement, "agreement") is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (YEAR_START - dt.timedelta(days=1), YEAR_START + dt.timedelta(days=30)),
        (YEAR_END - dt.timedelta(days=30), YEAR_END + dt.timedelta(days=1)),
    ],
)
def test_match_needs_dates_inside_the_programme_year(world, start, end):
    placement = world.placement(start_date=start, end_date=end)
    assert blocked(placement, "match", world.officer) == [
        "The dates must lie inside the programme year (2026-09-01 to 2027-07-31)."
    ]


def test_match_needs_dates(world):
    placement = world.placement(start_date=None, end_date=None)
    assert blocked(placement, "match", world.officer) == [
        "Set the start and end dates before moving to Matched."
    ]


def test_the_whole_programme_year_is_inside_it(world):
    placement = world.placement(start_date=YEAR_START, end_date=YEAR_END)
    assert blocked(placement, "match", world.officer) == []


# --- ask the employer: a supervisor with an e-mail address (and the role and objectives) ------


def ready_to_ask(world, **fields):
    fields.setdefault("supervisor_id", world.supervisor.id)
    fields.setdefault("role_description", "Assembles gearboxes.")
    fields.setdefault("learning_objectives", "Reads technical drawings.")
    return world.placement("matched", **fields)


def test_asking_the_employer_needs_a_supervisor(world):
    placement = ready_to_ask(world, supervisor_id=None)
    assert blocked(placement, "ask_employer", world.officer) == [
        "Fill in the workplace supervisor's e-mail address before moving to Awaiting employer."
    ]


def test_asking_the_employer_needs_the_supervisors_email(world):
    no_email = make_contact(world.organisation, role=ContactRole.WORKPLACE_SUPERVISOR, email="")
    placement = ready_to_ask(world, supervisor_id=no_email.id)
    assert blocked(placement, "ask_employer", world.officer) == [
        "Fill in the workplace supervisor's e-mail address before moving to Awaiting employer."
    ]


def test_an_archived_supervisor_does_not_count(world):
    placement = ready_to_ask(world)
    world.supervisor.archived_at = utcnow()
    db.session.commit()
    assert blocked(placement, "ask_employer", world.officer) == [
        "Fill in the workplace supervisor's e-mail address before moving to Awaiting employer."
    ]


def test_asking_the_employer_needs_the_role_and_objectives(world):
    placement = ready_to_ask(world, role_description="  ", learning_objectives="")
    assert blocked(placement, "ask_employer", world.officer) == [
        "Fill in the role description before moving to Awaiting employer.",
        "Fill in the learning objectives before moving to Awaiting employer.",
    ]


def test_asking_the_employer_sends_the_supervisor_a_confirmation_link(world, manager):
    from crm.links.models import ActionLink, LinkPurpose
    from crm.outbox.models import OutboxMessage

    placement = ready_to_ask(world)
    assert blocked(placement, "ask_employer", manager) == []
    fire(placement, "ask_employer", manager)
    (link,) = db.session.scalars(
        db.select(ActionLink).where(
            ActionLink.record_type == "placement", ActionLink.record_id == placement.id
        )
    ).all()
    assert link.purpose == LinkPurpose.CONFIRM_PLACEMENT
    assert link.contact_id == placement.supervisor_id
    (message,) = db.session.scalars(
        db.select(OutboxMessage).where(
            OutboxMessage.record_type == "placement",
            OutboxMessage.record_id == placement.id,
            OutboxMessage.kind == "link_confirm_placement",
        )
    ).all()
    assert message.to_email == link.recipient_email
    assert message.organisation_id == world.organisation.id


# --- complete: the hours target met, or the shortfall explained --------------------------------


@pytest.mark.parametrize(
    ("logged", "reason", "reasons"),
    [
        (
            "79.5",
            "",
            ["Log at least 80 hours (79.5 so far), or record why the target was not met."],
        ),
        ("79.5", "Ill for a week; agreed with the school.", []),
        ("80", "", []),
        ("95.5", "", []),
    ],
)
def test_completing_needs_the_hours_or_a_reason(world, logged, reason, reasons):
    placement = world.placement(
        "in_progress",
        hours_target=80,
        hours_logged=Decimal(logged),
        hours_shortfall_reason=reason,
    )
    assert blocked(placement, "complete", world.officer) == reasons


# --- send the agreement: a minor at the start needs the guardian's consent ----------------------


def minor_placement(world, birth_date: dt.date, learner_fields=None, **fields):
    learner = make_learner(
        world.officer, world.programme, birth_date=birth_date, **(learner_fields or {})
    )
    return make_placement_for(learner, world, **fields)


def make_placement_for(learner, world, **fields):
    from tests.factories import make_placement

    return make_placement(
        learner,
        "confirmed",
        organisation=world.organisation,
        start_date=SPRING[0],
        end_date=SPRING[1],
        **fields,
    )


def test_a_minor_needs_the_guardians_consent_before_the_agreement(world):
    # 18 the day after the start; the guardian signs the agreement with the learner.
    placement = minor_placement(
        world,
        dt.date(2009, 3, 2),
        learner_fields={"guardian_name": "Greta Guardian", "guardian_email": "greta@home.test"},
        supervisor_id=world.supervisor.id,
    )
    assert blocked(placement, "send_agreement", world.officer) == [
        "The learner is under 18 at the start: record the guardian's consent before moving to "
        "Agreement out."
    ]
    placement.guardian_consent_on = dt.date(2026, 12, 1)
    db.session.commit()
    assert blocked(placement, "send_agreement", world.officer) == []
    assert fire(placement, "send_agreement", world.officer).to_state == "agreement_out"
    # Sending the agreement issued it: version 1, with the guardian among its signers.
    from crm.agreements.service import agreements_of_placement, current_version, signers_of

    (agreement,) = agreements_of_placement(placement.id)
    version = current_version(agreement)
    assert (agreement.state, version.number) == ("issued", 1)
    assert [s.party.value for s in signers_of(version)] == [
        "provider",
        "employer",
        "learner",
        "guardian",
    ]


def test_a_learner_of_18_on_the_start_date_needs_no_consent(world):
    placement = minor_placement(world, dt.date(2009, 3, 1))
    assert blocked(placement, "send_agreement", world.officer) == []


def test_an_adult_needs_no_consent(world):
    placement = make_placement_for(world.learner, world)
    assert blocked(placement, "send_agreement", world.officer) == []


# --- what the adapter does on a move -------------------------------------------------------------


def test_cancelling_releases_the_period(world):
    placement = world.placement("matched")
    fire(placement, "cancel", world.officer, comment="The learner moved away.")
    assert in_database(placement) == ("cancelled", False, world.organisation.id)


@pytest.mark.parametrize("state", ["postponed", "declined"])
def test_other_moves_keep_the_period(world, state):
    placement = world.placement("awaiting_employer" if state == "declined" else "matched")
    transition = "decline" if state == "declined" else "postpone"
    fire(placement, transition, world.officer, comment="Not now.")
    assert in_database(placement) == (state, True, world.organisation.id)


def test_declining_keeps_the_reason(world):
    placement = world.placement("awaiting_employer")
    fire(placement, "decline", world.officer, comment="No workshop space this spring.")
    db.session.refresh(placement)
    assert placement.decline_reason == "No workshop space this spring."
    assert ADAPTER.facts(placement, utcnow()).fields["decline_reason"] == (
        "No workshop space this spring."
    )
