"""Which organisations a learner can be matched to, and how full they are."""

from __future__ import annotations

import datetime as dt

from crm.contacts.models import ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import CapacityPeriod
from crm.placements.matching import find_matches
from tests.factories import make_contact, make_learner, make_placement
from tests.placements.support import AUTUMN, SPRING, employer


def found(world, start=None, end=None, **kwargs) -> dict[str, tuple[int, int]]:
    """Organisation name: (places taken, pledged), in the order found."""
    matches = find_matches(world.programme, world.cohort, start, end, **kwargs)
    return {
        c.organisation.display_name: (c.capacity.taken, c.capacity.pledged)
        for c in matches.candidates
    }


def take(world, organisation, state="confirmed", dates=AUTUMN):
    learner = make_learner(world.officer, world.programme)
    return make_placement(
        learner, state, organisation=organisation, start_date=dates[0], end_date=dates[1]
    )


def test_only_the_sector_with_an_active_partnership_and_places(world):
    employer(world.officer, legal_name="Maschinen AG", nace_code="28")  # also section C
    employer(
        world.officer, legal_name="Bäckerei Korn", nace_code="10", partnership_state="approached"
    )
    employer(world.officer, legal_name="Nur Kontakt", nace_code="25", partnership_state=None)
    employer(world.officer, legal_name="Hotel Sonne", nace_code="55")  # section I
    employer(world.officer, legal_name="Ohne Plätze", nace_code="25", pledge=0)
    archived = employer(world.officer, legal_name="Archiviert", nace_code="25")
    archived.archived_at = utcnow()
    closed = employer(
        world.officer, legal_name="Wieder aktiv", nace_code="25", partnership_state="closed"
    )
    from tests.workflow.support import make_partnership

    make_partnership(world.officer, "active", organisation=closed)  # a new one after a closed one
    db.session.commit()
    assert found(world) == {
        "Maschinen AG": (0, 2),
        "Werkzeugbau Kern GmbH": (0, 2),
        "Wieder aktiv": (0, 2),
    }


def test_most_free_places_first_full_ones_left_out(world):
    roomy = employer(world.officer, legal_name="Groß GmbH", pledge=5)
    full = employer(world.officer, legal_name="Voll GmbH", pledge=1)
    take(world, roomy)
    take(world, full)
    take(world, world.organisation, "in_progress")
    assert found(world) == {"Groß GmbH": (1, 5), "Werkzeugbau Kern GmbH": (1, 2)}
    assert found(world, include_full=True) == {
        "Groß GmbH": (1, 5),
        "Werkzeugbau Kern GmbH": (1, 2),
        "Voll GmbH": (1, 1),
    }


def test_requests_declined_and_cancelled_placements_take_no_place(world):
    full = employer(world.officer, legal_name="Eins GmbH", pledge=1)
    take(world, full, "requested")
    take(world, full, "declined")
    cancelled = take(world, full, "cancelled")
    cancelled.period_held = False
    db.session.commit()
    assert found(world)["Eins GmbH"] == (0, 1)
    take(world, full, "evaluated")  # finished this year: the place was taken
    assert "Eins GmbH" not in found(world)


def test_a_school_year_pledge_counts_the_whole_programme_year(world):
    yearly = employer(world.officer, legal_name="Jahr GmbH", pledge=1)
    take(world, yearly, dates=AUTUMN)
    # Asking for spring: the autumn placement still took the year's only place.
    assert "Jahr GmbH" not in found(world, *SPRING)


def test_a_term_pledge_counts_the_period_asked_for(world):
    termly = employer(world.officer, legal_name="Term GmbH", pledge=1, period=CapacityPeriod.TERM)
    take(world, termly, dates=AUTUMN)
    assert "Term GmbH" not in found(world)  # the whole year overlaps the autumn placement
    assert found(world, *SPRING)["Term GmbH"] == (0, 1)
    assert "Term GmbH" not in found(world, dt.date(2026, 11, 30), dt.date(2026, 12, 20))


def test_placements_of_another_year_take_no_place(world):
    yearly = employer(world.officer, legal_name="Jahr GmbH", pledge=1)
    take(world, yearly, dates=(dt.date(2025, 10, 1), dt.date(2025, 11, 30)))
    assert found(world)["Jahr GmbH"] == (0, 1)


def test_candidates_come_with_their_workplace_supervisors(world):
    make_contact(world.organisation, role=ContactRole.FOCAL_PERSON)
    archived = make_contact(world.organisation, role=ContactRole.WORKPLACE_SUPERVISOR)
    archived.archived_at = utcnow()
    db.session.commit()
    (candidate,) = find_matches(world.programme, world.cohort).candidates
    assert [c.full_name for c in candidate.supervisors] == ["Sven Supervisor"]
    assert candidate.partnership_id is not None


def test_at_most_the_limit_with_the_total(world):
    for n in range(4):
        employer(world.officer, legal_name=f"Firma {n}")
    matches = find_matches(world.programme, world.cohort, limit=3)
    assert len(matches.candidates) == 3
    assert matches.total == 5
    assert [c.organisation.display_name for c in matches.candidates] == [
        "Firma 0",
        "Firma 1",
        "Firma 2",
    ]
