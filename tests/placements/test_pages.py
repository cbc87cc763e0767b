"""What the placement pages show and do: detail, request, edit, matching, list, board."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from crm.auth.models import Role
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.learners.models import Learner
from crm.organisations.models import CapacityPeriod
from crm.placements.models import Placement
from tests.core.helpers import field_error, flashes, form_field, section, text
from tests.factories import make_contact, make_learner, make_placement, make_programme, make_user
from tests.partnerships.pages import board_columns, child_texts, next_steps, plain
from tests.placements.support import (
    AUTUMN,
    PLACEMENT,
    SPRING,
    employer,
    history_of,
    in_database,
    placements_of,
)


def page_after(client, response) -> str:
    assert response.status_code == 302, text(response)[:800]
    return text(client.get(response.location))


def listed_learners(html: str) -> list[str]:
    return [plain(name) for name in re.findall(r'class="fw-medium placement-link">(.*?)</a>', html)]


# --- the placement page ---------------------------------------------------------------------------


def test_the_page_shows_the_stage_guidance_steps_details_and_capacity(ctx, login_as, world):
    placement = world.placement(hours_target=120, supervisor_id=world.supervisor.id)
    html = text(login_as(world.officer).get(f"/placements/{placement.id}"))

    assert plain(section(html, "current-stage", "h2")) == "Requested"
    assert plain(section(html, "guidance", "p")) == PLACEMENT.state("requested").guidance
    steps = next_steps(html)
    assert list(steps) == ["match", "postpone", "cancel"]
    assert (steps["match"].available, steps["match"].reasons) == (True, [])
    assert steps["cancel"].has_comment
    assert plain(section(html, "placement-title", "h1")) == (
        "Placement of Lena Lernend at Werkzeugbau Kern GmbH"
    )
    assert plain(section(html, "supervisor", "dd")) == "Sven Supervisor · sven@kern.test"
    assert plain(section(html, "dates", "dd")) == (
        "1 Mar 2027 – 30 Apr 2027 Programme year: 1 Sept 2026 – 31 Jul 2027"
    )
    assert plain(section(html, "hours", "dd")) == "0 of 120 logged"
    # A request does not take a place yet: none of the two is taken.
    assert plain(section(html, "capacity", "dd")) == (
        "0 of 2 places taken per school year (01/09/2026 – 31/07/2027)"
    )
    assert 'id="follow-ups"' in html
    assert 'id="find-organisations"' in html
    assert "Nothing logged yet." in html


def test_a_full_organisation_is_flagged_on_the_page(ctx, login_as, world):
    organisation = employer(world.officer, pledge=1, period=CapacityPeriod.TERM)
    make_placement(
        make_learner(world.officer, world.programme),
        "confirmed",
        organisation=organisation,
        start_date=dt.date(2027, 4, 1),
        end_date=dt.date(2027, 5, 31),
    )
    placement = world.placement(organisation=organisation)
    html = text(login_as(world.officer).get(f"/placements/{placement.id}"))
    assert plain(section(html, "capacity", "dd")) == (
        "1 of 1 place taken per term (01/03/2027 – 30/04/2027) over the pledge"
    )


def test_blocked_steps_say_what_is_missing_and_firing_moves_on(ctx, login_as, world):
    placement = world.placement("matched")
    client = login_as(world.officer)
    steps = next_steps(text(client.get(f"/placements/{placement.id}")))
    assert steps["ask_employer"].reasons == [
        "Fill in the workplace supervisor's e-mail address before moving to Awaiting employer.",
        "Fill in the role description before moving to Awaiting employer.",
        "Fill in the learning objectives before moving to Awaiting employer.",
    ]
    form = {"transition": "ask_employer", "version": str(placement.lock_version), "comment": ""}
    response = client.post_form(f"/placements/{placement.id}/fire", form)
    assert flashes(page_after(client, response)) == steps["ask_employer"].reasons
    assert in_database(placement)[0] == "matched"

    form = {"transition": "cancel", "version": str(placement.lock_version), "comment": "Moved."}
    response = client.post_form(f"/placements/{placement.id}/fire", form)
    html = page_after(client, response)
    assert flashes(html) == ["Moved to Cancelled."]
    assert in_database(placement) == ("cancelled", False, world.organisation.id)
    assert "Cancel the placement" in plain(section(html, "timeline", "ol"))


def test_a_minor_without_consent_is_pointed_out(ctx, login_as, world):
    learner = make_learner(world.officer, world.programme, birth_date=dt.date(2010, 1, 1))
    placement = make_placement(
        learner,
        "confirmed",
        organisation=world.organisation,
        start_date=SPRING[0],
        end_date=SPRING[1],
    )
    html = text(login_as(world.officer).get(f"/placements/{placement.id}"))
    assert 'id="guardian-consent-needed"' in html
    assert next_steps(html)["send_agreement"].reasons == [
        "The learner is under 18 at the start: record the guardian's consent before moving to "
        "Agreement out."
    ]


# --- requesting -----------------------------------------------------------------------------------


def test_an_officer_requests_a_placement_for_their_learner(ctx, login_as, world):
    client = login_as(world.officer)
    page = text(client.get(f"/placements/new?learner_id={world.learner.id}"))
    assert "Request a placement for Lena Lernend" in page
    assert "officer_id" not in page  # officers cannot name another officer
    response = client.post_form(
        f"/placements/new?learner_id={world.learner.id}",
        {"start_date": "2027-03-01", "end_date": "2027-04-30", "hours_target": "160"},
    )
    (placement,) = placements_of(world.learner)
    assert response.location == f"/placements/{placement.id}"
    assert flashes(page_after(client, response)) == ["Placement requested."]
    assert (placement.state, placement.hours_target, placement.officer_id) == (
        "requested",
        160,
        world.officer.id,
    )


def test_an_overlapping_request_is_refused_next_to_the_dates_keeping_the_input(
    ctx, login_as, world
):
    world.placement()
    client = login_as(world.officer)
    response = client.post_form(
        f"/placements/new?learner_id={world.learner.id}",
        {"start_date": "2027-04-15", "end_date": "2027-05-20", "hours_target": "77"},
    )
    assert response.status_code == 200
    html = text(response)
    assert field_error(html, "start_date") == (
        "The learner already has a placement from 1 Mar 2027 to 30 Apr 2027 at "
        "Werkzeugbau Kern GmbH; the dates must not overlap."
    )
    assert form_field(html, "start_date")["value"] == "2027-04-15"
    assert form_field(html, "end_date")["value"] == "2027-05-20"
    assert form_field(html, "hours_target")["value"] == "77"
    assert len(placements_of(world.learner)) == 1


def test_dates_in_the_wrong_order_are_refused_by_the_form(ctx, login_as, world):
    client = login_as(world.officer)
    response = client.post_form(
        f"/placements/new?learner_id={world.learner.id}",
        {"start_date": "2027-04-15", "end_date": "2027-04-01"},
    )
    assert field_error(text(response), "end_date") == "The end date lies before the start date."
    assert placements_of(world.learner) == []


# --- editing --------------------------------------------------------------------------------------


def edit_form(placement: Placement, **changes: str) -> dict[str, str]:
    form = {
        "organisation_id": str(placement.organisation_id or 0),
        "supervisor_id": str(placement.supervisor_id or 0),
        "start_date": placement.start_date.isoformat() if placement.start_date else "",
        "end_date": placement.end_date.isoformat() if placement.end_date else "",
        "hours_target": str(placement.hours_target),
        "hours_logged": str(placement.hours_logged),
        "workplace_address": placement.workplace_address,
        "role_description": placement.role_description,
        "learning_objectives": placement.learning_objectives,
        "guardian_consent_on": "",
        "hours_shortfall_reason": "",
    }
    form.update(changes)
    return form


def test_the_edit_form_offers_the_organisations_contacts_supervisors_first(ctx, login_as, world):
    make_contact(
        world.organisation, role=ContactRole.FOCAL_PERSON, first_name="Fiona", last_name="Focal"
    )
    placement = world.placement()
    html = text(login_as(world.officer).get(f"/placements/{placement.id}/edit"))
    supervisor_select = re.search(r'<select[^>]*name="supervisor_id".*?</select>', html, re.S)
    assert supervisor_select
    options = [
        plain(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", supervisor_select.group(0))
    ]
    assert options == ["Nobody yet", "Sven Supervisor", "Fiona Focal (Focal person)"]
    organisation_select = re.search(r'<select[^>]*name="organisation_id".*?</select>', html, re.S)
    assert organisation_select
    assert "Werkzeugbau Kern GmbH" in organisation_select.group(0)


def test_saving_the_details(ctx, login_as, world):
    placement = world.placement()
    client = login_as(world.officer)
    response = client.post_form(
        f"/placements/{placement.id}/edit",
        edit_form(
            placement,
            supervisor_id=str(world.supervisor.id),
            role_description="Assembles gearboxes.",
            learning_objectives="Reads drawings.",
            hours_logged="12.5",
        ),
    )
    assert flashes(page_after(client, response)) == ["Changes saved."]
    db.session.refresh(placement)
    assert (placement.supervisor_id, placement.role_description, str(placement.hours_logged)) == (
        world.supervisor.id,
        "Assembles gearboxes.",
        "12.5",
    )


def test_a_supervisor_of_another_organisation_is_refused_next_to_the_field(ctx, login_as, world):
    stranger = make_contact(employer(world.officer), role=ContactRole.WORKPLACE_SUPERVISOR)
    placement = world.placement()
    response = login_as(world.officer).post_form(
        f"/placements/{placement.id}/edit",
        edit_form(placement, supervisor_id=str(stranger.id), role_description="Kept as typed"),
    )
    html = text(response)
    assert field_error(html, "supervisor_id") == (
        "Choose a contact of Werkzeugbau Kern GmbH as the workplace supervisor."
    )
    assert "Kept as typed" in section(html, "role_description", "textarea")
    assert db.session.get(Placement, placement.id).supervisor_id is None


def test_moving_the_dates_onto_another_placement_is_refused_next_to_the_dates(ctx, login_as, world):
    world.placement()
    autumn = world.placement(start_date=AUTUMN[0], end_date=AUTUMN[1])
    response = login_as(world.officer).post_form(
        f"/placements/{autumn.id}/edit",
        edit_form(autumn, end_date="2027-03-10", learning_objectives="Typed before the error"),
    )
    html = text(response)
    assert field_error(html, "start_date") == (
        "The learner already has a placement from 1 Mar 2027 to 30 Apr 2027 at "
        "Werkzeugbau Kern GmbH; the dates must not overlap."
    )
    assert form_field(html, "end_date")["value"] == "2027-03-10"
    assert "Typed before the error" in html
    db.session.expire_all()
    assert db.session.get(Placement, autumn.id).end_date == AUTUMN[1]


# --- matching -------------------------------------------------------------------------------------


def test_the_match_page_lists_organisations_with_free_places(ctx, login_as, world):
    full = employer(world.officer, pledge=1, legal_name="Voll GmbH")
    make_placement(
        make_learner(world.officer, world.programme),
        "matched",
        organisation=full,
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
    )
    employer(world.officer, legal_name="Andere AG", nace_code="28", pledge=5)
    client = login_as(world.officer)
    html = text(client.get(f"/placements/match?learner_id={world.learner.id}"))
    rows = re.findall(r'<tr class="match-row" data-organisation="\d+">(.*?)</tr>', html, re.S)
    names = [plain(re.search(r'class="fw-medium">(.*?)</a>', r).group(1)) for r in rows]
    assert names == ["Andere AG", "Werkzeugbau Kern GmbH"]  # most free places first
    assert "0 of 2 places taken" in plain(rows[1])
    assert "Sven Supervisor" in plain(rows[1])
    assert "Voll GmbH" not in html
    with_full = text(client.get(f"/placements/match?learner_id={world.learner.id}&full=1"))
    assert "Voll GmbH" in with_full


def test_matching_a_new_request_fires_match(ctx, login_as, world):
    client = login_as(world.officer)
    response = client.post_form(
        f"/placements/match?learner_id={world.learner.id}",
        {
            "organisation_id": str(world.organisation.id),
            "placement_id": "",
            "start_date": "2027-03-01",
            "end_date": "2027-04-30",
        },
    )
    (placement,) = placements_of(world.learner)
    assert response.location == f"/placements/{placement.id}"
    assert flashes(page_after(client, response)) == ["Matched to Werkzeugbau Kern GmbH."]
    assert in_database(placement) == ("matched", True, world.organisation.id)
    assert [t.transition for t in history_of(placement)] == ["match"]


def test_matching_a_chosen_request_without_dates_saves_the_organisation_and_says_why(
    ctx, login_as, world
):
    request = world.placement(organisation=None, start_date=None, end_date=None)
    client = login_as(world.officer)
    page = text(
        client.get(f"/placements/match?learner_id={world.learner.id}&placement_id={request.id}")
    )
    assert f'name="placement_id" value="{request.id}"' in page
    response = client.post_form(
        f"/placements/match?learner_id={world.learner.id}",
        {"organisation_id": str(world.organisation.id), "placement_id": str(request.id)},
    )
    assert flashes(page_after(client, response)) == [
        "Werkzeugbau Kern GmbH is saved on the placement; before it is matched:",
        "Set the start and end dates before moving to Matched.",
    ]
    assert in_database(request) == ("requested", True, world.organisation.id)
    assert placements_of(world.learner) == [request]


def test_matching_needs_a_readable_organisation(ctx, login_as, world):
    client = login_as(world.officer)
    response = client.post_form(
        f"/placements/match?learner_id={world.learner.id}", {"organisation_id": "999999"}
    )
    assert flashes(page_after(client, response)) == [
        "The organisation could not be read. Reload the page and try again."
    ]
    assert placements_of(world.learner) == []


# --- the list and the board -----------------------------------------------------------------------


@pytest.fixture
def spread(world, manager):
    """Placements across two programmes, cohorts, officers, organisations and stages."""
    other_officer = make_user(Role.OFFICER, name="Otto Other")
    other_programme = make_programme(manager, sector="I", name="Hospitality", code="HOSP")
    hotel = employer(other_officer, legal_name="Hotel Sonne", nace_code="55")
    other = make_learner(other_officer, other_programme, first_name="Ole", last_name="Ober")
    world.placement("matched")
    world.placement("requested", start_date=AUTUMN[0], end_date=AUTUMN[1], organisation=None)
    make_placement(
        other, "in_progress", organisation=hotel, start_date=AUTUMN[0], end_date=AUTUMN[1]
    )
    return other_officer, other_programme, hotel, other


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Lena Lernend", "Lena Lernend", "Ole Ober"]),
        ("?q=lena", ["Lena Lernend", "Lena Lernend"]),
        ("?q=sonne", ["Ole Ober"]),
        ("?q=kern", ["Lena Lernend"]),
        ("?state=in_progress", ["Ole Ober"]),
        ("?from=2027-02-01&to=2027-02-28", []),
        ("?from=2027-04-01", ["Lena Lernend"]),
        ("?to=2026-12-31", ["Lena Lernend", "Ole Ober"]),
    ],
)
def test_the_list_searches_and_filters(ctx, login_as, manager, spread, query, expected):
    html = text(login_as(manager).get(f"/placements/{query}"))
    assert sorted(listed_learners(html)) == expected


def test_the_list_filters_by_programme_cohort_organisation_and_officer(
    ctx, login_as, manager, world, spread
):
    other_officer, other_programme, hotel, _other = spread
    client = login_as(manager)
    for query, expected in [
        (f"?programme={other_programme.id}", ["Ole Ober"]),
        (f"?cohort={world.cohort.id}", ["Lena Lernend", "Lena Lernend"]),
        (f"?organisation={hotel.id}", ["Ole Ober"]),
        (f"?officer={world.officer.id}", ["Lena Lernend", "Lena Lernend"]),
        (f"?officer={other_officer.id}&state=matched", []),
    ]:
        html = text(client.get(f"/placements/{query}"))
        assert sorted(listed_learners(html)) == expected, query
    html = text(client.get(f"/placements/?organisation={hotel.id}"))
    assert plain(section(html, "organisation-filter", "span")) == "Hotel Sonne"


def test_the_board_counts_and_shows_cards_with_learner_and_organisation(
    ctx, login_as, manager, spread
):
    html = text(login_as(manager).get("/placements/board"))
    columns = board_columns(html)
    assert list(columns) == list(PLACEMENT.states)
    assert {s: c.count for s, c in columns.items() if c.count} == {
        "requested": 1,
        "matched": 1,
        "in_progress": 1,
    }
    assert columns["in_progress"].cards == ["Ole Ober"]
    assert "Hotel Sonne" in section(html, "column-in_progress", "section")
    assert "not matched yet" in section(html, "column-requested", "section")
    filtered = board_columns(text(login_as(manager).get("/placements/board?q=ober")))
    assert sum(c.count for c in filtered.values()) == 1


# --- the organisation and learner pages -----------------------------------------------------------


def test_the_organisation_page_lists_its_learners(ctx, login_as, world):
    world.placement("completed", start_date=AUTUMN[0], end_date=AUTUMN[1])
    world.placement("matched")
    html = text(login_as(world.officer).get(f"/organisations/{world.organisation.id}"))
    learners = child_texts(html, "organisation-learners")
    assert learners[1:] == [
        "Lena Lernend · Matched Mechatronics · 01/03/2027 – 30/04/2027 "
        "Lena Lernend · Completed Mechatronics · 01/10/2026 – 30/11/2026"
    ]


def test_the_learner_page_lists_the_placements(ctx, login_as, world):
    world.placement("matched", supervisor_id=world.supervisor.id)
    html = text(login_as(world.officer).get(f"/learners/{world.learner.id}"))
    panel = plain(section(html, "learner-placements", "section"))
    assert "Matched Werkzeugbau Kern GmbH" in panel
    assert "1 Mar 2027 – 30 Apr 2027" in panel
    assert "supervisor: Sven Supervisor" in panel


# --- support needs stay on the learner page -------------------------------------------------------


SECRET = "Epilepsy: needs a quiet room"


def test_support_needs_appear_on_no_placement_page(ctx, login_as, manager, world):
    learner = db.session.get(Learner, world.learner.id)
    learner.support_needs = SECRET
    db.session.commit()
    placement = world.placement("matched", supervisor_id=world.supervisor.id)
    request = world.placement(start_date=AUTUMN[0], end_date=AUTUMN[1], organisation=None)
    client = login_as(manager)
    urls = [
        "/placements/",
        "/placements/board",
        "/placements/?q=lena",
        f"/placements/{placement.id}",
        f"/placements/{placement.id}/edit",
        f"/placements/new?learner_id={learner.id}",
        f"/placements/match?learner_id={learner.id}&placement_id={request.id}",
        f"/organisations/{world.organisation.id}",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in text(response), url
        assert "quiet room" not in text(response), url
    # …while the learner page shows them to a manager.
    assert SECRET in text(client.get(f"/learners/{learner.id}"))


def test_the_organisation_timeline_links_placement_steps(ctx, login_as, world):
    from crm.workflow import service as workflow

    placement = world.placement()
    workflow.fire(placement, "match", user=world.officer)
    db.session.commit()
    client = login_as(world.officer)
    organisation_page = text(client.get(f"/organisations/{world.organisation.id}"))
    assert f'<a href="/placements/{placement.id}">placement</a>' in organisation_page
    placement_page = text(client.get(f"/placements/{placement.id}"))
    assert "Match to the organisation" in plain(section(placement_page, "timeline", "ol"))
    assert f'<a href="/placements/{placement.id}">placement</a>' not in placement_page
