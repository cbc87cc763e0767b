"""Placement requests, their details, overlaps and capacity, through the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.auth.models import Role
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.organisations.models import CapacityPeriod
from crm.placements import matching
from crm.placements import service as placements
from crm.placements.models import OVERLAP_CONSTRAINT, Placement
from crm.placements.service import PlacementError, PlacementValues
from crm.workflow import service as workflow
from tests.core.helpers import count_rows
from tests.factories import make_contact, make_learner, make_organisation, make_user
from tests.placements.support import AUTUMN, SPRING, employer, in_database, placements_of


def reload(placement: Placement) -> Placement:
    found = placements.get_placement(placement.id)
    assert found is not None
    return found


# --- requests ---------------------------------------------------------------------------------


def test_a_request_starts_the_workflow_for_the_learners_programme_and_officer(world, manager):
    placement = placements.request_placement(
        world.learner, manager, PlacementValues(start_date=SPRING[0], end_date=SPRING[1])
    )
    db.session.commit()
    assert (placement.state, placement.workflow_name, placement.workflow_version) == (
        "requested",
        "placement",
        2,
    )
    assert placement.programme_id == world.programme.id
    assert placement.officer_id == world.officer.id
    assert (placement.organisation_id, placement.partnership_id) == (None, None)
    assert placement.period_held


def test_a_manager_may_name_another_officer_an_officer_may_not(world, manager):
    colleague = make_user(Role.OFFICER)
    named = placements.request_placement(
        world.learner, manager, PlacementValues(officer_id=colleague.id)
    )
    assert named.officer_id == colleague.id
    own = placements.request_placement(
        world.learner, world.officer, PlacementValues(officer_id=colleague.id)
    )
    assert own.officer_id == world.officer.id


def test_another_officer_cannot_request_for_someone_elses_learner(world):
    with pytest.raises(PermissionError):
        placements.request_placement(world.learner, make_user(Role.OFFICER))
    assert placements_of(world.learner) == []


# --- details ----------------------------------------------------------------------------------


def test_the_organisation_brings_its_partnership_and_address(world):
    placement = placements.request_placement(world.learner, world.officer)
    placements.update_placement(
        placement,
        placements.values_of(placement, organisation_id=world.organisation.id),
        world.officer,
    )
    db.session.commit()
    placement = reload(placement)
    assert placement.organisation_id == world.organisation.id
    assert placement.partnership is not None
    assert placement.partnership.organisation_id == world.organisation.id
    assert placement.workplace_address == "Hafenstr. 5\nKöln"


def test_a_typed_workplace_address_is_kept(world):
    placement = placements.request_placement(world.learner, world.officer)
    values = placements.values_of(
        placement, organisation_id=world.organisation.id, workplace_address=" Site B, Gate 3 "
    )
    placements.update_placement(placement, values, world.officer)
    assert placement.workplace_address == "Site B, Gate 3"


def test_the_supervisor_must_be_a_contact_of_the_organisation(world):
    other = employer(world.officer)
    stranger = make_contact(other, role=ContactRole.WORKPLACE_SUPERVISOR)
    placement = world.placement()
    with pytest.raises(PlacementError) as error:
        placements.update_placement(
            placement, placements.values_of(placement, supervisor_id=stranger.id), world.officer
        )
    assert error.value.field == "supervisor_id"
    assert str(error.value) == (
        "Choose a contact of Werkzeugbau Kern GmbH as the workplace supervisor."
    )
    with pytest.raises(PlacementError) as error:
        placements.update_placement(
            placement,
            placements.values_of(placement, organisation_id=None, supervisor_id=stranger.id),
            world.officer,
        )
    assert str(error.value) == "Choose the organisation before its workplace supervisor."


def test_any_contact_of_the_organisation_may_supervise(world):
    focal = make_contact(world.organisation, role=ContactRole.FOCAL_PERSON)
    placement = world.placement()
    placements.update_placement(
        placement, placements.values_of(placement, supervisor_id=focal.id), world.officer
    )
    assert placement.supervisor_id == focal.id
    assert [c.id for c in placements.supervisors_of(world.organisation.id)] == [
        world.supervisor.id,
        focal.id,
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"start_date": dt.date(2027, 3, 1), "end_date": dt.date(2027, 2, 28)},
            "end_date",
            "The end date lies before the start date.",
        ),
        ({"hours_target": -1}, "hours_target", "The hours cannot be negative."),
        ({"hours_logged": Decimal("-0.5")}, "hours_logged", "The hours cannot be negative."),
        (
            {"guardian_consent_on": dt.date.today() + dt.timedelta(days=1)},
            "guardian_consent_on",
            "The consent date cannot be in the future.",
        ),
    ],
)
def test_impossible_values_are_refused(world, changes, field, message):
    placement = world.placement()
    with pytest.raises(PlacementError) as error:
        placements.update_placement(
            placement, placements.values_of(placement, **changes), world.officer
        )
    assert (error.value.field, str(error.value)) == (field, message)


def test_another_officer_cannot_change_the_placement(world):
    placement = world.placement()
    with pytest.raises(PermissionError):
        placements.update_placement(
            placement, placements.values_of(placement, hours_target=5), make_user(Role.OFFICER)
        )


# --- overlaps ---------------------------------------------------------------------------------


def overlapping(world, start: dt.date, end: dt.date) -> Placement:
    return Placement(
        learner_id=world.learner.id,
        programme_id=world.programme.id,
        officer_id=world.officer.id,
        start_date=start,
        end_date=end,
        workflow_name="placement",
        workflow_version=1,
        state="requested",
        checklist={},
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2027, 4, 30), dt.date(2027, 5, 31)),  # the last day is shared
        (dt.date(2027, 2, 1), dt.date(2027, 3, 1)),  # the first day is shared
        (dt.date(2027, 3, 10), dt.date(2027, 3, 20)),  # inside
        (dt.date(2027, 1, 1), dt.date(2027, 6, 30)),  # around
    ],
)
def test_the_database_refuses_overlapping_held_placements(world, start, end):
    world.placement()  # SPRING: 1 March to 30 April 2027
    with pytest.raises(IntegrityError) as error, db.session.begin_nested():
        db.session.add(overlapping(world, start, end))
        db.session.flush()
    assert OVERLAP_CONSTRAINT in str(error.value.orig)
    assert len(placements_of(world.learner)) == 1


def test_the_database_refuses_moving_a_placement_onto_another(world):
    world.placement()
    autumn = world.placement(start_date=AUTUMN[0], end_date=AUTUMN[1])
    with pytest.raises(IntegrityError) as error, db.session.begin_nested():
        db.session.execute(
            sa.update(Placement)
            .where(Placement.id == autumn.id)
            .values(end_date=dt.date(2027, 3, 1))
        )
    assert OVERLAP_CONSTRAINT in str(error.value.orig)


def test_the_database_allows_adjacent_undated_other_learners_and_released_placements(world):
    first = world.placement()
    placements_added = [
        overlapping(world, dt.date(2027, 5, 1), dt.date(2027, 5, 31)),  # the day after
        overlapping(world, None, None),  # no dates yet
    ]
    other_learner = make_learner(world.officer, world.programme)
    same_dates = overlapping(world, *SPRING)
    same_dates.learner_id = other_learner.id
    db.session.add_all([*placements_added, same_dates])
    db.session.flush()
    first.period_held = False
    db.session.flush()
    db.session.add(overlapping(world, *SPRING))
    db.session.flush()
    assert len(placements_of(world.learner)) == 4


def test_the_service_names_the_clashing_placement(world):
    world.placement()
    with pytest.raises(PlacementError) as error:
        placements.request_placement(
            world.learner,
            world.officer,
            PlacementValues(start_date=dt.date(2027, 4, 1), end_date=dt.date(2027, 5, 15)),
        )
    assert error.value.field == "start_date"
    assert str(error.value) == (
        "The learner already has a placement from 1 Mar 2027 to 30 Apr 2027 at "
        "Werkzeugbau Kern GmbH; the dates must not overlap."
    )
    assert len(placements_of(world.learner)) == 1


def test_when_the_friendly_check_is_passed_the_database_still_refuses(world, monkeypatch):
    """As when two requests race: the check saw nothing, the database stops the second."""
    world.placement()
    autumn = world.placement(start_date=AUTUMN[0], end_date=AUTUMN[1], organisation=None)
    real_check = placements.clashing_placement
    calls: list[int] = []

    def saw_nothing(*args, **kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real_check(*args, **kwargs)

    monkeypatch.setattr(placements, "clashing_placement", saw_nothing)
    with pytest.raises(PlacementError) as error:
        placements.update_placement(
            autumn,
            placements.values_of(autumn, end_date=dt.date(2027, 3, 15)),
            world.officer,
        )
    assert str(error.value) == (
        "The learner already has a placement from 1 Mar 2027 to 30 Apr 2027 at "
        "Werkzeugbau Kern GmbH; the dates must not overlap."
    )
    db.session.rollback()
    assert [(p.start_date, p.end_date) for p in placements_of(world.learner)] == [SPRING, AUTUMN]


def test_a_cancelled_placement_releases_its_period(world):
    old = world.placement("matched")
    workflow.fire(old, "cancel", user=world.officer, comment="The employer closed the site.")
    db.session.commit()
    again = placements.request_placement(
        world.learner, world.officer, PlacementValues(start_date=SPRING[0], end_date=SPRING[1])
    )
    db.session.commit()
    assert in_database(old)[:2] == ("cancelled", False)
    assert in_database(again)[:2] == ("requested", True)


# --- matching one request -----------------------------------------------------------------------


def test_matching_sets_the_organisation_and_moves_the_request(world):
    placement = world.placement(organisation=None)
    assert placements.match_placement(placement, world.organisation, world.officer) is None
    db.session.commit()
    placement = reload(placement)
    assert (placement.state, placement.organisation_id) == ("matched", world.organisation.id)
    assert placement.partnership is not None


def test_a_blocked_match_keeps_the_organisation_and_says_why(world):
    placement = world.placement(organisation=None, start_date=None, end_date=None)
    blocked = placements.match_placement(placement, world.organisation, world.officer)
    db.session.commit()
    assert blocked is not None
    assert blocked.reasons == ["Set the start and end dates before moving to Matched."]
    assert in_database(placement) == ("requested", True, world.organisation.id)


def test_only_requests_are_matched(world):
    placement = world.placement("matched")
    other = employer(world.officer)
    with pytest.raises(PlacementError):
        placements.match_placement(placement, other, world.officer)
    organisation = make_organisation(world.officer, nace_code="25")
    organisation.archived_at = dt.datetime.now(dt.UTC)
    request = world.placement(start_date=AUTUMN[0], end_date=AUTUMN[1], organisation=None)
    with pytest.raises(PlacementError):
        placements.match_placement(request, organisation, world.officer)


# --- capacity ---------------------------------------------------------------------------------


def capacity(placement: Placement) -> matching.CapacityUse:
    use = matching.placement_capacity(reload(placement))
    assert use is not None
    return use


def test_places_taken_per_school_year(world):
    others = [make_learner(world.officer, world.programme) for _ in range(4)]
    from tests.factories import make_placement

    for learner, state in zip(
        others, ["matched", "in_progress", "requested", "declined"], strict=True
    ):
        make_placement(
            learner,
            state,
            organisation=world.organisation,
            start_date=AUTUMN[0],
            end_date=AUTUMN[1],
        )
    placement = world.placement("matched")
    use = capacity(placement)
    # Matched and in progress take a place (autumn is in the same school year); a request and
    # a declined placement do not.
    assert (use.taken, use.pledged, use.period, use.exceeded) == (
        3,
        2,
        CapacityPeriod.YEAR,
        True,
    )
    assert (use.dates.starts_on, use.dates.ends_on) == (
        world.cohort.starts_on,
        world.cohort.ends_on,
    )


def test_places_per_term_count_over_the_placements_own_dates(world):
    from tests.factories import make_placement

    organisation = employer(world.officer, pledge=1, period=CapacityPeriod.TERM)
    make_placement(
        make_learner(world.officer, world.programme),
        "confirmed",
        organisation=organisation,
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
    )
    spring = world.placement("matched", organisation=organisation)
    use = capacity(spring)
    assert (use.taken, use.pledged, use.exceeded) == (1, 1, False)
    assert (use.dates.starts_on, use.dates.ends_on) == SPRING


def test_a_request_would_exceed_a_full_organisation(world):
    from tests.factories import make_placement

    organisation = employer(world.officer, pledge=1)
    make_placement(
        make_learner(world.officer, world.programme),
        "ready",
        organisation=organisation,
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
    )
    request = world.placement(organisation=organisation)
    use = capacity(request)
    assert (use.taken, use.pledged, use.free, use.exceeded) == (1, 1, 0, True)


def test_cancelled_placements_free_their_place(world):
    from tests.factories import make_placement

    other = make_placement(
        make_learner(world.officer, world.programme),
        "cancelled",
        organisation=world.organisation,
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
        period_held=False,
    )
    assert other.state == "cancelled"
    use = capacity(world.placement("matched"))
    assert (use.taken, use.exceeded) == (1, False)


# --- panels ---------------------------------------------------------------------------------------


def test_a_learners_placements_newest_first_with_their_organisation(world):
    autumn = world.placement("evaluated", start_date=AUTUMN[0], end_date=AUTUMN[1])
    spring = world.placement("matched", supervisor_id=world.supervisor.id)
    undated = world.placement(start_date=None, end_date=None, organisation=None)
    db.session.expire_all()
    found = placements.placements_of_learner(world.learner.id)
    assert [p.id for p in found] == [undated.id, spring.id, autumn.id]
    assert found[1].organisation.display_name == "Werkzeugbau Kern GmbH"
    assert found[1].supervisor.full_name == "Sven Supervisor"
    assert found[0].organisation is None


def test_an_organisations_learners_newest_first_limited(world):
    from tests.factories import make_placement

    for month in range(1, 4):
        make_placement(
            make_learner(world.officer, world.programme),
            "completed",
            organisation=world.organisation,
            start_date=dt.date(2027, month, 1),
            end_date=dt.date(2027, month, 20),
        )
    found = placements.placements_of_organisation(world.organisation.id, limit=2)
    assert found.total == 3
    assert [p.start_date for p in found.items] == [dt.date(2027, 3, 1), dt.date(2027, 2, 1)]
    assert count_rows(Placement) == 3


def test_placement_reads_cannot_reach_the_learners_support_needs(world):
    """Placement pages load the learner without support needs; reading them raises."""
    from sqlalchemy.exc import InvalidRequestError

    from crm.learners.models import Learner

    db.session.get(Learner, world.learner.id).support_needs = "Asthma"
    placement_id, organisation_id = world.placement().id, world.organisation.id
    db.session.expunge_all()  # as a new request starts
    loaded = placements.get_placement(placement_id)
    assert loaded is not None
    assert loaded.learner.name == "Lena Lernend"
    with pytest.raises(InvalidRequestError):
        _ = loaded.learner.support_needs
    db.session.expunge_all()
    (listed,) = placements.placements_of_organisation(organisation_id).items
    with pytest.raises(InvalidRequestError):
        _ = listed.learner.support_needs
